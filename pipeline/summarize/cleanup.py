"""Clean-up of generated summaries: the chat chatter, cut-off and looping sentences small models produce.

Each change is reported by name so a run can count how often the model needed repair.
"""

from __future__ import annotations

import itertools
import re

from pipeline.summarize.lead import lead_sentences
from pipeline.text import TERMINAL, split_sentences

MARKUP = re.compile(r"\*\*|__|^\s*#+\s*|^\s*(?:[-*•]|\d+[.)])\s+", re.MULTILINE)
PREAMBLE = re.compile(
    r"""^\s*(?:(?:sure|certainly|of\ course|okay|ok)\b[!,.]?\s*)?
    (?:(?:here(?:'s|\ is|\ are)|below\ is)\b[^:\n]{0,100}:
      |(?:(?:a|the)\ )?(?:brief\ |short\ |concise\ )?summary\b[^:\n]{0,60}:)\s*""",
    re.IGNORECASE | re.VERBOSE,
)
NON_WORD = re.compile(r"\W+")
# "James Haskell, a British actor, said": a description set off by commas after a name. Small models invent
# these ("a British actor" for a rugby captain) and a reader takes them as fact. The name is two capitalised
# words or one after a lower-case word, so "However, the talks ended," (a sentence opener) is no name.
APPOSITIVE = re.compile(
    r"((?:\b[A-Z][\w.'-]*\s)+[A-Z][\w.'-]*|(?<=[a-z] )[A-Z][\w.'-]*), (?:a|an|the) ((?:[\w'-]+ ){0,5}[\w'-]+),"
)
FUNCTION_WORDS = frozenset(
    ["a", "an", "the", "of", "in", "on", "at", "for", "and", "to", "by", "from", "with", "as", "who", "which"]
)
# Below these a "summary" is a fragment or a loop ("the the the ..."), not a summary.
MIN_WORDS = 4
MIN_DISTINCT_WORD_RATIO = 0.35
# A sentence sharing more than this share of its word pairs with an earlier one restates it: small models
# loop on a paraphrase ("...to be told in a Hollywood film dubbed 'The First Great Escape'." twice).
REPEAT_BIGRAM_SHARE = 0.5


def clean_summary(raw: str, source: str, max_sentences: int, hit_token_cap: bool) -> tuple[str, list[str]]:
    """The cleaned summary and the names of the repairs made; a degenerate one falls back to `source`'s lead."""
    repairs = []
    text = MARKUP.sub("", raw)
    if text != raw:
        repairs.append("removed_markup")
    text, preambles = PREAMBLE.subn("", text, count=1)
    if preambles:
        repairs.append("removed_preamble")
    text, invented = APPOSITIVE.subn(lambda m: m[1] if is_invented(m[2], source) else m[0], text)
    if invented:
        repairs.append("removed_unsupported_description")
    sentences = split_sentences(" ".join(text.split()))
    # Generation stops at the token cap or once the sentence after the last wanted one has begun (SentenceLimit);
    # either way an unfinished last sentence is a fragment, which must go before repeats are dropped.
    stopped_by_limit = hit_token_cap or len(sentences) > max_sentences
    if stopped_by_limit and sentences and not TERMINAL.search(sentences[-1]):
        sentences.pop()
        repairs.append("dropped_cut_off_sentence")
    distinct = drop_repeats(sentences)
    if len(distinct) < len(sentences):
        sentences = distinct
        repairs.append("dropped_repeated_sentence")
    if len(sentences) > max_sentences:
        sentences = sentences[:max_sentences]
        repairs.append("truncated_to_max_sentences")
    text = " ".join(sentences)
    if is_degenerate(text):
        return lead_sentences(source, max_sentences), [*repairs, "degenerate", "fallback_lead"]
    return text, repairs


def is_invented(description: str, source: str) -> bool:
    """Whether a word of `description` (function words aside) appears nowhere in `source`, as a word or part
    of one: generous matching, so that only a description the article cannot support is removed."""
    article = source.lower()
    return any(word not in article for word in description.lower().split() if word not in FUNCTION_WORDS)


def drop_repeats(sentences: list[str]) -> list[str]:
    """`sentences` without those that repeat an earlier one, word for word or as a close paraphrase."""
    kept: list[tuple[str, set[tuple[str, ...]]]] = []
    for sentence in sentences:
        words = NON_WORD.sub(" ", sentence.lower()).split()
        # A one-word sentence has no pairs; it is compared as a whole.
        pairs = set(itertools.pairwise(words)) or {tuple(words)}
        if not any(len(pairs & earlier) > REPEAT_BIGRAM_SHARE * len(pairs) for _, earlier in kept):
            kept.append((sentence, pairs))
    return [sentence for sentence, _ in kept]


def is_degenerate(text: str) -> bool:
    words = NON_WORD.sub(" ", text.lower()).split()
    return len(words) < MIN_WORDS or len(set(words)) < MIN_DISTINCT_WORD_RATIO * len(words)
