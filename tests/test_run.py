import json
from pathlib import Path

import mlflow
import pytest

from pipeline.run import run_pipeline
from tests.conftest import ComposeConfig

DATA = Path(__file__).parent / "data"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_ingest_only_run_writes_outputs_tracks_and_resumes(
    compose_config: ComposeConfig, tmp_path: Path
) -> None:
    cfg = compose_config("stages=[]", f"data.path={DATA / 'bad_records.jsonl'}", "shard_size=1")
    first = run_pipeline(cfg)

    predictions = read_jsonl(first.output_dir / "predictions.jsonl")
    assert [p["id"] for p in predictions] == ["good-1", "7"]
    assert len(read_jsonl(first.output_dir / "rejected.jsonl")) == 10
    client = mlflow.MlflowClient(cfg.tracking.tracking_uri)
    run = client.get_run(first.run_id)
    assert run.data.metrics["articles_in"] == 2 and run.data.metrics["articles_rejected"] == 10
    assert run.data.params["data.path"] == str(DATA / "bad_records.jsonl")
    assert {a.path for a in client.list_artifacts(first.run_id)} == {
        "config.yaml",
        "predictions.jsonl",
        "rejected.jsonl",
        "failures.jsonl",
        "report.html",
        "actors.parquet",
        "actors.csv",
        "actor_stance_by_period.csv",
    }

    # Same output folder again: both shards are already written, so nothing is redone or duplicated.
    second = run_pipeline(cfg)
    assert second.metrics["resumed_shards_count"] == 2
    assert read_jsonl(second.output_dir / "predictions.jsonl") == predictions


OBAMA_ARTICLE = {
    "id": "obama-cyber",
    "title": "Obama warns China over cyber attacks",
    "date": "2015-09-16",
    "source": "test",
    "text": (
        "President Barack Obama warned China on Wednesday that cyber attacks on American companies were "
        '"an act of aggression that has to stop." Obama said the United States was prepared to take '
        "countervailing actions.\n\n"
        "China's assistant foreign minister Zheng Zeguang said Beijing wanted to increase mutual trust and "
        "cooperation in cyberspace. Xi Jinping is due to visit Washington next week."
    ),
}


def run_on_articles(compose_config: ComposeConfig, tmp_path: Path, *overrides: str) -> tuple[dict, dict]:
    articles = tmp_path / "articles.jsonl"
    articles.write_text(json.dumps(OBAMA_ARTICLE) + "\n" + json.dumps({"id": "empty", "text": " "}) + "\n")
    summary = run_pipeline(compose_config(f"data.path={articles}", *overrides))
    [prediction] = read_jsonl(summary.output_dir / "predictions.jsonl")
    run = mlflow.MlflowClient(summary.tracking_uri).get_run(summary.run_id)
    return prediction, {"params": run.data.params, "metrics": run.data.metrics}


def check_prediction(prediction: dict, logged: dict) -> None:
    assert prediction["id"] == "obama-cyber" and prediction["summary"].strip()
    actors = {actor["name"]: actor for actor in prediction["actors"]}
    obama = actors["Barack Obama"]  # "Barack Obama", "Obama" and "President Obama" are one actor
    assert not any(name in actors for name in ("Obama", "President Obama"))
    assert obama["type"] == "person" and obama["evidence"]
    assert obama["stance"] == "aggressive"
    assert abs(sum(obama["probabilities"].values()) - 1) < 1e-4
    assert actors["Xi Jinping"]["stance"] == "none" and actors["Xi Jinping"]["evidence"] == []
    assert logged["metrics"]["articles_in"] == 1 and logged["metrics"]["articles_rejected"] == 1
    assert logged["metrics"]["actors_count"] == len(prediction["actors"])
    assert logged["metrics"]["time_stance_s"] > 0


def test_fast_backends_end_to_end(compose_config: ComposeConfig, tmp_path: Path) -> None:
    prediction, logged = run_on_articles(compose_config, tmp_path, "summarizer=lead3", "stance=embedding")
    check_prediction(prediction, logged)
    assert prediction["summary"].startswith("President Barack Obama warned China")
    assert logged["params"]["summarizer_resolved.backend"] == "lead"


def test_a_rerun_takes_summaries_from_the_content_cache(
    compose_config: ComposeConfig, tmp_path: Path
) -> None:
    def run_into(folder: str) -> tuple[dict, dict]:
        (tmp_path / folder).mkdir()
        overrides = ["summarizer=lead3", "stages=[summarize]", f"summary_cache_dir={tmp_path / 'summaries'}"]
        return run_on_articles(
            compose_config, tmp_path / folder, *overrides, f"paths.output_dir={tmp_path / folder}"
        )

    first, _ = run_into("first")
    again, logged = run_into("again")  # another output folder: nothing to resume, so only the cache can help
    assert again == first
    assert logged["metrics"]["summarize_cache_hits"] == 1
    assert "summarize_cache_misses" not in logged["metrics"]


@pytest.mark.slow
def test_default_models_end_to_end(compose_config: ComposeConfig, tmp_path: Path) -> None:
    prediction, logged = run_on_articles(compose_config, tmp_path)
    check_prediction(prediction, logged)
    assert "Obama" in prediction["summary"] and prediction["summary"].rstrip().endswith((".", '"', "!", "?"))
    assert logged["params"]["summarizer.gguf.sha256"].startswith("1d9614638d18")
