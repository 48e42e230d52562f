"""`python -m pipeline.eval_stance` (`make eval-stance`): the actors and stance stages scored against gold.

Runs the configured actor extractor and stance backend on gold articles annotated per
`../shared/ANNOTATION.md` (default `../shared/data/gold/dev.jsonl`; any file in that format via
`gold_path=`), in one MLflow run that holds the pipeline's own params and timings plus the scores:
actor detection, stance macro-F1 and per-class precision/recall/F1, the confusion matrix (table and PNG),
accuracy on gold "none" actors, calibration, and the worst errors with their evidence. The scores row
also goes to `experiments/stance/RESULTS.md`, so the backends compared on a gold file sit in one table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

from pipeline import CONFIG_DIR
from pipeline.evaluate import (
    actor_detection_metrics,
    confusion_matrix_png,
    detection_errors,
    pair_actors,
    stance_metrics,
    worst_errors,
)
from pipeline.run import resolve_once, run_stages
from pipeline.stance import LABELS
from pipeline.track import Tracker

RESULTS_FILE = "RESULTS.md"
RESULTS_HEADER = (
    "| model | gold | macro-F1 | F1 aggressive | F1 conciliatory | F1 hedging | none acc. | ECE "
    "| actor recall | actor precision | actors+stance s/article | stance s/article |"
)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def evaluate_stance(cfg: DictConfig) -> dict[str, Any]:
    """Runs the stages on `cfg.gold_path`, scores them, writes and logs the report; the report's dict."""
    cfg = resolve_once(cfg)
    gold_path = Path(cfg.gold_path)
    if not gold_path.is_file():
        raise FileNotFoundError(
            f"gold file {gold_path} not found; give one with gold_path=path/to/gold.jsonl"
        )
    gold = read_jsonl(gold_path)
    missing = [str(article.get("id")) for article in gold if "actors" not in article]
    if missing:
        raise ValueError(
            f"{gold_path}: articles without gold 'actors' ({', '.join(missing[:5])}): not gold data"
        )
    name = cfg.eval.name or backend_name(cfg.stance["_target_"])

    with Tracker(**cfg.tracking) as tracker:
        run = run_stages(cfg, tracker)
        predictions = read_jsonl(run.output_dir / "predictions.jsonl")
        pairs = pair_actors(predictions, gold)
        detection = actor_detection_metrics(predictions, gold)
        stance = stance_metrics(pairs)
        articles = len(gold)
        metrics = {
            **{f"actor_{key}": value for key, value in detection.items()},
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
        }
        out = run.output_dir
        (out / "stance_eval.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        confusion_matrix_png(
            stance["confusion"]["matrix"], stance["confusion"]["labels"], out / "confusion.png"
        )
        (out / "stance_eval.txt").write_text(format_report(report) + "\n", encoding="utf-8")
        tracker.log_metrics(metrics)
        tracker.log_params({"eval.model": name, "eval.gold": str(gold_path)})
        for file_name in ("stance_eval.json", "stance_eval.txt", "confusion.png"):
            tracker.log_artifact(out / file_name)
        report["run_id"] = run.run_id
        report["output_dir"] = str(out)

    if cfg.eval.results_dir:
        record_result(Path(cfg.eval.results_dir), report)
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
            f"{error['predicted']} ({error['confidence']:.2f}) | {shorten(evidence, 160)}"
        )
    return "\n".join(lines)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def record_result(results_dir: Path, report: Mapping[str, Any]) -> Path:
    """Stores the report's scores as `results/<model>--<gold>.json` and rewrites RESULTS.md from all of them.

    One file per (model, gold file) means a re-run replaces its own row and leaves the others' alone.
    """
    rows_dir = results_dir / "results"
    rows_dir.mkdir(parents=True, exist_ok=True)
    row = {"model": report["model"], "gold": report["gold"], **report["metrics"]}
    stem = f"{report['model']}--{Path(report['gold']).stem}"
    (rows_dir / f"{stem}.json").write_text(json.dumps(row, indent=2, sort_keys=True) + "\n")
    rows = [json.loads(path.read_text()) for path in sorted(rows_dir.glob("*.json"))]
    path = results_dir / RESULTS_FILE
    path.write_text(render_results(rows), encoding="utf-8")
    return path


def render_results(rows: Sequence[Mapping[str, Any]]) -> str:
    """RESULTS.md: one table row per (model, gold file), best macro-F1 first."""
    lines = [
        "# Stance: results per model",
        "",
        "Written by `make eval-stance` (`python -m pipeline.eval_stance`): the actors and stance stages run on",
        "the gold file end to end, with our own actor extraction and evidence (see `pipeline/eval_stance.py`).",
        "Macro-F1 is over aggressive / conciliatory / hedging on matched actors whose gold stance is one of",
        "them; actor recall and precision count actors with a stance. Times are on the machine that ran it.",
        "",
        RESULTS_HEADER,
        "|" + "---|" * RESULTS_HEADER.count(" | ") + "---|",
    ]
    for row in sorted(rows, key=lambda r: (r["gold"], -r["stance_macro_f1"])):
        cells = [
            row["model"],
            row["gold"],
            *(
                f"{row[key]:.3f}"
                for key in (
                    "stance_macro_f1",
                    *(f"stance_f1_{label}" for label in LABELS),
                    "stance_none_accuracy",
                    "stance_ece",
                    "actor_recall",
                    "actor_precision",
                    "actors_stance_s_per_article",
                    "stance_s_per_article",
                )
            ),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


@hydra.main(config_path=str(CONFIG_DIR), config_name="eval_stance", version_base="1.3")
def main(cfg: DictConfig) -> None:
    report = evaluate_stance(cfg)
    print(format_report(report))
    print(f"\noutputs: {report['output_dir']}")
    print(f"mlflow run: {report['run_id']} ({cfg.tracking.tracking_uri})")


if __name__ == "__main__":
    main()
