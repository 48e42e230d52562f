"""The team's judged summaries: blind pairwise preference against lead-3, with factual-error spans.

    python -m pipeline.summarize.judgements select --out DIR
    python -m pipeline.summarize.judgements pairs --articles DIR/articles.jsonl --system PRED.jsonl --out DIR/round
    python -m pipeline.summarize.judgements merge --round DIR/round --judges J1 J2 [J3] --out FILE

`select` picks the articles: news from the shared corpora by source (never the dev split, the bundled
samples or the stance set), GUM news and FRANK CNN/DailyMail articles (by id only: FRANK's text may not be
shipped). Every `HELD_OUT_EVERY`-th is kept aside for final checks. `pairs` puts a system's summary and
lead-3 of each article in a random order (A/B, seeded by the article id) into judging batches, with a key
that says which is which. Each judge, given only the article, the two summaries and `JUDGING.md`, says
which a busy reader would rather get and lists the factual errors of each. `merge` unblinds them: a
summary has an error when a majority of judges found one, the preference is the judges' majority
(a third judge settles the articles the first two disagree on; no majority is a tie).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline import PROJECT_ROOT
from pipeline.files import read_jsonl, write_jsonl_atomic
from pipeline.ingest import clean_text
from pipeline.stance.annotation import stable_rank
from pipeline.summarize.lead import lead_sentences

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
QUOTAS = {"wikinews": 33, "whitehouse": 12, "statedept": 8, "kremlin": 7, "gum": 10, "frank": 10}
# A second, fresh set kept for the final check of a summariser developed on the first: `select --final`.
FINAL_QUOTAS = {"wikinews": 14, "whitehouse": 5, "statedept": 3, "kremlin": 3, "gum": 2, "frank": 3}
HELD_OUT_EVERY = 3
# "tune" to develop on, "held_out" to check, "final": fresh articles for the last check of a finished summariser.
SPLITS = ("tune", "held_out", "final")
MIN_CHARS, MAX_CHARS = 800, 6500
ARTICLES_PER_BATCH = 10
PREFERENCES = ("A", "B", "tie")
# The two summaries of each judged pair, by the names the key and the verdicts use.
SYSTEMS = ("system", "lead3")
ROUNDS_DIR = PROJECT_ROOT / "data" / "summaries" / "rounds"
ARTICLES_FILE = PROJECT_ROOT / "data" / "summaries" / "articles.jsonl"


def candidates(source: str) -> list[dict[str, Any]]:
    """The source's articles as {id, title, date, source, text, license}, text as ingest cleans it."""
    if source == "gum":
        records = [
            r
            for r in read_jsonl(SHARED_DATA / "summarization" / "gum_wikinews.jsonl")
            if r["genre"] == "news"
        ]
        # Each line of a GUM document is a paragraph (headline, dateline, caption).
        return [
            {
                **{k: r.get(k, "") for k in ("id", "title", "date")},
                "source": "GUM (Wikinews)",
                "license": "CC BY 2.5 (Wikinews text; GUM corpus)",
                "text": clean_text(r["text"].replace("\n", "\n\n")),
            }
            for r in records
        ]
    if source == "frank":
        records = [
            r
            for r in read_jsonl(SHARED_DATA / "summarization" / "frank_cnndm_xsum.jsonl")
            if r["dataset"] == "cnndm"
        ]
        return [
            {
                "id": r["id"],
                "title": "",
                "date": "",
                "source": "FRANK CNN/DailyMail",
                "license": "evaluation only",
                "text": clean_text(r["article"]),
            }
            for r in records
        ]
    with gzip.open(SHARED_DATA / "articles" / f"{source}.jsonl.gz", "rt", encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    return [
        {**{k: r[k] for k in ("id", "title", "date", "source", "license")}, "text": clean_text(r["text"])}
        for r in records
        if MIN_CHARS <= len(r["text"]) <= MAX_CHARS
    ]


def select_articles(excluded: set[str], final: bool = False) -> list[dict[str, Any]]:
    """QUOTAS articles per source in hash order, every HELD_OUT_EVERY-th held out; with `final`, the
    FINAL_QUOTAS next ones (in another hash order), all in the split "final"."""
    selected = []
    for source, quota in (FINAL_QUOTAS if final else QUOTAS).items():
        salt = "summary-final:" if final else "summary:"
        fresh = [article for article in candidates(source) if article["id"] not in excluded]
        ranked = sorted(fresh, key=lambda a: stable_rank(salt + a["id"]))[:quota]
        for index, article in enumerate(ranked):
            held_out = index % HELD_OUT_EVERY == HELD_OUT_EVERY - 1
            split = "final" if final else "held_out" if held_out else "tune"
            selected.append({**article, "corpus": source, "split": split})
    return selected


def select_main(args: argparse.Namespace) -> None:
    excluded = {r["id"] for r in read_jsonl(SHARED_DATA / "gold" / "dev.jsonl")}
    excluded |= {r["id"] for r in read_jsonl(PROJECT_ROOT / "data" / "sample" / "articles.jsonl")}
    excluded |= {
        r["id"] for r in read_jsonl(PROJECT_ROOT / "data" / "stance" / "articles" / "annotated.jsonl")
    }
    if args.final:
        excluded |= {r["id"] for r in read_jsonl(ARTICLES_FILE)}
    selected = select_articles(excluded, args.final)
    args.out.mkdir(parents=True, exist_ok=True)
    write_jsonl_atomic(args.out / "articles.jsonl", selected)
    counts = Counter((a["corpus"], a["split"]) for a in selected)
    print(f"{len(selected)} articles: " + ", ".join(f"{c}/{s} {n}" for (c, s), n in sorted(counts.items())))


def with_texts(articles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The articles with FRANK's texts, which the project does not ship, read from ../shared by id."""
    if all(article["text"] is not None for article in articles):
        return articles
    frank = {article["id"]: article["text"] for article in candidates("frank")}
    return [{**a, "text": a["text"] if a["text"] is not None else frank[a["id"]]} for a in articles]


def shippable(article: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    """`record` without summary texts for a FRANK article: its lead-3 is the publisher's text."""
    if article["corpus"] != "frank":
        return record
    return {**record, **{name: None for name in SYSTEMS if name in record}, "summaries": None}


def pairs_main(args: argparse.Namespace) -> None:
    articles = with_texts(list(read_jsonl(args.articles)))
    summaries = {r["id"]: r["summary"] for r in read_jsonl(args.system)}
    args.out.mkdir(parents=True, exist_ok=True)
    keys, items = [], []
    for article in articles:
        pair = {"system": summaries[article["id"]], "lead3": lead_sentences(article["text"], 3)}
        order = list(SYSTEMS)
        random.Random("order:" + article["id"]).shuffle(order)
        keys.append(shippable(article, {"id": article["id"], "A": order[0], "B": order[1], **pair}))
        items.append(
            {
                "id": article["id"],
                "title": article["title"],
                "text": article["text"],
                "summary_A": pair[order[0]],
                "summary_B": pair[order[1]],
            }
        )
    write_jsonl_atomic(args.out / "key.jsonl", keys)
    order = sorted(items, key=lambda item: stable_rank("judge:" + item["id"]))
    for number in range(0, len(order), ARTICLES_PER_BATCH):
        write_jsonl_atomic(
            args.out / f"batch_{number // ARTICLES_PER_BATCH:03d}.jsonl",
            order[number : number + ARTICLES_PER_BATCH],
        )
    print(
        f"{len(items)} pairs in {(len(items) + ARTICLES_PER_BATCH - 1) // ARTICLES_PER_BATCH} batches -> {args.out}"
    )


def read_judge(folder: Path) -> dict[str, dict[str, Any]]:
    return {
        record["id"]: record for file in sorted(folder.glob("batch_*.jsonl")) for record in read_jsonl(file)
    }


def unblind(judgement: dict[str, Any], key: dict[str, Any]) -> dict[str, Any]:
    """A judge's verdict by system name: the preferred one ("tie" stays), and the errors of each."""
    preferred = judgement["preferred"]
    return {
        "preferred": key[preferred] if preferred in ("A", "B") else "tie",
        "errors": {key[side]: judgement[f"errors_{side}"] for side in ("A", "B")},
    }


def disagreements(verdicts: Sequence[dict[str, Any]]) -> bool:
    """Whether two judges differ on the preference or on whether either summary has an error."""
    first, second = verdicts
    return first["preferred"] != second["preferred"] or any(
        bool(first["errors"][name]) != bool(second["errors"][name]) for name in first["errors"]
    )


def combine(article_id: str, verdicts: Sequence[dict[str, Any]], key: dict[str, Any]) -> dict[str, Any]:
    """The majority preference (no majority: tie) and, per summary, whether a majority found an error."""
    preferences = Counter(v["preferred"] for v in verdicts)
    preferred, count = preferences.most_common(1)[0]
    names = SYSTEMS
    return {
        "id": article_id,
        "preferred": preferred if count * 2 > len(verdicts) else "tie",
        "has_error": {n: sum(bool(v["errors"][n]) for v in verdicts) * 2 > len(verdicts) for n in names},
        "errors": {n: [e for v in verdicts for e in v["errors"][n]] for n in names},
        "judges": len(verdicts),
        "summaries": {n: key[n] for n in names} if key.get("system") is not None else None,
    }


def judged_summaries(split: str, rounds_dir: Path = ROUNDS_DIR) -> list[dict[str, Any]]:
    """Every judged summary of the articles of `split` (one of SPLITS) in every round: {"id", "round",
    "system", "summary", "text", "has_error"}; FRANK's only where ../shared has the article to rebuild lead-3."""
    articles = {a["id"]: a for a in read_jsonl(ARTICLES_FILE) if a["split"] == split}
    if any(a["text"] is None for a in articles.values()) and (SHARED_DATA / "summarization").is_dir():
        articles = {a["id"]: a for a in with_texts(list(articles.values()))}
    out = []
    for merged in sorted(rounds_dir.glob("*/merged.jsonl")):
        for record in read_jsonl(merged):
            article = articles.get(record["id"])
            if article is None or article["text"] is None:
                continue
            summaries = record["summaries"] or {"lead3": lead_sentences(article["text"], 3)}
            out += [
                {
                    "id": record["id"],
                    "round": merged.parent.name,
                    "system": name,
                    "summary": summary,
                    "text": article["text"],
                    "has_error": record["has_error"][name],
                }
                for name, summary in summaries.items()
            ]
    return out


def merge_main(args: argparse.Namespace) -> None:
    keys = {record["id"]: record for record in read_jsonl(args.round / "key.jsonl")}
    judges = [read_judge(folder) for folder in args.judges]
    merged, disputed = [], []
    for article_id, key in keys.items():
        verdicts = [unblind(judge[article_id], key) for judge in judges[:2]]
        if disagreements(verdicts):
            disputed.append(article_id)
            if len(judges) > 2 and article_id in judges[2]:
                verdicts.append(unblind(judges[2][article_id], key))
        merged.append(combine(article_id, verdicts, key))
    write_jsonl_atomic(args.out, merged)
    agree = 1 - len(disputed) / len(keys)
    print(f"{len(merged)} articles; the first two judges agree on {agree:.1%}; disputed: {len(disputed)}")
    if args.disputed:
        args.disputed.write_text("".join(f"{i}\n" for i in disputed), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.summarize.judgements", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    select = commands.add_parser("select", help="pick the articles to judge")
    select.add_argument("--out", type=Path, required=True)
    select.add_argument(
        "--final", action="store_true", help="a fresh set, beside the articles already judged"
    )
    pairs = commands.add_parser(
        "pairs", help="blind pairs of a system's summaries and lead-3, in judging batches"
    )
    pairs.add_argument("--articles", type=Path, required=True)
    pairs.add_argument("--system", type=Path, required=True, help="a predictions.jsonl with `summary`")
    pairs.add_argument("--out", type=Path, required=True)
    merge = commands.add_parser("merge", help="unblind and combine the judges of a round")
    merge.add_argument("--round", type=Path, required=True, help="the folder `pairs` wrote (its key.jsonl)")
    merge.add_argument("--judges", type=Path, nargs="+", required=True, help="judge folders; a third settles")
    merge.add_argument("--out", type=Path, required=True)
    merge.add_argument("--disputed", type=Path, default=None, help="write the disputed ids here")
    args = parser.parse_args(argv)
    {"select": select_main, "pairs": pairs_main, "merge": merge_main}[args.command](args)


if __name__ == "__main__":
    main()
