"""Mentions: every name in the article (NER's, plus those it missed) with its kind and its folded key.

A mention's key is what identifies its entity: a person's name without titles, a state's common name
(capitals, demonyms and seats of government included), an organisation's written-out name.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.actors.article import Article, forms
from pipeline.actors.names import CALENDAR_WORDS, name_key, name_words
from pipeline.text import fold_name

if TYPE_CHECKING:
    from spacy.tokens import Span, Token

ACRONYM = re.compile(r"\(([A-Z][A-Za-z.&]{1,9})\)")
ACRONYM_SKIPPED_WORDS = frozenset({"of", "and", "for", "the", "in", "on", "to", "de", "du", "des", "la"})
# WORK_OF_ART: NER's reading of some names next to quotes ("... can't produce" Francois Traore, president of).
NER_LABELS = frozenset({"PERSON", "ORG", "GPE", "NORP", "FAC", "WORK_OF_ART"})
VOTED_KINDS = frozenset({"person", "organisation", "place"})
MODIFIER_DEPS = frozenset({"compound", "amod", "poss", "nmod"})
PLURAL_NOUN_TAGS = frozenset({"NNS", "NNPS"})


@dataclass
class Mention:
    surface: str
    start_char: int
    kind: str  # person | organisation | state | place
    key: str  # folded name, title-free for persons; the country for states
    tokens: range | None = None  # token indices in the doc; None for transcript labels
    name_form: str | None = None


def collect_mentions(article: Article) -> list[Mention]:
    written_out = acronym_definitions(article)
    covered = {index for span in written_out for index in range(span.start, span.end)}
    mentions = [mention for span in written_out if (mention := mention_of(article, span, "ORG"))]
    mentions += [
        mention for span in unlabelled_names(article) if (mention := mention_of(article, span, "PERSON"))
    ]
    mentions += [
        mention
        for ent in article.doc.ents
        if ent.label_ in NER_LABELS
        and not article.layout.in_label(ent.start_char)
        and covered.isdisjoint(range(ent.start, ent.end))
        for part, label in split_list(article, ent)
        if (mention := mention_of(article, part, label))
    ]
    for turn in article.layout.turns:
        if turn.speaker and (key := article.tables.speaker_key(turn.speaker)):
            name = article.tables.strip_titles(turn.speaker).title()
            mentions.append(Mention(turn.speaker, turn.label_start, "person", key, name_form=name))
    mentions += missed_surnames(article, mentions)
    reconcile_kinds(article, mentions)
    return mentions


def missed_surnames(article: Article, mentions: list[Mention]) -> list[Mention]:
    """A lone proper noun NER left untagged that is the surname of exactly one person named in full
    ("Gunness denied it" after "Christopher Gunness"): a person the article already introduced."""
    by_surname: dict[str, set[str]] = {}
    for mention in mentions:
        if mention.kind == "person" and len(mention.key.split()) > 1:
            by_surname.setdefault(mention.key.split()[-1], set()).add(mention.key)
    covered = {index for mention in mentions if mention.tokens for index in mention.tokens}
    found = []
    for token in article.doc:
        keys = by_surname.get(fold_name(token.text), set())
        neighbours = article.doc[max(token.i - 1, 0) : token.i + 2]
        if (
            len(keys) == 1
            and token.i not in covered
            and token.pos_ == "PROPN"
            and not token.ent_type_
            and token.text[:1].isupper()
            and not article.layout.in_label(token.idx)
            and all(other.i == token.i or other.pos_ != "PROPN" for other in neighbours)
        ):
            key = next(iter(keys))
            found.append(
                Mention(token.text, token.idx, "person", key, range(token.i, token.i + 1), token.text)
            )
    return found


def unlabelled_names(article: Article) -> list[Span]:
    """Proper names NER missed in apposition to a role: "the President of Pakistan, General Pervez Musharraf"."""
    spans = []
    for token in article.doc:
        if token.pos_ not in ("NOUN", "PROPN") or not forms(token) & article.tables.role_nouns:
            continue
        for name in token.children:
            if name.dep_ == "appos" and name.pos_ == "PROPN" and not name.ent_type_:
                start = name.i
                while (
                    start > 0
                    and article.doc[start - 1].pos_ == "PROPN"
                    and not article.doc[start - 1].ent_type_
                ):
                    start -= 1
                spans.append(article.doc[start : name.i + 1])
    return spans


def acronym_definitions(article: Article) -> list[Span]:
    """Names written out before their acronym whose initials spell it ("U.S. Agency for International
    Development (USAID)"), whatever NER made of them; records acronym -> name in `article.acronyms`."""
    spans = []
    for match in ACRONYM.finditer(article.text):
        acronym = fold_name(match.group(1)).replace(" ", "")
        bracket = article.doc.char_span(match.start(), match.start() + 1)
        if bracket is None:
            continue
        initials, index = "", bracket.start - 1
        while index >= 0 and len(initials) < len(acronym):
            token = article.doc[index]
            if token.lower_ in ACRONYM_SKIPPED_WORDS:
                index -= 1
                continue
            if not token.text[:1].isupper():
                break
            word = fold_name(token.text)
            initials = (word if token.text.replace(".", "").isupper() else word[:1]) + initials
            index -= 1
        if initials == acronym and index + 1 < bracket.start - 1:
            start = index + 1
            for ent in article.doc.ents:  # "Portuguese Public Security Police (PSP)": NER's name is longer
                if ent.end == bracket.start and ent.start < start:
                    start = ent.start
            while article.doc[start].lower_ in ACRONYM_SKIPPED_WORDS:
                start += 1
            span = article.doc[start : bracket.start]
            inside = article.doc.char_span(match.start(1), match.end(1))
            spans.extend([span, inside] if inside is not None else [span])
            article.acronyms[acronym] = fold_name(span.text)
    return spans


def split_list(article: Article, ent: Span) -> list[tuple[Span, str]]:
    """NER sometimes reads a list of countries as one name ("Mali, Burkina Faso"): one place per item."""
    parts, start = [], ent.start
    for token in ent:
        if token.text == "," or token.lower_ == "and":
            if token.i > start:
                parts.append(article.doc[start : token.i])
            start = token.i + 1
    if start < ent.end:
        parts.append(article.doc[start : ent.end])
    if len(parts) > 1 and any(article.tables.country_of(fold_name(part.text)) for part in parts):
        return [(part, "GPE") for part in parts]
    return [(ent, ent.label_)]


def clean_span(article: Article, span: Span, label: str) -> Span | None:
    """Drops "the", possessives and punctuation at the edges; a person's name also loses country words
    NER glued to it ("Belarus Alexander Lukashenko") and gains name words it cut off."""
    tokens = list(span)
    while tokens and (tokens[0].lower_ == "the" or tokens[0].is_punct or tokens[0].is_space):
        tokens.pop(0)
    while tokens and (
        tokens[-1].is_space  # NER may run a heading's name into the blank line after it
        or tokens[-1].tag_ == "POS"
        or (tokens[-1].is_punct and tokens[-1].text != ".")
        or tokens[-1].lower_ in ACRONYM_SKIPPED_WORDS  # "Department of Labor and"
    ):
        tokens.pop()
    if label == "PERSON":
        while len(tokens) > 1 and article.tables.is_country_word(fold_name(tokens[0].text)):
            tokens.pop(0)
        while len(tokens) > 1 and article.tables.is_country_word(fold_name(tokens[-1].text)):
            tokens.pop()
        while (
            tokens
            and tokens[0].i > tokens[0].sent.start
            and is_name_word(article, article.doc[tokens[0].i - 1], span)
        ):
            tokens.insert(0, article.doc[tokens[0].i - 1])
    if not tokens:
        return None
    return article.doc[tokens[0].i : tokens[-1].i + 1]


def is_name_word(article: Article, token: Token, name: Span) -> bool:
    """A first name NER left out: a capitalised proper noun compounded onto the name."""
    key = fold_name(token.text)
    return (
        token.pos_ == "PROPN"
        and token.dep_ == "compound"
        and name.start <= token.head.i < name.end
        and not token.ent_type_
        and token.text[:1].isupper()
        and key not in article.tables.title_words
        and not article.tables.is_country_word(key)
    )


def mention_of(article: Article, ent: Span, label: str) -> Mention | None:
    span = clean_span(article, ent, label)
    if span is None or is_title_part(article, span):
        return None
    surface = span.text.rstrip(":;,")  # a token may keep a colon: "Putin:…I just said"
    key = article.acronyms.get(fold_name(surface), fold_name(surface))
    if (
        len(key.replace(" ", "")) < 2
        or not any(char.isalpha() for char in key)
        or not surface[0].isupper()
        or key in article.tables.excluded
        or all(word in CALENDAR_WORDS or not word.isalpha() for word in key.split())
    ):
        return None
    tokens = range(span.start, span.end)
    if country := article.tables.country_of(fold_name(surface)) or article.tables.country_of(key):
        return Mention(surface, span.start_char, "state", country, tokens)
    if label == "NORP" or key in article.tables.country_by_demonym:
        return demonym_mention(article, span)
    # NER reads "Spokesperson Ned Price" as an organisation, "Justice Department" as a person.
    if (label == "ORG" and is_titled_name(article, surface)) or has_role_apposition(article, span):
        label = "PERSON"
    elif label == "PERSON" and key.split()[-1] in article.tables.organisation_heads:
        label = "ORG"
    if label == "PERSON":
        name = article.tables.strip_titles(surface)
        name = name.title() if name.isupper() else name  # "ANTONY J. BLINKEN" in a schedule
        person_key = name_key(name, article.tables.titles)
        if not person_key or person_key in article.tables.title_words or is_journalist(article, span):
            return None
        return Mention(surface, span.start_char, "person", person_key, tokens, name)
    if label == "GPE":
        return Mention(surface, span.start_char, "place", key, tokens, surface)
    if label == "ORG" and not is_news_outlet(article, span):
        return Mention(surface, span.start_char, "organisation", key, tokens, surface)
    return None  # a FAC that is no seat of government (a building, a bridge), a news outlet


def is_title_part(article: Article, span: Span) -> bool:
    """A title, or the end of one NER cut off as a name ("State" in "Secretary of State"): no actor."""
    first = max(0, span.start - 3)  # the longest configured titles run to four words
    return any(
        fold_name(article.doc[start : span.end].text) in article.tables.titles
        for start in range(first, span.start + 1)
    )


def has_role_apposition(article: Article, span: Span) -> bool:
    return any(
        child.dep_ == "appos" and forms(child) & article.tables.role_nouns for child in span.root.children
    )


def is_titled_name(article: Article, surface: str) -> bool:
    """A title before one to three capitalised words that name no body: "Spokesperson Ned Price"."""
    name = article.tables.strip_titles(surface)
    words = name.split()
    return (
        name != surface
        and len(words) <= 3
        and all(word[:1].isupper() for word in words)
        and not {fold_name(word) for word in words} & article.tables.organisation_words
    )


def is_news_outlet(article: Article, span: Span) -> bool:
    """An outlet by its last word ("The Nigerian Newspaper") or apposition ("X, a Hamas-centric website")."""
    root = span.root
    nouns = [root, *(child for child in root.children if child.dep_ == "appos")]
    if root.dep_ == "appos":
        nouns.append(root.head)
    return any(forms(noun) & article.tables.news_outlet_words for noun in nouns)


def is_journalist(article: Article, span: Span) -> bool:
    """A person introduced by the outlet they write for: "Richard Spencer of The Daily Telegraph"."""
    for prep in span.root.children:
        if prep.dep_ == "prep" and prep.lower_ in ("of", "from", "at", "for", "with"):
            for obj in prep.children:
                outlet = article.doc[obj.left_edge.i : obj.i + 1].text
                if obj.dep_ == "pobj" and (
                    fold_name(outlet) in article.tables.excluded
                    or fold_name(obj.text) in article.tables.excluded
                ):
                    return True
    return False


def demonym_mention(article: Article, span: Span) -> Mention | None:
    """A demonym is its state when it names the state's body or officer ("Chinese officials", "the
    British Prime Minister") or its people as a party ("the Syrians said")."""
    country = article.tables.country_by_demonym.get(fold_name(span.text))
    if not country:
        return None
    root = head = span.root
    while head.dep_ == "conj" and head.head.i != head.i:  # "Iraqi and American forces"
        head = head.head
    body = head.head
    if head.dep_ in MODIFIER_DEPS and forms(body) & (
        article.tables.state_body_nouns | article.tables.role_nouns
    ):
        surface = f"{span.text} {body.text}" if body.i == span.end else span.text
        return Mention(surface, span.start_char, "state", country, range(span.start, span.end))
    if root.tag_ in PLURAL_NOUN_TAGS and root.dep_ in ("nsubj", "pobj", "conj"):
        return Mention(span.text, span.start_char, "state", country, range(span.start, span.end))
    return None


def reconcile_kinds(article: Article, mentions: list[Mention]) -> None:
    """spaCy may call one name PERSON here and ORG or GPE there. A name whose words all occur in a person's
    name ("General Petraeus" beside "David Petraeus") is that person; otherwise the majority label decides."""
    people = [name_words(m.key) for m in mentions if m.kind == "person"]
    for mention in mentions:
        if mention.kind == "organisation":
            key = name_key(mention.surface, article.tables.titles)
            if any(name_words(key) <= words for words in people):
                mention.kind, mention.key = "person", key
                mention.name_form = article.tables.strip_titles(mention.surface)
    votes: dict[str, Counter[str]] = {}
    for mention in mentions:
        if mention.kind in VOTED_KINDS:
            # A place name NER also calls a person or an organisation is mostly that ("BT said").
            weight = 1 if mention.kind == "place" else 2
            votes.setdefault(fold_name(mention.surface), Counter())[mention.kind] += weight
    for mention in mentions:
        if mention.kind in VOTED_KINDS:
            kind = votes[fold_name(mention.surface)].most_common(1)[0][0]
            if kind != mention.kind:
                mention.kind = kind
                is_person = kind == "person"
                mention.key = (
                    name_key(mention.surface, article.tables.titles)
                    if is_person
                    else fold_name(mention.surface)
                )
                mention.name_form = (
                    article.tables.strip_titles(mention.surface) if is_person else mention.surface
                )
