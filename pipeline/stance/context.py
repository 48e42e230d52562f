"""What the stance model reads about one actor: its own words and deeds, then the article's other
sentences that name it, each with the actor's mentions marked.

The actors stage attributes evidence by rules (speech and action verbs, quotes, transcript turns); the
sentences that name the actor without such a rule firing ("...," Zheng said. when the quote sat in the
sentence before, or a ministry's statement) are the context in which the model can still find its
stance, or see that it is only mentioned. The same builder serves training and inference, so the model
is trained on exactly what it will read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.text import article_sentences

# Marks the actor's mentions, so that two actors in one sentence read differently.
OPEN_MARK, CLOSE_MARK = "[", "]"
OWN_HEADER, MENTION_HEADER = "says or does:", "also named in:"


@dataclass(frozen=True)
class ActorContext:
    name: str
    own: tuple[str, ...]  # the actor's evidence, in article order
    mentions: tuple[str, ...]  # other sentences naming the actor, in article order

    def render(self, names: Sequence[str]) -> str:
        """The text the model reads, the actor's names marked wherever they occur."""
        own = " ".join(mark_mentions(unit, names) for unit in self.own)
        mentions = " ".join(mark_mentions(unit, names) for unit in self.mentions)
        return f"{OWN_HEADER} {own or '-'} {MENTION_HEADER} {mentions or '-'}"


def name_pattern(names: Sequence[str]) -> re.Pattern[str] | None:
    """Any of `names` as whole words, ignoring case, longest first; None when there is none."""
    words = sorted({name.strip() for name in names if len(name.strip()) > 1}, key=len, reverse=True)
    if not words:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(word) for word in words) + r")(?!\w)", re.IGNORECASE)


def mark_mentions(text: str, names: Sequence[str]) -> str:
    pattern = name_pattern(names)
    return pattern.sub(lambda m: f"{OPEN_MARK}{m.group(0)}{CLOSE_MARK}", text) if pattern else text


def actor_contexts(
    text: str, actors: Sequence[tuple[str, Sequence[str], Sequence[str]]], max_mentions: int = 6
) -> list[ActorContext]:
    """One context per (name, aliases, evidence): the evidence, and up to `max_mentions` sentences of
    `text` that name the actor and hold none of its evidence."""
    sentences = article_sentences(text)
    contexts = []
    for name, aliases, evidence in actors:
        pattern = name_pattern([name, *aliases])
        mentions = [
            sentence
            for sentence in sentences
            if pattern is not None
            and pattern.search(sentence)
            and not any(piece in sentence or sentence in piece for piece in evidence)
        ]
        contexts.append(ActorContext(name, tuple(evidence), tuple(mentions[:max_mentions])))
    return contexts
