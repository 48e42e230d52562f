"""The eval-stance task end to end on a small gold file: real spaCy actors, zero-shot stance, sqlite MLflow."""

import json
from pathlib import Path

import mlflow
import pytest

from pipeline.eval_stance import backend_name, evaluate_stance, format_report, render_results
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


def test_eval_stance_scores_logs_and_records_a_results_row(
    compose_config: ComposeConfig, gold_file: Path, tmp_path: Path
) -> None:
    results_dir = tmp_path / "experiments" / "stance"
    cfg = compose_config(
        f"gold_path={gold_file}",
        "stance=embedding",
        f"eval.results_dir={results_dir}",
        config_name="eval_stance",
    )
    assert list(cfg.stages) == ["actors", "stance"]  # no summaries needed to score stance
    report = evaluate_stance(cfg)

    metrics = report["metrics"]
    assert report["model"] == "embedding" and report["articles"] == 2
    # The three actors with a stance are all named people that spaCy finds and quotes attribute.
    assert metrics["actor_recall"] == pytest.approx(1.0)
    assert 0.0 <= metrics["stance_macro_f1"] <= 1.0
    assert sum(map(sum, report["stance"]["confusion"]["matrix"])) == report["stance"]["matched_actors"]

    output_dir = Path(report["output_dir"])
    for name in ("predictions.jsonl", "stance_eval.json", "stance_eval.txt", "confusion.png"):
        assert (output_dir / name).stat().st_size > 0
    run = mlflow.MlflowClient(cfg.tracking.tracking_uri).get_run(report["run_id"])
    # One run holds the pipeline's params and timings and the scores.
    assert run.data.metrics["stance_macro_f1"] == pytest.approx(metrics["stance_macro_f1"])
    assert "time_stance_s" in run.data.metrics and run.data.params["eval.model"] == "embedding"
    assert run.data.params["stance._target_"].endswith("EmbeddingStanceClassifier")

    results = (results_dir / "RESULTS.md").read_text()
    assert "| embedding | gold.jsonl | " in results
    assert (results_dir / "results" / "embedding--gold.json").is_file()

    text = format_report(report)
    assert "macro-F1" in text and "confusion (rows gold, columns predicted)" in text
    for label in ("aggressive", "conciliatory", "hedging"):
        assert f"\n{label}" in text


def test_eval_stance_refuses_a_file_without_gold_actors(
    compose_config: ComposeConfig, tmp_path: Path
) -> None:
    plain = tmp_path / "articles.jsonl"
    plain.write_text(json.dumps({"id": "a", "text": "Some text."}) + "\n")
    cfg = compose_config(f"gold_path={plain}", "eval.results_dir=null", config_name="eval_stance")
    with pytest.raises(ValueError, match="without gold 'actors'"):
        evaluate_stance(cfg)


def test_results_table_keeps_one_row_per_model_and_gold_best_first() -> None:
    def row(model: str, macro_f1: float) -> dict:
        keys = ["stance_none_accuracy", "stance_ece", "actor_recall", "actor_precision"]
        keys += ["actors_stance_s_per_article", "stance_s_per_article"]
        keys += [f"stance_f1_{label}" for label in ("aggressive", "conciliatory", "hedging")]
        return {"model": model, "gold": "dev.jsonl", "stance_macro_f1": macro_f1, **dict.fromkeys(keys, 0.5)}

    table = render_results([row("embedding", 0.5), row("trained", 0.6)])
    lines = [line for line in table.splitlines() if line.startswith("| ") and "dev.jsonl" in line]
    assert [line.split(" | ")[0] for line in lines] == ["| trained", "| embedding"]
    assert all(line.count("|") == table.splitlines()[7].count("|") for line in lines)


def test_backend_name_is_the_module_of_the_target() -> None:
    assert backend_name("pipeline.stance.trained.TrainedStanceClassifier") == "trained"
    assert backend_name("pipeline.stance.nli.NLIStanceClassifier") == "nli"
