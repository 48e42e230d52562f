"""The pipeline as a Python function: `analyze(articles)` gives the prediction records, and the tables.

    from pipeline import analyze

    records = analyze([{"id": "a1", "text": "..."}], overrides=["stance=embedding"])

The articles go through the batch job's ingest (the same validation and cleaning); the stages are the ones
the config (conf/ with `overrides`) selects, built once per process for each stage configuration and
reused by every later call with it. Nothing is written unless `output_dir` is given, and nothing is
tracked: `python -m pipeline` is the job that logs to MLflow.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import datasets
import pandas as pd
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf
from transformers import set_seed

from pipeline import CONFIG_DIR
from pipeline.files import write_jsonl_atomic
from pipeline.ingest import Rejection, ingest
from pipeline.report import write_report
from pipeline.run import resolve_once
from pipeline.schema import ARTICLES_IN, ARTICLES_OUT, count_metric
from pipeline.shards import apply_stages
from pipeline.stages import Stage, build_stages, prediction_fields, prediction_record
from pipeline.tables import ACTORS_PARQUET, BY_PERIOD_CSV, PREDICTIONS_FILE, write_tables

# How many rejected articles an error message names; all of them are in its `rejected`.
REJECTIONS_NAMED = 20
# The stages built so far in this process, by their resolved configuration (`stage_key`).
_built_stages: dict[str, list[Stage]] = {}


class ArticlesRejected(ValueError):
    """Input articles that ingest rejected: the message names them and why, `rejected` holds them all."""

    def __init__(self, rejected: list[Rejection]) -> None:
        named = "; ".join(f"{r.id or r.location}: {r.reason}" for r in rejected[:REJECTIONS_NAMED])
        more = f"; and {len(rejected) - REJECTIONS_NAMED} more" if len(rejected) > REJECTIONS_NAMED else ""
        super().__init__(f"{len(rejected)} article(s) rejected: {named}{more}")
        self.rejected = rejected


class Analysis(NamedTuple):
    """What `analyze(..., tables=True)` returns (pipeline/tables.py describes the tables' columns)."""

    records: list[dict[str, Any]]
    actors: pd.DataFrame  # actors.parquet: one row per actor of an article
    by_period: pd.DataFrame  # actor_stance_by_period.csv: per actor id and period, stance counts


def analyze(
    articles: Sequence[Mapping[str, Any]] | pd.DataFrame,
    overrides: Sequence[str] = (),
    tables: bool = False,
    output_dir: str | Path | None = None,
) -> list[dict[str, Any]] | Analysis:
    """The prediction records of `articles`, in their order (the records predictions.jsonl holds); with
    `tables`, an `Analysis` that adds the actors table and the by-period table as DataFrames.

    `articles` are dicts (or DataFrame rows) with `id` and `text`, optionally `title`, `date`, `source`;
    `overrides` are Hydra overrides as on the command line (`["summarizer=lead3", "stance=embedding"]`).
    If ingest rejects any article, nothing runs and `ArticlesRejected` names each with its reason. With
    `output_dir`, predictions.jsonl, the tables, report.html and config.yaml are also written there.
    """
    cfg = compose_config(overrides)
    dataset = ingest_articles(article_records(articles), cfg.data.max_text_chars)
    set_seed(cfg.seed)
    records = predict(cached_stages(cfg), dataset)
    if output_dir is None and not tables:
        return records
    with output_folder(output_dir) as folder:
        write_analysis(folder, cfg, dataset, records, with_report=output_dir is not None)
        return Analysis(records, *read_tables(folder)) if tables else records


def write_analysis(
    folder: Path, cfg: DictConfig, dataset: datasets.Dataset, records: list[dict[str, Any]], with_report: bool
) -> None:
    """predictions.jsonl and the tables in `folder`; for a folder the caller keeps, report.html and
    config.yaml too."""
    write_jsonl_atomic(folder / PREDICTIONS_FILE, records)
    write_tables(folder, cfg.tables.period)
    if with_report:
        OmegaConf.save(cfg, folder / "config.yaml")
        metrics = {ARTICLES_IN: float(len(dataset)), count_metric(ARTICLES_OUT): float(len(records))}
        texts = dict(zip(dataset["id"], dataset["text"], strict=True))
        write_report(folder, metrics, texts, max_cards=cfg.report.max_cards, period=cfg.tables.period)


def read_tables(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The actors table and the by-period table that `write_tables` wrote in `folder`."""
    by_period = pd.read_csv(
        folder / BY_PERIOD_CSV, dtype={"actor_id": str, "actor": str, "period": str}, keep_default_na=False
    )
    return pd.read_parquet(folder / ACTORS_PARQUET), by_period


def compose_config(overrides: Sequence[str] = ()) -> DictConfig:
    """The project's config (conf/config.yaml) with `overrides`, resolved."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return resolve_once(compose("config", overrides=list(overrides)))


def article_records(articles: Sequence[Mapping[str, Any]] | pd.DataFrame) -> list[dict[str, Any]]:
    """The articles as dicts; a DataFrame's missing values (NaN, None) become absent fields."""
    if isinstance(articles, pd.DataFrame):
        return [
            {
                key: value
                for key, value in row.items()
                if not (pd.api.types.is_scalar(value) and pd.isna(value))
            }
            for row in articles.to_dict("records")
        ]
    return [dict(article) for article in articles]


def ingest_articles(records: Sequence[Mapping[str, Any]], max_text_chars: int) -> datasets.Dataset:
    """`records` checked and cleaned by the batch job's ingest, in their order; `ArticlesRejected` if it
    rejects any. They pass through a JSONL file, so values read as a batch job reads them (a timestamp
    as its text)."""
    with tempfile.TemporaryDirectory(prefix="newsstance-articles-") as folder:
        path = Path(folder) / "articles.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            handle.writelines(
                json.dumps(record, ensure_ascii=False, default=str) + "\n" for record in records
            )
        ingested = ingest(path, "jsonl", max_text_chars=max_text_chars)
    if ingested.rejected:
        raise ArticlesRejected(ingested.rejected)
    return ingested.dataset


def predict(stages: list[Stage], dataset: datasets.Dataset) -> list[dict[str, Any]]:
    """The prediction records of `dataset`'s articles after `stages`, in its order."""
    if not len(dataset):  # the stages need at least one article to batch
        return []
    fields = prediction_fields(stages)
    return [prediction_record(row, fields) for row in apply_stages(dataset, stages, Counter())]


def cached_stages(cfg: DictConfig) -> list[Stage]:
    """The stages `cfg` selects, built (models loaded) on the first call with their configuration."""
    key = stage_key(cfg)
    if key not in _built_stages:
        _built_stages[key] = build_stages(cfg)
    return _built_stages[key]


def stage_key(cfg: DictConfig) -> str:
    """What `build_stages` reads of `cfg` (the stage list and each stage's resolved backend), as text."""
    return json.dumps(OmegaConf.to_container(OmegaConf.masked_copy(cfg, ["stage", "stages"])), sort_keys=True)


@contextlib.contextmanager
def output_folder(output_dir: str | Path | None) -> Iterator[Path]:
    """`output_dir`, created if missing; without one, a temporary folder removed after the block."""
    if output_dir is not None:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        yield Path(output_dir)
        return
    with tempfile.TemporaryDirectory(prefix="newsstance-tables-") as folder:
        yield Path(folder)
