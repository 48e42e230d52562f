"""Layout: transcript turns and quotes in the raw text."""

from pipeline.actors.layout import find_quotes, find_turns


def test_find_turns_labels_reporters_and_anonymous_speakers_as_nobody():
    text = "MS. RIVERA: Good afternoon.\n\nQ Thanks.\n\nMODERATOR: Next question.\n\nMS. RIVERA: Sure."
    turns = find_turns(text, frozenset({"moderator"}))
    assert [turn.speaker for turn in turns] == ["MS. RIVERA", None, None, "MS. RIVERA"]
    assert text[turns[0].start : turns[0].end].strip() == "Good afternoon."


def test_find_quotes_links_a_quote_continued_in_the_next_paragraph():
    text = '"First part.\n\n"Second part," she said. "Another quote."'
    quotes = find_quotes(text)
    assert [text[q.start : q.end] for q in quotes] == ["First part.", "Second part,", "Another quote."]
    assert quotes[0].group == quotes[1].group != quotes[2].group
