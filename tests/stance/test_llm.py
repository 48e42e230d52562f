"""LLM backend on the summariser tests' tiny random Qwen2 chat model: prompts, label tokens, padding, config."""

from pathlib import Path

import datasets
import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from summarize import conftest as summarize_fixtures

from pipeline import CONFIG_DIR
from pipeline.schema import LABELS, NO_STANCE
from pipeline.stance import classify_stance
from pipeline.stance.llm import LLMStanceClassifier, StancePrompt, label_token_ids

# A pytest fixture is any fixture in the module's namespace: this shares the summariser tests' tiny model.
tiny_qwen_dir = summarize_fixtures.tiny_qwen_dir
SENTENCES = [
    "Russia accused Ukraine of shelling the plant, and Ukraine called for talks.",
    "The ministry declined to comment.",
    "France said it might reconsider its position if the fighting stopped before the summit in November.",
]


@pytest.fixture(scope="module")
def llm(tiny_qwen_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> LLMStanceClassifier:
    """conf/stance/llm.yaml's backend on the CPU with the tiny model instead of the GGUF default."""
    config = OmegaConf.load(CONFIG_DIR / "stance" / "llm.yaml")
    config.merge_with(
        {
            "model": str(tiny_qwen_dir),
            "gguf": None,
            "device": "cpu",
            "cache_dir": str(tmp_path_factory.mktemp("cache")),
        }
    )
    return instantiate(config)


def test_one_row_per_actor_summing_to_one(llm):
    probabilities = llm.predict_proba(["Russia", "France"], [SENTENCES[:2], SENTENCES[2:]])
    assert probabilities.shape == (2, len(LABELS))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)


def test_the_prompt_names_the_actor_and_ends_where_the_reply_starts(llm):
    russia, ukraine = llm.render("Russia", SENTENCES[0]), llm.render("Ukraine", SENTENCES[0])
    assert f"Actor: Russia\nSentence: {SENTENCES[0]}" in russia
    assert all(f"- {label}: " in russia for label in LABELS)
    assert russia.endswith("<|im_start|>assistant\n")
    assert russia != ukraine
    rows = llm.score_sentences([["Russia"], ["Ukraine"]], [SENTENCES[0], SENTENCES[0]])
    assert not np.array_equal(rows[0], rows[1])


def test_each_label_has_its_own_tokens_and_they_begin_the_label(llm):
    for label, ids in zip(LABELS, llm.label_token_ids, strict=True):
        assert ids
        assert all(label.startswith(llm.tokenizer.decode([i]).strip().lower()) for i in ids)
    flat = [i for ids in llm.label_token_ids for i in ids]
    assert len(flat) == len(set(flat))


def test_label_words_that_can_start_alike_are_refused(llm):
    with pytest.raises(ValueError, match="'hedge' and 'hedging' can both start with"):
        label_token_ids(llm.tokenizer, ["hedge", "hedging"])


def test_left_padded_batches_give_each_prompts_own_next_token_distribution(llm, monkeypatch):
    names = [["Russia"], ["the ministry"], ["France"]]
    batched = llm.score_sentences(names, SENTENCES)
    # Reference: each prompt alone, unpadded, the whole vocabulary's next-token distribution.
    expected = []
    for (name,), sentence in zip(names, SENTENCES, strict=True):
        inputs = llm.tokenizer(llm.render(name, sentence), return_tensors="pt", add_special_tokens=False)
        with torch.inference_mode():
            next_token = llm.model(**inputs).logits[0, -1].softmax(dim=-1)
        mass = torch.stack([next_token[ids].sum() for ids in llm.label_token_ids])
        expected.append((mass / mass.sum()).numpy())
    np.testing.assert_allclose(batched, np.stack(expected), atol=1e-5)
    monkeypatch.setattr(llm, "batch_size", 2)
    np.testing.assert_allclose(llm.score_sentences(names, SENTENCES), batched, atol=1e-5)


def test_the_definitions_must_cover_every_label():
    with pytest.raises(ValueError, match="definitions must cover exactly"):
        StancePrompt("Label it:", {"aggressive": "threatens"}, "{actor}: {sentence}")


def test_root_config_builds_the_llm_backend(compose_config, tiny_qwen_dir):
    config = compose_config("stance=llm", f"stance.model={tiny_qwen_dir}", "stance.gguf=null", "device=cpu")
    classifier = instantiate(config.stance)
    assert isinstance(classifier, LLMStanceClassifier)
    assert classifier.params()["backend"] == "llm"


def test_the_default_model_is_the_default_summarizers(compose_config):
    # llm.yaml copies the summariser's GGUF spec so that the two share one converted model.
    config = compose_config("stance=llm")
    assert config.stance.gguf == config.summarizer.gguf
    assert config.stance.cache_dir == config.summarizer.cache_dir


def test_the_stance_stage_runs_with_the_llm_backend(llm):
    actors = [
        {"name": "France", "aliases": [], "type": "state", "evidence": SENTENCES[1:]},
        {"name": "Peru", "aliases": [], "type": "state", "evidence": []},
    ]
    labelled = classify_stance(datasets.Dataset.from_list([{"id": "a1", "text": "", "actors": actors}]), llm)
    france, peru = labelled[0]["actors"]
    assert france["stance"] in LABELS
    assert sum(france["probabilities"].values()) == pytest.approx(1.0)
    assert sorted(france["evidence"]) == sorted(SENTENCES[1:])
    assert peru["stance"] == NO_STANCE
