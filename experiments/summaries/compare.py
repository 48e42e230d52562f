"""Quick summariser comparison behind experiments/summaries/MODELS.md: ROUGE and speed of one summariser
setting on GUM's 24 news articles and N CNN/DM articles, without the full `make eval-summaries`.

    python experiments/summaries/compare.py [--cnndm N] [--cnndm-from K] [--no-gum] NAME [overrides ...]

e.g. `python experiments/summaries/compare.py lead8 summarizer.read_sentences=8`. Settings are tuned on
CNN/DM articles that `make eval-summaries` does not score (`--cnndm-from 40`), then checked on the ones it
scores (the first 40). Prints one line per dataset (ROUGE F1 x 100 with the eval's scorer, seconds per
article, words per summary, token counts) and writes the summaries to outputs/compare/NAME_<dataset>.jsonl.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from hydra.utils import instantiate
from rouge_score.rouge_scorer import RougeScorer

from pipeline import PROJECT_ROOT
from pipeline.eval_summaries import ROUGE_TYPES, compose_config, read_frank, read_gum, rouge_scores

OUTPUT_DIR = PROJECT_ROOT / "outputs" / "compare"


def output_path(name: str, dataset: str) -> Path:
    """Where a run's summaries and per-article ROUGE go (and mbr.py reads them)."""
    return OUTPUT_DIR / f"{name}_{dataset}.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("--cnndm", type=int, default=16, help="how many CNN/DM articles")
    parser.add_argument("--cnndm-from", type=int, default=0, help="skip this many CNN/DM articles first")
    parser.add_argument("--gum", action=argparse.BooleanOptionalAction, default=True, help="GUM's news too")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    cfg = compose_config(args.overrides)
    data = Path(cfg.eval_summaries.data_dir)
    cnndm = read_frank(data / "frank_cnndm_xsum.jsonl", "cnndm")
    datasets = {"cnndm": cnndm[args.cnndm_from : args.cnndm_from + args.cnndm]}
    if args.gum:
        datasets["gum"] = read_gum(data / "gum_wikinews.jsonl", "news")
    summarizer = instantiate(cfg.summarizer)
    scorer = RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, articles in datasets.items():
        counts = getattr(summarizer, "token_counts", {})
        before = dict(counts)
        started = time.perf_counter()
        summaries = summarizer.summarize_batch([a.text for a in articles])
        seconds = (time.perf_counter() - started) / len(articles)
        rows = [rouge_scores(scorer, s.text, a.references) for s, a in zip(summaries, articles, strict=True)]
        rouge = {key: round(float(np.mean([r[key] for r in rows])), 1) for key in ROUGE_TYPES}
        words = np.mean([len(s.text.split()) for s in summaries])
        tokens = {key: value - before.get(key, 0) for key, value in counts.items()}
        print(f"{args.name} {name} {rouge} {seconds:.2f} s/article, {words:.0f} words, {tokens}", flush=True)
        with output_path(args.name, name).open("w", encoding="utf-8") as handle:
            for summary, article, row in zip(summaries, articles, rows, strict=True):
                handle.write(json.dumps({"id": article.id, "summary": summary.text, **row}) + "\n")


if __name__ == "__main__":
    main()
