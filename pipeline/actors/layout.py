"""Page layout: paragraphs, transcript turns ("PRESIDENT BIDEN: ...") and quotes, found in the raw text."""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass

from pipeline.text import fold_name

_OPEN_QUOTE, _CLOSE_QUOTE, _STRAIGHT_QUOTE = "“", "”", '"'
_UPPER_LABEL = re.compile(r"(?m)^[ \t]*([A-Z][A-Z\u00C0-\u00DE.'’\- ]*[A-Z\u00C0-\u00DE.])[ \t]*:[ \t]*")
_TITLE_LABEL = re.compile(r"(?m)^[ \t]*([A-Z][\w.'’\-]*(?: [A-Z][\w.'’\-]*){0,3})[ \t]*:[ \t]+")
_QUESTION_LABEL = re.compile(r"(?m)^[ \t]*Q[:.]?[ \t]+")
# A press office's statement line: "The following is attributable to Spokesperson Ned Price:".
_STATEMENT_LABEL = re.compile(
    r"(?mi)^[ \t]*the (?:following|below)(?: statement)? is attributable to ([^\n:]+?)[ \t]*:[ \t]*$"
)
PARAGRAPH = re.compile(r"[^\n]+")


@dataclass
class Turn:
    label_start: int
    start: int  # first character of what is said, after the label
    end: int
    speaker: str | None  # label as written; None for a reporter's question or an anonymous speaker
    statement: bool = False  # a press statement issued in the speaker's name: its narration still counts


@dataclass
class Quote:
    start: int
    end: int
    paragraph: int
    group: int  # a quote running over several paragraphs shares one group


def find_turns(text: str, non_actor_speakers: frozenset[str]) -> list[Turn]:
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
            speaker = None if fold_name(label) in non_actor_speakers else label
            labels.append((match.start(), match.end(), speaker))
    title_labels = [match for match in _TITLE_LABEL.finditer(text) if not match.group(1).isupper()]
    repeated = {label for label, count in Counter(m.group(1) for m in title_labels).items() if count >= 2}
    labels.extend((m.start(), m.end(), m.group(1)) for m in title_labels if m.group(1) in repeated)
    labels.extend((m.start(), m.end(), None) for m in _QUESTION_LABEL.finditer(text))
    labels.sort()
    return [
        Turn(
            label_start,
            label_end,
            labels[index + 1][0] if index + 1 < len(labels) else len(text),
            speaker,
            statement=label_start in statements,
        )
        for index, (label_start, label_end, speaker) in enumerate(labels)
    ]


def find_quotes(text: str) -> list[Quote]:
    """Quoted spans per paragraph; an unclosed quote continues into a next paragraph that opens with a quote."""
    quotes: list[Quote] = []
    group = -1
    previous_open = False
    for paragraph, match in enumerate(PARAGRAPH.finditer(text)):
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
            quotes.append(Quote(start, end, paragraph, group))
        previous_open = opened is not None
    return quotes


class Layout:
    """Where an article's turns, quotes and paragraphs are, with lookups by character offset."""

    def __init__(self, text: str, non_actor_speakers: frozenset[str]) -> None:
        self.text = text
        self.turns = find_turns(text, non_actor_speakers)
        self.turn_starts = [turn.start for turn in self.turns]
        self.quotes = find_quotes(text)
        self.quote_starts = [quote.start for quote in self.quotes]
        self.quotes_by_group: dict[int, list[Quote]] = {}
        for quote in self.quotes:
            self.quotes_by_group.setdefault(quote.group, []).append(quote)
        self.paragraph_starts = [match.start() for match in PARAGRAPH.finditer(text)]

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
