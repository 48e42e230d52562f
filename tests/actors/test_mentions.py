"""Mentions: names found and what kind of actor each is."""

from pipeline.text import fold_name
from tests.actors.conftest import by_name, names


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


def test_news_agencies_numbers_and_dates_are_not_actors(extractor):
    text = (
        "Reuters reported on Friday, June 12, that 300 protesters marched in the capital. "
        "The Associated Press said 2,000 police officers were deployed."
    )
    actors = extractor.extract(text)
    found = {fold_name(name) for name in names(actors)}
    assert not found & {"reuters", "associated press", "friday", "june 12", "300", "2,000"}
    assert by_name(actors, "protesters").type == "group"  # who marched is an actor


def test_acronym_merges_with_its_written_out_name(extractor):
    text = (
        "The World Health Organization (WHO) warned of a new outbreak on Monday. "
        "The WHO said vaccines would be shipped within a week."
    )
    who = by_name(extractor.extract(text), "World Health Organization")
    assert "WHO" in who.aliases
    assert len(who.evidence) == 2


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


def test_an_abbreviated_country_name_is_the_same_state(extractor):
    text = "North Korea rejected the report on Monday. A day later N. Korea threatened to retaliate."
    north_korea = by_name(extractor.extract(text), "North Korea")
    assert {"North Korea", "N. Korea"} <= set(north_korea.aliases)
    assert len(north_korea.evidence) == 2
