"""Runs the stages the config selects, shard by shard, inside one tracked MLflow run.

Each shard's predictions are written atomically to `shards/part-NNNNN.jsonl` in the output folder;
a re-run into the same folder skips the shards already written for the same article ids, so an
interrupted job resumes instead of starting over.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import ChainMap, Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import datasets
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm
from transformers import set_seed

from pipeline.ingest import ingest, write_rejections
from pipeline.report import write_report
from pipeline.track import Tracker

log = logging.getLogger(__name__)

STAGE_ORDER = ("summarize", "actors", "stance")
# Columns written to predictions.jsonl, in this order, when the stages produced them.
PREDICTION_FIELDS = (
    "id",
    "title",
    "date",
    "source",
    "summary",
    "summary_chunks",
    "summary_read_sentences",
    "summary_repairs",
    "summary_faithfulness",
    "summary_faithful",
    "summary_unsupported",
    "actors",
)


@dataclass
class Stage:
    name: str
    apply: Callable[[datasets.Dataset], datasets.Dataset]
    # Running totals the stage's model keeps (tokens read and generated), logged as `<name>_<key>` metrics.
    usage: Mapping[str, int] = field(default_factory=dict)


@dataclass
class RunSummary:
    output_dir: Path
    run_id: str
    tracking_uri: str
    metrics: dict[str, float] = field(default_factory=dict)
    # The cleaned text of the articles the report shows, by id.
    texts: dict[str, str] = field(default_factory=dict)
    evaluation: dict[str, Any] | None = None  # the scores against gold, when the config names a gold file
    model_version: int | None = None  # the registered pipeline model's version, when `registry.register`
    unlogged: list[str] = field(default_factory=list)  # what did not reach an unreachable tracking store


def run_pipeline(cfg: DictConfig) -> RunSummary:
    """Ingests `cfg.data.path`, runs the selected stages and writes predictions.jsonl + rejected.jsonl.

    With `gold_path` set (an evaluation: `evaluation=stance`, or an experiment that selects it), the
    predictions are then scored against that gold file in the same MLflow run.
    """
    cfg = resolve_once(cfg)
    gold = None
    if cfg.get("gold_path"):
        # Imported here so a plain run does not pay for the evaluation's imports.
        from pipeline.eval_stance import evaluate_run, read_gold

        gold = read_gold(Path(cfg.gold_path))  # a bad gold file fails before any model work
    with Tracker(**cfg.tracking) as tracker:
        summary = run_stages(cfg, tracker)
        if gold is not None:
            summary.evaluation = evaluate_run(summary, gold, cfg, tracker)
        # Written once the scores exist, so an evaluation's report holds them too.
        report = write_report(
            summary.output_dir,
            summary.metrics,
            summary.texts,
            evaluation=summary.evaluation,
            max_cards=cfg.report.max_cards,
        )
        tracker.log_artifact(report)
        if cfg.registry.register and tracker.unreachable is None:
            from pipeline.registry import log_pipeline_model

            summary.model_version = log_pipeline_model(cfg)
        elif cfg.registry.register:
            tracker.unlogged.append("the pipeline model")
        summary.unlogged = tracker.unlogged
        return summary


def resolve_once(cfg: DictConfig) -> DictConfig:
    """The config with every interpolation resolved, so `${now:...}` gives one time for the whole job."""
    return OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))


def run_stages(cfg: DictConfig, tracker: Tracker) -> RunSummary:
    """`run_pipeline`'s work inside a run the caller opened (an evaluation adds its scores to the same run)."""
    stages = selected_stages(cfg.stages)
    output_dir = Path(cfg.paths.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    config_path = output_dir / "config.yaml"
    OmegaConf.save(cfg, config_path)
    set_seed(cfg.seed)
    tracker.log_config(OmegaConf.to_container(cfg), config_path)

    timings: Counter[str] = Counter()
    started = time.perf_counter()
    ingested = ingest(cfg.data.path, cfg.data.format, cfg.data.limit, cfg.data.max_text_chars)
    timings["ingest"] += time.perf_counter() - started
    write_rejections(output_dir / "rejected.jsonl", ingested.rejected)
    tracker.log_input(ingested.dataset, Path(cfg.data.path), name=Path(cfg.data.path).name)

    counts: Counter[str] = Counter()
    if cfg.executor.name == "ray":
        # Imported here so a local run needs no Ray; the workers build the stages, not this process.
        from pipeline.distributed import run_shards_on_ray

        built: list[Stage] = []
        shards = run_shards_on_ray(ingested.dataset, cfg, output_dir / "shards", timings, counts)
    else:
        built = [build_stage(name, cfg, tracker) for name in stages]
        shards = run_shards(
            ingested.dataset, built, output_dir / "shards", cfg.shard_size, cfg.max_failures, timings, counts
        )
    write_outputs(output_dir, shards, counts)

    elapsed_s = time.perf_counter() - started
    metrics = {
        "articles_in": float(len(ingested.dataset)),
        "articles_rejected": float(len(ingested.rejected)),
        **{f"{name}_count": float(value) for name, value in counts.items()},
        **{f"time_{name}_s": value for name, value in timings.items()},
        **{f"{stage.name}_{key}": float(value) for stage in built for key, value in stage.usage.items()},
        "time_total_s": elapsed_s,
        "articles_per_s": len(ingested.dataset) / elapsed_s if elapsed_s else 0.0,
    }
    tracker.log_metrics(metrics)
    # The cards highlight evidence verbatim in the cleaned text the stages saw; they cover the first rows.
    head = ingested.dataset.select(range(min(cfg.report.max_cards, len(ingested.dataset))))
    texts = dict(zip(head["id"], head["text"], strict=True))
    for name in ("predictions.jsonl", "rejected.jsonl", "failures.jsonl"):
        tracker.log_artifact(output_dir / name)
    return RunSummary(output_dir, tracker.run_id, cfg.tracking.tracking_uri, metrics, texts)


def selected_stages(stages: list[str]) -> list[str]:
    unknown = [name for name in stages if name not in STAGE_ORDER]
    if unknown:
        raise ValueError(f"unknown stage(s) {unknown}; choose from {list(STAGE_ORDER)}")
    if "stance" in stages and "actors" not in stages:
        raise ValueError("stage 'stance' needs stage 'actors' (it classifies the actors that stage finds)")
    return [name for name in STAGE_ORDER if name in stages]


def build_stage(name: str, cfg: DictConfig, tracker: Tracker | None = None) -> Stage:
    """Loads the stage's model once (backends come from the config's `_target_`); logs its params to
    `tracker` when given (the registered pipeline model builds its stages outside any run)."""
    # Imported here so a run without a stage does not pay for importing its model stack.
    if name == "summarize":
        from pipeline.summarize import summarize

        summarizer = instantiate(cfg.summarizer)
        checker = instantiate(cfg.faithfulness) if cfg.get("faithfulness") else None
        if tracker is not None:
            tracker.log_params(summarizer.params(), prefix="summarizer_resolved")
        cache = None
        if cfg.get("summary_cache_dir"):
            from pipeline.summarize.cache import SummaryCache, source_digest

            settings = {
                "summarizer": summarizer.params(),
                "faithfulness": checker.params() if checker else None,
                "code": source_digest(),
            }
            cache = SummaryCache(cfg.summary_cache_dir, settings)
        apply = partial(
            summarize,
            summarizer=summarizer,
            batch_size=cfg.summarize_batch_size,
            faithfulness=checker,
            cache=cache,
        )
        usage = ChainMap(getattr(summarizer, "token_counts", {}), cache.counts if cache else {})
        return Stage(name, apply, usage)
    if name == "actors":
        from pipeline.actors import extract_actors

        extractor = instantiate(cfg.actors)
        return Stage(name, partial(extract_actors, extractor=extractor, batch_size=cfg.actors_batch_size))
    from pipeline.stance import classify_stance

    classifier = instantiate(cfg.stance)
    if tracker is not None:
        tracker.log_params(classifier.params(), prefix="stance_resolved")
    return Stage(name, partial(classify_stance, classifier=classifier, batch_size=cfg.stance_batch_size))


@dataclass
class ShardFiles:
    predictions: Path
    failures: Path  # the shard's articles a stage failed on (may not exist: none failed)

    @classmethod
    def at(cls, shards_dir: Path, index: int) -> ShardFiles:
        return cls(shards_dir / f"part-{index:05d}.jsonl", shards_dir / f"part-{index:05d}.failed.jsonl")

    def failed_ids(self) -> list[str]:
        return read_ids(self.failures)


def shard_done(files: ShardFiles, ids: list[str]) -> bool:
    """Whether the shard's predictions and failures files together hold exactly these article ids."""
    return files.predictions.exists() and sorted(read_ids(files.predictions) + files.failed_ids()) == sorted(
        ids
    )


def write_shard(files: ShardFiles, predictions: list[dict[str, Any]], failures: list[dict[str, Any]]) -> None:
    # Failures first: a shard counts as done only once its predictions file exists. A failures file
    # left by an earlier, interrupted attempt at this shard must not outlive it.
    if failures:
        write_jsonl_atomic(files.failures, iter(failures))
    else:
        files.failures.unlink(missing_ok=True)
    write_jsonl_atomic(files.predictions, iter(predictions))


class StageFailure(Exception):
    def __init__(self, stage: str, error: Exception):
        super().__init__(f"stage {stage!r} failed: {type(error).__name__}: {error}")
        self.stage, self.error = stage, error


def run_shards(
    dataset: datasets.Dataset,
    stages: list[Stage],
    shards_dir: Path,
    shard_size: int,
    max_failures: int,
    timings: Counter[str],
    counts: Counter[str],
) -> Iterator[ShardFiles]:
    """Yields each shard's files in input order, running the stages only on shards not done yet.

    A shard is done when its predictions and failures files together hold exactly its article ids.
    An article that makes a stage raise is written to the failures file with the error (retried alone
    first, so one bad article costs only itself); more than `max_failures` in a job means something
    is wrong beyond single articles, and the job stops. Adds each stage's seconds to `timings`, and
    shards resumed and articles failed to `counts`. Shows one progress bar over the articles, with ETA.
    """
    shards_dir.mkdir(parents=True, exist_ok=True)
    shard_count = (len(dataset) + shard_size - 1) // shard_size
    with tqdm(total=len(dataset), unit="article", desc="articles", dynamic_ncols=True) as progress:
        for index in range(shard_count):
            shard = dataset.select(range(index * shard_size, min((index + 1) * shard_size, len(dataset))))
            files = ShardFiles.at(shards_dir, index)
            if shard_done(files, shard["id"]):
                counts["resumed_shards"] += 1
                counts["failed_articles"] += len(files.failed_ids())
                progress.update(len(shard))
                yield files
                continue
            done, failures = apply_stages_isolating_failures(shard, stages, timings)
            counts["failed_articles"] += len(failures)
            if counts["failed_articles"] > max_failures:
                raise RuntimeError(
                    f"{counts['failed_articles']} articles failed, more than max_failures={max_failures}; "
                    f"the last: {failures[-1]['id']!r}: {failures[-1]['error']}"
                )
            write_shard(files, [prediction_record(row) for row in done], failures)
            progress.update(len(shard))
            yield files


def apply_stages(shard: datasets.Dataset, stages: list[Stage], timings: Counter[str]) -> datasets.Dataset:
    for stage in stages:
        started = time.perf_counter()
        try:
            shard = stage.apply(shard)
        except Exception as error:
            raise StageFailure(stage.name, error) from error
        finally:
            timings[stage.name] += time.perf_counter() - started
    return shard


def apply_stages_isolating_failures(
    shard: datasets.Dataset, stages: list[Stage], timings: Counter[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The shard's rows after all stages, and a failure record (the article, the stage, the error) for
    each article a stage raised on; when the whole shard fails, each article is run alone to find them."""
    try:
        return list(apply_stages(shard, stages, timings)), []
    except StageFailure as failure:
        if len(shard) == 1:
            return [], [failure_record(shard[0], failure)]
    done, failures = [], []
    for row_index in range(len(shard)):
        try:
            done.extend(apply_stages(shard.select([row_index]), stages, timings))
        except StageFailure as failure:
            failures.append(failure_record(shard[row_index], failure))
    return done, failures


def failure_record(article: dict[str, Any], failure: StageFailure) -> dict[str, Any]:
    """The article with `failed_stage` and `error` added: a failures file is itself input for a retry."""
    log.warning("article %r failed in stage %r: %s", article["id"], failure.stage, failure.error)
    return {
        **article,
        "failed_stage": failure.stage,
        "error": f"{type(failure.error).__name__}: {failure.error}",
    }


def prediction_record(row: dict[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in PREDICTION_FIELDS if name in row}


def read_ids(path: Path) -> list[str]:
    """The ids in a shard file; none if it does not exist."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line)["id"] for line in handle]


def write_jsonl_atomic(path: Path, records: Iterator[dict[str, Any]]) -> None:
    """Writes to a temp file and renames it, so a killed job never leaves a half-written file behind."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


def write_outputs(output_dir: Path, shards: Iterator[ShardFiles], counts: Counter[str]) -> None:
    """Concatenates the shards into predictions.jsonl (streaming) and failures.jsonl, and adds what the
    predictions hold to `counts`."""
    failure_files: list[Path] = []

    def records() -> Iterator[dict[str, Any]]:
        for files in shards:
            failure_files.append(files.failures)
            with files.predictions.open(encoding="utf-8") as handle:
                for line in handle:
                    record = json.loads(line)
                    count_record(record, counts)
                    yield record

    write_jsonl_atomic(output_dir / "predictions.jsonl", records())
    write_jsonl_atomic(
        output_dir / "failures.jsonl",
        (json.loads(line) for path in failure_files if path.exists() for line in path.open(encoding="utf-8")),
    )


def count_record(record: dict[str, Any], counts: Counter[str]) -> None:
    counts["articles_out"] += 1
    if record.get("summary_chunks", 1) > 1:
        counts["articles_chunked"] += 1
    if record.get("summary_read_sentences") is not None:
        counts["articles_summarised_from_lead"] += 1
    if record.get("summary_repairs"):
        counts["summaries_repaired"] += 1
    if record.get("summary_faithful") is False:
        counts["summaries_unfaithful"] += 1
    for actor in record.get("actors", []):
        counts["actors"] += 1
        if actor.get("evidence"):
            counts["actors_with_evidence"] += 1
        if "stance" in actor:
            counts[f"stance_{actor['stance']}"] += 1
