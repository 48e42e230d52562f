"""The actors stage's fixtures: the extractor as conf/actors/spacy.yaml builds it, with the real spaCy model."""

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from pipeline import CONFIG_DIR
from pipeline.actors import Actor, ActorExtractor


@pytest.fixture(scope="session")
def extractor() -> ActorExtractor:
    return instantiate(OmegaConf.load(CONFIG_DIR / "actors" / "spacy.yaml"))


def by_name(actors: list[Actor], name: str) -> Actor:
    found = [actor for actor in actors if actor.name == name]
    assert found, f"no actor {name!r} in {[actor.name for actor in actors]}"
    assert len(found) == 1, f"{name!r} split into {len(found)} actors"
    return found[0]


def names(actors: list[Actor]) -> set[str]:
    return {actor.name for actor in actors}
