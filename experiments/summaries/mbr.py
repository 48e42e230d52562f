"""Minimum-Bayes-risk selection, simulated on saved summaries (experiments/summaries/MODELS.md): would picking,
per article, the candidate that agrees most with the other settings' summaries beat each setting alone?

    python experiments/summaries/mbr.py [--dataset cnndm] NAME NAME [NAME ...]
    python experiments/summaries/mbr.py --subsets-with NAME NAME NAME [NAME ...]

NAMEs are runs of compare.py (outputs/compare/NAME_<dataset>.jsonl) over the same articles. For each article
the selection is the candidate with the highest mean ROUGE-2 F1 against the other candidates (no reference
involved); the script prints the ROUGE-2 of the selection against the references, of each run, and of an
oracle that picks the best candidate by the reference. With --subsets-with it scores every subset of 3-5 runs
that holds the first NAME and prints the best subsets and the spread, so a good pool is not mistaken for a
lucky one.
"""

from __future__ import annotations

import argparse
import itertools
import json

import numpy as np
from rouge_score.rouge_scorer import RougeScorer

from pipeline import PROJECT_ROOT

SCORER = RougeScorer(["rouge2"], use_stemmer=True)


def load_run(name: str, dataset: str) -> dict[str, dict]:
    path = PROJECT_ROOT / "outputs" / "compare" / f"{name}_{dataset}.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="+")
    parser.add_argument("--dataset", default="cnndm")
    parser.add_argument(
        "--subsets-with", action="store_true", help="score every 3-5 run pool with the first NAME"
    )
    args = parser.parse_args()
    runs = {name: load_run(name, args.dataset) for name in args.names}
    if len({frozenset(run) for run in runs.values()}) != 1:
        raise SystemExit(f"the runs {args.names} did not summarise the same {args.dataset} articles")
    for name, run in runs.items():
        print(f"{name}: ROUGE-2 {np.mean([row['rouge2'] for row in run.values()]):.2f}")
    if not args.subsets_with:
        chosen, oracle = mbr_rouge2(list(runs.values()))
        print(f"MBR selection: ROUGE-2 {chosen:.2f}; oracle {oracle:.2f}")
        return
    first, *others = args.names
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


if __name__ == "__main__":
    main()
