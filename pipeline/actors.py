"""Actors stage: the people, states, organisations and groups in an article, with what each says or does.

spaCy finds the names (PERSON, ORG, GPE, NORP); rules configured in `conf/actors/` merge the names of
one real-world entity, turn capitals, demonyms and seats of government into their state, and attribute
evidence from the dependency parse: quotes (also across paragraphs), reported speech, actions (subject
or by-agent of an action verb or act noun), "according to X", back-references ("he said", "the
spokesman said") and transcript turns ("PRESIDENT BIDEN: ...").
"""

from __future__ import annotations

import bisect
import calendar
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

import datasets
import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span, Token
from tqdm import tqdm

ACTOR_FEATURES = datasets.List(
    {
        "name": datasets.Value("string"),
        "aliases": datasets.List(datasets.Value("string")),
        "type": datasets.Value("string"),
        "evidence": datasets.List(datasets.Value("string")),
    }
)

# Calendar words are language, not world knowledge: NER sometimes tags "Friday" or "June" as ORG.
_CALENDAR_WORDS = frozenset(
    {name.lower() for name in (*calendar.day_name, *calendar.month_name) if name}
    | {"today", "yesterday", "tomorrow"}
)
_OPEN_QUOTE, _CLOSE_QUOTE, _STRAIGHT_QUOTE = "“", "”", '"'
_UPPER_LABEL = re.compile(r"(?m)^[ \t]*([A-Z][A-Z\u00C0-\u00DE.'’\- ]*[A-Z\u00C0-\u00DE.])[ \t]*:[ \t]*")
_TITLE_LABEL = re.compile(r"(?m)^[ \t]*([A-Z][\w.'’\-]*(?: [A-Z][\w.'’\-]*){0,3})[ \t]*:[ \t]+")
_QUESTION_LABEL = re.compile(r"(?m)^[ \t]*Q[:.]?[ \t]+")
# A press office's statement line: "The following is attributable to Spokesperson Ned Price:".
_STATEMENT_LABEL = re.compile(
    r"(?mi)^[ \t]*the (?:following|below)(?: statement)? is attributable to ([^\n:]+?)[ \t]*:[ \t]*$"
)
_PARAGRAPH = re.compile(r"[^\n]+")
_ACRONYM = re.compile(r"\(([A-Z][A-Za-z.&]{1,9})\)")
_ACRONYM_AFTER = re.compile(r"\s*" + _ACRONYM.pattern)
_ACRONYM_SKIPPED_WORDS = frozenset({"of", "and", "for", "the", "in", "on", "to", "de", "du", "des", "la"})
# WORK_OF_ART: NER's reading of some names next to quotes ("... can't produce" Francois Traore, president of).
_LABELS = frozenset({"PERSON", "ORG", "GPE", "NORP", "FAC", "WORK_OF_ART"})
_PERSONAL_PRONOUNS = frozenset({"he", "she"})
_RELATIVE_PRONOUN_TAGS = frozenset({"WP", "WDT"})
_MODIFIER_DEPS = frozenset({"compound", "amod", "poss", "nmod"})
_SUBJECT_DEPS = frozenset({"nsubj", "nsubjpass", "csubj", "expl"})
_SUBJECT_INHERITING_DEPS = frozenset({"conj", "xcomp", "advcl"})
_ACTIVE_VERB_TAGS = frozenset({"VBG", "VBD", "VBZ", "VBP"})
_BODY_PREPOSITIONS = frozenset({"for", "of", "from", "at", "with"})
_PLURAL_NOUN_TAGS = frozenset({"NNS", "NNPS"})
_LIST_DEPS = frozenset({"appos", "conj", "npadvmod"})
_PARTITIVES = frozenset({"all", "some", "most", "many", "both", "each", "none", "several", "one", "two"})
_NON_PERSON_TYPES = frozenset({"state", "place", "organisation"})
_VOTED_KINDS = frozenset({"person", "organisation", "place"})


@Language.component("paragraph_sentence_starts")
def paragraph_sentence_starts(doc: Doc) -> Doc:
    """A line break always starts a sentence, so a heading or transcript label never runs into the next line."""
    for token in doc[:-1]:
        if token.is_space and "\n" in token.text:
            doc[token.i + 1].is_sent_start = True
    return doc


def fold(text: str) -> str:
    """The spelling-insensitive form of a name: lower case, no accents, dots, possessive or leading "the"."""
    text = unicodedata.normalize("NFKD", text.replace("’", "'"))
    text = "".join(char for char in text if not unicodedata.combining(char)).lower()
    text = re.sub(r"'s?(?=\s|$)", "", text).replace(".", "")
    text = " ".join(re.sub(r"[^\w'&-]+", " ", text).split())
    return text.removeprefix("the ")


def name_key(text: str, titles: Sequence[str]) -> str:
    """`fold(text)` without leading titles; `titles` are folded and sorted longest first."""
    key = fold(text)
    stripped = True
    while stripped:
        stripped = False
        for title in titles:
            if key.startswith(title + " "):
                key = key[len(title) + 1 :]
                stripped = True
                break
    return key


def _name_words(key: str) -> set[str]:
    """A folded name's words, hyphenated ones also split: "al-shaer" gives "al-shaer", "al" and "shaer"."""
    words = set(key.split())
    return words | {part for word in words for part in word.split("-") if part}


@dataclass
class Actor:
    name: str  # fullest form in the article ("Barack Obama"); states by common country name ("China")
    aliases: list[str]  # every surface form merged into it
    type: str  # "person" | "state" | "organisation" | "group"
    evidence: list[str]  # verbatim sentences/quotes where this actor speaks or acts (empty => only mentioned)


@dataclass(eq=False)  # identity: two entities with equal fields are still two
class _Cluster:
    """One real-world entity while an article is read."""

    type: str  # an actor type, or "place" for a non-country GPE (an actor only once it acts)
    first_char: int
    name_forms: Counter[str] = field(default_factory=Counter)
    aliases: dict[str, None] = field(default_factory=dict)  # insertion-ordered set
    roles: set[str] = field(default_factory=set)  # folded title words a person was introduced with
    evidence: dict[str, int] = field(default_factory=dict)  # text -> char offset
    fixed_name: str | None = None  # a state's common name or a group's phrase

    def add_form(self, surface: str, name_form: str | None) -> None:
        self.aliases.setdefault(surface, None)
        if name_form:
            self.name_forms[name_form] += 1

    def name(self) -> str:
        if self.fixed_name:
            return self.fixed_name
        # Most words first ("Barack Obama" over "Obama"); a written-out name over an acronym.
        return max(self.name_forms, key=lambda form: (len(form.split()), not form.isupper(), len(form)))


# Stands in for "no cluster at this token" so type checks need no None test.
_NO_CLUSTER = _Cluster(type="", first_char=-1)


@dataclass
class _Mention:
    surface: str
    start_char: int
    kind: str  # person | organisation | state | place
    key: str  # folded name, title-free for persons; the country for states
    tokens: range | None = None  # token indices in the doc; None for transcript labels
    name_form: str | None = None


@dataclass
class _Turn:
    label_start: int
    start: int  # first character of what is said, after the label
    end: int
    speaker: str | None  # label as written; None for a reporter's question or an anonymous speaker
    statement: bool = False  # a press statement issued in the speaker's name: its narration still counts


@dataclass
class _Quote:
    start: int
    end: int
    paragraph: int
    group: int  # a quote running over several paragraphs shares one group


@dataclass
class _Event:
    """Agents saying or doing something in one sentence, found at character `char`."""

    char: int
    sentence: Span
    agents: list[_Cluster]
    names_speaker: bool  # a speech verb outside quotes: may say who a nearby quote is by


class ActorExtractor:
    """Finds an article's actors with spaCy NER and the dependency rules configured in conf/actors/."""

    def __init__(
        self,
        spacy_model: str,
        countries: dict[str, dict[str, list[str]]],
        institutions: dict[str, str],
        state_body_nouns: Iterable[str],
        titles: Iterable[str],
        rank_title_words: Iterable[str],
        organisation_heads: Iterable[str],
        role_nouns: Iterable[str],
        group_nouns: Iterable[str],
        qualified_group_nouns: Iterable[str],
        event_nouns: Iterable[str],
        speech_verbs: Iterable[str],
        action_verbs: Iterable[str],
        excluded: Iterable[str],
        news_outlet_words: Iterable[str],
        non_actor_speakers: Iterable[str],
        implied_roles: dict[str, list[str]] | None = None,
        max_evidence: int = 12,
        min_evidence_words: int = 3,
        min_quote_words: int = 5,
    ) -> None:
        self.nlp = spacy.load(spacy_model)
        self.nlp.add_pipe("paragraph_sentence_starts", before="parser")
        self.country_by_name: dict[str, str] = {}
        self.country_by_capital: dict[str, str] = {}
        self.country_by_demonym: dict[str, str] = {}
        for country, facts in countries.items():
            for name in [country, *facts.get("aliases", [])]:
                self.country_by_name[fold(name)] = country
            for capital in facts.get("capitals", []):
                self.country_by_capital[fold(capital)] = country
            for demonym in facts.get("demonyms", []):
                self.country_by_demonym[fold(demonym)] = country
                self.country_by_demonym[fold(demonym) + "s"] = country  # "the Syrians said"
        self.institution_state = {fold(name): country for name, country in institutions.items()}
        self.state_body_nouns = frozenset(fold(noun) for noun in state_body_nouns)
        self.titles = tuple(sorted({fold(title) for title in titles}, key=len, reverse=True))
        # "of" and "the" join titles ("Secretary of State") but say nothing about whose title it is.
        title_words = {word for title in self.titles for word in title.split()}
        self.title_words = frozenset(title_words - {"of", "the", "and"})
        self.rank_title_words = frozenset(fold(word) for word in rank_title_words)
        self.organisation_heads = frozenset(fold(word) for word in organisation_heads)
        self.role_nouns = frozenset(fold(noun) for noun in role_nouns)
        self.implied_roles = {
            fold(title): frozenset(fold(role) for role in roles)
            for title, roles in (implied_roles or {}).items()
        }
        # Words that make a name a body rather than a person ("Justice Department", "Foreign Ministry").
        self.organisation_words = self.organisation_heads | self.state_body_nouns | self.role_nouns
        self.group_nouns = frozenset(fold(noun) for noun in group_nouns)
        self.qualified_group_nouns = frozenset(fold(noun) for noun in qualified_group_nouns)
        self.event_nouns = frozenset(fold(noun) for noun in event_nouns)
        self.speech_verbs = frozenset(verb.lower() for verb in speech_verbs)
        self.action_verbs = frozenset(verb.lower() for verb in action_verbs)
        self.excluded = frozenset(fold(name) for name in excluded)
        self.news_outlet_words = frozenset(fold(word) for word in news_outlet_words)
        self.non_actor_speakers = frozenset(fold(label) for label in non_actor_speakers)
        self.max_evidence = max_evidence
        self.min_evidence_words = min_evidence_words
        self.min_quote_words = min_quote_words

    def extract(self, text: str) -> list[Actor]:
        """The article's actors in order of first mention; those only mentioned have no evidence."""
        return _Article(self, self.nlp(text)).actors()

    def extract_many(self, texts: list[str], batch_size: int) -> list[list[Actor]]:
        """`extract` for each text, parsed in batches by `nlp.pipe`."""
        return [_Article(self, doc).actors() for doc in self.nlp.pipe(texts, batch_size=batch_size)]

    def country_of(self, key: str) -> str | None:
        """The state a folded name stands for: its name, capital, seat of government or body ("US military")."""
        for table in (self.country_by_name, self.country_by_capital, self.institution_state):
            if key in table:
                return table[key]
        words = key.split()
        if len(words) > 2 and words[0] in self.state_body_nouns and words[1] == "of":
            return self.country_by_name.get(" ".join(words[2:]))  # "Government of Mexico"
        if len(words) < 2 or words[-1] not in self.state_body_nouns:
            return None
        for size in range(len(words) - 1, 0, -1):
            head = " ".join(words[:size])
            if country := self.country_by_name.get(head) or self.country_by_demonym.get(head):
                return country
        return None

    def is_country_word(self, key: str) -> bool:
        return key in self.country_by_name or key in self.country_by_demonym

    def role_word(self, word: str) -> str | None:
        """How a word before or in a role counts: a title word as itself, a country word as its country."""
        if word in self.title_words or word in self.role_nouns:
            return word
        return self.country_by_name.get(word) or self.country_by_demonym.get(word)

    def with_implied(self, roles: set[str]) -> set[str]:
        """`roles` and the roles they imply: a general is also a commander."""
        return roles.union(*(self.implied_roles.get(role, ()) for role in roles))

    def strip_titles(self, surface: str) -> str:
        """`surface` without its leading titles, in its own spelling ("President Obama" -> "Obama")."""
        words = surface.split()
        while len(words) > 1:
            for size in range(min(5, len(words) - 1), 0, -1):
                if fold(" ".join(words[:size])) in self.titles:
                    words = words[size:]
                    break
            else:
                break
        return " ".join(words)

    def speaker_key(self, label: str) -> str:
        """The person key of a transcript label; empty for a role alone ("THE PRESIDENT")."""
        key = name_key(self.strip_titles(label), self.titles)
        return "" if key in self.titles or key in self.title_words else key


def extract_actors(
    dataset: datasets.Dataset, extractor: ActorExtractor, batch_size: int = 16
) -> datasets.Dataset:
    """Adds column `actors`: list of {"name", "aliases", "type", "evidence"} from column `text`; tqdm progress."""
    texts = list(dataset["text"])
    found: list[list[dict]] = []
    with tqdm(total=len(texts), desc="actors", unit="article") as progress:
        for start in range(0, len(texts), batch_size):
            batch = texts[start : start + batch_size]
            found.extend(
                [asdict(actor) for actor in actors] for actors in extractor.extract_many(batch, batch_size)
            )
            progress.update(len(batch))
    if "actors" in dataset.column_names:  # gold input carries its own actors; the stage's replace them
        dataset = dataset.remove_columns("actors")
    return dataset.add_column("actors", found, feature=ACTOR_FEATURES)


def find_turns(text: str, non_actor_speakers: frozenset[str]) -> list[_Turn]:
    """Transcript turns: "PRESIDENT BIDEN: ..." runs until the next label; "Q" and anonymous labels have no speaker.

    Upper-case labels always count; Title Case ones ("Jiang Yu: ...") only when the same label opens
    at least two paragraphs, so a one-off "Note: ..." is not taken for a speaker. A press office's
    "The following is attributable to Spokesperson X:" makes the rest of the statement X's turn.
    """
    labels: list[tuple[int, int, str | None]] = [
        (match.start(), match.end(), match.group(1)) for match in _STATEMENT_LABEL.finditer(text)
    ]
    statements = {label_start for label_start, _, _ in labels}
    for match in _UPPER_LABEL.finditer(text):
        label = match.group(1).strip()
        if len(label.split()) <= 6 and sum(char.isalpha() for char in label) >= 2:
            speaker = None if fold(label) in non_actor_speakers else label
            labels.append((match.start(), match.end(), speaker))
    title_labels = [match for match in _TITLE_LABEL.finditer(text) if not match.group(1).isupper()]
    repeated = {label for label, count in Counter(m.group(1) for m in title_labels).items() if count >= 2}
    labels.extend((m.start(), m.end(), m.group(1)) for m in title_labels if m.group(1) in repeated)
    labels.extend((m.start(), m.end(), None) for m in _QUESTION_LABEL.finditer(text))
    labels.sort()
    return [
        _Turn(
            label_start,
            label_end,
            labels[index + 1][0] if index + 1 < len(labels) else len(text),
            speaker,
            statement=label_start in statements,
        )
        for index, (label_start, label_end, speaker) in enumerate(labels)
    ]


def find_quotes(text: str) -> list[_Quote]:
    """Quoted spans per paragraph; an unclosed quote continues into a next paragraph that opens with a quote."""
    quotes: list[_Quote] = []
    group = -1
    previous_open = False
    for paragraph, match in enumerate(_PARAGRAPH.finditer(text)):
        spans: list[tuple[int, int]] = []
        opened: int | None = None
        for offset, char in enumerate(match.group()):
            if opened is None and char in (_OPEN_QUOTE, _STRAIGHT_QUOTE):
                opened = match.start() + offset
            elif opened is not None and char in (_CLOSE_QUOTE, _STRAIGHT_QUOTE):
                spans.append((opened + 1, match.start() + offset))
                opened = None
        if opened is not None:
            spans.append((opened + 1, match.end()))
        for index, (start, end) in enumerate(spans):
            opens_paragraph = not text[match.start() : start - 1].strip()
            if not (index == 0 and previous_open and opens_paragraph):
                group += 1
            quotes.append(_Quote(start, end, paragraph, group))
        previous_open = opened is not None
    return quotes


class _Article:
    """One parsed article: its mentions, clusters and attributed evidence."""

    def __init__(self, extractor: ActorExtractor, doc: Doc) -> None:
        self.extractor = extractor
        self.doc = doc
        self.text = doc.text
        self.turns = find_turns(self.text, extractor.non_actor_speakers)
        self.turn_starts = [turn.start for turn in self.turns]
        self.quotes = find_quotes(self.text)
        self.quote_starts = [quote.start for quote in self.quotes]
        self.quotes_by_group: dict[int, list[_Quote]] = {}
        for quote in self.quotes:
            self.quotes_by_group.setdefault(quote.group, []).append(quote)
        self.paragraph_starts = [match.start() for match in _PARAGRAPH.finditer(self.text)]
        self.clusters: list[_Cluster] = []
        self.cluster_at: dict[int, _Cluster] = {}  # token index -> cluster
        self.speaker_of_turn: dict[int, _Cluster] = {}  # turn index -> cluster
        self.groups: dict[str, _Cluster] = {}
        self.acronyms: dict[str, str] = {}  # folded acronym -> folded written-out name
        self.last_person: _Cluster | None = None

    def actors(self) -> list[Actor]:
        self.build_clusters(self.collect_mentions())
        self.attribute(self.collect_events())
        actors = []
        for cluster in sorted(self.clusters, key=lambda c: c.first_char):
            if cluster.type in ("place", "group") and not cluster.evidence:
                continue  # a city that only sets the scene; a group noun is an actor only when it acts
            evidence = [text for text, _ in sorted(cluster.evidence.items(), key=lambda item: item[1])]
            actors.append(
                Actor(
                    name=cluster.name(),
                    aliases=list(cluster.aliases),
                    type="state" if cluster.type == "place" else cluster.type,
                    evidence=_without_contained(evidence[: 4 * self.extractor.max_evidence])[
                        : self.extractor.max_evidence
                    ],
                )
            )
        return actors

    # ---------------------------------------------------------------- positions
    def turn_at(self, char: int) -> int | None:
        index = bisect.bisect_right(self.turn_starts, char) - 1
        if index >= 0 and char < self.turns[index].end:
            return index
        return None

    def in_label(self, char: int) -> bool:
        """Whether `char` lies in a transcript label ("PRESIDENT BIDEN:") rather than in what is said."""
        index = bisect.bisect_right(self.turn_starts, char)
        return index < len(self.turns) and self.turns[index].label_start <= char

    def in_quote(self, char: int) -> bool:
        index = bisect.bisect_right(self.quote_starts, char) - 1
        return index >= 0 and char < self.quotes[index].end

    def paragraph_at(self, char: int) -> int:
        return bisect.bisect_right(self.paragraph_starts, char) - 1

    # ---------------------------------------------------------------- mentions
    def collect_mentions(self) -> list[_Mention]:
        written_out = self.acronym_definitions()
        covered = {index for span in written_out for index in range(span.start, span.end)}
        mentions = [mention for span in written_out if (mention := self.mention_of(span, "ORG"))]
        mentions += [
            mention for span in self.unlabelled_names() if (mention := self.mention_of(span, "PERSON"))
        ]
        mentions += [
            mention
            for ent in self.doc.ents
            if ent.label_ in _LABELS
            and not self.in_label(ent.start_char)
            and covered.isdisjoint(range(ent.start, ent.end))
            for part, label in self.split_list(ent)
            if (mention := self.mention_of(part, label))
        ]
        for turn in self.turns:
            if turn.speaker and (key := self.extractor.speaker_key(turn.speaker)):
                name = self.extractor.strip_titles(turn.speaker).title()
                mentions.append(_Mention(turn.speaker, turn.label_start, "person", key, name_form=name))
        mentions += self.missed_surnames(mentions)
        self.reconcile_kinds(mentions)
        return mentions

    def missed_surnames(self, mentions: list[_Mention]) -> list[_Mention]:
        """A lone proper noun NER left untagged that is the surname of exactly one person named in full
        ("Gunness denied it" after "Christopher Gunness"): a person the article already introduced."""
        by_surname: dict[str, set[str]] = {}
        for mention in mentions:
            if mention.kind == "person" and len(mention.key.split()) > 1:
                by_surname.setdefault(mention.key.split()[-1], set()).add(mention.key)
        covered = {index for mention in mentions if mention.tokens for index in mention.tokens}
        found = []
        for token in self.doc:
            keys = by_surname.get(fold(token.text), set())
            neighbours = self.doc[max(token.i - 1, 0) : token.i + 2]
            if (
                len(keys) == 1
                and token.i not in covered
                and token.pos_ == "PROPN"
                and not token.ent_type_
                and token.text[:1].isupper()
                and not self.in_label(token.idx)
                and all(other.i == token.i or other.pos_ != "PROPN" for other in neighbours)
            ):
                key = next(iter(keys))
                found.append(
                    _Mention(token.text, token.idx, "person", key, range(token.i, token.i + 1), token.text)
                )
        return found

    def unlabelled_names(self) -> list[Span]:
        """Proper names NER missed in apposition to a role: "the President of Pakistan, General Pervez Musharraf"."""
        spans = []
        for token in self.doc:
            if token.pos_ not in ("NOUN", "PROPN") or not _forms(token) & self.extractor.role_nouns:
                continue
            for name in token.children:
                if name.dep_ == "appos" and name.pos_ == "PROPN" and not name.ent_type_:
                    start = name.i
                    while (
                        start > 0
                        and self.doc[start - 1].pos_ == "PROPN"
                        and not self.doc[start - 1].ent_type_
                    ):
                        start -= 1
                    spans.append(self.doc[start : name.i + 1])
        return spans

    def acronym_definitions(self) -> list[Span]:
        """Names written out before their acronym whose initials spell it ("U.S. Agency for International
        Development (USAID)"), whatever NER made of them; records acronym -> name in `self.acronyms`."""
        spans = []
        for match in _ACRONYM.finditer(self.text):
            acronym = fold(match.group(1)).replace(" ", "")
            bracket = self.doc.char_span(match.start(), match.start() + 1)
            if bracket is None:
                continue
            initials, index = "", bracket.start - 1
            while index >= 0 and len(initials) < len(acronym):
                token = self.doc[index]
                if token.lower_ in _ACRONYM_SKIPPED_WORDS:
                    index -= 1
                    continue
                if not token.text[:1].isupper():
                    break
                word = fold(token.text)
                initials = (word if token.text.replace(".", "").isupper() else word[:1]) + initials
                index -= 1
            if initials == acronym and index + 1 < bracket.start - 1:
                start = index + 1
                for ent in self.doc.ents:  # "Portuguese Public Security Police (PSP)": NER's name is longer
                    if ent.end == bracket.start and ent.start < start:
                        start = ent.start
                while self.doc[start].lower_ in _ACRONYM_SKIPPED_WORDS:
                    start += 1
                span = self.doc[start : bracket.start]
                inside = self.doc.char_span(match.start(1), match.end(1))
                spans.extend([span, inside] if inside is not None else [span])
                self.acronyms[acronym] = fold(span.text)
        return spans

    def split_list(self, ent: Span) -> list[tuple[Span, str]]:
        """NER sometimes reads a list of countries as one name ("Mali, Burkina Faso"): one place per item."""
        parts, start = [], ent.start
        for token in ent:
            if token.text == "," or token.lower_ == "and":
                if token.i > start:
                    parts.append(self.doc[start : token.i])
                start = token.i + 1
        if start < ent.end:
            parts.append(self.doc[start : ent.end])
        if len(parts) > 1 and any(self.extractor.country_of(fold(part.text)) for part in parts):
            return [(part, "GPE") for part in parts]
        return [(ent, ent.label_)]

    def clean_span(self, span: Span, label: str) -> Span | None:
        """Drops "the", possessives and punctuation at the edges; a person's name also loses country words
        NER glued to it ("Belarus Alexander Lukashenko") and gains name words it cut off."""
        tokens = list(span)
        while tokens and (tokens[0].lower_ == "the" or tokens[0].is_punct or tokens[0].is_space):
            tokens.pop(0)
        while tokens and (
            tokens[-1].is_space  # NER may run a heading's name into the blank line after it
            or tokens[-1].tag_ == "POS"
            or (tokens[-1].is_punct and tokens[-1].text != ".")
            or tokens[-1].lower_ in _ACRONYM_SKIPPED_WORDS  # "Department of Labor and"
        ):
            tokens.pop()
        if label == "PERSON":
            while len(tokens) > 1 and self.extractor.is_country_word(fold(tokens[0].text)):
                tokens.pop(0)
            while len(tokens) > 1 and self.extractor.is_country_word(fold(tokens[-1].text)):
                tokens.pop()
            while (
                tokens
                and tokens[0].i > tokens[0].sent.start
                and self.is_name_word(self.doc[tokens[0].i - 1], span)
            ):
                tokens.insert(0, self.doc[tokens[0].i - 1])
        if not tokens:
            return None
        return self.doc[tokens[0].i : tokens[-1].i + 1]

    def is_name_word(self, token: Token, name: Span) -> bool:
        """A first name NER left out: a capitalised proper noun compounded onto the name."""
        key = fold(token.text)
        return (
            token.pos_ == "PROPN"
            and token.dep_ == "compound"
            and name.start <= token.head.i < name.end
            and not token.ent_type_
            and token.text[:1].isupper()
            and key not in self.extractor.title_words
            and not self.extractor.is_country_word(key)
        )

    def mention_of(self, ent: Span, label: str) -> _Mention | None:
        span = self.clean_span(ent, label)
        if span is None or self.is_title_part(span):
            return None
        surface = span.text.rstrip(":;,")  # a token may keep a colon: "Putin:…I just said"
        key = self.acronyms.get(fold(surface), fold(surface))
        if (
            len(key.replace(" ", "")) < 2
            or not any(char.isalpha() for char in key)
            or not surface[0].isupper()
            or key in self.extractor.excluded
            or all(word in _CALENDAR_WORDS or not word.isalpha() for word in key.split())
        ):
            return None
        tokens = range(span.start, span.end)
        if country := self.extractor.country_of(fold(surface)) or self.extractor.country_of(key):
            return _Mention(surface, span.start_char, "state", country, tokens)
        if label == "NORP" or key in self.extractor.country_by_demonym:
            return self.demonym_mention(span)
        # NER reads "Spokesperson Ned Price" as an organisation, "Justice Department" as a person.
        if (label == "ORG" and self.is_titled_name(surface)) or self.has_role_apposition(span):
            label = "PERSON"
        elif label == "PERSON" and key.split()[-1] in self.extractor.organisation_heads:
            label = "ORG"
        if label == "PERSON":
            name = self.extractor.strip_titles(surface)
            name = name.title() if name.isupper() else name  # "ANTONY J. BLINKEN" in a schedule
            person_key = name_key(name, self.extractor.titles)
            if not person_key or person_key in self.extractor.title_words or self.is_journalist(span):
                return None
            return _Mention(surface, span.start_char, "person", person_key, tokens, name)
        if label == "GPE":
            return _Mention(surface, span.start_char, "place", key, tokens, surface)
        if label == "ORG" and not self.is_news_outlet(span):
            return _Mention(surface, span.start_char, "organisation", key, tokens, surface)
        return None  # a FAC that is no seat of government (a building, a bridge), a news outlet

    def is_title_part(self, span: Span) -> bool:
        """A title, or the end of one NER cut off as a name ("State" in "Secretary of State"): no actor."""
        first = max(0, span.start - 3)  # the longest configured titles run to four words
        return any(
            fold(self.doc[start : span.end].text) in self.extractor.titles
            for start in range(first, span.start + 1)
        )

    def has_role_apposition(self, span: Span) -> bool:
        return any(
            child.dep_ == "appos" and _forms(child) & self.extractor.role_nouns
            for child in span.root.children
        )

    def is_titled_name(self, surface: str) -> bool:
        """A title before one to three capitalised words that name no body: "Spokesperson Ned Price"."""
        name = self.extractor.strip_titles(surface)
        words = name.split()
        return (
            name != surface
            and len(words) <= 3
            and all(word[:1].isupper() for word in words)
            and not {fold(word) for word in words} & self.extractor.organisation_words
        )

    def is_news_outlet(self, span: Span) -> bool:
        """An outlet by its last word ("The Nigerian Newspaper") or apposition ("X, a Hamas-centric website")."""
        root = span.root
        nouns = [root, *(child for child in root.children if child.dep_ == "appos")]
        if root.dep_ == "appos":
            nouns.append(root.head)
        return any(_forms(noun) & self.extractor.news_outlet_words for noun in nouns)

    def is_journalist(self, span: Span) -> bool:
        """A person introduced by the outlet they write for: "Richard Spencer of The Daily Telegraph"."""
        for prep in span.root.children:
            if prep.dep_ == "prep" and prep.lower_ in ("of", "from", "at", "for", "with"):
                for obj in prep.children:
                    outlet = self.doc[obj.left_edge.i : obj.i + 1].text
                    if obj.dep_ == "pobj" and (
                        fold(outlet) in self.extractor.excluded or fold(obj.text) in self.extractor.excluded
                    ):
                        return True
        return False

    def demonym_mention(self, span: Span) -> _Mention | None:
        """A demonym is its state when it names the state's body or officer ("Chinese officials", "the
        British Prime Minister") or its people as a party ("the Syrians said")."""
        country = self.extractor.country_by_demonym.get(fold(span.text))
        if not country:
            return None
        root = head = span.root
        while head.dep_ == "conj" and head.head.i != head.i:  # "Iraqi and American forces"
            head = head.head
        body = head.head
        if head.dep_ in _MODIFIER_DEPS and _forms(body) & (
            self.extractor.state_body_nouns | self.extractor.role_nouns
        ):
            surface = f"{span.text} {body.text}" if body.i == span.end else span.text
            return _Mention(surface, span.start_char, "state", country, range(span.start, span.end))
        if root.tag_ in _PLURAL_NOUN_TAGS and root.dep_ in ("nsubj", "pobj", "conj"):
            return _Mention(span.text, span.start_char, "state", country, range(span.start, span.end))
        return None

    def reconcile_kinds(self, mentions: list[_Mention]) -> None:
        """spaCy may call one name PERSON here and ORG or GPE there. A name whose words all occur in a person's
        name ("General Petraeus" beside "David Petraeus") is that person; otherwise the majority label decides."""
        people = [_name_words(m.key) for m in mentions if m.kind == "person"]
        for mention in mentions:
            if mention.kind == "organisation":
                key = name_key(mention.surface, self.extractor.titles)
                if any(_name_words(key) <= words for words in people):
                    mention.kind, mention.key = "person", key
                    mention.name_form = self.extractor.strip_titles(mention.surface)
        votes: dict[str, Counter[str]] = {}
        for mention in mentions:
            if mention.kind in _VOTED_KINDS:
                # A place name NER also calls a person or an organisation is mostly that ("BT said").
                weight = 1 if mention.kind == "place" else 2
                votes.setdefault(fold(mention.surface), Counter())[mention.kind] += weight
        for mention in mentions:
            if mention.kind in _VOTED_KINDS:
                kind = votes[fold(mention.surface)].most_common(1)[0][0]
                if kind != mention.kind:
                    mention.kind = kind
                    is_person = kind == "person"
                    mention.key = (
                        name_key(mention.surface, self.extractor.titles)
                        if is_person
                        else fold(mention.surface)
                    )
                    mention.name_form = (
                        self.extractor.strip_titles(mention.surface) if is_person else mention.surface
                    )

    # ---------------------------------------------------------------- clusters
    def build_clusters(self, mentions: list[_Mention]) -> None:
        by_key: dict[tuple[str, str], _Cluster] = {}
        for mention in sorted(mentions, key=lambda m: m.start_char):
            identity = (mention.kind, mention.key)
            if identity not in by_key:
                fixed_name = mention.key if mention.kind == "state" else None
                by_key[identity] = _Cluster(
                    type=mention.kind, first_char=mention.start_char, fixed_name=fixed_name
                )
            by_key[identity].add_form(mention.surface, mention.name_form)
        self.merge_person_names(by_key)
        self.merge_organisation_names(by_key)
        self.clusters = list(dict.fromkeys(by_key.values()))
        for mention in mentions:
            if mention.tokens is None:
                continue
            for index in mention.tokens:
                self.cluster_at[index] = by_key[(mention.kind, mention.key)]
        for mention in mentions:  # once every name has its cluster: "of Russia" after a role names a state
            cluster = by_key[(mention.kind, mention.key)]
            if mention.tokens is not None and cluster.type == "person":
                cluster.roles.update(self.roles_before(mention.tokens.start))
                cluster.roles.update(
                    self.roles_in_apposition(self.doc[mention.tokens.start : mention.tokens.stop])
                )
        named = [(index, turn) for index, turn in enumerate(self.turns) if turn.speaker]
        for index, turn in named:
            if key := self.extractor.speaker_key(turn.speaker):
                cluster = by_key[("person", key)]
                cluster.roles.update(
                    role for word in fold(turn.speaker).split() if (role := self.extractor.role_word(word))
                )
                self.speaker_of_turn[index] = cluster
        for index, turn in named:  # after the named ones, whose roles say who "THE PRESIDENT" is
            if index not in self.speaker_of_turn:
                self.speaker_of_turn[index] = self.role_speaker(turn.speaker, turn.label_start)

    def merge_person_names(self, by_key: dict[tuple[str, str], _Cluster]) -> None:
        """Merges "Obama" and "President Obama" into "Barack Obama": a name whose words all occur in a longer one."""
        keys = sorted((key for kind, key in by_key if kind == "person"), key=lambda k: -len(k.split()))
        for index, key in enumerate(keys):
            words = _name_words(key)
            longer = [
                by_key[("person", other)]
                for other in keys[:index]
                if len(other.split()) > len(key.split()) and words <= _name_words(other)
            ]
            if longer:
                # An ambiguous short name ("Bush" beside two Bushes) goes to the more often, then first named.
                target = max(
                    longer, key=lambda cluster: (sum(cluster.name_forms.values()), -cluster.first_char)
                )
                _merge_into(target, by_key, ("person", key))

    def merge_organisation_names(self, by_key: dict[tuple[str, str], _Cluster]) -> None:
        """Merges an acronym into its written-out name, "Congress" into "US Congress", "the Agency" into
        "Canada Revenue Agency" and a body's officer ("UN Emergency Relief Coordinator") into the body."""
        org_keys = [key for kind, key in by_key if kind == "organisation"]
        defined = {}  # "Kurdistan Workers' Party (PKK)", where the initials need not spell the acronym
        for ent in self.doc.ents:
            if ent.label_ == "ORG" and (match := _ACRONYM_AFTER.match(self.text, ent.end_char)):
                defined[fold(match.group(1))] = fold(ent.text)
        defined.update(self.acronyms)

        def written_out(acronym: str) -> str | None:
            for candidate in (defined.get(acronym), _spelled_out(acronym, org_keys)):
                if candidate and candidate != acronym and ("organisation", candidate) in by_key:
                    return candidate
            return None

        for key in org_keys:
            if long_key := written_out(key):
                _merge_into(by_key[("organisation", long_key)], by_key, ("organisation", key))
        for key in org_keys:
            words = key.split()
            for size in range(1, len(words)):
                rest = " ".join(words[size:])
                if (
                    self.extractor.is_country_word(" ".join(words[:size]))
                    and ("organisation", rest) in by_key
                ):
                    _merge_into(by_key[("organisation", key)], by_key, ("organisation", rest))
        body_words = self.extractor.state_body_nouns | self.extractor.role_nouns
        for key in org_keys:
            words = key.split()
            if len(words) > 1 and words[-1] in body_words:
                for size in range(len(words) - 1, 0, -1):
                    owner = " ".join(words[:size])
                    owner = written_out(owner) or owner
                    if ("organisation", owner) in by_key:
                        _merge_into(
                            by_key[("organisation", owner)], by_key, ("organisation", key), as_alias=True
                        )
                        break
        for key in org_keys:
            cluster = by_key[("organisation", key)]
            if " " in key or sum(1 for other in by_key.values() if other is cluster) > 1:
                continue  # a longer name, or an acronym already merged with what it stands for
            longer = [other for other in org_keys if other.startswith(key + " ") or other.endswith(" " + key)]
            if len(longer) == 1 and by_key[("organisation", longer[0])].first_char < cluster.first_char:
                _merge_into(by_key[("organisation", longer[0])], by_key, ("organisation", key))

    def roles_before(self, start: int) -> set[str]:
        """Title and country words right before a name: "Deputy Secretary Sherman", "President of the French
        Republic Emmanuel Macron"."""
        roles: set[str] = set()
        index = start - 1
        while index >= 0:
            token = self.doc[index]
            role = self.extractor.role_word(fold(token.text))
            # "U.S. Army General David Dolan": the service between country and rank says nothing of either.
            if not (role or token.lower_ in ("of", "the") or token.ent_type_ in ("GPE", "NORP", "ORG")):
                break
            if role:
                roles.add(role)
            index -= 1
        return roles

    def roles_in_apposition(self, span: Span) -> set[str]:
        """Role words beside a name: "Sean McCormack, White House spokesman" or "the Iraqi president, X"."""
        root = span.root
        nouns = [child for child in root.children if child.dep_ == "appos"]
        if root.dep_ == "appos":
            nouns.append(root.head)
        roles = set(self.states_of(root))  # "Foreign Minister Amina Diallo of Mali"
        for noun in nouns:
            if fold(noun.lemma_) in self.extractor.role_nouns:
                roles.add(fold(noun.lemma_))
                roles.update(
                    role for child in noun.children if (role := self.extractor.role_word(fold(child.text)))
                )
                roles.update(self.states_of(noun))  # "X, the President of Russia"
        return roles

    def states_of(self, noun: Token) -> list[str]:
        """The states in an of-phrase of `noun` ("President of Russia and Belarus"), by their common names."""
        return [
            state.name()
            for of in noun.children
            if of.dep_ == "prep" and of.lower_ == "of"
            for obj in of.children
            if obj.dep_ == "pobj"
            for member in [obj, *obj.conjuncts]
            if (state := self.cluster_at.get(member.i, _NO_CLUSTER)).type == "state"
        ]

    def role_speaker(self, label: str, char: int) -> _Cluster:
        """The person a role-only label ("THE PRESIDENT") stands for, else a person named after the role."""
        words = [role for word in fold(label).split() if (role := self.extractor.role_word(word))]
        found = self.people_with_role(words, char, plural=False)
        if found:
            found[0].aliases.setdefault(label, None)
            return found[0]
        cluster = _Cluster(type="person", first_char=char)
        cluster.add_form(label, label.title())
        cluster.roles.update(words)
        self.clusters.append(cluster)
        return cluster

    def people_with_role(self, words: list[str], char: int, plural: bool) -> list[_Cluster]:
        """People introduced with all of these title words and one of these countries (if any are given); for
        a singular, the one named last before `char`.

        A role of a country ("the Russian president") needs a person introduced with that country ("Vladimir
        Petrov, the President of Russia"): "President Petrov" alone may lead another country.
        """
        titles = {
            word for word in words if word in self.extractor.title_words or word in self.extractor.role_nouns
        }
        countries = set(words) - titles
        if not titles:
            return []
        found = [
            c
            for c in self.clusters
            if c.type == "person"
            and titles <= self.extractor.with_implied(c.roles)
            and c.roles & self.extractor.rank_title_words
            <= titles  # "the President" is not the Vice President
            and (not countries or countries & c.roles)
        ]
        if plural or len(found) <= 1:
            return found
        before = [c for c in found if c.first_char < char]
        return [max(before or found, key=lambda c: c.first_char)]

    # ---------------------------------------------------------------- who acts
    def agents_of(self, noun: Token, references: bool) -> list[_Cluster]:
        """The actors a subject or by-agent stands for, with its conjuncts ("Mali, Chad and Benin complain")."""
        heads = [noun, *noun.conjuncts]
        if self.cluster_at.get(noun.i, _NO_CLUSTER).type in _NON_PERSON_TYPES:
            heads.extend(self.list_members(noun))
        return list(
            dict.fromkeys(cluster for head in heads for cluster in self.agents_of_nominal(head, references))
        )

    def list_members(self, noun: Token) -> list[Token]:
        """The parser may read a list of states as appositions ("Mali, Burkina Faso, Benin, Chad and Senegal")."""
        members = []
        for child in noun.children:
            if (
                child.dep_ in _LIST_DEPS
                and self.cluster_at.get(child.i, _NO_CLUSTER).type in _NON_PERSON_TYPES
            ):
                members += [child, *self.list_members(child)]
        return members

    def agents_of_nominal(self, noun: Token, references: bool) -> list[_Cluster]:
        """`references`: whether "he", "she" and "the minister" may stand for someone named earlier."""
        if noun.i in self.cluster_at:
            cluster = self.cluster_at[noun.i]
            # "Hamas' Ministry of Social Affairs", "Russia's Foreign Ministry": the body acts for its owner.
            owners = [
                self.cluster_at[child.i]
                for child in noun.children
                if child.dep_ == "poss"
                and self.cluster_at.get(child.i, _NO_CLUSTER).type in ("state", "organisation")
            ]
            return owners[:1] if cluster.type == "organisation" and owners else [cluster]
        if noun.tag_ in _RELATIVE_PRONOUN_TAGS and noun.head.dep_ == "relcl":  # "Peres, who criticized"
            return self.agents_of_nominal(noun.head.head, references)
        if noun.lower_ in _PERSONAL_PRONOUNS:
            return [self.last_person] if references and self.last_person else []
        if noun.lower_ in _PARTITIVES:  # "all of the three GNR platoons"
            for child in noun.children:
                objects = (
                    [obj for obj in child.children if obj.dep_ == "pobj"] if child.lower_ == "of" else []
                )
                if objects:
                    return self.agents_of_nominal(objects[0], references)
        appositives = [
            self.cluster_at[c.i] for c in noun.children if c.dep_ == "appos" and c.i in self.cluster_at
        ]
        if appositives:  # "a spokesman for the army, Felix Chukwuma, said"
            return appositives[:1]
        forms = _forms(noun)
        is_role = bool(forms & self.extractor.role_nouns)
        if is_role:
            if people := self.appositive_people(noun):
                return people[:1]
            if noun.dep_ == "appos" and self.cluster_at.get(noun.head.i, _NO_CLUSTER).type == "person":
                return [self.cluster_at[noun.head.i]]  # "Felix Chukwuma, a spokesman ..., saying"
        is_plural = noun.tag_ in _PLURAL_NOUN_TAGS
        if is_role and references and not is_plural and (people := self.people_by_role(noun)):
            return people
        is_body = bool(forms & self.extractor.state_body_nouns)
        modifiers = [
            self.cluster_at[t.i]
            for t in noun.subtree
            if t.i in self.cluster_at
            and _modifies(t, noun)
            and not (is_body and self.cluster_at[t.i].type == "person")
        ]
        if modifiers:  # "Carter's office", "the US trade representative", "U.S. and Israeli officials"
            return list(dict.fromkeys(modifiers))
        counted = any(child.dep_ == "nummod" or child.lower_ == "both" for child in noun.children)
        if is_role and references and is_plural and counted and (people := self.people_by_role(noun)):
            return people  # "the two presidents", "both ministers"
        if is_role or is_body:  # "a spokesman for the Nigerian Army"
            for child in noun.children:
                if child.dep_ == "prep" and child.lower_ in _BODY_PREPOSITIONS:
                    objects = [obj for obj in child.children if obj.dep_ == "pobj"]
                    if objects and (found := self.agents_of_nominal(objects[0], references)):
                        return found
        for child in noun.children:  # "a group called the Bakassi Self Determination Movement"
            if child.dep_ == "acl" and child.lemma_ in ("call", "name", "know"):
                named = [self.cluster_at[t.i] for t in child.subtree if t.i in self.cluster_at]
                if named:
                    return named[:1]
        if is_plural and (group := self.group_of(noun)):
            return [group]
        return []

    def appositive_people(self, noun: Token) -> list[_Cluster]:
        """People in apposition right of a role noun; the parser may hang the name on the last noun before
        it ("The Syrian ambassador to the United Nations, Bashar Jaafari, said")."""
        return [
            self.cluster_at[t.i]
            for t in noun.subtree
            if t.i > noun.i and t.dep_ == "appos" and self.cluster_at.get(t.i, _NO_CLUSTER).type == "person"
        ]

    def people_by_role(self, noun: Token) -> list[_Cluster]:
        """People a role noun refers back to ("the Deputy Secretary", "The President of Russia"); "a governor"
        introduces someone new."""
        if any(child.dep_ == "det" and child.lower_ in ("a", "an") for child in noun.children):
            return []
        words = [fold(child.text) for child in noun.children if child.dep_ in ("compound", "amod")]
        roles = [role for word in [*words, fold(noun.lemma_)] if (role := self.extractor.role_word(word))]
        roles += self.states_of(noun)
        people = self.people_with_role(roles, noun.idx, noun.tag_ in _PLURAL_NOUN_TAGS)
        for person in people:
            person.aliases.setdefault(self.doc[noun.left_edge.i : noun.i + 1].text, None)
        return people

    def group_of(self, noun: Token) -> _Cluster | None:
        """An unnamed collective actor named by its noun and name-like modifiers: "African cotton producers"."""
        word = fold(noun.text)
        modifiers = [t for t in noun.lefts if t.dep_ in ("compound", "amod")]
        capitalised = [i for i, t in enumerate(modifiers) if t.pos_ == "PROPN" or t.ent_type_]
        if capitalised:
            words = [*modifiers[capitalised[0] :], noun]
        elif word in self.extractor.group_nouns:
            words = [noun]
        else:
            return None
        if word not in self.extractor.group_nouns and (
            word not in self.extractor.qualified_group_nouns or not capitalised
        ):
            return None
        phrase = " ".join(t.text for t in words)
        key = fold(phrase)
        if key not in self.groups:
            self.groups[key] = _Cluster(type="group", first_char=words[0].idx, fixed_name=phrase)
            self.clusters.append(self.groups[key])
        self.groups[key].add_form(phrase, None)
        return self.groups[key]

    def subjects_of(self, verb: Token, depth: int = 0) -> list[Token]:
        subjects = [child for child in verb.children if child.dep_ == "nsubj"]
        for child in verb.children:
            if child.dep_ == "agent":  # "was refuted by Russian officials"
                subjects.extend(obj for obj in child.children if obj.dep_ == "pobj")
        if subjects:
            return subjects
        if any(child.dep_ in _SUBJECT_DEPS for child in verb.children) or depth >= 3:
            return []
        if verb.dep_ in _SUBJECT_INHERITING_DEPS and verb.head is not verb:
            return self.subjects_of(verb.head, depth + 1)  # "X agreed to cede", "X met and said"
        if verb.dep_ == "acl" and (verb.tag_ in _ACTIVE_VERB_TAGS or self.is_active_participle(verb)):
            return [verb.head]  # "X, a spokesman, saying"; "the ambassador, X, concurred by saying"
        if verb.dep_ == "ROOT":
            # A misparse left the verb without subject: "X, president of Y, said"; "... Vitalie Ignatiev said".
            for token in reversed(self.doc[verb.sent.start : verb.i]):
                cluster = self.cluster_at.get(token.i)
                if cluster and cluster.type == "person" and not self.in_quote(token.idx):
                    return [token]
            if verb.i > verb.sent.start and verb.i - 1 in self.cluster_at:
                return [self.doc[verb.i - 1]]
        return []

    @staticmethod
    def is_active_participle(verb: Token) -> bool:
        """A past participle read as a modifier that is active after all: "by saying" is no passive by-agent."""
        agents = [child for child in verb.children if child.dep_ == "agent"]
        return (
            verb.tag_ == "VBN"
            and bool(agents)
            and all(child.dep_ == "pcomp" for agent in agents for child in agent.children)
        )

    def collect_events(self) -> list[_Event]:
        """Speech and action events in article order; "he"/"she" is the person who acted last before.

        Inside quotes nothing counts as an event: what a speaker says others did is the speaker's stance.
        Inside a transcript turn only speech by a named party counts ("as Neruda said", a reporter's "the
        Canadian government says"): "he" or "the President" there is whoever the speaker has in mind.
        """
        events: list[_Event] = []
        for sentence in self.doc.sents:
            turn = self.turn_at(sentence.end_char - 1)
            if turn is not None and self.turns[turn].speaker is None and sentence.text.rstrip().endswith("?"):
                continue  # a reporter's question asserts nothing of the actors in it
            narration = turn is None or self.turns[turn].statement
            for token in sentence:
                if self.in_quote(token.idx):
                    continue
                event = self.event_at(token, sentence, narration)
                if event is None:
                    continue
                events.append(event)
                if people := [agent for agent in event.agents if agent.type == "person"]:
                    self.last_person = people[-1]
            for index in range(sentence.start, sentence.end):
                cluster = self.cluster_at.get(index)
                if cluster and cluster.type == "person" and self.doc[index].dep_ == "nsubj":
                    self.last_person = cluster
        return events

    def event_at(self, token: Token, sentence: Span, narration: bool) -> _Event | None:
        if token.lower_ == "according":
            for to in token.children:
                objects = [obj for obj in to.children if obj.dep_ == "pobj"] if to.lower_ == "to" else []
                if objects and (agents := self.agents_of(objects[0], narration)):
                    return _Event(token.idx, sentence, agents, names_speaker=True)
            return None
        if token.pos_ == "NOUN" and narration and _forms(token) & self.extractor.event_nouns:
            # "a commitment by X", "the meeting between X and Y", "X's appeals"
            agents_of = [
                obj
                for c in token.children
                if c.dep_ == "prep" and c.lower_ in ("by", "between")
                for obj in c.children
            ]
            agents_of += [c for c in token.children if c.dep_ == "poss" and c.i in self.cluster_at]
            agents = [agent for noun in agents_of for agent in self.agents_of(noun, narration)]
            return _Event(token.idx, sentence, agents, names_speaker=False) if agents else None
        if token.pos_ != "VERB":
            return None
        lemma = token.lemma_.lower()
        is_speech = lemma in self.extractor.speech_verbs or any(
            child.dep_ == "ccomp" for child in token.children
        )
        if not is_speech and not (narration and lemma in self.extractor.action_verbs):
            return None
        agents = [
            agent for subject in self.subjects_of(token) for agent in self.agents_of(subject, narration)
        ]
        return _Event(token.idx, sentence, agents, names_speaker=is_speech) if agents else None

    # ---------------------------------------------------------------- evidence
    def attribute(self, events: list[_Event]) -> None:
        """Evidence: each event's sentence, each attributed quote, each transcript turn's sentences.

        A sentence is left out for a speaker whose quote runs beyond it (the quote says it all); a quote
        inside its sentence is dropped later as part of the longer evidence ("X warned that ... "quote"").
        """
        quoted_by = self.attribute_quotes([event for event in events if event.names_speaker])
        long_groups = {group for group in quoted_by if self.is_long(group)}
        for event in events:
            start, end = event.sentence.start_char, event.sentence.end_char
            overlapping = {
                q.group for q in self.quotes if q.group in long_groups and q.start < end and q.end > start
            }
            running_over = {
                group
                for group in overlapping
                if any(part.start < start or part.end > end for part in self.quotes_by_group[group])
            }
            for agent in event.agents:
                if not any(agent in quoted_by[group] for group in running_over):
                    self.add_evidence(agent, *self.own_part(event, agent, quoted_by, long_groups))
        sentences = list(self.doc.sents)
        sentence_ends = [sentence.end_char for sentence in sentences]
        for group in long_groups:
            for quote in self.quotes_by_group[group]:
                # Sentence by sentence, as the stance model reads them: one long quote would blur its parts.
                for start, end in _sentence_pieces(sentences, sentence_ends, quote.start, quote.end):
                    for speaker in quoted_by[group]:
                        self.add_evidence(speaker, start, end)
        for index, speaker in self.speaker_of_turn.items():
            turn = self.turns[index]
            for start, end in _sentence_pieces(sentences, sentence_ends, turn.start, turn.end):
                self.add_evidence(speaker, start, end)

    def own_part(
        self, event: _Event, agent: _Cluster, quoted_by: dict[int, list[_Cluster]], long_groups: set[int]
    ) -> tuple[int, int]:
        """The part of the event's sentence around the event without another speaker's quote: in '"We
        refuse," said X, and Y said "we agree"', X's words are no evidence of Y's stance."""
        start, end = event.sentence.start_char, event.sentence.end_char
        for quote in self.quotes:
            if quote.group not in long_groups or agent in quoted_by[quote.group]:
                continue
            if start <= quote.start and quote.end <= event.char:
                start = quote.end + 1  # after the closing mark
            elif event.char < quote.start < end:
                end = quote.start - 1  # before the opening mark
        return start, end

    def is_long(self, group: int) -> bool:
        words = sum(len(self.text[q.start : q.end].split()) for q in self.quotes_by_group[group])
        return words >= self.extractor.min_quote_words

    def attribute_quotes(self, speech: list[_Event]) -> dict[int, list[_Cluster]]:
        """Each quote group's speakers: those of the nearest speech verb outside quotes in the quote's paragraphs.

        A paragraph ending with a colon ("Ivanov stated:") also introduces a quote in the next paragraph.
        """
        by_paragraph: dict[int, list[_Event]] = {}
        for event in speech:
            by_paragraph.setdefault(self.paragraph_at(event.char), []).append(event)
        quoted_by: dict[int, list[_Cluster]] = {}
        for group, parts in self.quotes_by_group.items():
            paragraphs = {quote.paragraph for quote in parts}
            candidates = [event for p in paragraphs for event in by_paragraph.get(p, [])]
            first = min(paragraphs)
            if not candidates and first > 0:
                previous = self.text[self.paragraph_starts[first - 1] : self.paragraph_starts[first]].rstrip()
                if previous.endswith(":"):
                    candidates = by_paragraph.get(first - 1, [])
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

    def add_evidence(self, cluster: _Cluster, start: int, end: int) -> None:
        raw = self.text[start:end]
        text = raw.strip().strip(",").strip()
        if len(text.split()) < self.extractor.min_evidence_words or text.startswith("("):
            return
        cluster.evidence.setdefault(text, start + raw.find(text))


def _forms(token: Token) -> set[str]:
    """A word as written and as its lemma, folded: config lists may name "soldiers" or "official"."""
    return {fold(token.text), fold(token.lemma_)}


def _modifies(token: Token, noun: Token) -> bool:
    """Whether `token` hangs off `noun` through modifiers only (compound, amod, poss, nmod, their conjuncts)."""
    while token.i != noun.i:
        if token.dep_ not in _MODIFIER_DEPS and token.dep_ not in ("conj", "cc", "case"):
            return False
        token = token.head
    return True


def _spelled_out(acronym: str, org_keys: list[str]) -> str | None:
    """The organisation whose initials spell `acronym` ("wto" -> "world trade organization")."""
    if not 2 <= len(acronym) <= 8 or " " in acronym:
        return None
    for other in org_keys:
        words = [word for word in other.split() if word not in _ACRONYM_SKIPPED_WORDS]
        if len(words) > 1 and "".join(word[0] for word in words) == acronym:
            return other
    return None


def _merge_into(
    target: _Cluster,
    by_key: dict[tuple[str, str], _Cluster],
    source_key: tuple[str, str],
    as_alias: bool = False,
) -> None:
    """Makes every key of `source_key`'s cluster point to `target`; `as_alias`: its names do not name `target`."""
    source = by_key[source_key]
    if source is target:
        return
    if not as_alias:
        target.name_forms.update(source.name_forms)
    for alias in source.aliases:
        target.aliases.setdefault(alias, None)
    target.roles.update(source.roles)
    target.first_char = min(target.first_char, source.first_char)
    for key, cluster in by_key.items():
        if cluster is source:
            by_key[key] = target


def _sentence_pieces(
    sentences: list[Span], sentence_ends: list[int], start: int, end: int
) -> list[tuple[int, int]]:
    """The character spans of `start:end` cut at the sentence boundaries of `sentences` (ends ascending)."""
    pieces = []
    for sentence in sentences[bisect.bisect_right(sentence_ends, start) :]:
        if sentence.start_char >= end:
            break
        pieces.append((max(sentence.start_char, start), min(sentence.end_char, end)))
    return pieces


def _without_contained(evidence: list[str]) -> list[str]:
    """Drops evidence that is part of a longer piece of evidence of the same actor."""
    return [text for text in evidence if not any(text != other and text in other for other in evidence)]
