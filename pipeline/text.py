"""Text helpers every stage shares: the one sentence segmenter, paragraphs, name and case folding, detokenising,
the figures a sentence states.

The segmenter is a regular expression rather than a parser's, so that the summariser, the lead baseline,
the faithfulness check and evaluation cut an article the same way without loading a model.
"""

from __future__ import annotations

import re
import unicodedata

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
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Number words a summary may use for an article's digits (or the reverse); "one" is left out, since it is
# more often a pronoun ("one of the ...") than a count.
UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven"]
TEENS = [
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
]
TENS = ["thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
NUMBER_WORDS = {word: str(value) for value, word in enumerate(UNITS + TEENS) if word != "one"} | {
    word: str(10 * tens) for tens, word in enumerate(TENS, 3)
}
WORD = re.compile(r"\w+")
# A blank line (spaces allowed on it): what ingest writes between paragraphs.
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# PTB tokenisation undone, in order: escaped and LaTeX-style quotes, clitics, then spaces before closing
# and after opening punctuation. Harmless on untokenised text.
DETOKENIZE = [
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"\\'", "'"),
        (r"``\s*", '"'),
        (r"\s*''", '"'),
        (r" (['’](?:s|re|ve|ll|d|m)\b)", r"\1"),
        (r" (n['’]t)\b", r"\1"),
        (r" ([.,;:!?%)\]])", r"\1"),
        (r"([(\[$£]) ", r"\1"),
    )
]


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


def article_sentences(text: str) -> list[str]:
    """The sentences of `text`, paragraph by paragraph (a sentence never runs over a paragraph break)."""
    return [s for paragraph in split_paragraphs(text) for s in split_sentences(" ".join(paragraph.split()))]


def fold_case(text: str) -> str:
    """Lower case without accents or curly apostrophes, so "Zelenskyy’s" and "zelenskyy's" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.replace("’", "'"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def fold_name(text: str) -> str:
    """The spelling-insensitive form of a name: `fold_case`, without dots, a possessive or a leading "the"."""
    text = re.sub(r"'s?(?=\s|$)", "", fold_case(text)).replace(".", "")
    text = " ".join(re.sub(r"[^\w'&-]+", " ", text).split())
    return text.removeprefix("the ")


def detokenize(text: str) -> str:
    """`text` with PTB-style tokenisation undone ("Kilmarnock 's manager ." -> "Kilmarnock's manager.")."""
    for pattern, replacement in DETOKENIZE:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())


def normalise_number(text: str) -> str:
    """ "1,500" -> "1500", "2.50" -> "2.5": how a figure is written does not change what it says."""
    plain = text.replace(",", "")
    return plain.rstrip("0").rstrip(".") if "." in plain else plain


def sentence_numbers(text: str) -> list[str]:
    """The figures written in `text`, digits and number words alike, normalised."""
    figures = [normalise_number(n) for n in NUMBER.findall(text)]
    return figures + [NUMBER_WORDS[w] for w in WORD.findall(text.lower()) if w in NUMBER_WORDS]
