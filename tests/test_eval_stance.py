"""`evaluation=stance` end to end on a small gold file: real spaCy actors, zero-shot stance, sqlite MLflow."""

import json
from pathlib import Path

import mlflow
import pytest

from pipeline.eval_stance import backend_name, format_report, read_gold
from pipeline.run import run_pipeline
from tests.conftest import ComposeConfig

GOLD_ARTICLES = [
    {
        "id": "talks",
        "title": "Ministers meet",
        "text": (
            'Russian Foreign Minister Sergei Lavrov warned on Monday that Moscow "will respond harshly to '
            'any provocation" and accused NATO of preparing an attack. German Chancellor Olaf Scholz said '
            "Germany welcomed the offer of talks and wanted a ceasefire as soon as possible."
        ),
        "actors": [
            {"name": "Sergei Lavrov", "aliases": ["Lavrov"], "type": "person", "stance": "aggressive",
             "secondary": None, "evidence": ["Moscow \"will respond harshly to any provocation\""]},
            {"name": "Olaf Scholz", "aliases": ["Scholz"], "type": "person", "stance": "conciliatory",
             "secondary": None, "evidence": ["Germany welcomed the offer of talks"]},
            {"name": "NATO", "aliases": [], "type": "organisation", "stance": "none", "secondary": None,
             "evidence": []},
        ],
    },
    {
        "id": "hedge",
        "title": "No comment",
        "text": (
            "Japanese Prime Minister Fumio Kishida declined to say whether Tokyo would join the sanctions, "
            '"It is too early to say. We will watch the situation carefully," Kishida told reporters.'
        ),
        "actors": [
            {"name": "Fumio Kishida", "aliases": ["Kishida"], "type": "person", "stance": "hedging",
             "secondary": None, "evidence": ["It is too early to say."]},
        ],
    },
]  # fmt: skip


@pytest.fixture
def gold_file(tmp_path: Path) -> Path:
    path = tmp_path / "gold.jsonl"
    path.write_text("".join(json.dumps(article) + "\n" for article in GOLD_ARTICLES), encoding="utf-8")
    return path


def test_evaluation_scores_the_run_and_logs_into_it(compose_config: ComposeConfig, gold_file: Path) -> None:
    cfg = compose_config("evaluation=stance", f"gold_path={gold_file}", "stance=embedding")
    assert list(cfg.stages) == ["actors", "stance"]  # no summaries needed to score stance
    report = run_pipeline(cfg).evaluation

    metrics = report["metrics"]
    assert report["model"] == "embedding" and report["articles"] == 2
    # The three actors with a stance are all named people that spaCy finds and quotes attribute.
    assert metrics["actor_recall"] == pytest.approx(1.0)
    assert 0.0 <= metrics["stance_macro_f1"] <= 1.0
    assert sum(map(sum, report["stance"]["confusion"]["matrix"])) == report["stance"]["matched_actors"]

    output_dir = Path(report["output_dir"])
    for name in ("predictions.jsonl", "stance_eval.json", "stance_eval.txt", "confusion.png"):
        assert (output_dir / name).stat().st_size > 0
    assert 'id="evaluation"' in (output_dir / "report.html").read_text()  # one report, with the scores
    run = mlflow.MlflowClient(cfg.tracking.tracking_uri).get_run(report["run_id"])
    # One run holds the pipeline's params and timings and the scores.
    assert run.data.metrics["stance_macro_f1"] == pytest.approx(metrics["stance_macro_f1"])
    assert "time_stance_s" in run.data.metrics and run.data.params["eval.model"] == "embedding"
    assert run.data.params["stance._target_"].endswith("EmbeddingStanceClassifier")

    text = format_report(report)
    assert "macro-F1" in text and "confusion (rows gold, columns predicted)" in text
    for label in ("aggressive", "conciliatory", "hedging"):
        assert f"\n{label}" in text


def test_a_file_without_gold_actors_is_refused_before_any_run(tmp_path: Path) -> None:
    plain = tmp_path / "articles.jsonl"
    plain.write_text(json.dumps({"id": "a", "text": "Some text."}) + "\n")
    with pytest.raises(ValueError, match="without gold 'actors'"):
        read_gold(plain)
    with pytest.raises(FileNotFoundError, match="gold_path="):
        read_gold(tmp_path / "missing.jsonl")


def test_backend_name_is_the_module_of_the_target() -> None:
    assert backend_name("pipeline.stance.trained.TrainedStanceClassifier") == "trained"
    assert backend_name("pipeline.stance.nli.NLIStanceClassifier") == "nli"
