"""Summarize stage: adds an abstractive summary of each article's `text`.

Backends (built from `conf/summarizer/*.yaml` by `hydra.utils.instantiate`): `chat.ChatSummarizer` (an
instruction-tuned LM, the offline default), `seq2seq.Seq2SeqSummarizer` (BART-CNN and kin) and
`lead.LeadSummarizer` (the first sentences, no model). Whatever the backend, a `faithfulness.FaithfulnessChecker`
(conf/faithfulness/) then scores each summary against its article.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import datasets
from tqdm.auto import tqdm

from pipeline.schema import CHECKER_COLUMNS, SUMMARY_FEATURES

if TYPE_CHECKING:
    from pipeline.summarize.cache import SummaryCache
    from pipeline.summarize.faithfulness import FaithfulnessChecker


@dataclass(frozen=True)
class Summary:
    text: str
    chunks: int  # 1 when the article fit the model's input budget
    repaired: list[str]  # what the clean-up changed or flagged, e.g. "dropped_cut_off_sentence", "degenerate"
    # The model read only the article's first this many sentences; None: all of it.
    read_sentences: int | None = None


class Summarizer(Protocol):
    def summarize_batch(self, texts: list[str]) -> list[Summary]: ...

    def params(self) -> dict[str, str | int | float | bool | None]: ...


def summarize(
    dataset: datasets.Dataset,
    summarizer: Summarizer,
    batch_size: int = 4,
    faithfulness: FaithfulnessChecker | None = None,
    cache: SummaryCache | None = None,
) -> datasets.Dataset:
    """`dataset` with columns `summary`, `summary_chunks`, `summary_repairs` and `summary_read_sentences`
    added from its `text`, and `summary_faithfulness`, `summary_faithful` and `summary_unsupported` when a
    checker is given. Articles found in `cache` are not summarised again; the others are added to it."""
    texts = dataset["text"]
    records: list[dict[str, Any] | None] = [cache.get(text) if cache else None for text in texts]
    todo = [i for i, record in enumerate(records) if record is None]
    # Longest first: batches of similar length pad less, and the progress bar's estimate errs on the safe side.
    todo.sort(key=lambda i: len(texts[i]), reverse=True)
    summaries: dict[int, Summary] = {}
    with tqdm(total=len(texts), initial=len(texts) - len(todo), desc="summarize", unit="article") as progress:
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            summaries.update(zip(batch, summarizer.summarize_batch([texts[i] for i in batch]), strict=True))
            progress.update(len(batch))
    verdicts = []
    if faithfulness and todo:
        verdicts = faithfulness.check_batch([summaries[i].text for i in todo], [texts[i] for i in todo])
    for position, i in enumerate(todo):
        summary = summaries[i]
        records[i] = {
            "summary": summary.text,
            "summary_chunks": summary.chunks,
            "summary_repairs": summary.repaired,
            "summary_read_sentences": summary.read_sentences,
        }
        if faithfulness:
            verdict = verdicts[position]
            records[i] |= {
                "summary_faithfulness": verdict.score,
                "summary_faithful": verdict.faithful,
                "summary_unsupported": verdict.unsupported,
            }
        if cache:
            cache.put(texts[i], records[i])
    for name in [name for name in SUMMARY_FEATURES if faithfulness or name not in CHECKER_COLUMNS]:
        dataset = dataset.add_column(
            name, [record[name] for record in records], feature=SUMMARY_FEATURES[name]
        )
    return dataset
