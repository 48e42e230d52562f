"""Token-budgeted chunking of articles, on paragraph, then sentence, then word boundaries."""

from __future__ import annotations

from collections.abc import Callable

from pipeline.text import split_paragraphs, split_sentences

TokenCounter = Callable[[str], int]


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
