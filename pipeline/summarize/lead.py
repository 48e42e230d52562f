"""Extractive lead-N baseline: the article's first sentences, no model. Fast, and hard to beat on news."""

from __future__ import annotations

from pipeline.summarize import Summary
from pipeline.text import TERMINAL, article_sentences


def lead_sentences(text: str, num_sentences: int) -> str:
    """The first `num_sentences` sentences of `text`, joined by single spaces."""
    return " ".join(body_sentences(text)[:num_sentences])


def body_sentences(text: str) -> list[str]:
    """The sentences of `text` without its headings, bylines and datelines (no final punctuation: they are
    not what the article says), unless that leaves none."""
    sentences = article_sentences(text)
    return [s for s in sentences if TERMINAL.search(s)] or sentences


class LeadSummarizer:
    def __init__(self, num_sentences: int = 3) -> None:
        if num_sentences < 1:
            raise ValueError(f"num_sentences must be at least 1, got {num_sentences}")
        self.num_sentences = num_sentences

    def summarize_batch(self, texts: list[str]) -> list[Summary]:
        return [Summary(lead_sentences(text, self.num_sentences), chunks=1, repaired=[]) for text in texts]

    def params(self) -> dict[str, str | int | float | bool | None]:
        return {"backend": "lead", "num_sentences": self.num_sentences}
