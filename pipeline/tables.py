"""Tables for analysts, written beside predictions.jsonl after every run: `write_tables`.

- `actors.parquet` and `actors.csv`: one row per actor of an article: the article's `article_id`, `date`,
  `source` and `title`; the actor's name (`actor`), corpus-wide `actor_id` and `type`; its `stance` and
  the probability of each class (`prob_aggressive`, `prob_conciliatory`, `prob_hedging`, `prob_none`;
  empty when the stance stage did not run); `evidence_count` and `strongest_evidence` (the stance stage
  orders an actor's evidence strongest first).
- `actor_stance_by_period.csv`: per actor id and period (`tables.period`: day, week, month or year;
  articles without a parseable date go to the period "undated"), the `articles` the actor is in and how
  many of them gave it each stance. The report's stance-over-time chart draws these counts.

Both are written by streaming over predictions.jsonl (twice: the ids need the whole corpus's names
first), so a corpus need not fit in memory; what is held is one entry per distinct actor name and per
actor and period.

Actor ids. The actors stage names each article's actors on its own; an id joins the same actor across
articles. It is `<type>:<key>` with the key's words joined by hyphens ("person:barack-obama",
"state:north-korea", "organisation:...", "group:..."), the key being the actor's name folded (case,
accents, dots, possessive, a leading "the"):

- For a person, the key also drops leading titles (the evaluation's `MATCH_TITLES`), so "Barack Obama"
  and "President Barack Obama" are one person.
- A person's key of one word (a surname alone: "Obama", "President Obama") joins the full name that ends
  with it only if exactly one full name in the corpus does. With "Barack Obama" and "Michelle Obama" both
  in the corpus, "Obama" keeps its own id ("person:obama"): the tables cannot tell which one is meant.
- A state is named by its common country name by the actors stage ("N. Korea", "Pyongyang" and "the
  North Korean government" are all "North Korea" there), so its folded name is the key.

Aliases never join actors across articles: an alias is what one article called its actor, and chaining
aliases from article to article would merge different people who share a name. An id's label (the
`actor` of the by-period table, the report's charts) is its fullest name: of the names given to it, one
whose key has the most words, without a title if one is ("Barack Obama", not "Obama" nor "President
Barack Obama").
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet

from pipeline.actors.names import name_key
from pipeline.evaluate import MATCH_TITLES
from pipeline.files import atomic_write, read_jsonl
from pipeline.schema import STANCE_CLASSES
from pipeline.text import fold_name

PREDICTIONS_FILE = "predictions.jsonl"
ACTORS_PARQUET = "actors.parquet"
ACTORS_CSV = "actors.csv"
BY_PERIOD_CSV = "actor_stance_by_period.csv"
# Each period's label sorts in time order and starts with its year ("2015-W38" is an ISO week).
PERIOD_FORMATS = {"day": "%Y-%m-%d", "week": "%G-W%V", "month": "%Y-%m", "year": "%Y"}
UNDATED = "undated"
ACTORS_SCHEMA = pa.schema(
    [
        *((name, pa.string()) for name in ("article_id", "date", "source", "title")),
        *((name, pa.string()) for name in ("actor", "actor_id", "type", "stance")),
        *((f"prob_{label}", pa.float64()) for label in STANCE_CLASSES),
        ("evidence_count", pa.int64()),
        ("strongest_evidence", pa.string()),
    ]
)
# Rows per write: bounds the memory the tables take whatever the corpus size.
BATCH_ROWS = 10_000

ActorKey = tuple[str, str]  # (type, key)


@dataclass(frozen=True)
class ActorIds:
    """The corpus-wide id of every (type, name key) in a corpus, and each id's label (its fullest name)."""

    ids: Mapping[ActorKey, str]
    labels: Mapping[str, str]

    def id_of(self, actor: Mapping[str, Any]) -> str:
        return self.ids[actor_key(actor)]


def actor_key(actor: Mapping[str, Any]) -> ActorKey:
    """The actor's type and its folded name (for a person, without leading titles)."""
    kind, name = str(actor.get("type") or "actor"), str(actor["name"])
    key = name_key(name, MATCH_TITLES) if kind == "person" else fold_name(name)
    return kind, key or name.strip().lower()  # punctuation alone folds to nothing


def collect_actor_ids(predictions: Path) -> ActorIds:
    """The ids of the actors in a predictions.jsonl, read as a stream."""
    names: defaultdict[ActorKey, set[str]] = defaultdict(set)
    for record in read_jsonl(predictions):
        for actor in record.get("actors") or []:
            names[actor_key(actor)].add(str(actor["name"]))
    return resolve_actor_ids(names)


def resolve_actor_ids(names: Mapping[ActorKey, Iterable[str]]) -> ActorIds:
    """The ids of `names` ((type, key) -> the names it was given) by the rule in the module docstring."""
    full_names_by_surname: defaultdict[str, set[str]] = defaultdict(set)
    for kind, key in names:
        if kind == "person" and " " in key:
            full_names_by_surname[key.rsplit(" ", 1)[1]].add(key)
    ids: dict[ActorKey, str] = {}
    spellings: defaultdict[str, list[tuple[str, str]]] = defaultdict(list)
    for (kind, key), surfaces in names.items():
        full_names = full_names_by_surname.get(key, set()) if kind == "person" and " " not in key else set()
        joined = next(iter(full_names)) if len(full_names) == 1 else key
        ids[(kind, key)] = f"{kind}:{joined.replace(' ', '-')}"
        spellings[ids[(kind, key)]].extend((key, surface) for surface in surfaces)
    labels = {actor_id: fullest_name(pairs) for actor_id, pairs in spellings.items()}
    return ActorIds(ids, labels)


def fullest_name(spellings: Iterable[tuple[str, str]]) -> str:
    """Of (key, name) pairs, the name whose key has the most words; of those, the one with the fewest
    words of its own (no title), then the first in alphabetical order."""
    _, name = min(spellings, key=lambda pair: (-len(pair[0].split()), len(pair[1].split()), pair[1]))
    return name


def article_stances(actors: Sequence[Mapping[str, Any]], ids: ActorIds) -> dict[str, str | None]:
    """Each actor id in an article once, with the stance of its first actor there (None before the stance
    stage): an article counts once per actor however many of its actors the id joins."""
    stances: dict[str, str | None] = {}
    for actor in actors:
        stances.setdefault(ids.id_of(actor), actor.get("stance"))
    return stances


def check_period(period: str) -> None:
    if period not in PERIOD_FORMATS:
        raise ValueError(f"tables.period is {period!r}; choose one of {', '.join(PERIOD_FORMATS)}")


def parse_date(value: Any) -> date | None:
    """The ISO date a record's `date` starts with ("2007-11-06", "2007-11-06T10:00Z"); None if it has none."""
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def period_of(value: Any, period: str) -> str:
    """The period a record's `date` falls in ("2015-09" for a month), or UNDATED."""
    day = parse_date(value)
    return UNDATED if day is None else day.strftime(PERIOD_FORMATS[period])


class StanceByPeriod:
    """Counts, per (actor id, period), the articles the actor is in and the stances they gave it."""

    def __init__(self, ids: ActorIds, period: str) -> None:
        check_period(period)
        self.ids, self.period = ids, period
        self.articles: Counter[tuple[str, str]] = Counter()
        self.stances: defaultdict[tuple[str, str], Counter[str]] = defaultdict(Counter)

    def add(self, record: Mapping[str, Any]) -> None:
        when = period_of(record.get("date"), self.period)
        for actor_id, stance in article_stances(record.get("actors") or [], self.ids).items():
            self.articles[(actor_id, when)] += 1
            if stance is not None:
                self.stances[(actor_id, when)][stance] += 1

    def table(self) -> pa.Table:
        """The counts as the by-period table: by actor id then period, the undated period last; a column
        per stance class, then per any other label a backend gave."""
        seen = {label for counts in self.stances.values() for label in counts}
        labels = [*STANCE_CLASSES, *sorted(seen - set(STANCE_CLASSES))]
        schema = pa.schema(
            [
                *((name, pa.string()) for name in ("actor_id", "actor", "period")),
                *((name, pa.int64()) for name in ("articles", *labels)),
            ]
        )
        order = sorted(self.articles, key=lambda item: (item[0], item[1] == UNDATED, item[1]))
        rows = [
            {
                "actor_id": actor_id,
                "actor": self.ids.labels[actor_id],
                "period": when,
                "articles": self.articles[(actor_id, when)],
                **{label: self.stances[(actor_id, when)][label] for label in labels},
            }
            for actor_id, when in order
        ]
        return pa.Table.from_pylist(rows, schema=schema)


def actor_rows(record: Mapping[str, Any], ids: ActorIds) -> Iterator[dict[str, Any]]:
    """The actors table's rows of one prediction record."""
    for actor in record.get("actors") or []:
        probabilities = actor.get("probabilities") or {}
        evidence = actor.get("evidence") or []
        yield {
            "article_id": str(record.get("id", "")),
            **{name: record.get(name) for name in ("date", "source", "title")},
            "actor": str(actor["name"]),
            "actor_id": ids.id_of(actor),
            "type": actor.get("type"),
            "stance": actor.get("stance"),
            **{f"prob_{label}": probabilities.get(label) for label in STANCE_CLASSES},
            "evidence_count": len(evidence),
            "strongest_evidence": evidence[0] if evidence else None,
        }


def write_tables(output_dir: Path, period: str) -> list[Path]:
    """Writes actors.parquet, actors.csv and actor_stance_by_period.csv from `output_dir`'s
    predictions.jsonl, streaming; their paths."""
    predictions = output_dir / PREDICTIONS_FILE
    ids = collect_actor_ids(predictions)
    by_period = StanceByPeriod(ids, period)

    def rows() -> Iterator[dict[str, Any]]:
        for record in read_jsonl(predictions):
            by_period.add(record)
            yield from actor_rows(record, ids)

    parquet_path, csv_path = output_dir / ACTORS_PARQUET, output_dir / ACTORS_CSV
    with (
        atomic_write(parquet_path, binary=True) as parquet_file,
        atomic_write(csv_path, binary=True) as csv_file,
        pyarrow.parquet.ParquetWriter(parquet_file, ACTORS_SCHEMA) as parquet,
        pyarrow.csv.CSVWriter(csv_file, ACTORS_SCHEMA) as table,
    ):
        stream = rows()
        while batch := list(itertools.islice(stream, BATCH_ROWS)):
            written = pa.RecordBatch.from_pylist(batch, schema=ACTORS_SCHEMA)
            parquet.write_batch(written)
            table.write_batch(written)
    by_period_path = output_dir / BY_PERIOD_CSV
    with atomic_write(by_period_path, binary=True) as handle:
        pyarrow.csv.write_csv(by_period.table(), handle)
    return [parquet_path, csv_path, by_period_path]
