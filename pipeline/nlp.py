"""The spaCy pipeline, loaded once per process and shared by every stage that parses (actors, the stance
backend's clause finder, the faithfulness check)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

SENTENCE_STARTS = "paragraph_sentence_starts"


def paragraph_sentence_starts(doc: Doc) -> Doc:
    """A line break always starts a sentence, so a heading or transcript label never runs into the next line."""
    for token in doc[:-1]:
        if token.is_space and "\n" in token.text:
            doc[token.i + 1].is_sent_start = True
    return doc


@functools.cache
def load_spacy(model: str) -> Language:
    """The installed spaCy pipeline `model` (a package name or path), with sentences starting at line breaks."""
    # Imported here: evaluation and the summary stage's callers need names and text, not a parser.
    import spacy
    from spacy.language import Language

    if not Language.has_factory(SENTENCE_STARTS):
        Language.component(SENTENCE_STARTS, func=paragraph_sentence_starts)
    nlp = spacy.load(model)
    nlp.add_pipe(SENTENCE_STARTS, before="parser")
    return nlp
