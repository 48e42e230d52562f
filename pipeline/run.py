"""The conductor: ingest -> stages -> outputs -> tracking -> evaluation -> report, in one MLflow run.

Read in data-flow order: `pipeline.ingest` (files to a Dataset), `pipeline.stages` (summarize, actors,
stance), `pipeline.shards` and `pipeline.executors` (where and how the shards run, resumably),
`pipeline.tables` (the analysts' tables), `pipeline.track` (MLflow), `pipeline.eval_stance` (scores
against gold), `pipeline.report` (report.html).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from transformers import set_seed

from pipeline.files import exclusive_folder, read_jsonl, scratch_folder, write_jsonl_atomic
from pipeline.ingest import ingest, write_rejections
from pipeline.report import write_report
from pipeline.schema import (
    ARTICLES_IN,
    ARTICLES_OUT,
    ARTICLES_PER_S,
    ARTICLES_REJECTED,
    TIME_TOTAL,
    RunSummary,
    count_metric,
    time_metric,
)
from pipeline.shards import ShardFiles, ShardWriter, plan_shards
from pipeline.stages import Stage, selected_stages, stage_class
from pipeline.tables import check_period, write_tables
from pipeline.track import Tracker

# In the output folder while a job runs: the Arrow file of its articles, memory-mapped (pipeline/ingest.py).
ARROW_DIR = ".arrow"


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
    # One writer per output folder: a second job on it stops here, before any model loads.
    output_dir = Path(cfg.paths.output_dir)
    with (
        exclusive_folder(output_dir) as describe,
        Tracker(**cfg.tracking) as tracker,
        scratch_folder(output_dir / ARROW_DIR) as arrow_dir,
    ):
        describe({"mlflow_run": tracker.run_id})
        summary = run_stages(cfg, tracker, arrow_dir)
        if gold is not None:
            summary.evaluation = evaluate_run(summary, gold, cfg, tracker)
        # Written once the scores exist, so an evaluation's report holds them too.
        report = write_report(
            summary.output_dir,
            summary.metrics,
            summary.texts,
            evaluation=summary.evaluation,
            max_cards=cfg.report.max_cards,
            period=cfg.tables.period,
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


def config_params(cfg: DictConfig) -> dict[str, Any]:
    """The config as the run's params: without the `stage` node, which only repeats top-level values and
    whole backend configs (config.yaml, logged as an artifact, holds it)."""
    return {key: value for key, value in OmegaConf.to_container(cfg).items() if key != "stage"}


def run_stages(cfg: DictConfig, tracker: Tracker, arrow_dir: Path) -> RunSummary:
    """`run_pipeline`'s work inside a run the caller opened (an evaluation adds its scores to the same run);
    the ingested articles' Arrow file goes to `arrow_dir`, which the caller removes."""
    # A bad stage list or table setting fails before any data or model work.
    stage_names = selected_stages(cfg)
    check_period(cfg.tables.period)
    output_dir = Path(cfg.paths.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    config_path = output_dir / "config.yaml"
    OmegaConf.save(cfg, config_path)
    set_seed(cfg.seed)
    tracker.log_config(config_params(cfg), config_path)

    timings: Counter[str] = Counter()
    started = time.perf_counter()
    ingested = ingest(cfg.data.path, cfg.data.format, cfg.data.limit, cfg.data.max_text_chars, arrow_dir)
    timings["ingest"] += time.perf_counter() - started
    write_rejections(output_dir / "rejected.jsonl", ingested.rejected)
    tracker.log_input(ingested.dataset, Path(cfg.data.path), name=Path(cfg.data.path).name)

    counts: Counter[str] = Counter()
    executor = instantiate(cfg.executor)
    stages = executor.start(cfg)
    for stage in stages:
        for prefix, params in stage.params().items():
            tracker.log_params(params, prefix=prefix)
    shards = plan_shards(ingested.dataset, cfg.shard_size, output_dir / "shards")
    writer = ShardWriter(shards, cfg.max_failures, timings, counts)
    executor.run(writer.pending(), writer)
    write_outputs(output_dir, writer.files(), [stage_class(cfg, name) for name in stage_names], counts)
    tables = write_tables(output_dir, cfg.tables.period)

    elapsed_s = time.perf_counter() - started
    metrics = {
        ARTICLES_IN: float(len(ingested.dataset)),
        ARTICLES_REJECTED: float(len(ingested.rejected)),
        **{count_metric(name): float(value) for name, value in counts.items()},
        **{time_metric(name): value for name, value in timings.items()},
        **{f"{stage.name}_{key}": float(value) for stage in stages for key, value in stage.usage().items()},
        TIME_TOTAL: elapsed_s,
        ARTICLES_PER_S: len(ingested.dataset) / elapsed_s if elapsed_s else 0.0,
    }
    tracker.log_metrics(metrics)
    # The cards highlight evidence verbatim in the cleaned text the stages saw; they cover the first rows.
    head = ingested.dataset.select(range(min(cfg.report.max_cards, len(ingested.dataset))))
    texts = dict(zip(head["id"], head["text"], strict=True))
    outputs = [output_dir / name for name in ("predictions.jsonl", "rejected.jsonl", "failures.jsonl")]
    for path in [*outputs, *tables]:
        tracker.log_artifact(path)
    return RunSummary(output_dir, tracker.run_id, cfg.tracking.tracking_uri, metrics, texts)


def write_outputs(
    output_dir: Path, shards: Iterator[ShardFiles], stages: list[type[Stage]], counts: Counter[str]
) -> None:
    """Concatenates the shards into predictions.jsonl (streaming) and failures.jsonl, and adds what the
    predictions hold to `counts` (each stage counts its own part)."""
    failure_files: list[Path] = []

    def records() -> Iterator[dict[str, Any]]:
        for files in shards:
            failure_files.append(files.failures)
            for record in read_jsonl(files.predictions):
                counts[ARTICLES_OUT] += 1
                for stage in stages:
                    stage.count(record, counts)
                yield record

    write_jsonl_atomic(output_dir / "predictions.jsonl", records())
    write_jsonl_atomic(
        output_dir / "failures.jsonl", (record for path in failure_files for record in read_jsonl(path))
    )
