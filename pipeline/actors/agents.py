"""Agents: who says or does something in each sentence, from the dependency parse.

An event is a speech verb or an action verb (or an act noun: "a commitment by X") with its agents: the
subject or by-agent and its conjuncts, resolved to entities through appositions ("a spokesman for the
army, X, said"), roles ("the minister said" is the minister introduced earlier), possessives
("Russia's Foreign Ministry" acts for Russia), pronouns ("he" is the person who acted last) and
collective nouns ("African cotton producers").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.actors.article import NO_CLUSTER, Article, Cluster, forms
from pipeline.actors.entities import people_with_role, states_of
from pipeline.actors.mentions import MODIFIER_DEPS, PLURAL_NOUN_TAGS
from pipeline.text import fold_name

if TYPE_CHECKING:
    from spacy.tokens import Span, Token

PERSONAL_PRONOUNS = frozenset({"he", "she"})
RELATIVE_PRONOUN_TAGS = frozenset({"WP", "WDT"})
SUBJECT_DEPS = frozenset({"nsubj", "nsubjpass", "csubj", "expl"})
SUBJECT_INHERITING_DEPS = frozenset({"conj", "xcomp", "advcl"})
ACTIVE_VERB_TAGS = frozenset({"VBG", "VBD", "VBZ", "VBP"})
BODY_PREPOSITIONS = frozenset({"for", "of", "from", "at", "with"})
LIST_DEPS = frozenset({"appos", "conj", "npadvmod"})
PARTITIVES = frozenset({"all", "some", "most", "many", "both", "each", "none", "several", "one", "two"})
NON_PERSON_TYPES = frozenset({"state", "place", "organisation"})


@dataclass
class Event:
    """Agents saying or doing something in one sentence, found at character `char`."""

    char: int
    sentence: Span
    agents: list[Cluster]
    names_speaker: bool  # a speech verb outside quotes: may say who a nearby quote is by


def collect_events(article: Article) -> list[Event]:
    """Speech and action events in article order; "he"/"she" is the person who acted last before.

    Inside quotes nothing counts as an event: what a speaker says others did is the speaker's stance.
    Inside a transcript turn only speech by a named party counts ("as Neruda said", a reporter's "the
    Canadian government says"): "he" or "the President" there is whoever the speaker has in mind.
    """
    events: list[Event] = []
    for sentence in article.doc.sents:
        turn = article.layout.turn_at(sentence.end_char - 1)
        if (
            turn is not None
            and article.layout.turns[turn].speaker is None
            and sentence.text.rstrip().endswith("?")
        ):
            continue  # a reporter's question asserts nothing of the actors in it
        narration = turn is None or article.layout.turns[turn].statement
        for token in sentence:
            if article.layout.in_quote(token.idx):
                continue
            event = event_at(article, token, sentence, narration)
            if event is None:
                continue
            events.append(event)
            if people := [agent for agent in event.agents if agent.type == "person"]:
                article.last_person = people[-1]
            if any(
                child.dep_ == "dobj" and forms(child) & article.tables.statement_nouns
                for child in token.children
            ):
                article.last_issuers = event.agents  # "X issued a statement"
        for index in range(sentence.start, sentence.end):
            cluster = article.cluster_at.get(index)
            if cluster and cluster.type == "person" and article.doc[index].dep_ == "nsubj":
                article.last_person = cluster
    return events


def event_at(article: Article, token: Token, sentence: Span, narration: bool) -> Event | None:
    if token.lower_ == "according":
        for to in token.children:
            objects = [obj for obj in to.children if obj.dep_ == "pobj"] if to.lower_ == "to" else []
            if objects and (agents := agents_of(article, objects[0], narration)):
                return Event(token.idx, sentence, agents, names_speaker=True)
        return None
    if token.pos_ == "NOUN" and narration and forms(token) & article.tables.event_nouns:
        # "a commitment by X", "the meeting between X and Y", "X's appeals"
        agent_nouns = [
            obj
            for c in token.children
            if c.dep_ == "prep" and c.lower_ in ("by", "between")
            for obj in c.children
        ]
        agent_nouns += [c for c in token.children if c.dep_ == "poss" and c.i in article.cluster_at]
        agents = [agent for noun in agent_nouns for agent in agents_of(article, noun, narration)]
        return Event(token.idx, sentence, agents, names_speaker=False) if agents else None
    if token.pos_ != "VERB":
        return None
    lemma = token.lemma_.lower()
    is_speech = lemma in article.tables.speech_verbs or any(child.dep_ == "ccomp" for child in token.children)
    if not is_speech and not (narration and lemma in article.tables.action_verbs):
        return None
    agents = [
        agent for subject in subjects_of(article, token) for agent in agents_of(article, subject, narration)
    ]
    return Event(token.idx, sentence, agents, names_speaker=is_speech) if agents else None


def agents_of(article: Article, noun: Token, references: bool) -> list[Cluster]:
    """The actors a subject or by-agent stands for, with its conjuncts ("Mali, Chad and Benin complain")."""
    heads = [noun, *noun.conjuncts]
    if article.cluster_at.get(noun.i, NO_CLUSTER).type in NON_PERSON_TYPES:
        heads.extend(list_members(article, noun))
    return list(
        dict.fromkeys(cluster for head in heads for cluster in agents_of_nominal(article, head, references))
    )


def list_members(article: Article, noun: Token) -> list[Token]:
    """The parser may read a list of states as appositions ("Mali, Burkina Faso, Benin, Chad and Senegal")."""
    members = []
    for child in noun.children:
        if child.dep_ in LIST_DEPS and article.cluster_at.get(child.i, NO_CLUSTER).type in NON_PERSON_TYPES:
            members += [child, *list_members(article, child)]
    return members


def agents_of_nominal(article: Article, noun: Token, references: bool) -> list[Cluster]:
    """`references`: whether "he", "she" and "the minister" may stand for someone named earlier."""
    if noun.i in article.cluster_at:
        cluster = article.cluster_at[noun.i]
        # "Hamas' Ministry of Social Affairs", "Russia's Foreign Ministry": the body acts for its owner.
        owners = [
            article.cluster_at[child.i]
            for child in noun.children
            if child.dep_ == "poss"
            and article.cluster_at.get(child.i, NO_CLUSTER).type in ("state", "organisation")
        ]
        return owners[:1] if cluster.type == "organisation" and owners else [cluster]
    if noun.tag_ in RELATIVE_PRONOUN_TAGS and noun.head.dep_ == "relcl":  # "Peres, who criticized"
        return agents_of_nominal(article, noun.head.head, references)
    if noun.lower_ in PERSONAL_PRONOUNS:
        return [article.last_person] if references and article.last_person else []
    if noun.lower_ in PARTITIVES:  # "all of the three GNR platoons"
        for child in noun.children:
            objects = [obj for obj in child.children if obj.dep_ == "pobj"] if child.lower_ == "of" else []
            if objects:
                return agents_of_nominal(article, objects[0], references)
    appositives = [
        article.cluster_at[c.i] for c in noun.children if c.dep_ == "appos" and c.i in article.cluster_at
    ]
    if appositives:  # "a spokesman for the army, Felix Chukwuma, said"
        return appositives[:1]
    if forms(noun) & article.tables.statement_nouns and (
        issuers := statement_issuers(article, noun, references)
    ):
        return issuers
    noun_forms = forms(noun)
    is_role = bool(noun_forms & article.tables.role_nouns)
    if is_role:
        if people := appositive_people(article, noun):
            return people[:1]
        if noun.dep_ == "appos" and article.cluster_at.get(noun.head.i, NO_CLUSTER).type == "person":
            return [article.cluster_at[noun.head.i]]  # "Felix Chukwuma, a spokesman ..., saying"
    is_plural = noun.tag_ in PLURAL_NOUN_TAGS
    if is_role and references and not is_plural and (people := people_by_role(article, noun)):
        return people
    is_body = bool(noun_forms & article.tables.state_body_nouns)
    modifiers = [
        article.cluster_at[t.i]
        for t in noun.subtree
        if t.i in article.cluster_at
        and modifies(t, noun)
        and not (is_body and article.cluster_at[t.i].type == "person")
    ]
    if modifiers:  # "Carter's office", "the US trade representative", "U.S. and Israeli officials"
        return list(dict.fromkeys(modifiers))
    counted = any(child.dep_ == "nummod" or child.lower_ == "both" for child in noun.children)
    if is_role and references and is_plural and counted and (people := people_by_role(article, noun)):
        return people  # "the two presidents", "both ministers"
    if is_role or is_body:  # "a spokesman for the Nigerian Army"
        for child in noun.children:
            if child.dep_ == "prep" and child.lower_ in BODY_PREPOSITIONS:
                objects = [obj for obj in child.children if obj.dep_ == "pobj"]
                if objects and (found := agents_of_nominal(article, objects[0], references)):
                    return found
    for child in noun.children:  # "a group called the Bakassi Self Determination Movement"
        if child.dep_ == "acl" and child.lemma_ in ("call", "name", "know"):
            named = [article.cluster_at[t.i] for t in child.subtree if t.i in article.cluster_at]
            if named:
                return named[:1]
    if is_plural and (group := group_of(article, noun)):
        return [group]
    return []


def statement_issuers(article: Article, noun: Token, references: bool) -> list[Cluster]:
    """Who a statement is by: "a statement by/from X", "a statement issued by X", "X's statement" and
    "X, whose statement called ...": the statement speaks for its issuer."""
    for child in noun.children:
        if child.dep_ == "prep" and child.lower_ in ("by", "from", "of"):
            objects = [obj for obj in child.children if obj.dep_ == "pobj"]
        elif child.dep_ == "acl":  # "issued by X"
            objects = [obj for agent in child.children if agent.dep_ == "agent" for obj in agent.children]
        elif child.dep_ == "poss" and child.tag_ == "WP$" and noun.head.dep_ == "relcl":
            objects = [noun.head.head]  # "whose": the noun the relative clause is about
        elif child.dep_ == "poss":
            objects = [child]
        else:
            continue
        for obj in objects:
            if found := agents_of_nominal(article, obj, references):
                return found
    if references and any(child.lower_ in ("the", "this", "that") for child in noun.children):
        return article.last_issuers  # "The statement called ...": the statement issued last
    return []


def appositive_people(article: Article, noun: Token) -> list[Cluster]:
    """People in apposition right of a role noun; the parser may hang the name on the last noun before
    it ("The Syrian ambassador to the United Nations, Bashar Jaafari, said")."""
    return [
        article.cluster_at[t.i]
        for t in noun.subtree
        if t.i > noun.i and t.dep_ == "appos" and article.cluster_at.get(t.i, NO_CLUSTER).type == "person"
    ]


def people_by_role(article: Article, noun: Token) -> list[Cluster]:
    """People a role noun refers back to ("the Deputy Secretary", "The President of Russia"); "a governor"
    introduces someone new."""
    if any(child.dep_ == "det" and child.lower_ in ("a", "an") for child in noun.children):
        return []
    words = [fold_name(child.text) for child in noun.children if child.dep_ in ("compound", "amod")]
    roles = [role for word in [*words, fold_name(noun.lemma_)] if (role := article.tables.role_word(word))]
    roles += states_of(article, noun)
    people = people_with_role(article, roles, noun.idx, noun.tag_ in PLURAL_NOUN_TAGS)
    for person in people:
        person.aliases.setdefault(article.doc[noun.left_edge.i : noun.i + 1].text, None)
    return people


def group_of(article: Article, noun: Token) -> Cluster | None:
    """An unnamed collective actor named by its noun and name-like modifiers: "African cotton producers"."""
    word = fold_name(noun.text)
    modifiers = [t for t in noun.lefts if t.dep_ in ("compound", "amod")]
    capitalised = [i for i, t in enumerate(modifiers) if t.pos_ == "PROPN" or t.ent_type_]
    if capitalised:
        words = [*modifiers[capitalised[0] :], noun]
    elif word in article.tables.group_nouns:
        words = [noun]
    else:
        return None
    if word not in article.tables.group_nouns and (
        word not in article.tables.qualified_group_nouns or not capitalised
    ):
        return None
    phrase = " ".join(t.text for t in words)
    key = fold_name(phrase)
    if key not in article.groups:
        article.groups[key] = Cluster(type="group", first_char=words[0].idx, fixed_name=phrase)
        article.clusters.append(article.groups[key])
    article.groups[key].add_form(phrase, None)
    return article.groups[key]


def subjects_of(article: Article, verb: Token, depth: int = 0) -> list[Token]:
    subjects = [child for child in verb.children if child.dep_ == "nsubj"]
    for child in verb.children:
        if child.dep_ == "agent":  # "was refuted by Russian officials"
            subjects.extend(obj for obj in child.children if obj.dep_ == "pobj")
    if subjects:
        return subjects
    if any(child.dep_ in SUBJECT_DEPS for child in verb.children) or depth >= 3:
        return []
    if verb.dep_ in SUBJECT_INHERITING_DEPS and verb.head is not verb:
        return subjects_of(article, verb.head, depth + 1)  # "X agreed to cede", "X met and said"
    if verb.dep_ == "acl" and (verb.tag_ in ACTIVE_VERB_TAGS or is_active_participle(verb)):
        return [verb.head]  # "X, a spokesman, saying"; "the ambassador, X, concurred by saying"
    if verb.dep_ == "ROOT":
        # A misparse left the verb without subject: "X, president of Y, said"; "... Vitalie Ignatiev said".
        for token in reversed(article.doc[verb.sent.start : verb.i]):
            cluster = article.cluster_at.get(token.i)
            if cluster and cluster.type == "person" and not article.layout.in_quote(token.idx):
                return [token]
        if verb.i > verb.sent.start and verb.i - 1 in article.cluster_at:
            return [article.doc[verb.i - 1]]
    return []


def is_active_participle(verb: Token) -> bool:
    """A past participle read as a modifier that is active after all: "by saying" is no passive by-agent."""
    agents = [child for child in verb.children if child.dep_ == "agent"]
    return (
        verb.tag_ == "VBN"
        and bool(agents)
        and all(child.dep_ == "pcomp" for agent in agents for child in agent.children)
    )


def modifies(token: Token, noun: Token) -> bool:
    """Whether `token` hangs off `noun` through modifiers only (compound, amod, poss, nmod, their conjuncts)."""
    while token.i != noun.i:
        if token.dep_ not in MODIFIER_DEPS and token.dep_ not in ("conj", "cc", "case"):
            return False
        token = token.head
    return True
