"""Names: the folded keys and the configured tables, without spaCy."""

import sys

from omegaconf import OmegaConf

from pipeline import CONFIG_DIR
from pipeline.actors.names import NameTables, abbreviated, name_key


def tables() -> NameTables:
    config = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "actors" / "spacy.yaml"))
    settings = (
        "_target_",
        "_convert_",
        "spacy_model",
        "max_evidence",
        "min_evidence_words",
        "min_quote_words",
    )
    return NameTables(**{key: value for key, value in config.items() if key not in settings})


def test_name_key_drops_titles_and_spelling():
    titles = tables().titles
    assert name_key("President Barack Obama's", titles) == "barack obama"
    assert name_key("Deputy Secretary of State Wendy Sherman", titles) == "wendy sherman"


def test_a_compass_word_may_be_abbreviated():
    assert abbreviated("north korea") == "n korea"
    assert abbreviated("korea") is None


def test_country_names_capitals_bodies_and_abbreviations_give_the_state():
    names = tables()
    assert names.country_of("n korea") == names.country_of("dprk") == "North Korea"
    assert names.country_of("pyongyang") == "North Korea"
    assert names.country_of("foreign ministry of n korea") == "North Korea"
    assert names.country_of("government of mexico") == "Mexico"
    assert names.country_of("chinese foreign ministry") == "China"
    assert names.country_of("bank of england") is None  # a bank is no body of the state


def test_names_need_no_parser():
    assert "spacy" not in sys.modules or "pipeline.actors.names" in sys.modules  # importable on its own
    assert tables().strip_titles("Foreign Minister Sergei Lavrov") == "Sergei Lavrov"
