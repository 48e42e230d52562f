"""Agents: who says or does something in a sentence."""

from tests.actors.conftest import by_name, names


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


def test_unnamed_group_that_acts_is_a_group_actor(extractor):
    actors = extractor.extract("Insurgents attacked a police station near the border, killing two officers.")
    assert by_name(actors, "Insurgents").type == "group"


def test_a_statement_speaks_for_whoever_issued_it(extractor):
    text = (
        "The Foreign Ministry of N. Korea issued a statement on Monday. "
        'The statement called the report "a sheer lie and fabrication".\n\n'
        "A statement issued by the Iranian Foreign Ministry said the sanctions were illegal.\n\n"
        "According to a communique from the Russian Defence Ministry, the exercises will continue."
    )
    actors = extractor.extract(text)
    assert any("sheer lie" in evidence for evidence in by_name(actors, "North Korea").evidence)
    assert any("sanctions were illegal" in evidence for evidence in by_name(actors, "Iran").evidence)
    assert any("exercises will continue" in evidence for evidence in by_name(actors, "Russia").evidence)


def test_police_and_critics_who_act_are_group_actors(extractor):
    actors = extractor.extract(
        "Police arrested six protesters on Sunday. Critics said the arrests were illegal."
    )
    assert by_name(actors, "Police").evidence == ["Police arrested six protesters on Sunday."]
    assert by_name(actors, "Critics").evidence == ["Critics said the arrests were illegal."]
