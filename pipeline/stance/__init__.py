"""Stance stage: each actor's stance (aggressive, conciliatory, hedging or none), a probability for each of
the four, and the evidence that carries it.

Backends implement `StanceClassifier.classify_articles`: `trained.py` (the default: a cross-encoder
fine-tuned on annotated news, reading each actor's evidence and the other sentences that name it) judges
the actor as a whole. The zero-shot backends (`embedding.py`, `nli.py`, `llm.py`) score evidence sentence
by sentence; `SentenceLevelClassifier` turns their sentence scores into an actor's: the mean over its
strongest sentences, and "none" for an actor without evidence. `classify_stance` runs a backend over a
Dataset's `text` and `actors` columns.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any, Protocol

import datasets
import numpy as np

from pipeline.schema import ACTOR_FEATURES, LABELS, NO_STANCE, STANCE_CLASSES, STANCE_FEATURES

Params = dict[str, str | int | float | bool | None]


@dataclass(frozen=True)
class ActorStance:
    stance: str  # one of STANCE_CLASSES
    probabilities: dict[str, float]  # over STANCE_CLASSES, summing to 1
    evidence: list[str]  # what carries the stance, strongest first


class StanceClassifier(Protocol):
    def classify_articles(
        self, texts: Sequence[str], actors: Sequence[Sequence[dict[str, Any]]]
    ) -> list[list[ActorStance]]:
        """One ActorStance per actor ({"name", "aliases", "type", "evidence"}) of each article, in order."""
        ...

    def params(self) -> Params:
        """What identifies this classifier's behaviour, for the tracking run's params."""
        ...


SentenceScorer = Callable[[list[list[str]], list[str]], np.ndarray]


def average_sentence_probabilities(
    actors: list[str],
    evidence: list[list[str]],
    aliases: list[list[str]] | None,
    score_sentences: SentenceScorer,
    strongest: int | None = None,
) -> np.ndarray:
    """(len(actors), len(LABELS)): each actor's mean of `score_sentences`' rows over its evidence sentences,
    or over its `strongest` sentences, those whose rows put most on one label (ties: evidence order).

    `score_sentences(names, sentences)` scores (actor names, sentence) pairs; each distinct pair is
    scored once, so asking for an actor and for its sentences one by one in the same call costs nothing.
    Keeping only the strongest sentences judges an actor by its main message, not by how many of its
    sentences are neutral or off-topic (the guideline's "dominant posture").
    """
    aliases = aliases if aliases is not None else [[] for _ in actors]
    pair_index: dict[tuple[tuple[str, ...], str], int] = {}
    actor_pairs: list[list[int]] = []
    for name, sentences, other_names in zip(actors, evidence, aliases, strict=True):
        if not sentences:
            raise ValueError(
                f"actor {name!r} has no evidence; a sentence-level backend labels it {NO_STANCE!r}"
            )
        names = (name, *other_names)
        actor_pairs.append(
            [pair_index.setdefault((names, sentence), len(pair_index)) for sentence in sentences]
        )
    if not actor_pairs:
        return np.zeros((0, len(LABELS)))
    pairs = list(pair_index)
    scores = score_sentences([list(names) for names, _ in pairs], [sentence for _, sentence in pairs])
    return np.stack([strongest_rows(scores[indices], strongest).mean(axis=0) for indices in actor_pairs])


def strongest_rows(rows: np.ndarray, count: int | None) -> np.ndarray:
    """The `count` rows with the largest maximum probability, in their original order; all if None."""
    if count is None or count >= len(rows):
        return rows
    return rows[np.sort(np.argsort(-rows.max(axis=1), kind="stable")[:count])]


def distribution(probabilities: Sequence[float]) -> dict[str, float]:
    """{class: p} over STANCE_CLASSES from a row in that order."""
    return dict(zip(STANCE_CLASSES, (float(p) for p in probabilities), strict=True))


class SentenceLevelClassifier:
    """An actor's stance from per-sentence scores over LABELS (`score_sentences`, a subclass's): the mean
    over its `strongest` evidence sentences; an actor without evidence is "none" with probability 1, one
    with evidence has probability 0 of "none" (these backends have no "none" class)."""

    strongest: int | None = None

    def score_sentences(self, names: list[list[str]], sentences: list[str]) -> np.ndarray:
        raise NotImplementedError

    def predict_proba(
        self, actors: list[str], evidence: list[list[str]], aliases: list[list[str]] | None = None
    ) -> np.ndarray:
        """(len(actors), len(LABELS)); each actor needs at least one evidence sentence."""
        return average_sentence_probabilities(actors, evidence, aliases, self.score_sentences, self.strongest)

    def classify_articles(
        self, texts: Sequence[str], actors: Sequence[Sequence[dict[str, Any]]]
    ) -> list[list[ActorStance]]:
        judged = [actor for article in actors for actor in article if actor["evidence"]]
        names = [actor["name"] for actor in judged]
        evidence = [list(actor["evidence"]) for actor in judged]
        aliases = [list(actor["aliases"]) for actor in judged]
        # One call scores every actor on all its evidence and, for ordering, on each sentence alone.
        owner = [index for index, sentences in enumerate(evidence) for _ in sentences]
        probabilities = self.predict_proba(
            names + [names[i] for i in owner],
            evidence + [[sentence] for sentences in evidence for sentence in sentences],
            aliases + [aliases[i] for i in owner],
        )
        per_actor, per_sentence = probabilities[: len(judged)], probabilities[len(judged) :]
        results = iter(
            rank_evidence(row, sentences, rows)
            for row, sentences, rows in zip(
                per_actor, evidence, split_rows(per_sentence, evidence), strict=True
            )
        )
        unjudged = ActorStance(NO_STANCE, distribution([0.0] * len(LABELS) + [1.0]), [])
        return [[next(results) if actor["evidence"] else unjudged for actor in article] for article in actors]


def split_rows(rows: np.ndarray, groups: Sequence[Sequence[Any]]) -> list[np.ndarray]:
    """`rows` cut into consecutive blocks of len(group) rows each."""
    bounds = np.cumsum([0, *(len(group) for group in groups)])
    return [rows[start:end] for start, end in itertools.pairwise(bounds)]


def rank_evidence(row: np.ndarray, sentences: Sequence[str], sentence_rows: np.ndarray) -> ActorStance:
    """The stance of a three-label row, with the sentences ordered by how strongly each alone supports it."""
    chosen = int(np.argmax(row))
    order = np.argsort(-sentence_rows[:, chosen], kind="stable")
    return ActorStance(LABELS[chosen], distribution([*row, 0.0]), [sentences[i] for i in order])


def classify_stance(
    dataset: datasets.Dataset, classifier: StanceClassifier, batch_size: int = 64
) -> datasets.Dataset:
    """The dataset with each actor's `stance`, `probabilities` ({class: p} over the four) and `evidence`
    strongest-first; the actors of `batch_size` articles go through the classifier in one call."""
    actor_features = dict(ACTOR_FEATURES)
    incoming = dataset.features["actors"]
    if isinstance(incoming, datasets.List) and isinstance(incoming.feature, dict):
        actor_features.update(incoming.feature)
    features = datasets.Features(
        {**dataset.features, "actors": datasets.List({**actor_features, **STANCE_FEATURES})}
    )
    return dataset.map(
        partial(classify_batch, classifier=classifier),
        batched=True,
        batch_size=batch_size,
        features=features,
        desc="stance",
    )


def classify_batch(batch: dict[str, list[Any]], classifier: StanceClassifier) -> dict[str, list[Any]]:
    judged = classifier.classify_articles(batch["text"], batch["actors"])
    batch["actors"] = [
        [{**actor, **asdict(stance)} for actor, stance in zip(article, stances, strict=True)]
        for article, stances in zip(batch["actors"], judged, strict=True)
    ]
    return batch
