"""Evidence: which sentences and quotes show each entity saying or doing something, and the actors.

Each event's sentence goes to its agents, each attributed quote to its speakers, each transcript turn
to its speaker; then every entity becomes an `Actor` with its evidence in article order.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.actors.agents import Event
from pipeline.actors.article import Article, Cluster

if TYPE_CHECKING:
    from spacy.tokens import Span


# A sentence that only says who spoke is short: "Assistant Foreign Minister Zheng Zeguang said this on Monday."
BARE_ATTRIBUTION_TOKENS = 12
# The object of a speech verb that refers to words said before it ("Zheng said this on Monday").
POINTING_BACK = frozenset({"this", "that", "so"})


@dataclass
class Actor:
    name: str  # fullest form in the article ("Barack Obama"); states by common country name ("China")
    aliases: list[str]  # every surface form merged into it
    type: str  # "person" | "state" | "organisation" | "group"
    evidence: list[str]  # verbatim sentences/quotes where this actor speaks or acts (empty => only mentioned)


@dataclass(frozen=True)
class EvidenceSettings:
    max_evidence: int = 12  # per actor, in article order
    min_evidence_words: int = 3  # shorter pieces ("Yes.", "Thank you.") carry no stance
    min_quote_words: int = 5  # a shorter quote is a scare quote: its sentence is the evidence instead


def actors_of(article: Article, settings: EvidenceSettings) -> list[Actor]:
    """The article's entities as actors in order of first mention; places and groups only when they act."""
    actors = []
    for cluster in sorted(article.clusters, key=lambda c: c.first_char):
        if cluster.type in ("place", "group") and not cluster.evidence:
            continue  # a city that only sets the scene; a group noun is an actor only when it acts
        evidence = [text for text, _ in sorted(cluster.evidence.items(), key=lambda item: item[1])]
        actors.append(
            Actor(
                name=cluster.name(),
                aliases=list(cluster.aliases),
                type="state" if cluster.type == "place" else cluster.type,
                evidence=without_contained(evidence[: 4 * settings.max_evidence])[: settings.max_evidence],
            )
        )
    return actors


def attribute(article: Article, events: list[Event], settings: EvidenceSettings) -> None:
    """Evidence: each event's sentence, each attributed quote, each transcript turn's sentences.

    A sentence is left out for a speaker whose quote runs beyond it (the quote says it all); a quote
    inside its sentence is dropped later as part of the longer evidence ("X warned that ... "quote"").
    """
    quoted_by = attribute_quotes(article, [event for event in events if event.names_speaker])
    long_groups = {group for group in quoted_by if is_long(article, group, settings.min_quote_words)}
    for event in events:
        start, end = event.sentence.start_char, event.sentence.end_char
        overlapping = {
            q.group
            for q in article.layout.quotes
            if q.group in long_groups and q.start < end and q.end > start
        }
        running_over = {
            group
            for group in overlapping
            if any(part.start < start or part.end > end for part in article.layout.quotes_by_group[group])
        }
        for agent in event.agents:
            if not any(agent in quoted_by[group] for group in running_over):
                add_evidence(
                    article, settings, agent, *own_part(article, event, agent, quoted_by, long_groups)
                )
    sentences = list(article.doc.sents)
    sentence_ends = [sentence.end_char for sentence in sentences]
    for group in long_groups:
        for quote in article.layout.quotes_by_group[group]:
            # Sentence by sentence, as the stance model reads them: one long quote would blur its parts.
            for start, end in sentence_pieces(sentences, sentence_ends, quote.start, quote.end):
                for speaker in quoted_by[group]:
                    add_evidence(article, settings, speaker, start, end)
    for index, speaker in article.speaker_of_turn.items():
        turn = article.layout.turns[index]
        for start, end in sentence_pieces(sentences, sentence_ends, turn.start, turn.end):
            add_evidence(article, settings, speaker, start, end)


def own_part(
    article: Article, event: Event, agent: Cluster, quoted_by: dict[int, list[Cluster]], long_groups: set[int]
) -> tuple[int, int]:
    """The part of the event's sentence around the event without another speaker's quote: in '"We
    refuse," said X, and Y said "we agree"', X's words are no evidence of Y's stance."""
    start, end = event.sentence.start_char, event.sentence.end_char
    for quote in article.layout.quotes:
        if quote.group not in long_groups or agent in quoted_by[quote.group]:
            continue
        if start <= quote.start and quote.end <= event.char:
            start = quote.end + 1  # after the closing mark
        elif event.char < quote.start < end:
            end = quote.start - 1  # before the opening mark
    return start, end


def is_long(article: Article, group: int, min_quote_words: int) -> bool:
    words = sum(len(article.text[q.start : q.end].split()) for q in article.layout.quotes_by_group[group])
    return words >= min_quote_words


def attribute_quotes(article: Article, speech: list[Event]) -> dict[int, list[Cluster]]:
    """Each quote group's speakers: those of the nearest speech verb outside quotes in the quote's paragraphs.

    A paragraph ending with a colon ("Ivanov stated:") also introduces a quote in the next paragraph, and
    a paragraph that is only a quote takes the speaker of a bare attribution opening the next one
    (""...," \n\n Assistant Foreign Minister Zheng Zeguang said.").
    """
    by_paragraph: dict[int, list[Event]] = {}
    for event in speech:
        by_paragraph.setdefault(article.layout.paragraph_at(event.char), []).append(event)
    quoted_by: dict[int, list[Cluster]] = {}
    for group, parts in article.layout.quotes_by_group.items():
        paragraphs = {quote.paragraph for quote in parts}
        candidates = [event for p in paragraphs for event in by_paragraph.get(p, [])]
        first = min(paragraphs)
        if not candidates and first > 0:
            previous = article.text[
                article.layout.paragraph_starts[first - 1] : article.layout.paragraph_starts[first]
            ].rstrip()
            if previous.endswith(":"):
                candidates = by_paragraph.get(first - 1, [])
        last = max(paragraphs)
        if not candidates:
            candidates = [
                event for event in by_paragraph.get(last + 1, []) if is_bare_attribution(article, event)
            ][:1]
        if candidates:
            # The speech verb of the quote's own sentence first ("X concurred, saying "..." Y denied it"),
            # then the nearest one.
            nearest = min(
                candidates,
                key=lambda e: (
                    not any(e.sentence.start_char <= q.start < e.sentence.end_char for q in parts),
                    min(min(abs(e.char - q.start), abs(e.char - q.end)) for q in parts),
                ),
            )
            quoted_by[group] = nearest.agents
    return quoted_by


def is_bare_attribution(article: Article, event: Event) -> bool:
    """Whether the event opens its paragraph with a sentence that says who spoke what came before: only
    who spoke ("X said.", "X said this on Monday."; no clause or quote of its own that the speech verb
    would introduce), or a speech verb whose object points back ("X said this on Monday, adding that
    ...", "X said so")."""
    sentence = event.sentence
    paragraph_start = article.layout.paragraph_starts[article.layout.paragraph_at(event.char)]
    if article.text[paragraph_start : sentence.start_char].strip() or any(
        article.layout.in_quote(token.idx) for token in sentence
    ):
        return False
    verb = next((token for token in sentence if token.idx == event.char), None)
    points_back = verb is not None and any(
        child.dep_ == "dobj" and child.lower_ in POINTING_BACK for child in verb.children
    )
    return points_back or (
        len(sentence) <= BARE_ATTRIBUTION_TOKENS
        and not any(token.dep_ in ("ccomp", "xcomp") for token in sentence)
    )


def add_evidence(
    article: Article, settings: EvidenceSettings, cluster: Cluster, start: int, end: int
) -> None:
    if start < article.body_start:
        return  # the headline names actors; what it says is the article's own words, not theirs
    raw = article.text[start:end]
    text = raw.strip().strip(",").strip()
    if len(text.split()) < settings.min_evidence_words or text.startswith("("):
        return
    cluster.evidence.setdefault(text, start + raw.find(text))


def sentence_pieces(
    sentences: list[Span], sentence_ends: list[int], start: int, end: int
) -> list[tuple[int, int]]:
    """The character spans of `start:end` cut at the sentence boundaries of `sentences` (ends ascending)."""
    pieces = []
    for sentence in sentences[bisect.bisect_right(sentence_ends, start) :]:
        if sentence.start_char >= end:
            break
        pieces.append((max(sentence.start_char, start), min(sentence.end_char, end)))
    return pieces


def without_contained(evidence: list[str]) -> list[str]:
    """Drops evidence that is part of a longer piece of evidence of the same actor."""
    return [text for text in evidence if not any(text != other and text in other for other in evidence)]
