"""Stance stage: labels each actor aggressive, conciliatory or hedging from its evidence sentences.

Backends (`trained.py`: the trained head, `embedding.py`: zero-shot similarity, `nli.py`: zero-shot
entailment, `llm.py`: a chat model's label probabilities) implement `StanceClassifier`;
`classify_stance` runs one over a Dataset's `actors` column. An actor without evidence gets stance
"none" with all probabilities 0.0: there is nothing to judge, and zeros (rather than a uniform guess)
keep such actors out of any calibration or confidence statistics computed from the probabilities.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

import datasets
import numpy as np

from pipeline.schema import ACTOR_FEATURES, LABELS, NO_STANCE, STANCE_FEATURES


class StanceClassifier(Protocol):
    def predict_proba(
        self, actors: list[str], evidence: list[list[str]], aliases: list[list[str]] | None = None
    ) -> np.ndarray:
        """(len(actors), len(LABELS)) probabilities, rows summing to 1; each actor needs >= 1 evidence sentence.

        `aliases[i]` are further names of actor i (how the evidence may mention it).
        """
        ...

    def params(self) -> dict[str, str | int | float | bool | None]:
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
    """Each actor's probabilities: the mean of `score_sentences`' rows over its evidence sentences, or
    over its `strongest` sentences, those whose rows put most on one label (ties: evidence order).

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
                f"actor {name!r} has no evidence; the stance stage labels it {NO_STANCE!r} instead"
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


def classify_stance(
    dataset: datasets.Dataset, classifier: StanceClassifier, batch_size: int = 64
) -> datasets.Dataset:
    """The dataset with each actor's `stance`, `probabilities` ({label: p}) and `evidence` strongest-first.

    Evidence is ordered by how strongly each sentence alone supports the chosen label. All actors of
    `batch_size` articles go through the classifier in one call.
    """
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
    actors = [actor for article in batch["actors"] for actor in article if actor["evidence"]]
    # One call scores every actor on all its evidence and, for ordering, on each sentence alone.
    names = [actor["name"] for actor in actors]
    evidence = [actor["evidence"] for actor in actors]
    aliases = [actor["aliases"] for actor in actors]
    sentence_owner = [index for index, actor in enumerate(actors) for _ in actor["evidence"]]
    probabilities = classifier.predict_proba(
        names + [names[index] for index in sentence_owner],
        evidence + [[sentence] for sentences in evidence for sentence in sentences],
        aliases + [aliases[index] for index in sentence_owner],
    )
    actor_probabilities, sentence_probabilities = probabilities[: len(actors)], probabilities[len(actors) :]

    labelled = []
    start = 0
    for index, actor in enumerate(actors):
        chosen = int(np.argmax(actor_probabilities[index]))
        support = sentence_probabilities[start : start + len(actor["evidence"]), chosen]
        start += len(actor["evidence"])
        labelled.append(
            {
                "stance": LABELS[chosen],
                "probabilities": dict(zip(LABELS, actor_probabilities[index].tolist(), strict=True)),
                "evidence": [actor["evidence"][i] for i in np.argsort(-support, kind="stable")],
            }
        )
    no_evidence = {"stance": NO_STANCE, "probabilities": dict.fromkeys(LABELS, 0.0), "evidence": []}
    results = iter(labelled)
    batch["actors"] = [
        [{**actor, **(next(results) if actor["evidence"] else no_evidence)} for actor in article]
        for article in batch["actors"]
    ]
    return batch
