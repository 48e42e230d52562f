"""`make eval-summaries`: ROUGE and faithfulness of the configured summariser beside lead-N and published systems.

`python -m pipeline.eval_summaries [overrides]` composes the pipeline's config with `evaluation=summaries`
(conf/evaluation/summaries.yaml adds `eval_summaries:`), so any `summarizer=...` or `faithfulness.threshold=...` override works as for a run. On
each dataset there (GUM's Wikinews news articles, FRANK's CNN/DailyMail and XSum articles, the first `limit`
of each) it runs the summarize stage, then scores it, the lead-N baseline and the published systems'
summaries shipped in the file on the same articles with the same scorer: ROUGE-1/2/Lsum F1 (`rouge-score`,
stemmed; Lsum over newline-separated sentences) and the faithfulness checker. Every text, references
included, is detokenised the same way first: the CNN/DM references and systems are PTB-tokenised.

It then validates the faithfulness checker on FRANK's human judgements of the published systems' summaries
(ROC AUC and balanced accuracy against "has a factual error"). One MLflow run holds the metrics, the
per-article table (`eval_summaries.jsonl`) and the results page, which is also written to
experiments/summaries/RESULTS.md with the command that produced it.
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import datasets
import numpy as np
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict
from rouge_score.rouge_scorer import RougeScorer
from sklearn.metrics import balanced_accuracy_score, precision_recall_fscore_support, roc_auc_score

from pipeline import CONFIG_DIR
from pipeline.files import read_jsonl
from pipeline.ingest import clean_text
from pipeline.run import config_params, resolve_once
from pipeline.summarize.faithfulness import Faithfulness, FaithfulnessChecker
from pipeline.summarize.judgements import ARTICLES_FILE as JUDGED_ARTICLES
from pipeline.summarize.judgements import ROUNDS_DIR, SPLITS, judged_summaries
from pipeline.summarize.lead import lead_sentences
from pipeline.sweep import invocation
from pipeline.text import TERMINAL, detokenize, is_abbreviation
from pipeline.track import Tracker, git_commit

ROUGE_TYPES = ("rouge1", "rouge2", "rougeLsum")


@dataclass(frozen=True)
class EvalArticle:
    id: str
    text: str
    references: list[str]
    systems: dict[str, str] = field(default_factory=dict)  # published systems' summaries by system name
    factuality: dict[str, float] = field(default_factory=dict)  # FRANK's judgement per system: 1.0 = no error


def read_gum(path: Path, genre: str) -> list[EvalArticle]:
    """GUM's Wikinews documents of `genre`, each line a paragraph, with their human references."""
    articles = []
    for record in read_jsonl(path):
        if record["genre"] == genre:
            # Each line is a paragraph (headline, dateline, caption): blank lines make them so for the
            # pipeline, whose clean-up then drops the photo credits as it would in a run.
            text = clean_text(record["text"].replace("\n", "\n\n"))
            articles.append(EvalArticle(record["id"], text, list(record["human_summaries"])))
    return articles


def read_frank(path: Path, dataset: str) -> list[EvalArticle]:
    """FRANK's articles from `dataset` ("cnndm" or "xsum"), with reference, system summaries and judgements."""
    return [
        EvalArticle(
            record["id"],
            clean_text(record["article"]),
            [record["reference"]],
            dict(record["systems"]),
            dict(record["factuality"]),
        )
        for record in read_jsonl(path)
        if record["dataset"] == dataset
    ]


def rouge_text(text: str) -> str:
    """`text` detokenised, one sentence a line: what ROUGE-Lsum splits on (ROUGE-1/2 ignore the breaks).

    A sentence ends at a word with terminal punctuation, whatever case follows: several published systems
    write lower case only, and splitting them less would cost them ROUGE-Lsum."""
    lines: list[str] = []
    words: list[str] = []
    for word in detokenize(text).split():
        words.append(word)
        if TERMINAL.search(word) and not is_abbreviation(word):
            lines.append(" ".join(words))
            words = []
    return "\n".join([*lines, " ".join(words)]).strip()


def rouge_scores(scorer: RougeScorer, summary: str, references: list[str]) -> dict[str, float]:
    """ROUGE F1 x 100 of `summary` against the best-matching reference, per type."""
    scores = scorer.score_multi([rouge_text(r) for r in references], rouge_text(summary))
    return {name: 100 * scores[name].fmeasure for name in ROUGE_TYPES}


def score_rows(
    dataset: str,
    system: str,
    articles: list[EvalArticle],
    summaries: list[str],
    verdicts: list[Faithfulness],
    scorer: RougeScorer,
) -> list[dict[str, Any]]:
    """The per-article table's rows for one system on one dataset."""
    return [
        {
            "dataset": dataset,
            "system": system,
            "id": article.id,
            "summary": summary,
            **rouge_scores(scorer, summary, article.references),
            "faithfulness": verdict.score,
            "faithful": verdict.faithful,
            "unsupported": verdict.unsupported,
            "factuality": article.factuality.get(system),
        }
        for article, summary, verdict in zip(articles, summaries, verdicts, strict=True)
    ]


def summarise_rows(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Mean ROUGE, the share of summaries flagged faithful and the mean faithfulness score of `rows`."""
    return {
        **{name: float(np.mean([row[name] for row in rows])) for name in ROUGE_TYPES},
        "faithful_pct": 100 * float(np.mean([row["faithful"] for row in rows])),
        "faithfulness": float(np.mean([row["faithfulness"] for row in rows])),
    }


def frank_validation(
    articles: Mapping[str, list[EvalArticle]], checker: FaithfulnessChecker
) -> list[dict[str, Any]]:
    """The checker against FRANK's human judgement on every judged system summary, per dataset and all: ROC
    AUC of its score and balanced accuracy of its flag for "has no factual error"."""
    judged = [
        (name, article, detokenize(article.systems[system]), factual == 1.0)
        for name, dataset in articles.items()
        for article in dataset
        for system, factual in article.factuality.items()
    ]
    verdicts = checker.check_batch([j[2] for j in judged], [j[1].text for j in judged])
    groups = {
        **{name: [i for i, j in enumerate(judged) if j[0] == name] for name in articles},
        "all": list(range(len(judged))),
    }
    table = []
    for group, members in groups.items():
        truth = [judged[i][3] for i in members]
        if len(set(truth)) < 2:
            continue  # neither score is defined without both faithful and unfaithful summaries
        table.append(
            {
                "group": group,
                "summaries": len(members),
                "with_error_pct": 100 * (1 - float(np.mean(truth))),
                "roc_auc": 100 * roc_auc_score(truth, [verdicts[i].score for i in members]),
                "balanced_accuracy": 100
                * balanced_accuracy_score(truth, [verdicts[i].faithful for i in members]),
            }
        )
    return table


def evaluate_summaries(cfg: DictConfig) -> dict[str, Any]:
    """Runs the evaluation `cfg` (composed with `evaluation=summaries`) describes, in one MLflow run; the results
    page, its tables, the logged metrics and the run's id."""
    cfg = resolve_once(cfg)
    settings = cfg.eval_summaries
    output_dir = Path(cfg.paths.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    readers = {"gum": read_gum, "frank": read_frank}
    loaded = {
        name: readers[spec.reader](Path(settings.data_dir) / spec.file, spec.subset)
        for name, spec in settings.datasets.items()
    }
    with Tracker(**cfg.tracking) as tracker:
        OmegaConf.save(cfg, output_dir / "config.yaml")
        tracker.log_config(config_params(cfg), output_dir / "config.yaml")
        stage = instantiate(cfg.stage.summarize)
        for prefix, params in stage.params().items():
            tracker.log_params(params, prefix=prefix)
        # The stage's own checker judges the model's summaries and the baselines' alike.
        checker: FaithfulnessChecker = stage.faithfulness
        scorer = RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
        rows: list[dict[str, Any]] = []
        seconds: dict[str, float] = {}
        for name, spec in settings.datasets.items():
            articles = loaded[name][: spec.limit]
            started = time.perf_counter()
            done = stage(
                datasets.Dataset.from_dict(
                    {"id": [a.id for a in articles], "text": [a.text for a in articles]}
                )
            )
            seconds[name] = (time.perf_counter() - started) / max(len(articles), 1)
            verdicts = list(
                map(
                    Faithfulness,
                    done["summary_faithfulness"],
                    done["summary_faithful"],
                    done["summary_unsupported"],
                )
            )
            rows += score_rows(name, settings.name, articles, done["summary"], verdicts, scorer)
            for system, summaries in baseline_summaries(articles, spec.lead_sentences).items():
                judged = checker.check_batch(summaries, [a.text for a in articles])
                rows += score_rows(name, system, articles, summaries, judged, scorer)
        table = summary_table(rows)
        validation = frank_validation({n: loaded[n] for n in settings.validate_on}, checker)
        judged, checks = judged_table(checker)
        metrics = {
            **{
                f"{row['dataset']}_{metric_name(row['system'])}_{key}": value
                for row in table
                for key, value in row.items()
                if isinstance(value, float)
            },
            **{f"{name}_s_per_article": value for name, value in seconds.items()},
            **{
                f"frank_{metric_name(row['group'])}_{key}": value
                for row in validation
                for key, value in row.items()
                if key in ("roc_auc", "balanced_accuracy")
            },
            **{
                f"judged_{row['round']}_{row['split']}_{key}": float(value)
                for row in judged
                for key, value in row.items()
                if key in ("wins", "ties", "losses", "win_or_tie_pct", "error_pct", "lead3_error_pct")
            },
            **{
                f"checker_{row['split']}_{key}": float(value)
                for row in checks
                for key, value in row.items()
                if key in ("precision", "recall")
            },
        }
        tracker.log_metrics(metrics)
        page = results_page(settings, table, validation, seconds, tracker.run_id) + judged_page(
            judged, checks
        )
        (output_dir / "results.md").write_text(page, encoding="utf-8")
        with (output_dir / "eval_summaries.jsonl").open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        for file_name in ("eval_summaries.jsonl", "results.md"):
            tracker.log_artifact(output_dir / file_name)
        if settings.results_path:
            Path(settings.results_path).parent.mkdir(parents=True, exist_ok=True)
            Path(settings.results_path).write_text(page, encoding="utf-8")
        return {
            "page": page,
            "table": table,
            "validation": validation,
            "metrics": metrics,
            "run_id": tracker.run_id,
        }


def baseline_summaries(articles: list[EvalArticle], lead: int) -> dict[str, list[str]]:
    """Per baseline (lead-N, then each published system the articles carry), its summaries of `articles`."""
    systems = articles[0].systems if articles else {}
    return {
        f"lead-{lead}": [lead_sentences(a.text, lead) for a in articles],
        **{system: [detokenize(a.systems[system]) for a in articles] for system in systems},
    }


def summary_table(rows: list[dict[str, Any]], lead_prefix: str = "lead-") -> list[dict[str, Any]]:
    """One row per (dataset, system), in the order they were scored, with the 95% bootstrap interval of its
    mean ROUGE-2 and of its per-article difference to the dataset's lead-N baseline."""
    keys = list(dict.fromkeys((row["dataset"], row["system"]) for row in rows))
    table = []
    for dataset, system in keys:
        members = [r for r in rows if (r["dataset"], r["system"]) == (dataset, system)]
        lead = {
            r["id"]: r["rouge2"]
            for r in rows
            if r["dataset"] == dataset and r["system"].startswith(lead_prefix)
        }
        gaps = [r["rouge2"] - lead[r["id"]] for r in members if r["id"] in lead]
        table.append(
            {
                "dataset": dataset,
                "system": system,
                "articles": len(members),
                **summarise_rows(members),
                "rouge2_ci95": mean_interval([r["rouge2"] for r in members]),
                "rouge2_vs_lead": float(np.mean(gaps)) if gaps else 0.0,
                "rouge2_vs_lead_ci95": mean_interval(gaps) if gaps else (0.0, 0.0),
            }
        )
    return table


def mean_interval(values: Sequence[float], resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """The 95% percentile bootstrap interval of the mean of `values` (articles resampled with replacement)."""
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), (resamples, len(data)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def judged_table(checker: FaithfulnessChecker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """From the team's judged summaries (data/summaries/): per round (the summariser judged) and split, the
    preference against lead-3 and the share of summaries with an error a majority of judges found (95%
    Wilson intervals); and the checker's precision and recall at flagging those errors."""
    articles = {a["id"]: a for a in read_jsonl(JUDGED_ARTICLES)}
    rows = []
    for merged in sorted(ROUNDS_DIR.glob("*/merged.jsonl")):
        records = list(read_jsonl(merged))
        for split in SPLITS:
            chosen = [r for r in records if articles[r["id"]]["split"] == split]
            if not chosen:
                continue
            preferred = Counter(r["preferred"] for r in chosen)
            errors = sum(r["has_error"]["system"] for r in chosen)
            rows.append(
                {
                    "round": merged.parent.name,
                    "split": split,
                    "articles": len(chosen),
                    "wins": preferred["system"],
                    "ties": preferred["tie"],
                    "losses": preferred["lead3"],
                    "win_or_tie_pct": 100 * (preferred["system"] + preferred["tie"]) / len(chosen),
                    "win_or_tie_ci95": wilson_interval(preferred["system"] + preferred["tie"], len(chosen)),
                    "error_pct": 100 * errors / len(chosen),
                    "error_ci95": wilson_interval(errors, len(chosen)),
                    "lead3_error_pct": 100 * sum(r["has_error"]["lead3"] for r in chosen) / len(chosen),
                }
            )
    checks = []
    for split in SPLITS:
        judged = judged_summaries(split)
        if not judged:
            continue
        verdicts = checker.check_batch([j["summary"] for j in judged], [j["text"] for j in judged])
        truth = [int(j["has_error"]) for j in judged]
        flagged = [int(not v.faithful) for v in verdicts]
        precision, recall, _, _ = precision_recall_fscore_support(
            truth, flagged, average="binary", zero_division=0
        )
        checks.append(
            {
                "split": split,
                "summaries": len(judged),
                "with_error": sum(truth),
                "flagged": sum(flagged),
                "precision": 100 * precision,
                "recall": 100 * recall,
            }
        )
    return rows, checks


def wilson_interval(successes: int, total: int) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion, in percent."""
    if not total:
        return 0.0, 0.0
    z, share = 1.96, successes / total
    centre = (share + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return 100 * max(0.0, centre - half), 100 * min(1.0, centre + half)


def metric_name(text: str) -> str:
    """An MLflow-safe metric name part: "lead-3" -> "lead_3", "odd articles (held out)" -> "odd_articles_held_out"."""
    return re.sub(r"\W+", "_", text).strip("_").lower()


def results_page(
    settings: DictConfig,
    table: list[dict[str, Any]],
    validation: list[dict[str, Any]],
    seconds: Mapping[str, float],
    run_id: str,
) -> str:
    """experiments/summaries/RESULTS.md: both tables, the settings that made them and how to make them again."""
    limits = ", ".join(f"{name} {spec.limit}" for name, spec in settings.datasets.items())
    lines = [
        "# Summaries: ROUGE and faithfulness",
        "",
        f"Produced by `{invocation()}` (or `make eval-summaries ARGS=...`) on {datetime.now(UTC):%Y-%m-%d} at commit "
        f"`{git_commit()[:12]}`; MLflow run `{run_id}`. Articles per dataset (the first of each, `limit`): {limits}; "
        "every row of a dataset is scored on the same articles. ROUGE F1 x 100 (rouge-score, stemmed; Lsum on "
        "newline-separated sentences; every text detokenised alike; best of several references on GUM). "
        "Faithful %: summaries the checker passes (conf/faithfulness/).",
        "",
        "| dataset | system | articles | R-1 | R-2 (95% CI) | R-2 minus lead-N (95% CI) | R-Lsum | faithful % |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['dataset']} | {'**' + r['system'] + '**' if r['system'] == settings.name else r['system']} | {r['articles']} "
        f"| {r['rouge1']:.1f} | {r['rouge2']:.1f} ({r['rouge2_ci95'][0]:.1f}-{r['rouge2_ci95'][1]:.1f}) "
        f"| {r['rouge2_vs_lead']:+.1f} ({r['rouge2_vs_lead_ci95'][0]:+.1f} to {r['rouge2_vs_lead_ci95'][1]:+.1f}) "
        f"| {r['rougeLsum']:.1f} | {r['faithful_pct']:.0f} |"
        for r in table
    ]
    lines += [
        "",
        "Seconds per article for the summarize stage (faithfulness check included; wall clock, shared CPU): "
        + ", ".join(f"{name} {value:.1f}" for name, value in seconds.items())
        + ".",
        "",
        "## Faithfulness checker against FRANK's human judgements",
        "",
        "Every judged system summary of the FRANK articles; positive class: no factual error. The checker's "
        "weights were fitted without FRANK (pipeline/summarize/checker_fit.py), so every row is held out. "
        "The pooled row mixes CNN/DM (mostly faithful) with XSum (mostly not), so it partly ranks the datasets: "
        "read the per-dataset rows. Literature anchors (ROC AUC on the SummaC benchmark, not the same data): "
        "SummaC-ZS ~79, SummaC-Conv ~81, AlignScore-base ~87.",
        "",
        "| group | summaries | with an error % | ROC AUC | balanced accuracy |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['group']} | {r['summaries']} | {r['with_error_pct']:.0f} | {r['roc_auc']:.1f} "
        f"| {r['balanced_accuracy']:.1f} |"
        for r in validation
    ]
    return "\n".join(lines) + "\n"


def judged_page(judged: list[dict[str, Any]], checks: list[dict[str, Any]]) -> str:
    """The results page's section on the team's judged summaries (data/summaries/README.md)."""
    lines = [
        "",
        "## Judged by readers: blind preference against lead-3 and factual errors",
        "",
        "data/summaries/: per article, two independent judges saw the article and two summaries in random order (the "
        "round's summariser and lead-3), said which a busy reader would rather get and listed each one's factual "
        "errors; a third judge settled disagreements. An error counts when a majority of judges found one. The "
        "held-out articles are judged only to check a finished summariser. 95% Wilson intervals.",
        "",
        "| round | split | articles | wins / ties / losses vs lead-3 | preferred or tied % | with an error % | lead-3 with an error % |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['round']} | {r['split']} | {r['articles']} | {r['wins']} / {r['ties']} / {r['losses']} "
        f"| {r['win_or_tie_pct']:.0f} ({r['win_or_tie_ci95'][0]:.0f}-{r['win_or_tie_ci95'][1]:.0f}) "
        f"| {r['error_pct']:.0f} ({r['error_ci95'][0]:.0f}-{r['error_ci95'][1]:.0f}) | {r['lead3_error_pct']:.0f} |"
        for r in judged
    ]
    lines += [
        "",
        "The faithfulness checker's flag against the judges' error labels (every judged summary, both systems):",
        "",
        "| split | summaries | with an error | flagged | precision % | recall % |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {c['split']} | {c['summaries']} | {c['with_error']} | {c['flagged']} | {c['precision']:.0f} | {c['recall']:.0f} |"
        for c in checks
    ]
    return "\n".join(lines) + "\n"


def compose_config(overrides: list[str]) -> DictConfig:
    """The pipeline's config with `evaluation=summaries` and `overrides`; `eval_summaries.name` defaults to the
    summarizer config's name (`qwen_coder_0.5b`, `lead3`, ...)."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=["evaluation=summaries", *overrides], return_hydra_config=True)
    with open_dict(cfg):
        if cfg.eval_summaries.name is None:
            cfg.eval_summaries.name = cfg.hydra.runtime.choices.summarizer
        # Hydra's own node interpolates values only a running Hydra app defines; the evaluation needs none of it.
        del cfg["hydra"]
    return cfg


def main(overrides: list[str]) -> None:
    result = evaluate_summaries(compose_config(overrides))
    print(result["page"])
    print(f"mlflow run: {result['run_id']}")


if __name__ == "__main__":
    main(sys.argv[1:])
