from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hydra.utils import instantiate
from omegaconf import DictConfig

from pipeline.summarize.backend import GenerationSettings
from pipeline.summarize.seq2seq import Seq2SeqSummarizer

TEXTS = [
    "Oil prices rose.",
    "The head of the World Trade Organization called a meeting on trade finance for November 12.",
    "Ministers met in Washington on Friday and agreed on a plan.",
]


def make_seq2seq(
    model_dir: Path, generation: GenerationSettings, cache_dir: Path, **overrides
) -> Seq2SeqSummarizer:
    settings = {
        "model": str(model_dir),
        "generation": generation,
        "prompt": "",
        "max_input_tokens": 256,
        "cache_dir": cache_dir,
        "device": "cpu",
        "batch_size": 2,
    }
    return Seq2SeqSummarizer(**{**settings, **overrides})


def test_prompt_overhead_counts_the_special_tokens(tiny_bart_dir, generation, tmp_path) -> None:
    plain = make_seq2seq(tiny_bart_dir, generation, tmp_path)
    prefixed = make_seq2seq(tiny_bart_dir, generation, tmp_path, prompt="summarize: ")
    assert plain.chunk_budget_tokens == 256 - 2  # [CLS] and [SEP]
    assert prefixed.chunk_budget_tokens < plain.chunk_budget_tokens


def test_batched_generations_match_one_by_one_in_input_order(tiny_bart_dir, generation, tmp_path) -> None:
    bart = make_seq2seq(tiny_bart_dir, generation, tmp_path)
    assert bart.generate_sorted(TEXTS) == [bart.generate([text])[0] for text in TEXTS]
    assert bart.summarize_batch(TEXTS) == [bart.summarize_batch([text])[0] for text in TEXTS]


def test_long_article_is_summarised_in_chunks(
    tiny_bart_dir, generation, tmp_path, long_article, monkeypatch
) -> None:
    bart = make_seq2seq(tiny_bart_dir, generation, tmp_path, max_input_tokens=64)
    input_lengths: list[int] = []
    encode = bart.encode
    monkeypatch.setattr(
        bart,
        "encode",
        lambda texts: input_lengths.append(encode(texts)["input_ids"].shape[1]) or encode(texts),
    )
    (summary,) = bart.summarize_batch([long_article])
    assert summary.chunks > 1
    assert max(input_lengths) <= 64


def test_token_cap_is_detected_after_the_decoder_start_token(tiny_bart_dir, tmp_path) -> None:
    bart = make_seq2seq(tiny_bart_dir, GenerationSettings(max_new_tokens=5, min_new_tokens=5), tmp_path)
    assert all(g.hit_token_cap for g in bart.generate(TEXTS))


def test_config_builds_the_backend(
    compose_summarizer: Callable[..., DictConfig], tiny_bart_dir: Path
) -> None:
    assert compose_summarizer("bart_large_cnn").model == "facebook/bart-large-cnn"
    bart = instantiate(compose_summarizer("bart_large_cnn", f"summarizer.model={tiny_bart_dir}"))
    assert isinstance(bart, Seq2SeqSummarizer)
    assert bart.params()["generation.num_beams"] == 4
    assert (bart.params()["batching"], bart.params()["linear_kernel"]) == ("padded", "onednn")


def test_ragged_batching_is_refused_for_an_encoder_decoder(tiny_bart_dir, generation, tmp_path) -> None:
    with pytest.raises(ValueError, match="batching=ragged needs a decoder-only model"):
        make_seq2seq(tiny_bart_dir, generation, tmp_path, batching="ragged")
