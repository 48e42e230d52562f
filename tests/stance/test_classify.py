"""classify_stance and the sentence-level backends' shared averaging, with a keyword scorer for a model."""

import datasets
import numpy as np
import pytest

from pipeline.schema import LABELS, NO_STANCE, STANCE_CLASSES
from pipeline.stance import SentenceLevelClassifier, average_sentence_probabilities, classify_stance

KEYWORDS = {"attack": "aggressive", "talks": "conciliatory", "maybe": "hedging"}


class KeywordClassifier(SentenceLevelClassifier):
    """Puts 0.8 on the label of the first keyword in a sentence (0.1 elsewhere); uniform without one."""

    def __init__(self) -> None:
        self.calls = 0
        self.scored_pairs = 0

    def predict_proba(self, actors, evidence, aliases=None):
        self.calls += 1
        return super().predict_proba(actors, evidence, aliases)

    def score_sentences(self, names, sentences):
        self.scored_pairs += len(sentences)
        rows = []
        for sentence in sentences:
            label = next((label for word, label in KEYWORDS.items() if word in sentence), None)
            rows.append([0.8 if label == each else 0.1 for each in LABELS] if label else [1 / 3] * 3)
        return np.array(rows)

    def params(self):
        return {"backend": "keywords"}


def actor(name: str, evidence: list[str], **extra) -> dict:
    return {"name": name, "aliases": [], "type": "state", "evidence": evidence, **extra}


def articles(*actor_lists: list[dict]) -> datasets.Dataset:
    return datasets.Dataset.from_list(
        [{"id": f"a{i}", "text": "", "actors": actors} for i, actors in enumerate(actor_lists)]
    )


def test_actor_without_evidence_is_none_with_certainty_and_one_with_evidence_is_never_none():
    labelled = classify_stance(
        articles([actor("Peru", []), actor("Chile", ["an attack"])]), KeywordClassifier()
    )
    peru, chile = labelled[0]["actors"]
    assert peru["stance"] == NO_STANCE
    assert peru["probabilities"] == {**dict.fromkeys(LABELS, 0.0), NO_STANCE: 1.0}
    assert peru["evidence"] == []
    assert chile["stance"] == "aggressive"
    assert (
        sum(chile["probabilities"].values()) == pytest.approx(1.0)
        and chile["probabilities"][NO_STANCE] == 0.0
    )


def test_evidence_is_ordered_by_support_for_the_chosen_label():
    evidence = ["the weather was fine", "maybe later", "open talks", "more talks and maybe"]
    ((labelled,),) = classify_stance(articles([actor("Oman", evidence)]), KeywordClassifier())["actors"]
    assert labelled["stance"] == "conciliatory"
    # Sentences that support "conciliatory" come first, the one that argues for hedging last.
    assert labelled["evidence"] == [
        "open talks",
        "more talks and maybe",
        "the weather was fine",
        "maybe later",
    ]


def test_actors_of_many_articles_share_one_classifier_call_per_batch():
    dataset = articles(*([actor("A", ["attack", "talks"]), actor("B", ["maybe"])] for _ in range(5)))
    one_batch = KeywordClassifier()
    classify_stance(dataset, one_batch, batch_size=64)
    assert one_batch.calls == 1
    # Each distinct (actor, sentence) pair is scored once although it is asked for whole and alone.
    assert one_batch.scored_pairs == 3
    two_per_batch = KeywordClassifier()
    classify_stance(dataset, two_per_batch, batch_size=2)
    assert two_per_batch.calls == 3


def test_articles_without_actors_keep_a_typed_column():
    labelled = classify_stance(articles([], []), KeywordClassifier())
    struct = labelled.features["actors"].feature
    assert struct["stance"] == datasets.Value("string")
    assert set(struct["probabilities"]) == set(STANCE_CLASSES)
    assert labelled["actors"] == [[], []]


def test_fields_the_actors_stage_adds_are_kept():
    labelled = classify_stance(articles([actor("Chile", ["an attack"], mentions=3)]), KeywordClassifier())
    assert labelled[0]["actors"][0]["mentions"] == 3


def test_averaging_refuses_an_actor_without_evidence():
    with pytest.raises(ValueError, match="'Peru' has no evidence"):
        average_sentence_probabilities(["Peru"], [[]], None, KeywordClassifier().score_sentences)


def test_averaging_over_the_strongest_sentences_ignores_weaker_ones():
    evidence = [["They met on Monday.", "An attack was launched.", "There were talks on Monday."]]
    scorer = KeywordClassifier().score_sentences

    def mean_over(strongest):
        return average_sentence_probabilities(["Peru"], evidence, None, scorer, strongest)[0]

    # The neutral sentence (uniform) drops out first; of the two tied keyword sentences the earlier stays.
    np.testing.assert_allclose(mean_over(2), [0.45, 0.45, 0.1])
    np.testing.assert_allclose(mean_over(1), [0.8, 0.1, 0.1])
    np.testing.assert_allclose(mean_over(5), mean_over(None))
    np.testing.assert_allclose(mean_over(None), [(0.9 + 1 / 3) / 3, (0.9 + 1 / 3) / 3, (0.2 + 1 / 3) / 3])
