"""Summarize stage: adds an abstractive summary of each article's `text`.

Backends (built from `conf/summarizer/*.yaml` by `hydra.utils.instantiate`): `chat.ChatSummarizer` (an
instruction-tuned LM, the offline default), `seq2seq.Seq2SeqSummarizer` (BART-CNN and kin) and
`lead.LeadSummarizer` (the first sentences, no model). Whatever the backend, a `faithfulness.FaithfulnessChecker`
(conf/faithfulness/) then scores each summary against its article.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import datasets
from tqdm.auto import tqdm

if TYPE_CHECKING:
    from pipeline.summarize.faithfulness import FaithfulnessChecker


@dataclass(frozen=True)
class Summary:
    text: str
    chunks: int  # 1 when the article fit the model's input budget
    repaired: list[str]  # what the clean-up changed or flagged, e.g. "dropped_cut_off_sentence", "degenerate"


class Summarizer(Protocol):
    def summarize_batch(self, texts: list[str]) -> list[Summary]: ...

    def params(self) -> dict[str, str | int | float | bool | None]: ...


def summarize(
    dataset: datasets.Dataset,
    summarizer: Summarizer,
    batch_size: int = 4,
    faithfulness: FaithfulnessChecker | None = None,
) -> datasets.Dataset:
    """`dataset` with columns `summary`, `summary_chunks` and `summary_repairs` added from its `text`, and
    `summary_faithfulness`, `summary_faithful` and `summary_unsupported` when a checker is given."""
    texts = dataset["text"]
    # Longest first: batches of similar length pad less, and the progress bar's estimate errs on the safe side.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
    summaries: list[Summary | None] = [None] * len(texts)
    with tqdm(total=len(texts), desc="summarize", unit="article") as progress:
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            for i, summary in zip(batch, summarizer.summarize_batch([texts[i] for i in batch]), strict=True):
                summaries[i] = summary
            progress.update(len(batch))
    done = [s for s in summaries if s is not None]
    dataset = (
        dataset.add_column("summary", [s.text for s in done], feature=datasets.Value("string"))
        .add_column("summary_chunks", [s.chunks for s in done], feature=datasets.Value("int32"))
        .add_column(
            "summary_repairs", [s.repaired for s in done], feature=datasets.List(datasets.Value("string"))
        )
    )
    if faithfulness is None:
        return dataset
    verdicts = faithfulness.check_batch([s.text for s in done], texts)
    return (
        dataset.add_column(
            "summary_faithfulness", [v.score for v in verdicts], feature=datasets.Value("float64")
        )
        .add_column("summary_faithful", [v.faithful for v in verdicts], feature=datasets.Value("bool"))
        .add_column(
            "summary_unsupported",
            [v.unsupported for v in verdicts],
            feature=datasets.List(datasets.Value("string")),
        )
    )
