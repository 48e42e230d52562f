from __future__ import annotations

import pytest

from pipeline.summarize.cleanup import clean_summary

SOURCE = "Oil prices rose on Monday. OPEC met in Vienna. Ministers disagreed. Talks end Friday."


@pytest.mark.parametrize(
    "raw",
    [
        "Sure, here is a summary of the article:\n\nOPEC met in Vienna on Monday.",
        "Here's a 2-3 sentence summary of the news article: OPEC met in Vienna on Monday.",
        "Summary: OPEC met in Vienna on Monday.",
        "Certainly! Here is the summary:\nOPEC met in Vienna on Monday.",
    ],
)
def test_chat_preambles_are_stripped(raw: str) -> None:
    assert clean_summary(raw, SOURCE, 3, hit_token_cap=False) == (
        "OPEC met in Vienna on Monday.",
        ["removed_preamble"],
    )


def test_markdown_is_stripped_before_the_preamble() -> None:
    text, repairs = clean_summary(
        "**Summary:** OPEC met in Vienna on Monday.", SOURCE, 3, hit_token_cap=False
    )
    assert text == "OPEC met in Vienna on Monday."
    assert repairs == ["removed_markup", "removed_preamble"]


def test_text_that_merely_mentions_a_summary_is_kept() -> None:
    raw = "The summary report on oil was published. OPEC met in Vienna."
    assert clean_summary(raw, SOURCE, 3, hit_token_cap=False) == (raw, [])


def test_sentence_cut_off_by_the_token_cap_is_dropped() -> None:
    raw = "OPEC met in Vienna on Monday. Ministers could not agree on the output quota and the"
    assert clean_summary(raw, SOURCE, 3, hit_token_cap=True) == (
        "OPEC met in Vienna on Monday.",
        ["dropped_cut_off_sentence"],
    )
    assert clean_summary(raw, SOURCE, 3, hit_token_cap=False) == (raw, [])  # the model chose to stop there


def test_a_close_paraphrase_of_an_earlier_sentence_is_dropped() -> None:
    raw = (
        "Bader's story is to be told in a Hollywood film dubbed 'The First Great Escape'. He lost both legs. "
        "Now his war career is to be told in a Hollywood film being dubbed 'The First Great Escape'. "
        "The film is based on a book by Mark Felton."
    )
    text, repairs = clean_summary(raw, SOURCE, 3, hit_token_cap=False)
    assert text == (
        "Bader's story is to be told in a Hollywood film dubbed 'The First Great Escape'. He lost both legs. "
        "The film is based on a book by Mark Felton."
    )
    assert repairs == ["dropped_repeated_sentence"]


def test_the_sentence_begun_past_the_limit_is_dropped_even_when_a_repeat_makes_room() -> None:
    # SentenceLimit stops generation once a 4th sentence has begun: "The" is that sentence's first word.
    raw = "OPEC met in Vienna on Monday. Prices rose. OPEC met in Vienna on Monday again. The"
    text, repairs = clean_summary(raw, SOURCE, 3, hit_token_cap=False)
    assert text == "OPEC met in Vienna on Monday. Prices rose."
    assert repairs == ["dropped_cut_off_sentence", "dropped_repeated_sentence"]


def test_sentences_about_the_same_actors_are_not_taken_for_repeats() -> None:
    raw = (
        "The New York Yankees and Boston Red Sox have the most fans. "
        "The New York Mets and Oakland Athletics did not win a single county."
    )
    assert clean_summary(raw, SOURCE, 3, hit_token_cap=False) == (raw, [])


def test_repeated_sentences_are_dropped_and_the_rest_capped() -> None:
    raw = "OPEC met in Vienna. Prices rose. OPEC met in Vienna! Ministers disagreed. Talks end Friday."
    text, repairs = clean_summary(raw, SOURCE, 3, hit_token_cap=False)
    assert text == "OPEC met in Vienna. Prices rose. Ministers disagreed."
    assert repairs == ["dropped_repeated_sentence", "truncated_to_max_sentences"]


@pytest.mark.parametrize("raw", ["", "Summary:", "oil oil oil oil oil oil oil oil oil oil oil oil", "OPEC."])
def test_degenerate_output_falls_back_to_the_lead_sentences(raw: str) -> None:
    text, repairs = clean_summary(raw, SOURCE, 2, hit_token_cap=False)
    assert text == "Oil prices rose on Monday. OPEC met in Vienna."
    assert repairs[-2:] == ["degenerate", "fallback_lead"]


def test_a_description_the_article_does_not_support_is_removed() -> None:
    source = (
        "James Haskell showed off his inner Iron Man. The London Wasps captain posted the photo. "
        "Nursultan Nazarbayev, the first president of Kazakhstan, met Putin."
    )
    raw = (
        "James Haskell, a British actor, posted a photo as Iron Man. Putin met Nursultan Nazarbayev, the first "
        "president of Kazakhstan, in Moscow. He met Haskell, the London Wasps captain, too."
    )
    text, repairs = clean_summary(raw, source, 3, hit_token_cap=False)
    assert text == (
        "James Haskell posted a photo as Iron Man. Putin met Nursultan Nazarbayev, the first president of "
        "Kazakhstan, in Moscow. He met Haskell, the London Wasps captain, too."
    )
    assert repairs == ["removed_unsupported_description"]


def test_a_sentence_opener_is_not_taken_for_a_name() -> None:
    raw = "However, the bankers objected, and OPEC met in Vienna."  # "bankers objected" is not in SOURCE
    assert clean_summary(raw, SOURCE, 3, hit_token_cap=False) == (raw, [])
