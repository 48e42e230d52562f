"""Entities: mentions merged into one cluster per real-world entity, with the roles a person holds.

"Obama", "President Obama" and "Barack Obama" are one person; "WTO" and "World Trade Organization" one
organisation; a body's officer ("UN Emergency Relief Coordinator") goes with the body. The roles a
person is introduced with ("Russia's Foreign Minister X") say who "the minister" is later.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pipeline.actors.article import NO_CLUSTER, Article, Cluster
from pipeline.actors.mentions import ACRONYM, ACRONYM_SKIPPED_WORDS, Mention
from pipeline.actors.names import name_words
from pipeline.text import fold_name

if TYPE_CHECKING:
    from spacy.tokens import Span, Token

ACRONYM_AFTER = re.compile(r"\s*" + ACRONYM.pattern)


def build_clusters(article: Article, mentions: list[Mention]) -> None:
    by_key: dict[tuple[str, str], Cluster] = {}
    for mention in sorted(mentions, key=lambda m: m.start_char):
        identity = (mention.kind, mention.key)
        if identity not in by_key:
            fixed_name = mention.key if mention.kind == "state" else None
            by_key[identity] = Cluster(
                type=mention.kind, first_char=mention.start_char, fixed_name=fixed_name
            )
        by_key[identity].add_form(mention.surface, mention.name_form)
    merge_person_names(article, by_key)
    merge_organisation_names(article, by_key)
    article.clusters = list(dict.fromkeys(by_key.values()))
    for mention in mentions:
        if mention.tokens is None:
            continue
        for index in mention.tokens:
            article.cluster_at[index] = by_key[(mention.kind, mention.key)]
    for mention in mentions:  # once every name has its cluster: "of Russia" after a role names a state
        cluster = by_key[(mention.kind, mention.key)]
        if mention.tokens is not None and cluster.type == "person":
            cluster.roles.update(roles_before(article, mention.tokens.start))
            cluster.roles.update(
                roles_in_apposition(article, article.doc[mention.tokens.start : mention.tokens.stop])
            )
    named = [(index, turn) for index, turn in enumerate(article.layout.turns) if turn.speaker]
    for index, turn in named:
        if key := article.tables.speaker_key(turn.speaker):
            cluster = by_key[("person", key)]
            cluster.roles.update(
                role for word in fold_name(turn.speaker).split() if (role := article.tables.role_word(word))
            )
            article.speaker_of_turn[index] = cluster
    for index, turn in named:  # after the named ones, whose roles say who "THE PRESIDENT" is
        if index not in article.speaker_of_turn:
            article.speaker_of_turn[index] = role_speaker(article, turn.speaker, turn.label_start)


def merge_person_names(article: Article, by_key: dict[tuple[str, str], Cluster]) -> None:
    """Merges "Obama" and "President Obama" into "Barack Obama": a name whose words all occur in a longer one."""
    keys = sorted((key for kind, key in by_key if kind == "person"), key=lambda k: -len(k.split()))
    for index, key in enumerate(keys):
        words = name_words(key)
        longer = [
            by_key[("person", other)]
            for other in keys[:index]
            if len(other.split()) > len(key.split()) and words <= name_words(other)
        ]
        if longer:
            # An ambiguous short name ("Bush" beside two Bushes) goes to the more often, then first named.
            target = max(longer, key=lambda cluster: (sum(cluster.name_forms.values()), -cluster.first_char))
            merge_into(target, by_key, ("person", key))


def merge_organisation_names(article: Article, by_key: dict[tuple[str, str], Cluster]) -> None:
    """Merges an acronym into its written-out name, "Congress" into "US Congress", "the Agency" into
    "Canada Revenue Agency" and a body's officer ("UN Emergency Relief Coordinator") into the body."""
    org_keys = [key for kind, key in by_key if kind == "organisation"]
    defined = {}  # "Kurdistan Workers' Party (PKK)", where the initials need not spell the acronym
    for ent in article.doc.ents:
        if ent.label_ == "ORG" and (match := ACRONYM_AFTER.match(article.text, ent.end_char)):
            defined[fold_name(match.group(1))] = fold_name(ent.text)
    defined.update(article.acronyms)

    def written_out(acronym: str) -> str | None:
        for candidate in (defined.get(acronym), spelled_out(acronym, org_keys)):
            if candidate and candidate != acronym and ("organisation", candidate) in by_key:
                return candidate
        return None

    for key in org_keys:
        if long_key := written_out(key):
            merge_into(by_key[("organisation", long_key)], by_key, ("organisation", key))
    for key in org_keys:
        words = key.split()
        for size in range(1, len(words)):
            rest = " ".join(words[size:])
            if article.tables.is_country_word(" ".join(words[:size])) and ("organisation", rest) in by_key:
                merge_into(by_key[("organisation", key)], by_key, ("organisation", rest))
    body_words = article.tables.state_body_nouns | article.tables.role_nouns
    for key in org_keys:
        words = key.split()
        if len(words) > 1 and words[-1] in body_words:
            for size in range(len(words) - 1, 0, -1):
                owner = " ".join(words[:size])
                owner = written_out(owner) or owner
                if ("organisation", owner) in by_key:
                    merge_into(by_key[("organisation", owner)], by_key, ("organisation", key), as_alias=True)
                    break
    for key in org_keys:
        cluster = by_key[("organisation", key)]
        if " " in key or sum(1 for other in by_key.values() if other is cluster) > 1:
            continue  # a longer name, or an acronym already merged with what it stands for
        longer = [other for other in org_keys if other.startswith(key + " ") or other.endswith(" " + key)]
        if len(longer) == 1 and by_key[("organisation", longer[0])].first_char < cluster.first_char:
            merge_into(by_key[("organisation", longer[0])], by_key, ("organisation", key))


def roles_before(article: Article, start: int) -> set[str]:
    """Title and country words right before a name: "Deputy Secretary Sherman", "President of the French
    Republic Emmanuel Macron"."""
    roles: set[str] = set()
    index = start - 1
    while index >= 0:
        token = article.doc[index]
        role = article.tables.role_word(fold_name(token.text))
        # "U.S. Army General David Dolan": the service between country and rank says nothing of either.
        if not (role or token.lower_ in ("of", "the") or token.ent_type_ in ("GPE", "NORP", "ORG")):
            break
        if role:
            roles.add(role)
        index -= 1
    return roles


def roles_in_apposition(article: Article, span: Span) -> set[str]:
    """Role words beside a name: "Sean McCormack, White House spokesman" or "the Iraqi president, X"."""
    root = span.root
    nouns = [child for child in root.children if child.dep_ == "appos"]
    if root.dep_ == "appos":
        nouns.append(root.head)
    roles = set(states_of(article, root))  # "Foreign Minister Amina Diallo of Mali"
    for noun in nouns:
        if fold_name(noun.lemma_) in article.tables.role_nouns:
            roles.add(fold_name(noun.lemma_))
            roles.update(
                role for child in noun.children if (role := article.tables.role_word(fold_name(child.text)))
            )
            roles.update(states_of(article, noun))  # "X, the President of Russia"
    return roles


def states_of(article: Article, noun: Token) -> list[str]:
    """The states in an of-phrase of `noun` ("President of Russia and Belarus"), by their common names."""
    return [
        state.name()
        for of in noun.children
        if of.dep_ == "prep" and of.lower_ == "of"
        for obj in of.children
        if obj.dep_ == "pobj"
        for member in [obj, *obj.conjuncts]
        if (state := article.cluster_at.get(member.i, NO_CLUSTER)).type == "state"
    ]


def role_speaker(article: Article, label: str, char: int) -> Cluster:
    """The person a role-only label ("THE PRESIDENT") stands for, else a person named after the role."""
    words = [role for word in fold_name(label).split() if (role := article.tables.role_word(word))]
    found = people_with_role(article, words, char, plural=False)
    if found:
        found[0].aliases.setdefault(label, None)
        return found[0]
    cluster = Cluster(type="person", first_char=char)
    cluster.add_form(label, label.title())
    cluster.roles.update(words)
    article.clusters.append(cluster)
    return cluster


def people_with_role(article: Article, words: list[str], char: int, plural: bool) -> list[Cluster]:
    """People introduced with all of these title words and one of these countries (if any are given); for
    a singular, the one named last before `char`.

    A role of a country ("the Russian president") needs a person introduced with that country ("Vladimir
    Petrov, the President of Russia"): "President Petrov" alone may lead another country.
    """
    titles = {
        word for word in words if word in article.tables.title_words or word in article.tables.role_nouns
    }
    countries = set(words) - titles
    if not titles:
        return []
    found = [
        c
        for c in article.clusters
        if c.type == "person"
        and titles <= article.tables.with_implied(c.roles)
        and c.roles & article.tables.rank_title_words <= titles  # "the President" is not the Vice President
        and (not countries or countries & c.roles)
    ]
    if plural or len(found) <= 1:
        return found
    before = [c for c in found if c.first_char < char]
    return [max(before or found, key=lambda c: c.first_char)]


def merge_into(
    target: Cluster,
    by_key: dict[tuple[str, str], Cluster],
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


def spelled_out(acronym: str, org_keys: list[str]) -> str | None:
    """The organisation whose initials spell `acronym` ("wto" -> "world trade organization")."""
    if not 2 <= len(acronym) <= 8 or " " in acronym:
        return None
    for other in org_keys:
        words = [word for word in other.split() if word not in ACRONYM_SKIPPED_WORDS]
        if len(words) > 1 and "".join(word[0] for word in words) == acronym:
            return other
    return None
