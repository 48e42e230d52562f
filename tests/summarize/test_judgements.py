"""The judging protocol: blind pairs, unblinding, majority merge, and the shipped judged set's consistency."""

import json
from collections import Counter
from pathlib import Path

from pipeline.files import read_jsonl
from pipeline.summarize.judgements import ARTICLES_FILE, ROUNDS_DIR, SPLITS, main

ARTICLE = {
    "id": "wikinews:1",
    "title": "Talks",
    "date": "2015-05-04",
    "source": "Wikinews",
    "license": "CC BY 2.5",
    "text": "Ministers met in Geneva on Monday. They talked for six hours. They will meet again. Fans cheered.",
    "corpus": "wikinews",
    "split": "tune",
}


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(record) + "\n" for record in records))


def verdict(article_id: str, preferred: str, errors_a: list | None = None) -> dict:
    return {"id": article_id, "preferred": preferred, "errors_A": errors_a or [], "errors_B": []}


def test_pairs_are_blind_and_merge_unblinds_them_by_majority(tmp_path: Path) -> None:
    articles = [ARTICLE, {**ARTICLE, "id": "wikinews:2"}, {**ARTICLE, "id": "wikinews:3"}]
    write_jsonl(tmp_path / "articles.jsonl", articles)
    write_jsonl(
        tmp_path / "predictions.jsonl",
        [{"id": a["id"], "summary": "Ministers met in Geneva."} for a in articles],
    )
    main(
        [
            "pairs",
            "--articles",
            str(tmp_path / "articles.jsonl"),
            "--system",
            str(tmp_path / "predictions.jsonl"),
            "--out",
            str(tmp_path / "round"),
        ]
    )
    keys = {k["id"]: k for k in read_jsonl(tmp_path / "round" / "key.jsonl")}
    [batch] = [list(read_jsonl(path)) for path in (tmp_path / "round").glob("batch_*.jsonl")]
    # The judges see two unlabelled summaries: the system's and lead-3, in the order the key records.
    for item in batch:
        key = keys[item["id"]]
        assert {key["A"], key["B"]} == {"system", "lead3"} and "system" not in json.dumps(item)
        assert item[f"summary_{'A' if key['A'] == 'system' else 'B'}"] == "Ministers met in Geneva."
        assert item[f"summary_{'A' if key['A'] == 'lead3' else 'B'}"] == key["lead3"]
    system_side = {article_id: "A" if key["A"] == "system" else "B" for article_id, key in keys.items()}
    # Article 1: both judges prefer the system, no errors. Article 2: they disagree on the preference and
    # on an error in A; the third judge sides with the second. Article 3: the two disagree, no third.
    first = [
        verdict("wikinews:1", system_side["wikinews:1"]),
        verdict("wikinews:2", "tie"),
        verdict("wikinews:3", "A"),
    ]
    second = [
        verdict("wikinews:1", system_side["wikinews:1"]),
        verdict("wikinews:2", "A", [{"span": "Geneva", "type": "place"}]),
        verdict("wikinews:3", "B"),
    ]
    third = [verdict("wikinews:2", "A", [{"span": "Geneva", "type": "place"}])]
    for name, verdicts in (("judge_1", first), ("judge_2", second), ("judge_3", third)):
        write_jsonl(tmp_path / name / "batch_000.jsonl", verdicts)
    main(
        [
            "merge",
            "--round",
            str(tmp_path / "round"),
            "--judges",
            *(str(tmp_path / f"judge_{n}") for n in (1, 2, 3)),
            "--out",
            str(tmp_path / "merged.jsonl"),
            "--disputed",
            str(tmp_path / "disputed.txt"),
        ]
    )
    merged = {m["id"]: m for m in read_jsonl(tmp_path / "merged.jsonl")}
    assert merged["wikinews:1"]["preferred"] == "system" and merged["wikinews:1"]["judges"] == 2
    side_a_2 = keys["wikinews:2"]["A"]
    assert merged["wikinews:2"]["preferred"] == side_a_2 and merged["wikinews:2"]["judges"] == 3
    assert merged["wikinews:2"]["has_error"] == {
        side_a_2: True,
        ({"system", "lead3"} - {side_a_2}).pop(): False,
    }
    assert merged["wikinews:3"]["preferred"] == "tie"  # one vote each: no majority
    assert (tmp_path / "disputed.txt").read_text().split() == ["wikinews:2", "wikinews:3"]


def test_the_shipped_rounds_judge_articles_of_the_judged_set_once_each() -> None:
    articles = list(read_jsonl(ARTICLES_FILE))
    assert len({a["id"] for a in articles}) == len(articles)
    assert {a["split"] for a in articles} == set(SPLITS)
    # FRANK's article text is evaluation-only: never shipped, neither in the articles nor in a round.
    assert all(a["text"] is None for a in articles if a["corpus"] == "frank")
    splits = {a["id"]: a["split"] for a in articles}
    corpora = {a["id"]: a["corpus"] for a in articles}
    for merged in ROUNDS_DIR.glob("*/merged.jsonl"):
        records = list(read_jsonl(merged))
        counts = Counter(r["id"] for r in records)
        assert set(counts.values()) == {1} and set(counts) <= set(splits), merged
        assert all(r["summaries"] is None for r in records if corpora[r["id"]] == "frank"), merged
        assert all(r["preferred"] in ("system", "lead3", "tie") for r in records), merged
