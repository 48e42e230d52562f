"""Readers that map the stance training corpora onto our three labels, one labelled sentence per row.

Besides the three labels a sentence may be labelled "none": it states a fact and shows no stance. The
trained head learns that class too, so that such sentences weigh little in an actor's stance.

None of the corpora carries our labels on actors; each reader applies the mapping that
`shared/README.md` gives (PLOVER event types, UNSCon conflict, Szeged uncertainty). Sentences whose
corpus label has no counterpart in ours (a PLOVER FIGHT event, an UNSCon sentence without conflict, a
certain Szeged sentence) are left out rather than forced into a class.
"""

from __future__ import annotations

import csv
import html
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pipeline.schema import LABELS, NO_STANCE
from pipeline.text import detokenize


@dataclass(frozen=True)
class LabelledSentence:
    text: str
    actor: str  # the actor whose stance `label` is; it may or may not be mentioned in `text`
    label: str
    corpus: str


def read_plover(path: Path, corpus: str, event_labels: Mapping[str, str]) -> list[LabelledSentence]:
    """PLOVER gold-standard records: the event's source actor holds the stance its event type maps to."""
    rows = []
    for record in json.loads(path.read_text(encoding="utf-8")):
        label = event_labels.get(record.get("event", ""))
        if label is None or not record.get("text") or not record.get("source"):
            continue
        rows.append(LabelledSentence(record["text"], record["source"][0]["actorText"], label, corpus))
    return rows


def read_unscon(path: Path, corpus: str, conflict_label: str) -> list[LabelledSentence]:
    """UN Security Council speech sentences annotated with a conflict (A0 or B1 set): the speaking country."""
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        for record in csv.DictReader(handle):
            if record["A0"] == "_" and record["B1"] == "_":
                continue
            speaker = record["country"].replace("_", " ")
            rows.append(
                LabelledSentence(detokenize(record["sentence_text"]), speaker, conflict_label, corpus)
            )
    return rows


def read_szeged(path: Path, corpus: str, uncertain_label: str) -> list[LabelledSentence]:
    """Szeged uncertainty XML: sentences with a speculation cue; they name no actor, so `actor` is empty."""
    text = path.read_text(encoding="utf-8")
    rows = []
    for body in re.findall(r"<Sentence[^>]*>(.*?)</Sentence>", text, flags=re.DOTALL):
        if "<ccue" in body:
            sentence = " ".join(re.sub(r"<[^>]+>", " ", body).split())
            rows.append(LabelledSentence(html.unescape(sentence), "", uncertain_label, corpus))
    return rows


def read_team(path: Path, corpus: str) -> list[LabelledSentence]:
    """Team-written JSONL: {"text", "actor", "label"} per line; label one of ours or "none" (no stance)."""
    with path.open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    return [LabelledSentence(record["text"], record["actor"], record["label"], corpus) for record in records]


READERS: dict[str, Callable[..., list[LabelledSentence]]] = {
    "plover": read_plover,
    "unscon": read_unscon,
    "szeged": read_szeged,
    "team": read_team,
}


def read_corpus(name: str, reader: str, path: str | Path, **mapping: object) -> list[LabelledSentence]:
    """Reads corpus `name` with the reader called `reader`; `mapping` holds the reader's label mapping."""
    if reader not in READERS:
        raise ValueError(f"corpus {name!r}: unknown reader {reader!r}; choose from {sorted(READERS)}")
    rows = READERS[reader](Path(path), name, **mapping)
    unknown = sorted({row.label for row in rows} - {*LABELS, NO_STANCE})
    if unknown:
        raise ValueError(f"corpus {name!r}: labels {unknown} are not among {(*LABELS, NO_STANCE)}")
    return rows
