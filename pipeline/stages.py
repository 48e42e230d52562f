"""The stage interface, and the stages: summarize -> actors -> stance.

A stage takes the shard's `datasets.Dataset` and returns it with its columns added; it declares which
prediction fields those are (`columns`) and what it counts in a written record (`count`). The stages are
built from the config's `stage` node by `_target_` (conf/config.yaml), in the order they are declared
there, and `stages` picks which run; adding a stage is a class here and an entry there.
"""

from __future__ import annotations

from collections import ChainMap, Counter
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

import datasets
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig

from pipeline.schema import CHECKER_COLUMNS, RECORD_FIELDS, SUMMARY_FEATURES
from pipeline.stance import classify_stance
from pipeline.summarize import summarize

Params = dict[str, str | int | float | bool | None]


class Stage(Protocol):
    name: ClassVar[str]
    # The stages whose columns this one reads.
    needs: ClassVar[tuple[str, ...]]

    def __call__(self, dataset: datasets.Dataset) -> datasets.Dataset: ...

    def columns(self) -> list[str]:
        """The prediction fields the stage adds, in their order in predictions.jsonl."""
        ...

    @staticmethod
    def count(record: Mapping[str, Any], counts: Counter[str]) -> None:
        """Adds what a written prediction record holds of this stage's work to the run's counts."""
        ...

    def usage(self) -> Mapping[str, int]:
        """Running totals the stage's model keeps (tokens read and generated), logged as `<name>_<key>`."""
        ...

    def params(self) -> dict[str, Params]:
        """The resolved settings of the stage's backends, by param prefix, for the tracking run."""
        ...


class SummarizeStage:
    name = "summarize"
    needs = ()

    def __init__(
        self,
        summarizer: Any,
        faithfulness: Any = None,
        batch_size: int = 16,
        cache_dir: str | None = None,
    ) -> None:
        self.summarizer, self.faithfulness, self.batch_size = summarizer, faithfulness, batch_size
        self.cache = None
        if cache_dir:
            from pipeline.summarize.cache import SummaryCache, source_digest

            settings = {
                "summarizer": summarizer.params(),
                "faithfulness": faithfulness.params() if faithfulness else None,
                "code": source_digest(),
            }
            self.cache = SummaryCache(cache_dir, settings)

    def __call__(self, dataset: datasets.Dataset) -> datasets.Dataset:
        return summarize(dataset, self.summarizer, self.batch_size, self.faithfulness, self.cache)

    def columns(self) -> list[str]:
        return [name for name in SUMMARY_FEATURES if self.faithfulness or name not in CHECKER_COLUMNS]

    @staticmethod
    def count(record: Mapping[str, Any], counts: Counter[str]) -> None:
        if record.get("summary_chunks", 1) > 1:
            counts["articles_chunked"] += 1
        if record.get("summary_read_sentences") is not None:
            counts["articles_summarised_from_lead"] += 1
        if record.get("summary_repairs"):
            counts["summaries_repaired"] += 1
        if record.get("summary_faithful") is False:
            counts["summaries_unfaithful"] += 1

    def usage(self) -> Mapping[str, int]:
        return ChainMap(getattr(self.summarizer, "token_counts", {}), self.cache.counts if self.cache else {})

    def params(self) -> dict[str, Params]:
        return {"summarizer_resolved": self.summarizer.params()}


class ActorsStage:
    name = "actors"
    needs = ()

    def __init__(self, extractor: Any, batch_size: int = 16) -> None:
        self.extractor, self.batch_size = extractor, batch_size

    def __call__(self, dataset: datasets.Dataset) -> datasets.Dataset:
        # Imported here so that a run without this stage does not load spaCy.
        from pipeline.actors import extract_actors

        return extract_actors(dataset, self.extractor, self.batch_size)

    def columns(self) -> list[str]:
        return ["actors"]

    @staticmethod
    def count(record: Mapping[str, Any], counts: Counter[str]) -> None:
        for actor in record.get("actors", []):
            counts["actors"] += 1
            if actor.get("evidence"):
                counts["actors_with_evidence"] += 1

    def usage(self) -> Mapping[str, int]:
        return {}

    def params(self) -> dict[str, Params]:
        return {}


class StanceStage:
    name = "stance"
    needs = ("actors",)

    def __init__(self, classifier: Any, batch_size: int = 64) -> None:
        self.classifier, self.batch_size = classifier, batch_size

    def __call__(self, dataset: datasets.Dataset) -> datasets.Dataset:
        return classify_stance(dataset, self.classifier, self.batch_size)

    def columns(self) -> list[str]:
        return []  # it labels the actors in the actors column

    @staticmethod
    def count(record: Mapping[str, Any], counts: Counter[str]) -> None:
        for actor in record.get("actors", []):
            if "stance" in actor:
                counts[f"stance_{actor['stance']}"] += 1

    def usage(self) -> Mapping[str, int]:
        return {}

    def params(self) -> dict[str, Params]:
        return {"stance_resolved": self.classifier.params()}


def selected_stages(cfg: DictConfig) -> list[str]:
    """The names in `cfg.stages`, in the order `cfg.stage` declares them; an error names what is wrong."""
    declared = list(cfg.stage)
    unknown = [name for name in cfg.stages if name not in declared]
    if unknown:
        raise ValueError(f"unknown stage(s) {unknown}; choose from {declared}")
    names = [name for name in declared if name in cfg.stages]
    for name in names:
        missing = [need for need in stage_class(cfg, name).needs if need not in names]
        if missing:
            raise ValueError(f"stage {name!r} needs stage(s) {missing} (it reads the columns they add)")
    return names


def stage_class(cfg: DictConfig, name: str) -> type[Stage]:
    return get_class(cfg.stage[name]["_target_"])


def build_stages(cfg: DictConfig) -> list[Stage]:
    """The selected stages with their models loaded, once; backends come from their config groups."""
    return [instantiate(cfg.stage[name]) for name in selected_stages(cfg)]


def prediction_fields(stages: list[Stage]) -> list[str]:
    return [*RECORD_FIELDS, *(column for stage in stages for column in stage.columns())]


def prediction_record(row: Mapping[str, Any], fields: list[str]) -> dict[str, Any]:
    return {name: row[name] for name in fields if name in row}
