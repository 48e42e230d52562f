"""The shared text helpers: sentences, paragraphs, folding, detokenising."""

import pytest

from pipeline.text import article_sentences, detokenize, fold_case, fold_name, split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mr. Khelil met U.S. officials. They agreed.", ["Mr. Khelil met U.S. officials.", "They agreed."]),
        (
            'He said "No." Then he left! Why? 2008 was bad.',
            ['He said "No."', "Then he left!", "Why?", "2008 was bad."],
        ),
        ("Prices rose 3.5 percent in Jan. 2008 and fell", ["Prices rose 3.5 percent in Jan. 2008 and fell"]),
        ("the U.S. dollar fell. Oil rose.", ["the U.S. dollar fell.", "Oil rose."]),
        ("Talks end on day 2. Then J. Smith speaks.", ["Talks end on day 2.", "Then J. Smith speaks."]),
        ("", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_article_sentences_never_run_over_a_paragraph_break() -> None:
    assert article_sentences("Talks began in\nGeneva. They ended\n\nlate. Nobody spoke") == [
        "Talks began in Geneva.",
        "They ended",
        "late.",
        "Nobody spoke",
    ]


def test_fold_name_ignores_case_accents_dots_possessives_and_the() -> None:
    assert fold_name("The U.S.") == "us"
    assert fold_name("López Obrador’s") == "lopez obrador"
    assert fold_name("Hamas'") == "hamas"


def test_fold_case_keeps_dots_and_possessives() -> None:
    assert fold_case("Zelenskyy’s U.S. Visit") == "zelenskyy's u.s. visit"


def test_detokenize_undoes_ptb_tokens() -> None:
    assert (
        detokenize("Kilmarnock 's boss , Locke , did n't ( yet ) win .")
        == "Kilmarnock's boss, Locke, didn't (yet) win."
    )
    assert detokenize("``maverick\\'\\' is") == '"maverick" is'
    assert detokenize("crisis , with the ( UN ) mission .") == "crisis, with the (UN) mission."
