"""Minimum-Bayes-risk selection and paired gaps, from saved summaries (experiments/summaries/MODELS.md).

    python experiments/summaries/mbr.py [--dataset cnndm] NAME NAME [NAME ...]
    python experiments/summaries/mbr.py --all-pools NAME NAME NAME [NAME ...]
    python experiments/summaries/mbr.py --gap-to BASELINE NAME

NAMEs are runs of compare.py (outputs/compare/NAME_<dataset>.jsonl) over the same articles.
- Selection: for each article, keep the candidate with the highest mean ROUGE-2 F1 against the other
  candidates (no reference involved). Prints the ROUGE-2 of that selection against the references, of each
  run, and of an oracle that picks the best candidate by the reference.
- --all-pools: score every pool of 3-5 runs that holds the first NAME, and print the best pools and the
  spread, so a good pool is not mistaken for a lucky one.
- --gap-to BASELINE: NAME's mean ROUGE-2 minus BASELINE's, with a 95 % interval from 10,000 bootstrap
  resamples of the per-article differences.
"""

from __future__ import annotations

import argparse
import itertools
import json

import numpy as np
from compare import output_path
from rouge_score.rouge_scorer import RougeScorer

SCORER = RougeScorer(["rouge2"], use_stemmer=True)


def load_run(name: str, dataset: str) -> dict[str, dict]:
    rows = [json.loads(line) for line in output_path(name, dataset).read_text(encoding="utf-8").splitlines()]
    return {row["id"]: row for row in rows}


def select_by_agreement(candidates: list[str]) -> int:
    """Index of the candidate with the highest mean ROUGE-2 F1 against the others."""
    agreement = [
        np.mean(
            [SCORER.score(other, text)["rouge2"].fmeasure for j, other in enumerate(candidates) if j != i]
        )
        for i, text in enumerate(candidates)
    ]
    return int(np.argmax(agreement))


def mbr_rouge2(runs: list[dict[str, dict]]) -> tuple[float, float]:
    """Mean reference ROUGE-2 of the agreement selection and of the oracle selection."""
    chosen, oracle = [], []
    for article_id in runs[0]:
        rows = [run[article_id] for run in runs]
        chosen.append(rows[select_by_agreement([row["summary"] for row in rows])]["rouge2"])
        oracle.append(max(row["rouge2"] for row in rows))
    return float(np.mean(chosen)), float(np.mean(oracle))


def print_gap(run: dict[str, dict], baseline: dict[str, dict]) -> None:
    differences = np.array([run[article_id]["rouge2"] - baseline[article_id]["rouge2"] for article_id in run])
    rng = np.random.default_rng(0)
    means = [differences[rng.integers(0, len(differences), len(differences))].mean() for _ in range(10_000)]
    low, high = np.percentile(means, [2.5, 97.5])
    print(
        f"gap {differences.mean():+.2f} ROUGE-2 over {len(differences)} articles, 95 % interval {low:+.2f} to "
        f"{high:+.2f}; per-article standard deviation {differences.std(ddof=1):.1f}"
    )


def print_pools(runs: dict[str, dict[str, dict]]) -> None:
    first, *others = runs
    scores = {
        (first, *pool): mbr_rouge2([runs[first], *(runs[name] for name in pool)])[0]
        for size in (2, 3, 4)
        for pool in itertools.combinations(others, size)
    }
    for pool, score in sorted(scores.items(), key=lambda item: -item[1])[:5]:
        print(f"MBR {score:.2f}: {', '.join(pool)}")
    for size in (3, 4, 5):
        sized = [score for pool, score in scores.items() if len(pool) == size]
        print(
            f"{len(sized)} pools of {size}: MBR ROUGE-2 mean {np.mean(sized):.2f}, {min(sized):.2f}-{max(sized):.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="+")
    parser.add_argument("--dataset", default="cnndm")
    parser.add_argument(
        "--all-pools", action="store_true", help="score every 3-5 run pool with the first NAME"
    )
    parser.add_argument("--gap-to", metavar="BASELINE", help="NAME's paired ROUGE-2 gap to this run")
    args = parser.parse_args()
    names = [args.gap_to, *args.names] if args.gap_to else args.names
    runs = {name: load_run(name, args.dataset) for name in names}
    if len({frozenset(run) for run in runs.values()}) != 1:
        raise SystemExit(f"the runs {names} did not summarise the same {args.dataset} articles")
    for name, run in runs.items():
        print(f"{name}: ROUGE-2 {np.mean([row['rouge2'] for row in run.values()]):.2f}")
    if args.gap_to:
        print_gap(runs[args.names[0]], runs[args.gap_to])
    elif args.all_pools:
        print_pools(runs)
    else:
        chosen, oracle = mbr_rouge2(list(runs.values()))
        print(f"MBR selection: ROUGE-2 {chosen:.2f}; oracle {oracle:.2f}")


if __name__ == "__main__":
    main()
