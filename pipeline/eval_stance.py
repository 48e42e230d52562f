"""Scoring a run's actors and stance against gold: `python -m pipeline evaluation=stance` (`make eval-stance`).

`conf/evaluation/stance.yaml` runs the configured actor extractor and stance backend on gold articles
annotated per `../shared/ANNOTATION.md` (default `../shared/data/gold/dev.jsonl`; any file in that format
via `gold_path=`), in one MLflow run that holds the pipeline's own params and timings plus the scores:
actor detection, stance macro-F1 and per-class precision/recall/F1, the confusion matrix (table and PNG),
accuracy on gold "none" actors, calibration, and the worst errors with their evidence. `run.py` calls
`evaluate_run` whenever a config sets `gold_path`, so a sweep over backends (the `stance_backends`
experiment) evaluates each of them.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from pipeline.evaluate import (
    actor_detection_metrics,
    bootstrap_interval,
    confusion_matrix_png,
    detection_errors,
    pair_actors,
    stance_metrics,
    strict_macro_f1,
    worst_errors,
)
from pipeline.schema import LABELS, RunSummary
from pipeline.track import Tracker


def read_gold(path: Path) -> list[dict[str, Any]]:
    """The gold articles in `path` (JSONL, per ../shared/ANNOTATION.md); a clear error if it is not gold data."""
    if not path.is_file():
        raise FileNotFoundError(f"gold file {path} not found; give one with gold_path=path/to/gold.jsonl")
    with path.open(encoding="utf-8") as handle:
        gold = [json.loads(line) for line in handle if line.strip()]
    missing = [str(article.get("id")) for article in gold if "actors" not in article]
    if missing:
        raise ValueError(f"{path}: articles without gold 'actors' ({', '.join(missing[:5])}): not gold data")
    return gold


def evaluate_run(
    run: RunSummary, gold: list[dict[str, Any]], cfg: DictConfig, tracker: Tracker
) -> dict[str, Any]:
    """Scores the run's predictions.jsonl against `gold` (read from `cfg.gold_path`), writes and logs the
    report into the run; the report's dict.

    `cfg.eval.name` names the model in tables (null: the stance backend's module); `cfg.eval.worst_errors`
    is how many of the most confident errors to keep.
    """
    gold_path = Path(cfg.gold_path)
    with (run.output_dir / "predictions.jsonl").open(encoding="utf-8") as handle:
        predictions = [json.loads(line) for line in handle]
    pairs = pair_actors(predictions, gold)
    detection = actor_detection_metrics(predictions, gold)
    stance = stance_metrics(pairs)
    stance["strict_macro_f1_ci95"] = bootstrap_interval(pairs, strict_macro_f1, seed=cfg.seed)
    articles = len(gold)
    metrics = {
        **{f"actor_{key}": value for key, value in detection.items()},
        "stance_strict_macro_f1": stance["strict_macro_f1"],
        "stance_strict_macro_f1_ci95_low": stance["strict_macro_f1_ci95"][0],
        "stance_strict_macro_f1_ci95_high": stance["strict_macro_f1_ci95"][1],
        **{f"stance_strict_f1_{label}": scores["f1"] for label, scores in stance["strict_per_class"].items()},
        "stance_macro_f1": stance["macro_f1"],
        "stance_accuracy": stance["accuracy"],
        "stance_none_accuracy": stance["none_accuracy"],
        "stance_ece": stance["ece"],
        "stance_ece_coverage": stance["ece_coverage"],
        "stance_matched_actors": float(stance["matched_stance_actors"]),
        **{
            f"stance_{measure}_{label}": scores[measure]
            for label, scores in stance["per_class"].items()
            for measure in ("precision", "recall", "f1")
        },
        "actors_stance_s_per_article": (
            run.metrics.get("time_actors_s", 0.0) + run.metrics.get("time_stance_s", 0.0)
        )
        / articles,
        "stance_s_per_article": run.metrics.get("time_stance_s", 0.0) / articles,
    }
    name = cfg.eval.name or backend_name(cfg.stance["_target_"])
    report = {
        "model": name,
        "gold": gold_path.name,
        "articles": articles,
        "articles_rejected": int(run.metrics["articles_rejected"]),
        "metrics": metrics,
        "detection": detection,
        "stance": stance,
        "worst_errors": worst_errors(pairs, cfg.eval.worst_errors),
        "detection_errors": detection_errors(pairs),
        "run_id": run.run_id,
        "output_dir": str(run.output_dir),
    }
    out = run.output_dir
    (out / "stance_eval.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    confusion_matrix_png(stance["confusion"]["matrix"], stance["confusion"]["labels"], out / "confusion.png")
    (out / "stance_eval.txt").write_text(format_report(report) + "\n", encoding="utf-8")
    tracker.log_metrics(metrics)
    tracker.log_params({"eval.model": name, "eval.gold": str(gold_path)})
    for file_name in ("stance_eval.json", "stance_eval.txt", "confusion.png"):
        tracker.log_artifact(out / file_name)
    return report


def backend_name(target: str) -> str:
    """'pipeline.stance.trained.TrainedStanceClassifier' -> 'trained': the backend's module names it."""
    parts = target.split(".")
    return parts[-2] if len(parts) >= 2 else target


def format_report(report: Mapping[str, Any]) -> str:
    """The report as plain text for the terminal: scores, per-class table, confusion, worst errors."""
    detection, stance, metrics = report["detection"], report["stance"], report["metrics"]
    lines = [
        f"stance evaluation: {report['model']} on {report['gold']} "
        f"({report['articles']} articles, {report['articles_rejected']} rejected)",
        f"actors with a gold stance: recall {detection['recall']:.3f} "
        f"({round(detection['recall'] * detection['gold_stance_actors'])}/{int(detection['gold_stance_actors'])}), "
        f"precision {detection['precision']:.3f} ({int(detection['predicted_stance_actors'])} predicted)",
        f"stance, strict (every gold actor with a stance, a missed one counting as none; {stance['strict_actors']}): "
        f"macro-F1 {stance['strict_macro_f1']:.3f} (95% CI {stance['strict_macro_f1_ci95'][0]:.3f}-"
        f"{stance['strict_macro_f1_ci95'][1]:.3f}), "
        + ", ".join(f"{label} {scores['f1']:.3f}" for label, scores in stance["strict_per_class"].items()),
        f"stance on {stance['matched_stance_actors']} matched actors: macro-F1 {stance['macro_f1']:.3f}, "
        f"accuracy {stance['accuracy']:.3f}, none accuracy {stance['none_accuracy']:.3f}, "
        f"ECE {stance['ece']:.3f} (coverage {stance['ece_coverage']:.2f})",
        "",
        f"{'label':<14}{'precision':>10}{'recall':>8}{'f1':>7}{'support':>9}",
    ]
    for label in LABELS:
        scores = stance["per_class"][label]
        lines.append(
            f"{label:<14}{scores['precision']:>10.3f}{scores['recall']:>8.3f}{scores['f1']:>7.3f}"
            f"{scores['support']:>9}"
        )
    labels = stance["confusion"]["labels"]
    lines += ["", "confusion (rows gold, columns predicted):", " " * 14 + "".join(f"{x:>14}" for x in labels)]
    for label, row in zip(labels, stance["confusion"]["matrix"], strict=True):
        lines.append(f"{label:<14}" + "".join(f"{count:>14}" for count in row))
    lines += [
        "",
        f"time: actors+stance {metrics['actors_stance_s_per_article']:.3f} s/article, "
        f"stance {metrics['stance_s_per_article']:.3f} s/article",
        "",
        "worst errors (most confident first):",
    ]
    for error in report["worst_errors"][:10]:
        evidence = error["evidence"][0] if error["evidence"] else "(no evidence)"
        lines.append(
            f"- {error['article_id']} | {error['actor']}: gold {error['gold']}, predicted "
            f"{error['predicted']} ({error['confidence']:.2f}) | {textwrap.shorten(evidence, 160, placeholder='…')}"
        )
    return "\n".join(lines)
