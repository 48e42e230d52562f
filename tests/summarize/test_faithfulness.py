import json
from collections import Counter
from pathlib import Path

import mlflow
import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from pipeline import CONFIG_DIR
from pipeline.run import run_pipeline
from pipeline.stages import SummarizeStage
from pipeline.summarize.faithfulness import FaithfulnessChecker, article_words, name_in, sentence_numbers
from tests.conftest import ComposeConfig

ARTICLE = (
    "President Barack Obama warned China on Wednesday that cyber attacks on American companies had to stop. "
    "He said eight companies had been hit in the past year.\n\n"
    "China's foreign ministry said Beijing wanted more cooperation with Washington. "
    "Iran was not mentioned in the talks."
)


@pytest.fixture(scope="module")
def checker() -> FaithfulnessChecker:
    """The configured checker (conf/faithfulness/minilm.yaml), on the CPU; loaded once for the module."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return instantiate(compose("config", overrides=["device=cpu"]).faithfulness)


def test_a_faithful_summary_passes_with_a_score_in_range(checker: FaithfulnessChecker) -> None:
    [verdict] = checker.check_batch(
        [
            "Obama warned China that cyber attacks on American companies had to stop. He said 8 companies were hit."
        ],
        [ARTICLE],
    )
    assert 0.0 <= verdict.score <= 1.0
    assert verdict.faithful, verdict
    assert verdict.unsupported == []


def test_an_invented_name_or_number_is_flagged(checker: FaithfulnessChecker) -> None:
    name, number = checker.check_batch(
        [
            "Vladimir Putin warned China that cyber attacks on American companies had to stop.",
            "Obama said 40 companies had been hit in the past year.",
        ],
        [ARTICLE, ARTICLE],
    )
    assert not name.faithful and "name: Vladimir Putin" in name.unsupported
    assert not number.faithful and "number: 40" in number.unsupported
    assert 0.0 <= name.score < checker.threshold and 0.0 <= number.score < checker.threshold


def test_roles_swapped_and_a_claim_stated_as_fact_lower_the_score(checker: FaithfulnessChecker) -> None:
    right, swapped, unattributed = checker.check_batch(
        [
            "Barack Obama warned China that cyber attacks on American companies had to stop.",
            "China warned Barack Obama that cyber attacks on American companies had to stop.",
            "Beijing wants more cooperation with Washington.",
        ],
        [ARTICLE, ARTICLE, ARTICLE],
    )
    assert any(p.startswith("roles changed") for p in swapped.unsupported) and swapped.score < right.score
    assert "claim no longer attributed to its speaker" in unattributed.unsupported
    assert unattributed.features["attribution"] == 1.0


def test_a_degenerate_self_relation_is_flagged(checker: FaithfulnessChecker) -> None:
    [verdict] = checker.check_batch(["Iran is working with Iran."], [ARTICLE])
    assert not verdict.faithful and verdict.score == 0.0
    assert "self-relation: iran / iran" in verdict.unsupported


def test_an_unrelated_sentence_is_listed_and_an_empty_summary_fails(checker: FaithfulnessChecker) -> None:
    unrelated, empty = checker.check_batch(["The recipe needs flour, butter and sugar."], [ARTICLE]) + (
        checker.check_batch([""], [ARTICLE])
    )
    assert not unrelated.faithful
    assert "sentence: The recipe needs flour, butter and sugar." in unrelated.unsupported
    assert not empty.faithful and empty.score == 0.0


def test_names_and_numbers_match_as_written_differently() -> None:
    words = article_words("Iran's president met Dr. Zelenskyy’s envoy; 1,500 troops left.")
    assert name_in("Iranian", words) and name_in("Mr Zelenskyy", words) and not name_in("Putin", words)
    assert sentence_numbers("1,500 troops and eight tanks, 2.50 each") == ["1500", "2.5", "8"]


def test_lead3_stage_output_carries_the_faithfulness_fields(
    compose_config: ComposeConfig, tmp_path: Path
) -> None:
    articles = tmp_path / "articles.jsonl"
    articles.write_text(json.dumps({"id": "a1", "text": ARTICLE}) + "\n")
    summary = run_pipeline(
        compose_config(f"data.path={articles}", "summarizer=lead3", "stages=[summarize]", "device=cpu")
    )
    [prediction] = [
        json.loads(line) for line in (summary.output_dir / "predictions.jsonl").read_text().splitlines()
    ]
    assert prediction["summary_faithful"] is True and prediction["summary_unsupported"] == []
    assert 0.6 <= prediction["summary_faithfulness"] <= 1.0  # lead-3 copies the article
    params = mlflow.MlflowClient(summary.tracking_uri).get_run(summary.run_id).data.params
    threshold = compose_config().faithfulness.threshold
    assert float(params["faithfulness.threshold"]) == threshold and "faithfulness.weights.roles" in params


def test_unfaithful_summaries_are_counted() -> None:
    counts: Counter[str] = Counter()
    for faithful in (True, False, False):
        SummarizeStage.count({"summary": "x", "summary_faithful": faithful}, counts)
    SummarizeStage.count({"summary": "x"}, counts)  # no checker ran: nothing to count
    assert counts["summaries_unfaithful"] == 2
