"""The in-domain stance set: article selection, annotation batches, majority merge and agreement.

    python -m pipeline.stance.annotation select  --articles-dir ../shared/data/articles --out DIR
    python -m pipeline.stance.annotation merge   --selection DIR/selection.jsonl --passes A B C --out FILE
    python -m pipeline.stance.annotation agreement --selection ... --passes A B C

`select` picks articles from the shared corpora (never the dev split or the bundled samples) by a fixed
hash order per source, so the same corpora always give the same selection, and writes them in
annotation batches. Each batch is annotated independently by three annotators per `ANNOTATION.md`
(one JSON object per article: `{"id", "actors": [...]}`). `merge` aligns the passes' actors by name and
alias, keeps an actor that at least two passes list, and takes the majority stance; a pass that does not
list an actor votes `none` for it (it saw no stance), a three-way split is `ambiguous`, as in the dev
gold. `agreement` prints Cohen's kappa and macro-F1 for each pair of passes and Fleiss' kappa.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import itertools
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import OmegaConf
from sklearn.metrics import cohen_kappa_score, f1_score

from pipeline import CONFIG_DIR, PROJECT_ROOT
from pipeline.evaluate import AMBIGUOUS, pair_actors
from pipeline.files import read_jsonl, write_jsonl_atomic
from pipeline.schema import LABELS, NO_STANCE

SOURCE_FILES = ("wikinews", "whitehouse", "statedept", "kremlin")
# Articles per stratum. The proportions follow the gold splits (two thirds Wikinews politics, the
# rest White House, State Department and Kremlin), not the corpus sizes: the White House corpus is
# mostly domestic releases with no foreign counterpart.
QUOTAS = {
    "wikinews:politics": 128,
    "wikinews:economy": 16,
    "whitehouse": 48,
    "statedept": 24,
    "kremlin": 24,
}
# Of each stratum's articles in hash order, every HELD_OUT_EVERY-th is kept aside for final checks.
HELD_OUT_EVERY = 6
CV_FOLDS = 5
MIN_CHARS, MAX_CHARS = 1000, 6500
# The government that publishes each source.
HOME_COUNTRY = {"whitehouse": "United States", "statedept": "United States", "kremlin": "Russia"}
# Mentions of other states an official source's article needs: fewer is mostly domestic business
# (nominations, price statistics) with no counterpart to take a stance towards.
MIN_FOREIGN_MENTIONS = 3
BATCH_CHARS = 30000


@dataclass(frozen=True)
class Selected:
    article: dict[str, Any]
    stratum: str
    split: str  # "cv" or "held_out"
    fold: int  # grouped cross-validation fold for "cv" articles; -1 for "held_out"


def stable_rank(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def country_pattern(home: str) -> re.Pattern[str]:
    """Matches any country name, alias or demonym in conf/actors/spacy.yaml except `home`'s."""
    countries = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "actors" / "spacy.yaml").countries)
    words = [
        word
        for country, facts in countries.items()
        if country != home
        for word in [country, *facts.get("aliases", []), *facts.get("demonyms", [])]
        if len(word) > 3  # short aliases ("CAR", "UK") are too often other words
    ]
    return re.compile(r"\b(?:" + "|".join(re.escape(word) for word in words) + r")\b")


def stratum_of(file_stem: str, article: dict[str, Any]) -> str:
    if file_stem == "wikinews":
        return "wikinews:economy" if ":economy:" in article["id"] else "wikinews:politics"
    return file_stem


def select_articles(articles_dir: Path, excluded_ids: set[str]) -> list[Selected]:
    """`QUOTAS` articles per stratum, in SHA-256-of-id order among those that qualify."""
    candidates: dict[str, list[dict[str, Any]]] = {stratum: [] for stratum in QUOTAS}
    for stem in SOURCE_FILES:
        home = HOME_COUNTRY.get(stem)
        foreign = country_pattern(home) if home else None
        with gzip.open(articles_dir / f"{stem}.jsonl.gz", "rt", encoding="utf-8") as handle:
            for line in handle:
                article = json.loads(line)
                text = article["text"]
                if article["id"] in excluded_ids or not MIN_CHARS <= len(text) <= MAX_CHARS:
                    continue
                if foreign is not None and len(foreign.findall(text)) < MIN_FOREIGN_MENTIONS:
                    continue
                candidates[stratum_of(stem, article)].append(article)
    selected = []
    for stratum, quota in QUOTAS.items():
        ranked = sorted(candidates[stratum], key=lambda article: stable_rank(article["id"]))[:quota]
        for index, article in enumerate(ranked):
            held_out = index % HELD_OUT_EVERY == HELD_OUT_EVERY - 1
            fold = -1 if held_out else int(stable_rank("fold:" + article["id"]), 16) % CV_FOLDS
            selected.append(Selected(article, stratum, "held_out" if held_out else "cv", fold))
    return selected


def batches(selected: Sequence[Selected], max_chars: int = BATCH_CHARS) -> list[list[Selected]]:
    """Annotation batches of whole articles, mixed across sources, each at most `max_chars` of text."""
    order = sorted(selected, key=lambda item: stable_rank("batch:" + item.article["id"]))
    out: list[list[Selected]] = [[]]
    for item in order:
        size = sum(len(other.article["text"]) for other in out[-1])
        if out[-1] and size + len(item.article["text"]) > max_chars:
            out.append([])
        out[-1].append(item)
    return out


def select_main(args: argparse.Namespace) -> None:
    excluded = {record["id"] for record in read_jsonl(args.dev)}
    excluded |= {record["id"] for record in read_jsonl(PROJECT_ROOT / "data" / "sample" / "articles.jsonl")}
    selected = select_articles(args.articles_dir, excluded)
    (args.out / "batches").mkdir(parents=True, exist_ok=True)
    keys = ("id", "title", "date", "url", "source", "license", "text")
    write_jsonl_atomic(
        args.out / "selection.jsonl",
        (
            {
                **{key: item.article[key] for key in keys},
                "stratum": item.stratum,
                "split": item.split,
                "fold": item.fold,
            }
            for item in selected
        ),
    )
    for number, batch in enumerate(batches(selected)):
        write_jsonl_atomic(
            args.out / "batches" / f"batch_{number:03d}.jsonl",
            ({key: item.article[key] for key in ("id", "title", "date", "source", "text")} for item in batch),
        )
    counts = Counter((item.stratum, item.split) for item in selected)
    print(f"{len(selected)} articles: " + ", ".join(f"{s}/{p} {n}" for (s, p), n in sorted(counts.items())))


def align(passes: Sequence[Sequence[dict[str, Any]]]) -> list[list[dict[str, Any] | None]]:
    """One row per real-world actor across the passes of one article: row[k] is pass k's actor or None.

    Each pass is matched one-to-one to the rows built so far by name or alias (`pair_actors`'s rule: a
    shared name key, name-equals-name preferred), so one pass's actor joins at most one row.
    """
    rows: list[list[dict[str, Any] | None]] = []
    for k, actors in enumerate(passes):
        merged = [
            {
                "name": next(a for a in row if a)["name"],
                "aliases": [n for a in row if a for n in (a["name"], *a["aliases"])],
            }
            for row in rows
        ]
        row_of = {id(actor): index for index, actor in enumerate(merged)}
        position_of = {id(actor): position for position, actor in enumerate(actors)}
        matched: dict[int, int] = {}
        for pair in pair_actors([{"id": "x", "actors": list(actors)}], [{"id": "x", "actors": merged}]):
            if pair.pred is not None and pair.gold is not None:
                matched[row_of[id(pair.gold)]] = position_of[id(pair.pred)]
        for index, row in enumerate(rows):
            row.append(actors[matched[index]] if index in matched else None)
        taken = set(matched.values())
        rows += [[None] * k + [actor] for position, actor in enumerate(actors) if position not in taken]
    return rows


def vote(row: Sequence[dict[str, Any] | None]) -> tuple[str, dict[str, int]]:
    """The majority stance of an aligned row (a pass that does not list the actor saw no stance: `none`),
    `ambiguous` when no label has a majority; and the listed passes' votes."""
    votes = Counter(actor["stance"] for actor in row if actor)
    with_absent = votes + Counter({NO_STANCE: sum(actor is None for actor in row)})
    label, count = with_absent.most_common(1)[0]
    return (label if count * 2 > len(row) else AMBIGUOUS), dict(votes)


def merge_article(article: dict[str, Any], passes: Sequence[Sequence[dict[str, Any]]]) -> dict[str, Any]:
    """The article with the actors a majority of passes list, each with its majority stance."""
    actors = []
    for row in align(passes):
        listed = [actor for actor in row if actor]
        if len(listed) * 2 <= len(row):
            continue  # most annotators did not see an actor here
        stance, votes = vote(row)
        names = Counter(actor["name"] for actor in listed)
        name = max(names, key=lambda n: (names[n], len(n.split()), len(n)))
        secondary, support = Counter(actor.get("secondary") for actor in listed).most_common(1)[0]
        agreeing = [actor for actor in listed if actor["stance"] == stance]
        evidence = list(dict.fromkeys(text for actor in agreeing for text in actor["evidence"]))
        evidence.sort(key=lambda text: article["text"].find(text))
        actors.append(
            {
                "name": name,
                "aliases": list(
                    dict.fromkeys(n for actor in listed for n in (actor["name"], *actor["aliases"]))
                ),
                "type": Counter(actor["type"] for actor in listed).most_common(1)[0][0],
                "stance": stance,
                "secondary": secondary if support * 2 > len(row) and secondary != stance else None,
                "evidence": evidence,
                "votes": votes,
            }
        )
    return {**article, "actors": actors}


def row_labels(
    rows: Iterable[Sequence[dict[str, Any] | None]], first: int, second: int
) -> tuple[list[str], list[str]]:
    """The two passes' labels on the rows either lists, `none` where one does not list the actor."""
    pairs = [
        tuple(row[k]["stance"] if row[k] else NO_STANCE for k in (first, second))
        for row in rows
        if row[first] or row[second]
    ]
    return [a for a, _ in pairs], [b for _, b in pairs]


def fleiss_kappa(ratings: Sequence[Sequence[str]], labels: Sequence[str]) -> float:
    """Fleiss' kappa of items each rated by the same number of raters."""
    counts = np.array([[row.count(label) for label in labels] for row in ratings], dtype=float)
    raters = counts.sum(axis=1)[0]
    agreement = ((counts * (counts - 1)).sum(axis=1) / (raters * (raters - 1))).mean()
    shares = counts.sum(axis=0) / counts.sum()
    expected = (shares**2).sum()
    return float((agreement - expected) / (1 - expected))


def agreement(
    articles: Sequence[dict[str, Any]], passes: Sequence[dict[str, Sequence[dict[str, Any]]]]
) -> dict[str, Any]:
    """Inter-annotator agreement on actors and stances: per pair of passes, Cohen's kappa over the four
    labels and macro-F1 over the three stances (one pass as reference); Fleiss' kappa over all passes."""
    rows = [row for article in articles for row in align([p[article["id"]] for p in passes])]
    all_labels = [*LABELS, NO_STANCE]
    pairs = {}
    for first, second in itertools.combinations(range(len(passes)), 2):
        left, right = row_labels(rows, first, second)
        pairs[f"{first}-{second}"] = {
            "actors": len(left),
            "cohen_kappa": float(cohen_kappa_score(left, right, labels=all_labels)),
            "macro_f1": float(f1_score(left, right, labels=list(LABELS), average="macro", zero_division=0)),
            "both_list": sum(1 for row in rows if row[first] and row[second]) / len(left),
        }
    ratings = [[actor["stance"] if actor else NO_STANCE for actor in row] for row in rows]
    listed_by_most = [
        r for r, row in zip(ratings, rows, strict=True) if sum(a is not None for a in row) * 2 > len(row)
    ]
    return {
        "pairs": pairs,
        "fleiss_kappa_all_rows": fleiss_kappa(ratings, all_labels),
        "fleiss_kappa_majority_listed": fleiss_kappa(listed_by_most, all_labels),
        "rows": len(rows),
    }


def read_pass(path: Path) -> dict[str, list[dict[str, Any]]]:
    """A pass file (or folder of batch files): article id -> its actors."""
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    return {record["id"]: record["actors"] for file in files for record in read_jsonl(file)}


def merge_main(args: argparse.Namespace) -> None:
    articles = list(read_jsonl(args.selection))
    passes = [read_pass(path) for path in args.passes]
    missing = {
        f"{path}: {article['id']}"
        for path, p in zip(args.passes, passes, strict=True)
        for article in articles
        if article["id"] not in p
    }
    if missing:
        raise SystemExit(f"{len(missing)} articles not annotated in every pass, e.g. {sorted(missing)[:3]}")
    merged = [merge_article(article, [p[article["id"]] for p in passes]) for article in articles]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl_atomic(args.out, merged)
    stances = Counter(actor["stance"] for article in merged for actor in article["actors"])
    print(f"{len(merged)} articles, {stances.total()} actors: {dict(sorted(stances.items()))} -> {args.out}")
    scores = agreement(articles, passes)
    for pair, values in scores["pairs"].items():
        print(
            f"passes {pair}: "
            + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in values.items())
        )
    print(
        f"Fleiss' kappa over {scores['rows']} aligned actors: {scores['fleiss_kappa_all_rows']:.3f}; over those a "
        f"majority lists: {scores['fleiss_kappa_majority_listed']:.3f}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.stance.annotation", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    select = commands.add_parser("select", help="pick the articles and write annotation batches")
    select.add_argument(
        "--articles-dir", type=Path, default=PROJECT_ROOT.parent / "shared" / "data" / "articles"
    )
    select.add_argument(
        "--dev", type=Path, default=PROJECT_ROOT.parent / "shared" / "data" / "gold" / "dev.jsonl"
    )
    select.add_argument("--out", type=Path, required=True)
    merge = commands.add_parser("merge", help="majority-merge the passes into one gold file; print agreement")
    merge.add_argument("--selection", type=Path, required=True, help="selection.jsonl written by select")
    merge.add_argument("--passes", type=Path, nargs="+", required=True, help="pass files or folders")
    merge.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    {"select": select_main, "merge": merge_main}[args.command](args)


if __name__ == "__main__":
    main()
