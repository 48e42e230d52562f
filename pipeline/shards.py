"""The shard loop's parts, shared by every executor: which shards are left, running one with failure
isolation, and writing its result atomically.

A job is cut into shards of `shard_size` articles. A shard is done when its predictions file and its
failures file together hold exactly its article ids, so a re-run into the same folder skips the shards
written before and resumes after the last one.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
from tqdm.auto import tqdm

from pipeline.files import read_jsonl, write_jsonl_atomic
from pipeline.schema import FAILED_ARTICLES, RESUMED_SHARDS
from pipeline.stages import Stage, prediction_fields, prediction_record

log = logging.getLogger(__name__)


@dataclass
class ShardFiles:
    predictions: Path
    failures: Path  # the shard's articles a stage failed on (may not exist: none failed)

    @classmethod
    def at(cls, shards_dir: Path, index: int) -> ShardFiles:
        return cls(shards_dir / f"part-{index:05d}.jsonl", shards_dir / f"part-{index:05d}.failed.jsonl")

    def failed_ids(self) -> list[str]:
        return read_ids(self.failures)


@dataclass
class Shard:
    index: int
    articles: datasets.Dataset
    files: ShardFiles

    def done(self) -> bool:
        """Whether the shard's predictions and failures files together hold exactly its article ids."""
        return self.files.predictions.exists() and sorted(
            read_ids(self.files.predictions) + self.files.failed_ids()
        ) == sorted(self.articles["id"])


@dataclass
class ShardResult:
    index: int
    predictions: list[dict[str, Any]]
    failures: list[dict[str, Any]]  # each article a stage raised on, with `failed_stage` and `error`
    timings: Counter[str] = field(default_factory=Counter)  # seconds per stage


def plan_shards(dataset: datasets.Dataset, shard_size: int, shards_dir: Path) -> list[Shard]:
    shards_dir.mkdir(parents=True, exist_ok=True)
    return [
        Shard(
            index,
            dataset.select(range(start, min(start + shard_size, len(dataset)))),
            ShardFiles.at(shards_dir, index),
        )
        for index, start in enumerate(range(0, len(dataset), shard_size))
    ]


class StageFailure(Exception):
    def __init__(self, stage: str, error: Exception):
        super().__init__(f"stage {stage!r} failed: {type(error).__name__}: {error}")
        self.stage, self.error = stage, error


def apply_stages(articles: datasets.Dataset, stages: list[Stage], timings: Counter[str]) -> datasets.Dataset:
    for stage in stages:
        started = time.perf_counter()
        try:
            articles = stage(articles)
        except Exception as error:
            raise StageFailure(stage.name, error) from error
        finally:
            timings[stage.name] += time.perf_counter() - started
    return articles


def run_shard(index: int, articles: datasets.Dataset, stages: list[Stage]) -> ShardResult:
    """The shard's prediction records after all stages, and a failure record for each article a stage
    raised on; when the whole shard fails, each article is run alone to find them, so one bad article
    costs only itself."""
    timings: Counter[str] = Counter()
    fields = prediction_fields(stages)
    try:
        done = list(apply_stages(articles, stages, timings))
        return ShardResult(index, [prediction_record(row, fields) for row in done], [], timings)
    except StageFailure as failure:
        if len(articles) == 1:
            return ShardResult(index, [], [failure_record(articles[0], failure)], timings)
    predictions, failures = [], []
    for row_index in range(len(articles)):
        try:
            done = list(apply_stages(articles.select([row_index]), stages, timings))
            predictions += [prediction_record(row, fields) for row in done]
        except StageFailure as failure:
            failures.append(failure_record(articles[row_index], failure))
    return ShardResult(index, predictions, failures, timings)


def failure_record(article: dict[str, Any], failure: StageFailure) -> dict[str, Any]:
    """The article with `failed_stage` and `error` added: a failures file is itself input for a retry."""
    log.warning("article %r failed in stage %r: %s", article["id"], failure.stage, failure.error)
    return {
        **article,
        "failed_stage": failure.stage,
        "error": f"{type(failure.error).__name__}: {failure.error}",
    }


class ShardWriter:
    """Records shard results as an executor hands them over: writes the shard's files, adds its timings
    and failures to the run's, and stops the job past `max_failures` failed articles, since that means
    something beyond single articles is wrong. One progress bar over the articles, with ETA."""

    def __init__(self, shards: list[Shard], max_failures: int, timings: Counter[str], counts: Counter[str]):
        self.shards, self.max_failures = shards, max_failures
        self.timings, self.counts = timings, counts
        self.progress = tqdm(
            total=sum(len(shard.articles) for shard in shards),
            unit="article",
            desc="articles",
            dynamic_ncols=True,
        )

    def pending(self) -> list[Shard]:
        """The shards not done yet; those done count as resumed."""
        left = []
        for shard in self.shards:
            if shard.done():
                self.counts[RESUMED_SHARDS] += 1
                self.counts[FAILED_ARTICLES] += len(shard.files.failed_ids())
                self.progress.update(len(shard.articles))
            else:
                left.append(shard)
        return left

    def write(self, result: ShardResult) -> None:
        self.timings.update(result.timings)
        self.counts[FAILED_ARTICLES] += len(result.failures)
        if self.counts[FAILED_ARTICLES] > self.max_failures:
            last = result.failures[-1]
            raise RuntimeError(
                f"{self.counts[FAILED_ARTICLES]} articles failed, more than max_failures={self.max_failures}; "
                f"the last: {last['id']!r}: {last['error']}"
            )
        files = self.shards[result.index].files
        # Failures first: a shard counts as done only once its predictions file exists. A failures file
        # left by an earlier, interrupted attempt at this shard must not outlive it.
        if result.failures:
            write_jsonl_atomic(files.failures, result.failures)
        else:
            files.failures.unlink(missing_ok=True)
        write_jsonl_atomic(files.predictions, result.predictions)
        self.progress.update(len(self.shards[result.index].articles))

    def files(self) -> Iterator[ShardFiles]:
        """Every shard's files in input order, once all are written."""
        self.progress.close()
        return (shard.files for shard in self.shards)


def read_ids(path: Path) -> list[str]:
    """The ids in a shard file; none if it does not exist."""
    return [record["id"] for record in read_jsonl(path)]
