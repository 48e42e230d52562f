"""The contract the stages, the report and evaluation share: dataset columns, stance labels, metric names."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets

# Stance labels (shared ANNOTATION.md). An actor that says or does nothing with a stance is NO_STANCE.
LABELS = ("aggressive", "conciliatory", "hedging")
NO_STANCE = "none"
# What the stance stage gives every actor a probability of.
STANCE_CLASSES = (*LABELS, NO_STANCE)

# What ingest gives every stage: one row per article.
ARTICLE_FEATURES = datasets.Features(
    {name: datasets.Value("string") for name in ("id", "title", "date", "source", "text")}
)
# What the actors stage writes per actor; the stance stage adds STANCE_FEATURES to each.
ACTOR_FEATURES = {
    "name": datasets.Value("string"),
    "aliases": datasets.List(datasets.Value("string")),
    "type": datasets.Value("string"),
    "evidence": datasets.List(datasets.Value("string")),
}
STANCE_FEATURES = {
    "stance": datasets.Value("string"),
    "probabilities": {label: datasets.Value("float64") for label in STANCE_CLASSES},
}
# The summarize stage's columns; the last three only when a faithfulness checker runs.
SUMMARY_FEATURES = {
    "summary": datasets.Value("string"),
    "summary_chunks": datasets.Value("int32"),
    "summary_read_sentences": datasets.Value("int32"),
    "summary_repairs": datasets.List(datasets.Value("string")),
    "summary_faithfulness": datasets.Value("float64"),
    "summary_faithful": datasets.Value("bool"),
    "summary_unsupported": datasets.List(datasets.Value("string")),
}
CHECKER_COLUMNS = ("summary_faithfulness", "summary_faithful", "summary_unsupported")
# The article fields every prediction record starts with; the stages' columns follow.
RECORD_FIELDS = ("id", "title", "date", "source")

# Run metrics. A count kept while the predictions are written is logged as `<name>_count`, a stage's
# wall time as `time_<stage>_s`.
ARTICLES_IN = "articles_in"
ARTICLES_REJECTED = "articles_rejected"
TIME_TOTAL = "time_total_s"
ARTICLES_PER_S = "articles_per_s"
ARTICLES_OUT = "articles_out"
RESUMED_SHARDS = "resumed_shards"
FAILED_ARTICLES = "failed_articles"


def count_metric(name: str) -> str:
    return f"{name}_count"


def time_metric(stage: str) -> str:
    return f"time_{stage}_s"


@dataclass
class RunSummary:
    """What a run leaves for the evaluation, the report and the caller."""

    output_dir: Path
    run_id: str
    tracking_uri: str
    metrics: dict[str, float] = field(default_factory=dict)
    # The cleaned text of the articles the report shows, by id.
    texts: dict[str, str] = field(default_factory=dict)
    evaluation: dict[str, Any] | None = None  # the scores against gold, when the config names a gold file
    model_version: int | None = None  # the registered pipeline model's version, when `registry.register`
    unlogged: list[str] = field(default_factory=list)  # what did not reach an unreachable tracking store
