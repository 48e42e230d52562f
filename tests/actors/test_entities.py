"""Entities: the mentions of one real-world entity merged, and the roles that refer back to a person."""

from tests.actors.conftest import by_name


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


def test_role_reference_resolves_to_the_person_introduced_with_it(extractor):
    text = (
        "Deputy Secretary Anna Keller met Foreign Minister Omar Haddad in Rabat on Monday. "
        "The Deputy Secretary welcomed the new trade agreement."
    )
    keller = by_name(extractor.extract(text), "Anna Keller")
    assert "The Deputy Secretary welcomed the new trade agreement." in keller.evidence
    assert "The Deputy Secretary" in keller.aliases


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
        "The President of Russia warned that sanctions would hurt Europe."
    )
    actors = extractor.extract(text)
    assert not any("would hurt Europe" in evidence for evidence in by_name(actors, "Ivan Sorokin").evidence)
    assert any("would hurt Europe" in evidence for evidence in by_name(actors, "Russia").evidence)


def test_a_commander_is_the_general_introduced_with_the_country(extractor):
    text = (
        "Today, U.S. Army General Mark Dolan presented his testimony to Congress. "
        "The top U.S. commander in Iraq said troops may be able to leave by the summer."
    )
    actors = extractor.extract(text)
    assert any("leave by the summer" in evidence for evidence in by_name(actors, "Mark Dolan").evidence)
    assert not by_name(actors, "United States").evidence
