"""Sentence splitting and token-budgeted chunking of articles, on paragraph, then sentence, then word boundaries."""

from __future__ import annotations

import re
from collections.abc import Callable

TokenCounter = Callable[[str], int]

# A sentence ends at terminal punctuation (plus closing quotes or brackets) followed by space and a capital,
# digit, quote or bracket; "Mr. Khelil" and "U.S. President" are the classic false ends, handled below.
SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "prof", "sen", "rep", "gov", "gen", "col", "lt", "capt", "sgt", "st", "jr"}
    | {"sr", "inc", "ltd", "co", "corp", "vs", "etc", "est", "approx", "dept", "fig"}
    | {"jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}
)
TERMINAL = re.compile(r"[.!?][\"'”’)\]]*$")  # a sentence that ends like one
INITIALISM = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]?$")
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def split_sentences(text: str) -> list[str]:
    """The sentences of `text` in order, stripped; a text without terminal punctuation is one sentence."""
    sentences, start = [], 0
    for match in SENTENCE_END.finditer(text):
        words = text[start : match.start() + 1].split()
        if match.group().startswith(".") and words and is_abbreviation(words[-1]):
            continue
        sentences.append(text[start : match.end()].strip())
        start = match.end()
    tail = text[start:].strip()
    return [s for s in [*sentences, tail] if s]


def is_abbreviation(word: str) -> bool:
    """Whether `word` (with its final period) is an abbreviation or initialism rather than a sentence end."""
    bare = word.lstrip("\"'“‘([").rstrip(".")
    initial = len(bare) == 1 and bare.isalpha()
    return initial or bare.lower() in ABBREVIATIONS or bool(INITIALISM.fullmatch(bare + "."))


def split_paragraphs(text: str) -> list[str]:
    return [p.strip() for p in PARAGRAPH_BREAK.split(text) if p.strip()]


def split_characters(text: str, max_tokens: int) -> list[str]:
    # Last resort for a single overlong "word" (a URL, a table row): a UTF-8 character is at most four
    # byte-level tokens, so slices of max_tokens // 4 characters always fit.
    width = max(1, max_tokens // 4)
    return [text[i : i + width] for i in range(0, len(text), width)]


# Each level: how to split a piece that is over budget, and how to glue the pieces back together.
LEVELS: list[tuple[Callable[[str, int], list[str]], str]] = [
    (lambda text, _: split_paragraphs(text), "\n\n"),
    (lambda text, _: split_sentences(text), " "),
    (lambda text, _: text.split(), " "),
    (split_characters, ""),
]


def split_into_chunks(text: str, count_tokens: TokenCounter, max_tokens: int) -> list[str]:
    """`text` as consecutive chunks of at most `max_tokens` tokens each, cut at the coarsest boundary that fits."""
    if max_tokens < 1:
        raise ValueError(f"chunk budget must be at least 1 token, got {max_tokens}")
    return _split(text.strip(), count_tokens, max_tokens, level=0)


def _split(text: str, count_tokens: TokenCounter, max_tokens: int, level: int) -> list[str]:
    if level == len(LEVELS) or count_tokens(text) <= max_tokens:
        return [text]
    split, glue = LEVELS[level]
    pieces = [
        chunk
        for piece in split(text, max_tokens)
        for chunk in _split(piece, count_tokens, max_tokens, level + 1)
    ]
    chunks: list[str] = []
    for piece in pieces:
        joined = f"{chunks[-1]}{glue}{piece}" if chunks else piece
        if chunks and count_tokens(joined) <= max_tokens:
            chunks[-1] = joined
        else:
            chunks.append(piece)
    return chunks
