"""Clean-up of generated summaries: the chat chatter, cut-off and looping sentences small models produce.

Each change is reported by name so a run can count how often the model needed repair.
"""

from __future__ import annotations

import re

from pipeline.summarize.chunking import TERMINAL, split_sentences
from pipeline.summarize.lead import lead_sentences

MARKUP = re.compile(r"\*\*|__|^\s*#+\s*|^\s*(?:[-*•]|\d+[.)])\s+", re.MULTILINE)
PREAMBLE = re.compile(
    r"""^\s*(?:(?:sure|certainly|of\ course|okay|ok)\b[!,.]?\s*)?
    (?:(?:here(?:'s|\ is|\ are)|below\ is)\b[^:\n]{0,100}:
      |(?:(?:a|the)\ )?(?:brief\ |short\ |concise\ )?summary\b[^:\n]{0,60}:)\s*""",
    re.IGNORECASE | re.VERBOSE,
)
NON_WORD = re.compile(r"\W+")
# Below these a "summary" is a fragment or a loop ("the the the ..."), not a summary.
MIN_WORDS = 4
MIN_DISTINCT_WORD_RATIO = 0.35


def clean_summary(raw: str, source: str, max_sentences: int, hit_token_cap: bool) -> tuple[str, list[str]]:
    """The cleaned summary and the names of the repairs made; a degenerate one falls back to `source`'s lead."""
    repairs = []
    text = MARKUP.sub("", raw)
    if text != raw:
        repairs.append("removed_markup")
    text, preambles = PREAMBLE.subn("", text, count=1)
    if preambles:
        repairs.append("removed_preamble")
    sentences = split_sentences(" ".join(text.split()))
    if hit_token_cap and sentences and not TERMINAL.search(sentences[-1]):
        sentences.pop()
        repairs.append("dropped_cut_off_sentence")
    distinct: dict[str, str] = {}
    for sentence in sentences:
        distinct.setdefault(sentence_key(sentence), sentence)
    if len(distinct) < len(sentences):
        sentences = list(distinct.values())
        repairs.append("dropped_repeated_sentence")
    if len(sentences) > max_sentences:
        sentences = sentences[:max_sentences]
        repairs.append("truncated_to_max_sentences")
    text = " ".join(sentences)
    if is_degenerate(text):
        return lead_sentences(source, max_sentences), [*repairs, "degenerate", "fallback_lead"]
    return text, repairs


def sentence_key(sentence: str) -> str:
    """What two sentences share when they repeat each other up to case, spacing and punctuation."""
    return NON_WORD.sub(" ", sentence.lower()).strip()


def is_degenerate(text: str) -> bool:
    words = NON_WORD.sub(" ", text.lower()).split()
    return len(words) < MIN_WORDS or len(set(words)) < MIN_DISTINCT_WORD_RATIO * len(words)
