"""Names: the configured tables (countries, titles, roles, verbs) and the spelling-insensitive name keys.

No spaCy here, so evaluation can match names without loading a parser.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence

from pipeline.text import fold_name

# Calendar words are language, not world knowledge: NER sometimes tags "Friday" or "June" as ORG.
CALENDAR_WORDS = frozenset(
    {name.lower() for name in (*calendar.day_name, *calendar.month_name) if name}
    | {"today", "yesterday", "tomorrow"}
)


def name_key(text: str, titles: Sequence[str]) -> str:
    """`fold_name(text)` without leading titles; `titles` are folded and sorted longest first."""
    key = fold_name(text)
    stripped = True
    while stripped:
        stripped = False
        for title in titles:
            if key.startswith(title + " "):
                key = key[len(title) + 1 :]
                stripped = True
                break
    return key


# Compass words that names abbreviate to their initial: "N. Korea", "S. Sudan".
COMPASS_WORDS = frozenset({"north", "south", "east", "west"})


def abbreviated(key: str) -> str | None:
    """A folded name with its leading compass word as an initial ("north korea" -> "n korea"), or None."""
    first, _, rest = key.partition(" ")
    return f"{first[0]} {rest}" if first in COMPASS_WORDS and rest else None


def name_words(key: str) -> set[str]:
    """A folded name's words, hyphenated ones also split: "al-shaer" gives "al-shaer", "al" and "shaer"."""
    words = set(key.split())
    return words | {part for word in words for part in word.split("-") if part}


class NameTables:
    """The facts about names that conf/actors/ configures, folded for lookup."""

    def __init__(
        self,
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
        statement_nouns: Iterable[str],
        speech_verbs: Iterable[str],
        action_verbs: Iterable[str],
        excluded: Iterable[str],
        news_outlet_words: Iterable[str],
        non_actor_speakers: Iterable[str],
        implied_roles: dict[str, list[str]] | None = None,
    ) -> None:
        self.country_by_name: dict[str, str] = {}
        self.country_by_capital: dict[str, str] = {}
        self.country_by_demonym: dict[str, str] = {}
        for country, facts in countries.items():
            for name in [country, *facts.get("aliases", [])]:
                self.country_by_name[fold_name(name)] = country
                if (short := abbreviated(fold_name(name))) is not None:
                    self.country_by_name.setdefault(short, country)  # "N. Korea"
            for capital in facts.get("capitals", []):
                self.country_by_capital[fold_name(capital)] = country
            for demonym in facts.get("demonyms", []):
                self.country_by_demonym[fold_name(demonym)] = country
                self.country_by_demonym[fold_name(demonym) + "s"] = country  # "the Syrians said"
        self.institution_state = {fold_name(name): country for name, country in institutions.items()}
        self.state_body_nouns = frozenset(fold_name(noun) for noun in state_body_nouns)
        self.titles = tuple(sorted({fold_name(title) for title in titles}, key=len, reverse=True))
        # "of" and "the" join titles ("Secretary of State") but say nothing about whose title it is.
        title_words = {word for title in self.titles for word in title.split()}
        self.title_words = frozenset(title_words - {"of", "the", "and"})
        self.rank_title_words = frozenset(fold_name(word) for word in rank_title_words)
        self.organisation_heads = frozenset(fold_name(word) for word in organisation_heads)
        self.role_nouns = frozenset(fold_name(noun) for noun in role_nouns)
        self.implied_roles = {
            fold_name(title): frozenset(fold_name(role) for role in roles)
            for title, roles in (implied_roles or {}).items()
        }
        # Words that make a name a body rather than a person ("Justice Department", "Foreign Ministry").
        self.organisation_words = self.organisation_heads | self.state_body_nouns | self.role_nouns
        self.group_nouns = frozenset(fold_name(noun) for noun in group_nouns)
        self.qualified_group_nouns = frozenset(fold_name(noun) for noun in qualified_group_nouns)
        self.event_nouns = frozenset(fold_name(noun) for noun in event_nouns)
        self.statement_nouns = frozenset(fold_name(noun) for noun in statement_nouns)
        self.speech_verbs = frozenset(verb.lower() for verb in speech_verbs)
        self.action_verbs = frozenset(verb.lower() for verb in action_verbs)
        self.excluded = frozenset(fold_name(name) for name in excluded)
        self.news_outlet_words = frozenset(fold_name(word) for word in news_outlet_words)
        self.non_actor_speakers = frozenset(fold_name(label) for label in non_actor_speakers)

    def country_of(self, key: str) -> str | None:
        """The state a folded name stands for: its name, capital, seat of government or body ("US military")."""
        for table in (self.country_by_name, self.country_by_capital, self.institution_state):
            if key in table:
                return table[key]
        words = key.split()
        if "of" in words[1:-1]:  # "Government of Mexico", "the Foreign Ministry of N. Korea"
            of = len(words) - 1 - words[::-1].index("of")
            if set(words[:of]) & self.state_body_nouns:
                return self.country_by_name.get(" ".join(words[of + 1 :]))
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
                if fold_name(" ".join(words[:size])) in self.titles:
                    words = words[size:]
                    break
            else:
                break
        return " ".join(words)

    def speaker_key(self, label: str) -> str:
        """The person key of a transcript label; empty for a role alone ("THE PRESIDENT")."""
        key = name_key(self.strip_titles(label), self.titles)
        return "" if key in self.titles or key in self.title_words else key
