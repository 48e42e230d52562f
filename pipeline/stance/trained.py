"""The trained stance backend: a sentence encoder fine-tuned end to end as a cross-encoder that reads one
actor at a time, with four classes (aggressive, conciliatory, hedging, none).

Its input is the pair (actor name, the actor's context: its evidence, then the article's other sentences
that name it, every mention marked; `context.py`), so the stance is judged from everything the actor
says or does in the article rather than sentence by sentence, two actors in one sentence read differently,
and an actor the attribution rules gave no evidence can still be found taking a stance (or be judged only
mentioned). The probabilities are the model's softmax over the four classes at a temperature fitted on
held-out folds (`train.py`). The evidence returned is what carries the chosen stance: the actor's evidence
(or, when it has none, the sentences naming it), strongest first by the model's reading of each alone.

The artifact is a folder holding `weights.safetensors` (every fine-tuned tensor but the word embeddings,
which stay the base encoder's and are loaded from its package, checked by SHA-256) and `metadata.json`
(classes, base encoder, input length, temperature, training data digest, cross-validated scores): no
pickle. Retrain with `make train-stance`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from scipy.special import softmax
from transformers import AutoModelForSequenceClassification, AutoTokenizer, BatchEncoding

from pipeline.files import write_text_atomic
from pipeline.models import file_sha256, pick_device
from pipeline.schema import NO_STANCE, STANCE_CLASSES
from pipeline.stance import ActorStance, Params, distribution
from pipeline.stance.context import ActorContext, actor_contexts
from pipeline.stance.encoder import encoder_path_for

SHIPPED_ARTIFACT_DIR = Path(__file__).resolve().parent / "artifacts" / "trained"
WEIGHTS_FILE = "weights.safetensors"
METADATA_FILE = "metadata.json"
# Kept from the base encoder, not shipped: the largest tensor, and the one fine-tuning would barely move.
FROZEN_TENSORS = frozenset(
    {"bert.embeddings.word_embeddings.weight", "mpnet.embeddings.word_embeddings.weight"}
)
# Mention sentences beyond the evidence whose rows rank an actor's evidence when it has none of its own.
EVIDENCE_FROM_MENTIONS = 2

log = logging.getLogger(__name__)


class CrossEncoder:
    """A sequence classifier over STANCE_CLASSES reading (actor name, context) pairs."""

    def __init__(self, base_path: Path, device: str = "auto", max_length: int = 192, batch_size: int = 32):
        self.base_path, self.max_length, self.batch_size = base_path, max_length, batch_size
        self.device = pick_device(device)
        self.tokenizer = AutoTokenizer.from_pretrained(base_path)
        self.model = AutoModelForSequenceClassification.from_pretrained(
            base_path,
            num_labels=len(STANCE_CLASSES),
            id2label=dict(enumerate(STANCE_CLASSES)),
            label2id={label: index for index, label in enumerate(STANCE_CLASSES)},
            use_safetensors=True,
        ).to(self.device)
        self.model.eval()

    def encode(self, names: Sequence[str], texts: Sequence[str]) -> BatchEncoding:
        return self.tokenizer(
            list(names),
            list(texts),
            truncation="only_second",
            max_length=self.max_length,
            padding=True,
            return_tensors="pt",
        ).to(self.device)

    @torch.inference_mode()
    def logits(self, names: Sequence[str], texts: Sequence[str]) -> np.ndarray:
        """(len(texts), len(STANCE_CLASSES)), in length-sorted batches to keep padding small."""
        out = np.zeros((len(texts), len(STANCE_CLASSES)), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            inputs = self.encode([names[i] for i in batch], [texts[i] for i in batch])
            out[batch] = self.model(**inputs).logits.float().cpu().numpy()
        return out

    def trainable(self) -> dict[str, torch.nn.Parameter]:
        """The tensors fine-tuning changes and the artifact holds."""
        return {name: p for name, p in self.model.named_parameters() if name not in FROZEN_TENSORS}

    def save_weights(self, path: Path) -> None:
        # float16 halves the artifact; the model runs in float32 after loading.
        tensors = {
            name: p.detach().to("cpu", torch.float16).contiguous() for name, p in self.trainable().items()
        }
        save_file(tensors, str(path))

    def load_weights(self, path: Path) -> None:
        tensors = load_file(str(path))
        missing = set(self.trainable()) - set(tensors)
        if missing:
            raise ValueError(f"{path} lacks {len(missing)} tensors of the model, e.g. {sorted(missing)[:3]}")
        self.model.load_state_dict({name: t.float() for name, t in tensors.items()}, strict=False)


def render_pairs(
    contexts: Sequence[ActorContext], names: Sequence[Sequence[str]]
) -> tuple[list[str], list[str]]:
    """The model's (first, second) texts for each context: the actor's name, its marked context."""
    return [context.name for context in contexts], [
        context.render(actor_names) for context, actor_names in zip(contexts, names, strict=True)
    ]


def write_artifact(directory: Path, encoder: CrossEncoder, metadata: Mapping[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    encoder.save_weights(directory / WEIGHTS_FILE)
    write_metadata(directory, metadata)


def write_metadata(directory: Path, metadata: Mapping[str, Any]) -> None:
    write_text_atomic(directory / METADATA_FILE, json.dumps(metadata, indent=2, ensure_ascii=False) + "\n")


class TrainedStanceClassifier:
    """Loads an artifact folder written by `python -m pipeline.stance.train` (None: the one shipped here)."""

    def __init__(
        self,
        artifact_dir: str | Path | None = None,
        encoder_path: str | Path | None = None,
        device: str = "auto",
        batch_size: int = 32,
    ):
        self.artifact_dir = Path(artifact_dir) if artifact_dir is not None else SHIPPED_ARTIFACT_DIR
        self.metadata = json.loads((self.artifact_dir / METADATA_FILE).read_text(encoding="utf-8"))
        if tuple(self.metadata["classes"]) != STANCE_CLASSES:
            raise ValueError(
                f"artifact {self.artifact_dir} has classes {self.metadata['classes']}, expected {STANCE_CLASSES}"
            )
        base = self.metadata["encoder"]
        base_path = Path(encoder_path) if encoder_path is not None else encoder_path_for(base["id"])
        if file_sha256(base_path / "model.safetensors") != base["sha256"]:
            raise ValueError(
                f"artifact {self.artifact_dir} was fine-tuned from encoder weights with sha256 {base['sha256']}, "
                f"but {base_path} holds different ones"
            )
        self.encoder = CrossEncoder(base_path, device, self.metadata["max_length"], batch_size)
        self.encoder.load_weights(self.artifact_dir / WEIGHTS_FILE)
        self.temperature = float(self.metadata["temperature"])
        self.max_mentions = int(self.metadata["max_mentions"])

    def probabilities(self, contexts: Sequence[ActorContext], names: Sequence[Sequence[str]]) -> np.ndarray:
        """(len(contexts), len(STANCE_CLASSES)), calibrated."""
        if not contexts:
            return np.zeros((0, len(STANCE_CLASSES)))
        return softmax(self.encoder.logits(*render_pairs(contexts, names)) / self.temperature, axis=1)

    def classify_articles(
        self, texts: Sequence[str], actors: Sequence[Sequence[dict[str, Any]]]
    ) -> list[list[ActorStance]]:
        contexts, names = [], []
        for text, article in zip(texts, actors, strict=True):
            triples = [(actor["name"], actor["aliases"], actor["evidence"]) for actor in article]
            contexts += actor_contexts(text, triples, self.max_mentions)
            names += [[actor["name"], *actor["aliases"]] for actor in article]
        rows = self.probabilities(contexts, names)
        stances = [STANCE_CLASSES[int(np.argmax(row))] for row in rows]
        evidence = self.rank_evidence(contexts, names, stances)
        results = iter(
            ActorStance(stance, distribution(row), pieces)
            for stance, row, pieces in zip(stances, rows, evidence, strict=True)
        )
        return [[next(results) for _ in article] for article in actors]

    def rank_evidence(
        self, contexts: Sequence[ActorContext], names: Sequence[Sequence[str]], stances: Sequence[str]
    ) -> list[list[str]]:
        """Per actor, the pieces that carry its stance, strongest first: its evidence (or, without any,
        its best `EVIDENCE_FROM_MENTIONS` sentences naming it) each read alone by the model. An actor
        judged "none" keeps its evidence in article order."""
        pieces: list[ActorContext] = []
        owners: list[int] = []
        for index, (context, stance) in enumerate(zip(contexts, stances, strict=True)):
            if stance == NO_STANCE or len(context.own) == 1:
                continue
            units = [(unit,) for unit in context.own] if context.own else None
            alone = (
                [ActorContext(context.name, unit, ()) for unit in units]
                if units
                else [ActorContext(context.name, (), (unit,)) for unit in context.mentions]
            )
            pieces += alone
            owners += [index] * len(alone)
        rows = self.probabilities(pieces, [names[i] for i in owners])
        ranked: list[list[tuple[float, str]]] = [[] for _ in contexts]
        for piece, owner, row in zip(pieces, owners, rows, strict=True):
            text = (piece.own or piece.mentions)[0]
            ranked[owner].append((float(row[STANCE_CLASSES.index(stances[owner])]), text))
        out = []
        for context, scored in zip(contexts, ranked, strict=True):
            if not scored:
                out.append(list(context.own))
                continue
            best = [text for _, text in sorted(scored, key=lambda item: -item[0])]
            out.append(best if context.own else best[:EVIDENCE_FROM_MENTIONS])
        return out

    def params(self) -> Params:
        return {
            "backend": "trained",
            "encoder": self.metadata["encoder"]["id"],
            "artifact_dir": str(self.artifact_dir),
            "training_data_sha256": self.metadata["training"]["data_sha256"],
            "temperature": self.temperature,
            "max_length": self.encoder.max_length,
        }
