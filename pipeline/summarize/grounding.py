"""Does a shortened sentence still say what its source sentence says, in the same roles?

Small models shortening a sentence make the errors readers catch: they add a word or a figure the source
does not support ("a significant success"), make the object the actor ("Birks announced the official supplier"
for "Birks was announced as the official supplier"), give an act to the wrong actor through a clause
without a subject ("she died after shunning treatment" for "after her parents shunned treatment"), state
as fact what the source attributes to a speaker or only reports ("The vote will become invalid" for "They
say the vote will become invalid"; "reportedly" dropped), move a past event to the present ("Biden
announces" for "Biden announced"), or drop a negation. Each check compares the two dependency parses; any problem found means the source sentence is
kept instead (`grounded.py`), and the same checks score a summary sentence against the article sentence
it is closest to (`faithfulness.py`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.text import sentence_numbers

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span, Token

# Figures are compared as figures ("eight" is "8"), not as words.
CONTENT_POS = frozenset({"NOUN", "PROPN", "VERB", "ADJ", "ADV"})
# Words a rewrite may bring in without adding a fact: auxiliaries, light verbs, generic adverbs.
NEUTRAL_LEMMAS = frozenset({"be", "have", "do", "will", "also", "then", "now", "later", "so", "as", "which"})
NEGATIONS = frozenset({"not", "n't", "no", "never", "without", "nobody", "nothing", "none", "neither", "nor"})
SUBJECT_DEPS = frozenset({"nsubj", "csubj"})
NOMINAL_POS = frozenset({"NOUN", "PROPN", "PRON", "NUM"})
# Words that keep a claim a claim: a rewrite without them states as fact what the source only reports.
HEDGES = frozenset(
    {"reportedly", "allegedly", "apparently", "purportedly", "possibly", "probably", "likely", "may", "might",
     "could", "unconfirmed", "suspected", "alleged", "reported", "expected", "planned", "proposed"}
)  # fmt: skip
# Clauses whose verb has no subject of its own but shares its head verb's: "X agreed to sign", "X died
# after shunning treatment".
SUBJECT_SHARING_DEPS = frozenset({"xcomp", "advcl", "conj", "pcomp"})
PAST_TAGS, PRESENT_TAGS = frozenset({"VBD"}), frozenset({"VBZ", "VBP"})
# Words that make a figure an estimate or a bound: "over 100" is not "100".
FIGURE_QUALIFIERS = frozenset(
    {"over", "about", "around", "approximately", "nearly", "almost", "roughly", "some", "more", "less", "fewer",
     "least", "most", "up", "under", "than", "estimated", "several"}
)  # fmt: skip
# The shortest shared prefix that makes two word forms one word.
MIN_PREFIX_CHARS = 5


@dataclass(frozen=True)
class GroundingRules:
    speech_verbs: frozenset[str]  # lemmas whose subject is a speaker (conf/actors/spacy.yaml's list)
    max_new_words: int = 0  # content words the rewrite may add that the source does not have


def word_forms(tokens: Iterable[Token]) -> set[str]:
    return {form for token in tokens for form in (token.lower_, token.lemma_.lower())}


def is_supported(word: str, forms: set[str]) -> bool:
    """Whether `word` is one of `forms` or shares with one a prefix of all but its last two letters
    (at least MIN_PREFIX_CHARS): "invalided" / "invalidated", "Russia" / "Russian", not "signed" / "significant"."""
    return word in forms or any(
        shared_prefix(word, other) >= max(MIN_PREFIX_CHARS, min(len(word), len(other)) - 2) for other in forms
    )


def shared_prefix(first: str, second: str) -> int:
    """How many leading characters the two words share."""
    length = 0
    for a, b in zip(first, second, strict=False):
        if a != b:
            break
        length += 1
    return length


def new_words(source: Span | Doc, rewrite: Span | Doc) -> list[str]:
    """Content words of `rewrite` that `source` has in no form (nor a form sharing a long prefix)."""
    forms = word_forms(source)
    return [
        token.text
        for token in rewrite
        if token.pos_ in CONTENT_POS
        and token.lemma_.lower() not in NEUTRAL_LEMMAS
        and not is_supported(token.lower_, forms)
        and not is_supported(token.lemma_.lower(), forms)
    ]


def has_negation(tokens: Iterable[Token]) -> bool:
    return any(token.dep_ == "neg" or token.lower_ in NEGATIONS for token in tokens)


def speech_subjects(tokens: Iterable[Token], speech_verbs: frozenset[str]) -> set[str]:
    """Lower-cased heads of the subjects of speech verbs, and "according to" objects: who a claim is from."""
    speakers = set()
    for token in tokens:
        if token.pos_ == "VERB" and token.lemma_.lower() in speech_verbs:
            speakers |= {child.lower_ for child in token.children if child.dep_ in SUBJECT_DEPS}
            speakers |= {
                obj.lower_ for agent in token.children if agent.dep_ == "agent" for obj in agent.children
            }
        if token.lower_ == "according":
            speakers |= {obj.lower_ for to in token.children for obj in to.children if obj.dep_ == "pobj"}
    return speakers


def is_quoted(text: str) -> bool:
    stripped = text.strip()
    return stripped[:1] in '"“' or stripped[-1:] in '"”'


def actor_roles(tokens: Iterable[Token]) -> set[tuple[str, str]]:
    """(verb lemma, head of the one who acts) for each verb with an active subject or a passive by-agent;
    a verb without either acts through the subject of the verb it depends on ("after shunning treatment")."""
    return {(token.lemma_.lower(), actor) for token in tokens for actor in actors_of(token)}


def actors_of(verb: Token, depth: int = 0) -> set[str]:
    if verb.pos_ not in ("VERB", "AUX"):
        return set()
    actors = {child.lower_ for child in verb.children if child.dep_ in SUBJECT_DEPS}
    actors |= {
        obj.lower_
        for agent in verb.children
        if agent.dep_ == "agent"
        for obj in agent.children
        if obj.dep_ == "pobj"
    }
    passive = any(child.dep_ == "nsubjpass" for child in verb.children)
    if (
        not actors
        and not passive
        and verb.dep_ in SUBJECT_SHARING_DEPS
        and verb.head.i != verb.i
        and depth < 3
    ):
        head = verb.head
        while head.pos_ == "ADP" and head.head.i != head.i:  # "after shunning": the clause hangs on "after"
            head = head.head
        return actors_of(head, depth + 1)
    return actors


def dropped_hedges(source: Iterable[Token], rewrite: Iterable[Token]) -> list[str]:
    """HEDGES of `source` that `rewrite` lost."""
    kept = {token.lower_ for token in rewrite}
    return sorted({token.lower_ for token in source if token.lower_ in HEDGES} - kept)


def main_tense(tokens: Span | Doc) -> str | None:
    """ "past" or "present" by the tag of the sentence's root verb (or its auxiliary); None otherwise."""
    roots = [token for token in tokens if token.dep_ == "ROOT" and token.pos_ in ("VERB", "AUX")]
    if not roots:
        return None
    tags = {roots[0].tag_} | {child.tag_ for child in roots[0].children if child.dep_ in ("aux", "auxpass")}
    if tags & PAST_TAGS:
        return "past"
    return "present" if tags & PRESENT_TAGS and "MD" not in tags else None


def undergoer_roles(tokens: Iterable[Token]) -> set[tuple[str, str]]:
    """(verb lemma, head) for each passive subject and direct object: who is acted upon."""
    return {
        (token.head.lemma_.lower(), token.lower_)
        for token in tokens
        if token.dep_ in ("nsubjpass", "dobj") and token.head.pos_ in ("VERB", "AUX")
    }


def grounding_problems(source: Span | Doc, rewrite: Span | Doc, rules: GroundingRules) -> list[str]:
    """What `rewrite` says that `source` does not support; empty when it is faithful to it."""
    problems = []
    figures = set(sentence_numbers(source.text))
    if changed := [figure for figure in sentence_numbers(rewrite.text) if figure not in figures]:
        problems.append(f"new figures: {', '.join(changed)}")
    added = new_words(source, rewrite)
    if len(added) > rules.max_new_words:
        problems.append(f"new words: {', '.join(added)}")
    if has_negation(source) != has_negation(rewrite):
        problems.append("negation changed")
    if hedges := dropped_hedges(source, rewrite):
        problems.append(f"claim no longer hedged: {', '.join(hedges)}")
    if (before := main_tense(source)) and (after := main_tense(rewrite)) and before != after:
        problems.append(f"tense changed: {before} to {after}")
    speakers = speech_subjects(source, rules.speech_verbs)
    if (speakers or is_quoted(source.text)) and not (
        speech_subjects(rewrite, rules.speech_verbs) or is_quoted(rewrite.text)
    ):
        problems.append("claim no longer attributed to its speaker")
    if qualified := unqualified_figures(source, rewrite):
        problems.append(f"figure no longer qualified: {', '.join(qualified)}")
    problems += role_problems(source, rewrite)
    return problems


def role_problems(source: Span | Doc, rewrite: Span | Doc) -> list[str]:
    """Who does what to whom in `rewrite` that `source` does not say: an actor of a verb that is not its
    actor there (nor any actor, for a passive without one), the one acted upon made the actor, an object
    that is not the verb's object there, the object a verb had there dropped, or a noun's prepositional
    phrase that is not on that noun there."""
    problems = []
    source_actors, source_undergoers = actor_roles(source), undergoer_roles(source)
    source_verbs = {token.lemma_.lower() for token in source if token.pos_ in ("VERB", "AUX")}
    for verb, actor in actor_roles(rewrite):
        if (verb, actor) in source_undergoers and (verb, actor) not in source_actors:
            problems.append(f"roles changed: {actor} now does '{verb}'")
        elif verb in source_verbs and (verb, actor) not in source_actors:
            problems.append(f"roles changed: {actor} is not who does '{verb}' in the source")
    source_objects, rewrite_objects = direct_objects(source), direct_objects(rewrite)
    for verb, objects in rewrite_objects.items():
        if source_objects.get(verb) and not objects & source_objects[verb]:
            problems.append(f"roles changed: '{verb}' acts on {', '.join(sorted(objects))} instead")
    for verb, objects in source_objects.items():
        if verb in {token.lemma_.lower() for token in rewrite} and verb not in rewrite_objects and objects:
            problems.append(f"object of '{verb}' dropped")
    for head, preposition, noun in sorted(noun_attachments(rewrite) - noun_attachments(source)):
        problems.append(f"relation changed: '{head} {preposition} {noun}' is not in the source")
    return problems


def noun_attachments(tokens: Iterable[Token]) -> set[tuple[str, str, str]]:
    """(noun, preposition, noun) lemmas of each prepositional phrase on a noun: "members of the patrol"
    is (member, of, patrol). Dropping the words between two nouns re-attaches one to the other
    ("members of the United States [patrol]"), and that says something else."""
    return {
        (token.head.head.lemma_.lower(), token.head.lower_, token.lemma_.lower())
        for token in tokens
        if token.dep_ == "pobj"
        and token.pos_ in NOMINAL_POS
        and token.head.dep_ == "prep"
        and token.head.head.pos_ in NOMINAL_POS
    }


def direct_objects(tokens: Iterable[Token]) -> dict[str, set[str]]:
    """Per verb lemma, the heads of its direct objects."""
    objects: dict[str, set[str]] = {}
    for token in tokens:
        if token.dep_ == "dobj" and token.head.pos_ == "VERB":
            objects.setdefault(token.head.lemma_.lower(), set()).add(token.lemma_.lower())
    return objects


def unqualified_figures(source: Span | Doc, rewrite: Span | Doc) -> list[str]:
    """Figures that `source` qualifies ("over 100", "approximately 70", "nearly 40") and `rewrite` states bare."""
    qualified = {
        token.text
        for token in source
        if token.like_num
        and any(w.lower_ in FIGURE_QUALIFIERS for w in token.doc[max(0, token.i - 2) : token.i])
    }
    return [
        token.text
        for token in rewrite
        if token.text in qualified
        and not any(w.lower_ in FIGURE_QUALIFIERS for w in token.doc[max(0, token.i - 2) : token.i])
    ]
