import json
from collections import Counter
from pathlib import Path

import datasets
import mlflow
import pytest

from pipeline.ingest import ingest
from pipeline.run import Stage, run_pipeline, run_shards, selected_stages, write_outputs
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
    }

    # Same output folder again: both shards are already written, so nothing is redone or duplicated.
    second = run_pipeline(cfg)
    assert second.metrics["resumed_shards_count"] == 2
    assert read_jsonl(second.output_dir / "predictions.jsonl") == predictions


def test_stage_selection_is_validated() -> None:
    assert selected_stages(["stance", "actors"]) == ["actors", "stance"]
    with pytest.raises(ValueError, match="unknown stage"):
        selected_stages(["summarise"])
    with pytest.raises(ValueError, match="needs stage 'actors'"):
        selected_stages(["summarize", "stance"])


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


def shout_unless_poisoned(dataset: datasets.Dataset) -> datasets.Dataset:
    """A stage that raises on any batch holding the article with id "poison", like a model error would."""
    if "poison" in dataset["id"]:
        raise ValueError("cannot process this article")
    return dataset.map(lambda row: {"summary": row["text"].upper()})


def test_an_article_a_stage_fails_on_is_recorded_and_the_job_goes_on(tmp_path: Path) -> None:
    ids = ["a", "poison", "c", "d", "e"]
    dataset = datasets.Dataset.from_dict({"id": ids, "text": [f"text of {i}" for i in ids]})
    stages = [Stage("summarize", shout_unless_poisoned)]
    counts: Counter[str] = Counter()
    shards = run_shards(dataset, stages, tmp_path / "shards", 2, 10, Counter(), counts)
    write_outputs(tmp_path, shards, counts)

    predictions = read_jsonl(tmp_path / "predictions.jsonl")
    assert [p["id"] for p in predictions] == ["a", "c", "d", "e"]  # "a" shared a shard with "poison"
    assert predictions[0]["summary"] == "TEXT OF A"
    [failure] = read_jsonl(tmp_path / "failures.jsonl")
    assert failure["id"] == "poison" and failure["text"] == "text of poison"  # input for a retry
    assert (
        failure["failed_stage"] == "summarize"
        and failure["error"] == "ValueError: cannot process this article"
    )
    assert counts["failed_articles"] == 1
    assert list(ingest(tmp_path / "failures.jsonl").dataset["id"]) == ["poison"]  # a retry's input as it is

    # A re-run resumes: the failed article counts as done, so no shard is recomputed.
    counts = Counter()
    write_outputs(
        tmp_path, run_shards(dataset, stages, tmp_path / "shards", 2, 10, Counter(), counts), counts
    )
    assert counts["resumed_shards"] == 3 and counts["failed_articles"] == 1
    assert read_jsonl(tmp_path / "predictions.jsonl") == predictions


def test_more_failures_than_allowed_stop_the_job(tmp_path: Path) -> None:
    dataset = datasets.Dataset.from_dict({"id": ["poison"], "text": ["x"]})
    shards = run_shards(
        dataset, [Stage("summarize", shout_unless_poisoned)], tmp_path, 1, 0, Counter(), Counter()
    )
    with pytest.raises(RuntimeError, match="1 articles failed, more than max_failures=0"):
        list(shards)


def test_a_shard_that_succeeds_on_a_retry_drops_its_old_failures(tmp_path: Path) -> None:
    dataset = datasets.Dataset.from_dict({"id": ["poison", "b"], "text": ["x", "y"]})
    stages = [Stage("summarize", shout_unless_poisoned)]
    list(run_shards(dataset, stages, tmp_path, 2, 10, Counter(), Counter()))
    (tmp_path / "part-00000.jsonl").unlink()  # as if the job died before the predictions were written

    def shout(batch: datasets.Dataset) -> datasets.Dataset:
        return batch.map(lambda row: {"summary": row["text"].upper()})

    counts: Counter[str] = Counter()
    list(run_shards(dataset, [Stage("summarize", shout)], tmp_path, 2, 10, Counter(), counts))
    assert not (tmp_path / "part-00000.failed.jsonl").exists() and counts["failed_articles"] == 0
    assert [r["id"] for r in read_jsonl(tmp_path / "part-00000.jsonl")] == ["poison", "b"]
