from __future__ import annotations

from collections.abc import Callable

import datasets
from hydra.utils import instantiate
from omegaconf import DictConfig

from pipeline.summarize import Summary, summarize
from pipeline.summarize.lead import LeadSummarizer, lead_sentences


class RecordingSummarizer:
    """Summarises each text as its own length, remembering the batches it was given."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def summarize_batch(self, texts: list[str]) -> list[Summary]:
        self.batches.append(texts)
        return [
            Summary(str(len(text)), chunks=len(text) // 10 + 1, repaired=["x"] * (len(text) % 2))
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
    assert out["id"] == dataset["id"]
    assert [len(b) for b in summarizer.batches] == [2, 2, 1]
    assert [len(t) for b in summarizer.batches for t in b] == [41, 30, 12, 8, 5]


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
