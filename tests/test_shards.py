"""The shard loop's parts: failure isolation, resuming, the failure limit, atomic shard files."""

import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import datasets
import pytest

from pipeline.executors.local import LocalExecutor
from pipeline.ingest import ingest
from pipeline.run import write_outputs
from pipeline.shards import ShardFiles, ShardWriter, plan_shards


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


class ShoutStage:
    """A stage that upper-cases the text, and raises on any batch holding the article "poison" (when
    `poisoned`), like a model error would."""

    name = "summarize"
    needs = ()

    def __init__(self, poisoned: bool = True) -> None:
        self.poisoned = poisoned

    def __call__(self, dataset: datasets.Dataset) -> datasets.Dataset:
        if self.poisoned and "poison" in dataset["id"]:
            raise ValueError("cannot process this article")
        return dataset.map(lambda row: {"summary": row["text"].upper()})

    def columns(self) -> list[str]:
        return ["summary"]

    @staticmethod
    def count(record: Mapping[str, Any], counts: Counter[str]) -> None:
        counts["shouted"] += 1

    def usage(self) -> Mapping[str, int]:
        return {}

    def params(self) -> dict:
        return {}


def run_shards(
    dataset: datasets.Dataset,
    stage: ShoutStage,
    shards_dir: Path,
    shard_size: int,
    max_failures: int,
    counts: Counter[str],
) -> list[ShardFiles]:
    """What a local run does between ingest and the output files."""
    executor = LocalExecutor()
    executor.stages = [stage]
    writer = ShardWriter(plan_shards(dataset, shard_size, shards_dir), max_failures, Counter(), counts)
    executor.run(writer.pending(), writer)
    return list(writer.files())


def articles(*ids: str) -> datasets.Dataset:
    return datasets.Dataset.from_dict({"id": list(ids), "text": [f"text of {i}" for i in ids]})


def test_an_article_a_stage_fails_on_is_recorded_and_the_job_goes_on(tmp_path: Path) -> None:
    dataset = articles("a", "poison", "c", "d", "e")
    counts: Counter[str] = Counter()
    shards = run_shards(dataset, ShoutStage(), tmp_path / "shards", 2, 10, counts)
    write_outputs(tmp_path, iter(shards), [ShoutStage], counts)

    predictions = read_jsonl(tmp_path / "predictions.jsonl")
    assert [p["id"] for p in predictions] == ["a", "c", "d", "e"]  # "a" shared a shard with "poison"
    assert predictions[0] == {"id": "a", "summary": "TEXT OF A"}  # the stage's declared column only
    [failure] = read_jsonl(tmp_path / "failures.jsonl")
    assert failure["id"] == "poison" and failure["text"] == "text of poison"  # input for a retry
    assert (
        failure["failed_stage"] == "summarize"
        and failure["error"] == "ValueError: cannot process this article"
    )
    assert counts["failed_articles"] == 1 and counts["articles_out"] == 4 and counts["shouted"] == 4
    assert list(ingest(tmp_path / "failures.jsonl").dataset["id"]) == ["poison"]  # a retry's input as it is

    # A re-run resumes: the failed article counts as done, so no shard is recomputed.
    counts = Counter()
    write_outputs(
        tmp_path, iter(run_shards(dataset, ShoutStage(), tmp_path / "shards", 2, 10, counts)), [], counts
    )
    assert counts["resumed_shards"] == 3 and counts["failed_articles"] == 1
    assert read_jsonl(tmp_path / "predictions.jsonl") == predictions


def test_more_failures_than_allowed_stop_the_job_naming_the_article(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="1 articles failed, more than max_failures=0; the last: 'poison'"):
        run_shards(articles("poison"), ShoutStage(), tmp_path, 1, 0, Counter())


def test_a_shard_that_succeeds_on_a_retry_drops_its_old_failures(tmp_path: Path) -> None:
    dataset = articles("poison", "b")
    run_shards(dataset, ShoutStage(), tmp_path, 2, 10, Counter())
    (tmp_path / "part-00000.jsonl").unlink()  # as if the job died before the predictions were written

    counts: Counter[str] = Counter()
    run_shards(dataset, ShoutStage(poisoned=False), tmp_path, 2, 10, counts)
    assert not (tmp_path / "part-00000.failed.jsonl").exists() and counts["failed_articles"] == 0
    assert [r["id"] for r in read_jsonl(tmp_path / "part-00000.jsonl")] == ["poison", "b"]
    assert not list(tmp_path.glob("*.tmp"))  # every write renamed its temporary file into place
