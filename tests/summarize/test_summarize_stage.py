from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import datasets
from hydra.utils import instantiate
from omegaconf import DictConfig

from pipeline.summarize import Summary, summarize
from pipeline.summarize.cache import SummaryCache
from pipeline.summarize.lead import LeadSummarizer, lead_sentences


class RecordingSummarizer:
    """Summarises each text as its own length, remembering the batches it was given."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def summarize_batch(self, texts: list[str]) -> list[Summary]:
        self.batches.append(texts)
        return [
            Summary(
                str(len(text)),
                chunks=len(text) // 10 + 1,
                repaired=["x"] * (len(text) % 2),
                read_sentences=8 if len(text) > 20 else None,
            )
            for text in texts
        ]

    def params(self) -> dict[str, str | int | float | bool | None]:
        return {}


def test_summarize_adds_columns_in_row_order_from_length_sorted_batches() -> None:
    texts = ["a" * n for n in (5, 30, 12, 41, 8)]
    dataset = datasets.Dataset.from_dict({"id": [str(i) for i in range(5)], "text": texts})
    summarizer = RecordingSummarizer()

    out = summarize(dataset, summarizer, batch_size=2)

    assert out["summary"] == [str(len(t)) for t in texts]
    assert out["summary_chunks"] == [1, 4, 2, 5, 1]
    assert out["summary_repairs"] == [["x"], [], [], ["x"], []]
    assert out["summary_read_sentences"] == [None, 8, None, 8, None]
    assert out["id"] == dataset["id"]
    assert [len(b) for b in summarizer.batches] == [2, 2, 1]
    assert [len(t) for b in summarizer.batches for t in b] == [41, 30, 12, 8, 5]


class FailingSummarizer(RecordingSummarizer):
    def summarize_batch(self, texts: list[str]) -> list[Summary]:
        raise AssertionError(f"the model was asked to summarise {texts}")


def test_cached_articles_are_not_summarised_again(tmp_path: Path) -> None:
    first = datasets.Dataset.from_dict({"id": ["a", "b"], "text": ["a" * 30, "b" * 7]})
    cache = SummaryCache(tmp_path, {"model": "recording"})
    written = summarize(first, RecordingSummarizer(), cache=cache)

    # The same texts under other ids, in another order, in a later run: no model work at all.
    again = datasets.Dataset.from_dict({"id": ["y", "x"], "text": ["b" * 7, "a" * 30]})
    reread = summarize(again, FailingSummarizer(), cache=SummaryCache(tmp_path, {"model": "recording"}))
    assert reread["summary"] == written["summary"][::-1] == ["7", "30"]
    assert reread["summary_chunks"] == [1, 4] and reread["summary_read_sentences"] == [None, 8]

    # Other settings are another namespace; a new text is summarised and counted as a miss.
    other = SummaryCache(tmp_path, {"model": "other"})
    recording = RecordingSummarizer()
    summarize(datasets.Dataset.from_dict({"text": ["b" * 7]}), recording, cache=other)
    assert recording.batches == [["b" * 7]] and other.counts == {"cache_misses": 1}


def test_summarize_types_the_columns_even_when_nothing_was_repaired() -> None:
    dataset = datasets.Dataset.from_dict({"text": ["Oil rose. Gas fell."]})
    out = summarize(dataset, LeadSummarizer(num_sentences=1))
    assert out["summary"] == ["Oil rose."]
    assert out.features["summary_repairs"] == datasets.List(datasets.Value("string"))


def test_lead_sentences_skip_headings_and_keep_abbreviations() -> None:
    text = (
        "Economy and business\n\nThe head of the WTO, Pascal Lamy, called a meeting. It is on Nov. 12. More."
    )
    assert lead_sentences(text, 2) == "The head of the WTO, Pascal Lamy, called a meeting. It is on Nov. 12."
    assert lead_sentences("A headline only", 3) == "A headline only"


def test_lead3_config_builds_the_baseline(compose_summarizer: Callable[..., DictConfig]) -> None:
    lead = instantiate(compose_summarizer("lead3"))
    assert lead.params() == {"backend": "lead", "num_sentences": 3}
