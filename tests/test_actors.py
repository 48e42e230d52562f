"""Actors stage on small crafted articles, with the real spaCy model and the project's actor config."""

from pathlib import Path

import datasets
import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from pipeline.actors import Actor, ActorExtractor, extract_actors
from pipeline.actors.layout import find_quotes, find_turns
from pipeline.schema import ACTOR_FEATURES
from pipeline.text import fold_name

CONFIG = Path(__file__).resolve().parent.parent / "conf" / "actors" / "spacy.yaml"


@pytest.fixture(scope="module")
def extractor() -> ActorExtractor:
    return instantiate(OmegaConf.load(CONFIG))


def by_name(actors: list[Actor], name: str) -> Actor:
    found = [actor for actor in actors if actor.name == name]
    assert found, f"no actor {name!r} in {[actor.name for actor in actors]}"
    assert len(found) == 1, f"{name!r} split into {len(found)} actors"
    return found[0]


def names(actors: list[Actor]) -> set[str]:
    return {actor.name for actor in actors}


def test_config_instantiates_the_extractor(extractor):
    assert isinstance(extractor, ActorExtractor)
    assert "paragraph_sentence_starts" in extractor.nlp.pipe_names


def test_one_actor_per_person_named_by_the_fullest_form(extractor):
    text = (
        "President Daniel Okafor said on Monday that the border would stay open. "
        "Okafor's government has been criticised by the opposition. "
        "Later, Mr. Okafor told reporters that talks would continue."
    )
    actors = extractor.extract(text)
    okafor = by_name(actors, "Daniel Okafor")
    assert okafor.type == "person"
    assert {"Daniel Okafor", "Okafor"} <= set(okafor.aliases)
    assert any("border would stay open" in evidence for evidence in okafor.evidence)
    assert any("talks would continue" in evidence for evidence in okafor.evidence)


def test_capitals_demonyms_and_country_aliases_become_the_state(extractor):
    text = (
        "Beijing warned on Tuesday that it would retaliate. "
        "Chinese officials said the tariffs violated trade rules. "
        "The US imposed new tariffs last week, and Washington accused China of dumping steel."
    )
    actors = extractor.extract(text)
    china, united_states = by_name(actors, "China"), by_name(actors, "United States")
    assert china.type == united_states.type == "state"
    assert {"Beijing", "China"} <= set(china.aliases)
    assert {"US", "Washington"} <= set(united_states.aliases)
    assert any("violated trade rules" in evidence for evidence in china.evidence)
    assert any("imposed new tariffs" in evidence for evidence in united_states.evidence)
    assert not {"Beijing", "Washington", "Chinese"} & names(actors)


def test_quote_running_over_two_paragraphs_belongs_to_its_speaker(extractor):
    text = (
        'Foreign Minister Elena Marsh said: "We will defend every inch of our territory.\n\n'
        '"But we are ready to negotiate with our neighbours tomorrow."\n\n'
        "The ministry did not say where the talks would be held."
    )
    marsh = by_name(extractor.extract(text), "Elena Marsh")
    assert "But we are ready to negotiate with our neighbours tomorrow." in marsh.evidence
    assert "We will defend every inch of our territory." in marsh.evidence


def test_a_quote_of_several_sentences_is_evidence_sentence_by_sentence(extractor):
    text = (
        '"We have stopped the shelling. We want a settlement and we are ready to talk. But if they attack '
        'our villages again, we will answer," said Omar Said Tahir, a rebel commander.'
    )
    tahir = by_name(extractor.extract(text), "Omar Said Tahir")
    assert "We have stopped the shelling." in tahir.evidence
    assert "We want a settlement and we are ready to talk." in tahir.evidence
    assert "But if they attack our villages again, we will answer" in tahir.evidence


def test_a_statement_attributable_to_a_spokesperson_is_theirs(extractor):
    text = (
        "Office of the Spokesperson\n\n"
        "The following is attributable to Spokesperson Clara Voss:\n\n"
        "Secretary Holm met Foreign Minister Adeyemi of Nigeria today in Lagos. "
        "We look forward to deeper trade ties with Nigeria in the coming year."
    )
    actors = extractor.extract(text)
    voss = by_name(actors, "Clara Voss")
    assert "We look forward to deeper trade ties with Nigeria in the coming year." in voss.evidence
    # The statement's narration still counts: Holm acts in it.
    assert any("met Foreign Minister" in evidence for evidence in by_name(actors, "Holm").evidence)
    assert "Office of the Spokesperson" in names(actors)  # the heading's name without the blank line


def test_quote_after_its_speaker_and_pronoun_continuation(extractor):
    text = (
        '"The sanctions must be lifted before any talks," said Peter Lindqvist, a spokesman for the alliance.\n\n'
        "He added that the alliance would not send troops."
    )
    lindqvist = by_name(extractor.extract(text), "Peter Lindqvist")
    assert lindqvist.evidence[0].startswith('"The sanctions must be lifted before any talks," said Peter')
    assert any("would not send troops" in evidence for evidence in lindqvist.evidence)


def test_role_reference_resolves_to_the_person_introduced_with_it(extractor):
    text = (
        "Deputy Secretary Anna Keller met Foreign Minister Omar Haddad in Rabat on Monday. "
        "The Deputy Secretary welcomed the new trade agreement."
    )
    keller = by_name(extractor.extract(text), "Anna Keller")
    assert "The Deputy Secretary welcomed the new trade agreement." in keller.evidence
    assert "The Deputy Secretary" in keller.aliases


def test_actions_and_reported_speech_are_evidence_mentions_are_not(extractor):
    text = (
        "Russia expelled three diplomats on Friday. "
        "According to the European Union, the expulsions were unjustified. "
        "The meeting was held in Vienna, near the headquarters of the OPEC."
    )
    actors = extractor.extract(text)
    assert by_name(actors, "Russia").evidence == ["Russia expelled three diplomats on Friday."]
    assert any("unjustified" in evidence for evidence in by_name(actors, "European Union").evidence)
    assert by_name(actors, "OPEC").evidence == []
    assert "Vienna" not in names(actors)  # a place that only sets the scene


def test_news_agencies_numbers_and_dates_are_not_actors(extractor):
    text = (
        "Reuters reported on Friday, June 12, that 300 protesters marched in the capital. "
        "The Associated Press said 2,000 police officers were deployed."
    )
    found = {fold_name(name) for name in names(extractor.extract(text))}
    assert not found & {"reuters", "associated press", "friday", "june 12", "300", "2,000"}


def test_acronym_merges_with_its_written_out_name(extractor):
    text = (
        "The World Health Organization (WHO) warned of a new outbreak on Monday. "
        "The WHO said vaccines would be shipped within a week."
    )
    who = by_name(extractor.extract(text), "World Health Organization")
    assert "WHO" in who.aliases
    assert len(who.evidence) == 2


def test_unnamed_group_that_acts_is_a_group_actor(extractor):
    actors = extractor.extract("Insurgents attacked a police station near the border, killing two officers.")
    assert by_name(actors, "Insurgents").type == "group"


def test_transcript_turns_give_the_speaker_evidence_and_skip_reporters(extractor):
    text = (
        "PRESIDENT HALVORSEN: Thank you all for coming to Oslo today.\n\n"
        "We stand with our allies and we will keep supporting them.\n\n"
        "Q Mr. President, will you send troops to the region?\n\n"
        "PRESIDENT HALVORSEN: We have no plans to do that right now."
    )
    actors = extractor.extract(text)
    speaker = by_name(actors, "Halvorsen")
    assert "PRESIDENT HALVORSEN" in speaker.aliases
    assert "We stand with our allies and we will keep supporting them." in speaker.evidence
    assert "We have no plans to do that right now." in speaker.evidence
    assert not any("send troops" in evidence for actor in actors for evidence in actor.evidence)
    assert "Q" not in names(actors)


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


def test_a_title_ending_ner_cut_off_is_no_actor(extractor):
    text = (
        "Secretary of State Mara Lind met Foreign Minister Tomas Berg in Oslo. "
        "The Deputy Secretary of State Ian Fell said the sanctions would stay."
    )
    actors = extractor.extract(text)
    assert not {"State", "Secretary of State"} & names(actors)
    assert by_name(actors, "Ian Fell").evidence == [
        "The Deputy Secretary of State Ian Fell said the sanctions would stay."
    ]


def test_a_role_of_a_state_is_the_person_introduced_with_it(extractor):
    text = (
        "Vladimir Petrov, the President of Ruritania, met President Anna Weiss of Germany. "
        "The President of Germany welcomed the deal."
    )
    weiss = by_name(extractor.extract(text), "Anna Weiss")
    assert "The President of Germany welcomed the deal." in weiss.evidence


def test_a_role_of_a_state_without_a_named_holder_stays_the_state(extractor):
    text = (
        "President Ivan Sorokin met Anna Weiss, the President of Germany. "
        "The President of Ruritania warned that sanctions would hurt Europe."
    )
    actors = extractor.extract(text)
    assert not any("would hurt Europe" in evidence for evidence in by_name(actors, "Ivan Sorokin").evidence)


def test_a_commander_is_the_general_introduced_with_the_country(extractor):
    text = (
        "Today, U.S. Army General Mark Dolan presented his testimony to Congress. "
        "The top U.S. commander in Iraq said troops may be able to leave by the summer."
    )
    actors = extractor.extract(text)
    assert any("leave by the summer" in evidence for evidence in by_name(actors, "Mark Dolan").evidence)
    assert not by_name(actors, "United States").evidence


def test_a_surname_ner_missed_is_the_person_named_in_full(extractor):
    text = (
        '"The border stays closed," said Lena Okonkwo, a spokeswoman for the ministry.\n\n'
        '"We welcome every chance to talk to our neighbours," said Tomas Hradek, the mayor.\n\n'
        'Okonkwo denied that report. "Nobody here wants to talk to them before they withdraw," she said.'
    )
    actors = extractor.extract(text)
    okonkwo = by_name(actors, "Lena Okonkwo")
    assert any("before they withdraw" in evidence for evidence in okonkwo.evidence)
    assert not any(
        "before they withdraw" in evidence for evidence in by_name(actors, "Tomas Hradek").evidence
    )


def test_another_speakers_quote_is_not_evidence_of_an_actor_in_the_same_sentence(extractor):
    text = (
        '"We will never give the land back to them," said Omar Haddad, the militia leader, while the '
        'United Nations envoy, Petra Lind, said, "We call on both sides to return to the talks."'
    )
    lind = by_name(extractor.extract(text), "Petra Lind")
    assert lind.evidence
    assert not any("give the land back" in evidence for evidence in lind.evidence)
    assert any("return to the talks" in evidence for evidence in lind.evidence)


def test_a_quote_belongs_to_the_speech_verb_of_its_own_sentence(extractor):
    text = (
        'The envoy, Rana Aziz, concurred by saying, "There was no secret deal between the two governments '
        'at all." Norway itself has denied any deal with the rebels.'
    )
    actors = extractor.extract(text)
    assert any("no secret deal" in evidence for evidence in by_name(actors, "Rana Aziz").evidence)
    assert not any("no secret deal" in evidence for evidence in by_name(actors, "Norway").evidence)
