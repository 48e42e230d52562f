"""NLI backend on a tiny random BERT classifier saved to disk: hypotheses, the entailment column, the config."""

from pathlib import Path

import datasets
import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from scipy.special import softmax
from summarize.conftest import save_tokenizer
from transformers import BertConfig, BertForSequenceClassification

from pipeline import CONFIG_DIR
from pipeline.schema import LABELS, NO_STANCE
from pipeline.stance import classify_stance
from pipeline.stance.nli import NLIStanceClassifier

ENTAILMENT_FIRST = {0: "entailment", 1: "neutral", 2: "contradiction"}
ENTAILMENT_LAST = {0: "CONTRADICTION", 1: "NEUTRAL", 2: "ENTAILMENT"}
SENTENCE = "Russia accused Ukraine of shelling the plant, and Ukraine called for talks."


def save_tiny_nli(out_dir: Path, id2label: dict[int, str]) -> Path:
    """A one-layer BERT classifier with classes `id2label`; its weights are the same whatever the classes."""
    vocab_size = save_tokenizer(out_dir, "</s>")
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        pad_token_id=0,
        # Wide random weights, so that different hypotheses get visibly different logits.
        initializer_range=1.0,
        id2label=id2label,
        label2id={name: index for index, name in id2label.items()},
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(out_dir)
    return out_dir


def nli_classifier(model_dir: Path, **overrides: object) -> NLIStanceClassifier:
    """conf/stance/nli.yaml's backend on the CPU, with the model in `model_dir`."""
    config = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "stance" / "nli.yaml"))
    del config["_target_"]
    return NLIStanceClassifier(**{**config, "model": str(model_dir), "device": "cpu", **overrides})


@pytest.fixture(scope="module")
def nli_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_nli(tmp_path_factory.mktemp("tiny_nli"), ENTAILMENT_FIRST)


@pytest.fixture(scope="module")
def nli(nli_dir: Path) -> NLIStanceClassifier:
    return nli_classifier(nli_dir)


def test_one_row_per_actor_summing_to_one(nli):
    probabilities = nli.predict_proba(
        ["Russia", "Ukraine"], [[SENTENCE, "Russia threatened to respond."], [SENTENCE]]
    )
    assert probabilities.shape == (2, len(LABELS))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)


def test_each_sentence_is_paired_with_hypotheses_naming_its_actor(nli, monkeypatch):
    pairs = []
    score_pairs = nli.entailment_scores

    def record(premises: list[str], hypotheses: list[str]) -> torch.Tensor:
        pairs.extend(zip(premises, hypotheses, strict=True))
        return score_pairs(premises, hypotheses)

    monkeypatch.setattr(nli, "entailment_scores", record)
    rows = nli.score_sentences([["Russia", "Moscow"], ["Ukraine"]], [SENTENCE, SENTENCE])
    russia, ukraine = nli.hypotheses("Russia"), nli.hypotheses("Ukraine")
    assert pairs == [(SENTENCE, hypothesis) for hypothesis in russia + ukraine]
    assert len(set(russia)) == len(LABELS)
    assert all(hypothesis.startswith("Russia ") for hypothesis in russia)
    # Two actors of one sentence are judged on different inputs, so their stances can differ.
    assert not np.array_equal(rows[0], rows[1])


def test_the_entailment_and_contradiction_columns_come_from_the_model_config(nli, tmp_path):
    swapped = nli_classifier(save_tiny_nli(tmp_path, ENTAILMENT_LAST))
    assert (swapped.entailment, swapped.contradiction) == (2, 0)
    names, sentences = [["Russia"], ["Ukraine"]], [SENTENCE, "Ukraine declined to comment."]
    # Same weights, entailment and contradiction swapped: every label's log-odds flip sign.
    expected = softmax(-np.log(nli.score_sentences(names, sentences)), axis=1)
    np.testing.assert_allclose(swapped.score_sentences(names, sentences), expected, rtol=1e-4)


def test_a_model_without_an_entailment_class_is_refused(tmp_path):
    unlabelled = save_tiny_nli(tmp_path, {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"})
    with pytest.raises(ValueError, match=r"no class starting with 'entail'.*MNLI-style"):
        nli_classifier(unlabelled)


def test_scores_do_not_depend_on_the_batch(nli, monkeypatch):
    names = [["Russia"], ["the United Nations Security Council"], ["Ukraine"]]
    sentences = [SENTENCE, "The council met.", "Ukraine said it might reconsider if the shelling stopped."]
    batched = nli.score_sentences(names, sentences)
    monkeypatch.setattr(nli, "batch_size", 1)
    np.testing.assert_allclose(nli.score_sentences(names, sentences), batched, atol=1e-5)


def test_the_template_must_name_the_actor(nli_dir):
    with pytest.raises(ValueError, match="must name"):
        nli_classifier(nli_dir, hypothesis_template="Someone {description}.")


def test_root_config_builds_the_nli_backend(compose_config, nli_dir):
    classifier = instantiate(compose_config("stance=nli", f"stance.model={nli_dir}", "device=cpu").stance)
    assert isinstance(classifier, NLIStanceClassifier)
    assert classifier.params()["model"] == str(nli_dir)


def test_the_stance_stage_runs_with_the_nli_backend(nli):
    actors = [
        {"name": name, "aliases": [], "type": "state", "evidence": evidence}
        for name, evidence in [("Russia", [SENTENCE]), ("Ukraine", [SENTENCE]), ("Peru", [])]
    ]
    labelled = classify_stance(datasets.Dataset.from_list([{"id": "a1", "text": "", "actors": actors}]), nli)
    russia, ukraine, peru = labelled[0]["actors"]
    assert russia["stance"] in LABELS and ukraine["stance"] in LABELS
    assert sum(russia["probabilities"].values()) == pytest.approx(1.0)
    assert russia["probabilities"] != ukraine["probabilities"]
    assert peru["stance"] == NO_STANCE
