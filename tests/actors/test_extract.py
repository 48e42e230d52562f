"""The package entry: the extractor from the config, and the actors column of a Dataset."""

import datasets

from pipeline.actors import extract_actors
from pipeline.schema import ACTOR_FEATURES
from tests.actors.conftest import by_name


def test_a_line_break_starts_a_sentence_so_a_heading_is_no_evidence(extractor):
    actors = extractor.extract("TALKS IN GENEVA\nRussia warned Ukraine on Monday.")
    assert by_name(actors, "Russia").evidence == ["Russia warned Ukraine on Monday."]


def test_the_headline_names_actors_but_gives_no_evidence(extractor):
    text = "THE PRESIDENT: We will keep supporting Ukraine.\n\nQ Will you send troops?\n\nTHE PRESIDENT: No."
    actors = extractor.extract(text, title="Remarks by President Joe Biden Before Marine One Departure")
    biden = by_name(actors, "Joe Biden")
    assert "THE PRESIDENT" in biden.aliases
    assert biden.evidence == ["We will keep supporting Ukraine."]


def test_extract_many_matches_extract(extractor):
    texts = ["Japan signed the agreement with Canada.", "Nobody said anything."]
    assert extractor.extract_many(texts, batch_size=2) == [extractor.extract(text) for text in texts]


def test_extract_actors_adds_a_typed_column_even_without_actors(extractor):
    dataset = datasets.Dataset.from_dict(
        {"id": ["a", "b"], "text": ["The weather was mild all week.", "Canada signed the treaty."]}
    )
    result = extract_actors(dataset, extractor, batch_size=1)
    assert result.features["actors"] == datasets.List(ACTOR_FEATURES)
    assert result[0]["actors"] == []
    assert result[1]["actors"][0]["name"] == "Canada"
    assert result[1]["actors"][0]["evidence"] == ["Canada signed the treaty."]
