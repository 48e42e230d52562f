"""The state one article's reading shares between its steps: the parse, the layout, and the entities.

Each step (mentions -> entities -> agents -> evidence) reads the `Article` and adds to it; nothing else
is shared between them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipeline.actors.layout import Layout
from pipeline.actors.names import NameTables
from pipeline.text import fold_name

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token


@dataclass(eq=False)  # identity: two entities with equal fields are still two
class Cluster:
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
NO_CLUSTER = Cluster(type="", first_char=-1)


@dataclass
class Article:
    doc: Doc
    tables: NameTables
    layout: Layout
    body_start: int = 0  # where the article's text starts after its headline
    clusters: list[Cluster] = field(default_factory=list)
    cluster_at: dict[int, Cluster] = field(default_factory=dict)  # token index -> cluster
    speaker_of_turn: dict[int, Cluster] = field(default_factory=dict)  # turn index -> cluster
    groups: dict[str, Cluster] = field(default_factory=dict)  # unnamed collective actors by folded phrase
    acronyms: dict[str, str] = field(default_factory=dict)  # folded acronym -> folded written-out name
    last_person: Cluster | None = None  # who "he" or "she" is at this point of the reading
    last_issuers: list[Cluster] = field(default_factory=list)  # who "the statement" is by at this point

    @classmethod
    def read(cls, doc: Doc, tables: NameTables, body_start: int = 0) -> Article:
        return cls(doc, tables, Layout(doc.text, tables.non_actor_speakers), body_start)

    @property
    def text(self) -> str:
        return self.doc.text

    def cluster_type(self, token: Token) -> str:
        return self.cluster_at.get(token.i, NO_CLUSTER).type


def forms(token: Token) -> set[str]:
    """A word as written and as its lemma, folded: config lists may name "soldiers" or "official"."""
    return {fold_name(token.text), fold_name(token.lemma_)}
