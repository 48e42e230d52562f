from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from pipeline.models import GGUFSpec
from pipeline.summarize.backend import GenerationSettings, NoRepeatNGramInOutput, SentenceLimit
from pipeline.summarize.chat import ChatSummarizer
from pipeline.text import split_sentences

TEXTS = [
    "Oil prices rose.",
    "The head of the World Trade Organization called a meeting on trade finance for November 12, "
    "inviting the World Bank, the IMF and five commercial banks.",
    "Ministers met in Washington.",
    "OPEC's president said prices could reach 170 dollars a barrel before the summer ends.",
    "Talks resumed.",
]


def make_chat(
    model_dir: Path, generation: GenerationSettings, cache_dir: Path, **overrides
) -> ChatSummarizer:
    settings = {
        "model": str(model_dir),
        "generation": generation,
        "prompt": "Summarize the following news article.",
        "max_input_tokens": 512,
        "cache_dir": cache_dir,
        "device": "cpu",
        "batch_size": 2,
    }
    return ChatSummarizer(**{**settings, **overrides})


def test_prompt_goes_through_the_chat_template(tiny_qwen_dir, generation, tmp_path) -> None:
    chat = make_chat(tiny_qwen_dir, generation, tmp_path)
    assert chat.render("Oil rose.") == (
        "<|im_start|>user\nSummarize the following news article.\n\nOil rose.<|im_end|>\n<|im_start|>assistant\n"
    )


def test_batches_are_left_padded(tiny_qwen_dir, generation, tmp_path) -> None:
    chat = make_chat(tiny_qwen_dir, generation, tmp_path)
    inputs = chat.encode(["Short.", TEXTS[1]])
    assert inputs["attention_mask"][0, 0] == 0 and inputs["attention_mask"][0, -1] == 1
    assert inputs["input_ids"][0, 0] == chat.tokenizer.pad_token_id


def test_length_sorted_batches_give_the_same_generations_in_input_order(
    tiny_qwen_dir, generation, tmp_path, monkeypatch
) -> None:
    chat = make_chat(tiny_qwen_dir, generation, tmp_path)
    batches: list[list[int]] = []
    generate = chat.generate
    monkeypatch.setattr(
        chat,
        "generate",
        lambda texts: batches.append([chat.count_tokens(t) for t in texts]) or generate(texts),
    )

    batched = chat.generate_sorted(TEXTS)

    assert [len(b) for b in batches] == [2, 2, 1]
    lengths = [n for batch in batches for n in batch]
    assert lengths == sorted(lengths, reverse=True)  # longest first, so each batch holds similar lengths
    assert batched == [generate([text])[0] for text in TEXTS]  # left padding changes nothing, order is kept


def test_summaries_come_back_in_input_order(tiny_qwen_dir, generation, tmp_path) -> None:
    chat = make_chat(tiny_qwen_dir, generation, tmp_path)
    assert chat.summarize_batch(TEXTS) == [chat.summarize_batch([text])[0] for text in TEXTS]


def test_long_article_is_summarised_in_chunks_within_the_input_budget(
    tiny_qwen_dir, generation, tmp_path, long_article, monkeypatch
) -> None:
    chat = make_chat(tiny_qwen_dir, generation, tmp_path, max_input_tokens=128, max_sentences=1)
    input_lengths: list[int] = []
    rounds: list[int] = []
    encode, generate_sorted = chat.encode, chat.generate_sorted

    def recording_encode(texts: list[str]):
        inputs = encode(texts)
        input_lengths.append(inputs["input_ids"].shape[1])
        return inputs

    monkeypatch.setattr(chat, "encode", recording_encode)
    monkeypatch.setattr(
        chat, "generate_sorted", lambda texts: rounds.append(len(texts)) or generate_sorted(texts)
    )
    long_summary, short_summary = chat.summarize_batch([long_article, "Oil prices rose sharply on Monday."])

    assert long_summary.chunks > 1 and short_summary.chunks == 1
    assert max(input_lengths) <= 128
    # Map over the article's chunks and the short text, then reduce the joined partials until one chunk.
    assert rounds[0] == long_summary.chunks + 1 and len(rounds) >= 2 and rounds[-1] == 1
    assert len(split_sentences(long_summary.text)) == 1


def test_read_sentences_gives_the_model_the_lead_and_says_so(
    tiny_qwen_dir, generation, tmp_path, monkeypatch
) -> None:
    chat = make_chat(tiny_qwen_dir, generation, tmp_path, read_sentences=2)
    seen: list[str] = []
    generate_sorted = chat.generate_sorted
    monkeypatch.setattr(chat, "generate_sorted", lambda texts: seen.extend(texts) or generate_sorted(texts))
    article = "Peace Talks Resume\n\nBanks met. Rates fell. Oil rose. Talks end."
    texts = [article, "Banks met. Rates fell."]

    long_summary, short_summary = chat.summarize_batch(texts)

    # The headline is no sentence of the article; the two after it are what the model reads.
    assert seen == ["Banks met. Rates fell.", "Banks met. Rates fell."]
    assert (long_summary.read_sentences, short_summary.read_sentences) == (2, None)
    assert texts[0] == article  # the caller's list is left alone
    with pytest.raises(ValueError, match="read_sentences must be at least 1"):
        make_chat(tiny_qwen_dir, generation, tmp_path, read_sentences=0)


def test_no_repeat_ngram_counts_the_generated_text_only() -> None:
    # Prompt: tokens 1 2 3; generated: 4 5 6 4 5. A 3-gram ban must block 6 (4 5 6 again), not 3.
    input_ids = torch.tensor([[1, 2, 3, 4, 5, 6, 4, 5], [1, 2, 3, 1, 2, 0, 0, 0]])
    scores = NoRepeatNGramInOutput(size=3, prompt_tokens=3)(input_ids, torch.zeros(2, 8))
    assert torch.isinf(scores[0]).nonzero().flatten().tolist() == [6]
    assert torch.isinf(scores[1]).nonzero().flatten().tolist() == [0]  # "0 0" was followed by 0


def test_generation_stopped_by_the_token_cap_is_flagged(tiny_qwen_dir, tmp_path) -> None:
    capped = GenerationSettings(max_new_tokens=6, min_new_tokens=6)  # no end token allowed before the cap
    chat = make_chat(tiny_qwen_dir, capped, tmp_path)
    assert all(g.hit_token_cap for g in chat.generate(TEXTS[:2]))


def test_generation_stops_once_the_sentence_after_the_limit_starts(
    tiny_qwen_dir, generation, tmp_path
) -> None:
    chat = make_chat(tiny_qwen_dir, generation, tmp_path)
    texts = [
        "Banks met. Rates fell. Talks end. Oil",
        "Banks met. Rates fell in the U.S.",
        "Banks met in the U.S. Rates fell.",
    ]
    inputs = chat.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    limit = SentenceLimit(chat.tokenizer, prompt_tokens=0, max_sentences=2)
    assert limit(inputs["input_ids"], scores=None).tolist() == [True, False, False]


def test_token_counts_add_up_prompt_and_generated_tokens(tiny_qwen_dir, generation, tmp_path) -> None:
    chat = make_chat(tiny_qwen_dir, generation, tmp_path)
    chat.summarize_batch(TEXTS[:2])
    prompt_tokens = sum(chat.count_tokens(chat.render(text)) for text in TEXTS[:2])
    assert chat.token_counts["prompt_tokens"] == prompt_tokens
    assert (
        2 * generation.min_new_tokens
        <= chat.token_counts["generated_tokens"]
        <= 2 * generation.max_new_tokens
    )


def test_dynamic_int8_quantises_the_linear_layers(tiny_qwen_dir, generation, tmp_path) -> None:
    chat = make_chat(tiny_qwen_dir, generation, tmp_path, quantize="dynamic_int8")
    assert not any(type(module) is torch.nn.Linear for module in chat.model.modules())
    assert len(chat.summarize_batch(TEXTS[:2])) == 2
    assert chat.params()["quantize"] == "dynamic_int8"
    with pytest.raises(ValueError, match="choose null, or 'dynamic_int8'"):
        make_chat(tiny_qwen_dir, generation, tmp_path, quantize="int4")


def test_input_budget_must_leave_room_for_the_article(tiny_qwen_dir, generation, tmp_path) -> None:
    with pytest.raises(ValueError, match="max_input_tokens=30 leaves"):
        make_chat(tiny_qwen_dir, generation, tmp_path, max_input_tokens=30)


def test_params_name_the_model_and_generation_settings(tiny_qwen_dir, generation, tmp_path) -> None:
    params = make_chat(tiny_qwen_dir, generation, tmp_path).params()
    assert params["backend"] == "chat"
    assert params["model"] == str(tiny_qwen_dir)
    assert params["generation.max_new_tokens"] == 12 and params["generation.do_sample"] is False
    assert params["read_sentences"] is None
    assert params["prompt"] == "Summarize the following news article."
    assert all(v is None or isinstance(v, str | int | float | bool) for v in params.values())


@pytest.mark.parametrize(
    ("name", "parts", "size_bytes"),
    [("qwen_coder_0.5b", 6, 491_400_064), ("qwen_coder_1.5b", 22, 1_117_320_768)],
)
def test_config_builds_the_backend(
    name: str, parts: int, size_bytes: int, compose_summarizer: Callable[..., DictConfig], tiny_qwen_dir: Path
) -> None:
    spec = instantiate(compose_summarizer(name).gguf)
    assert isinstance(spec, GGUFSpec) and len(spec.packages) == parts and spec.size_bytes == size_bytes
    assert spec.packages[-1].endswith(f"part{parts}")
    chat = instantiate(compose_summarizer(name, f"summarizer.model={tiny_qwen_dir}", "summarizer.gguf=null"))
    assert isinstance(chat, ChatSummarizer) and chat.generation.do_sample is False
    assert chat.prompt.startswith("Summarize the following news article")


@pytest.mark.slow
def test_default_model_writes_a_complete_summary(compose_summarizer: Callable[..., DictConfig]) -> None:
    cache_dir = os.environ.get("NEWSSTANCE_CACHE_DIR", str(Path.home() / ".cache" / "newsstance"))
    chat = instantiate(compose_summarizer("qwen_coder_0.5b", f"paths.cache_dir={cache_dir}"))
    article = (
        "The president of OPEC, Chakib Khelil, predicts that world crude oil prices could reach 150 to 170 "
        "dollars per barrel before the summer ends.\n\n"
        "In an interview with France24, Khelil, who is also Algeria's energy minister, blamed the weakness "
        "of the U.S. dollar for the current prices and said they would not reach 200 dollars."
    )
    (summary,) = chat.summarize_batch([article])
    assert summary.chunks == 1 and "degenerate" not in summary.repaired
    assert re.search(r"[.!?][\"')]*$", summary.text)
    assert "OPEC" in summary.text or "Khelil" in summary.text
