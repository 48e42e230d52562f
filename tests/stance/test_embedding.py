"""Zero-shot backend with the real all-MiniLM-L6-v2 on crafted sentences."""

import numpy as np
import pytest
from hydra.utils import instantiate

from pipeline.schema import LABELS
from pipeline.stance.embedding import EmbeddingStanceClassifier


def test_clear_sentences_get_their_stance_and_rows_sum_to_one(embedding_classifier):
    probabilities = embedding_classifier.predict_proba(
        ["Russia", "France"],
        [
            ["Russia threatened to strike the city and accused its rival of provocations."],
            ["France welcomed the agreement and offered to host peace negotiations."],
        ],
    )
    assert [LABELS[i] for i in probabilities.argmax(axis=1)] == ["aggressive", "conciliatory"]
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)


def test_params_record_the_settings_that_change_its_output(embedding_classifier):
    params = embedding_classifier.params()
    assert params["temperature"] == 0.05 and params["descriptions_hedging"] == 6


def test_descriptions_must_cover_every_label():
    with pytest.raises(ValueError, match="descriptions must cover exactly"):
        EmbeddingStanceClassifier({"aggressive": ["threatens"]}, temperature=0.05, device="cpu")


def test_root_config_builds_the_embedding_backend(compose_config):
    classifier = instantiate(compose_config("stance=embedding", "device=cpu").stance)
    assert isinstance(classifier, EmbeddingStanceClassifier)
