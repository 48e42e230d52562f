"""The analysts' tables and the corpus-wide actor ids, from hand-built predictions.jsonl files and a real run."""

import csv
import json
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest

from pipeline.run import ARROW_DIR, run_pipeline
from pipeline.tables import (
    ACTORS_CSV,
    ACTORS_PARQUET,
    BATCH_ROWS,
    BY_PERIOD_CSV,
    collect_actor_ids,
    write_tables,
)
from tests.conftest import SAMPLE_ARTICLES, ComposeConfig


def actor(
    name: str, kind: str = "person", stance: str | None = "aggressive", evidence: int = 1
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "name": name,
        "aliases": [],
        "type": kind,
        "evidence": [f"{name} said thing {n}." for n in range(evidence)],
    }
    if stance is not None:
        found["stance"] = stance
        found["probabilities"] = {"aggressive": 0.7, "conciliatory": 0.1, "hedging": 0.1, "none": 0.1}
    return found


def write_predictions(folder: Path, records: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "predictions.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def ids_of(tmp_path: Path, *articles: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """(article id, actor name) -> corpus-wide id, for articles a0, a1, ... with these actors."""
    records = [{"id": f"a{n}", "actors": actors} for n, actors in enumerate(articles)]
    ids = collect_actor_ids(write_predictions(tmp_path, records))
    return {(r["id"], a["name"]): ids.id_of(a) for r in records for a in r["actors"]}


def test_one_person_or_state_gets_one_id_across_articles(tmp_path: Path) -> None:
    ids = ids_of(
        tmp_path,
        [actor("Barack Obama"), actor("North Korea", "state")],
        [actor("Obama"), actor("Kim Jong-un")],
        [actor("President Obama"), actor("North Korea", "state"), actor("President Barack Obama")],
    )
    assert {ids[("a0", "Barack Obama")], ids[("a1", "Obama")], ids[("a2", "President Obama")]} == {
        "person:barack-obama"
    }
    assert ids[("a2", "President Barack Obama")] == "person:barack-obama"
    assert ids[("a0", "North Korea")] == ids[("a2", "North Korea")] == "state:north-korea"
    assert ids[("a1", "Kim Jong-un")] == "person:kim-jong-un"


def test_a_surname_shared_by_two_full_names_keeps_its_own_id(tmp_path: Path) -> None:
    ids = ids_of(tmp_path, [actor("Barack Obama")], [actor("Michelle Obama")], [actor("Obama")])
    assert ids[("a0", "Barack Obama")] == "person:barack-obama"
    assert ids[("a1", "Michelle Obama")] == "person:michelle-obama"
    assert ids[("a2", "Obama")] == "person:obama"


def test_types_and_aliases_do_not_join_actors(tmp_path: Path) -> None:
    # "Georgia" the state and a person called Georgia; "Kim" as an alias of two different people.
    kim_a, kim_b = actor("Kim Jong-un"), actor("Kim Dae-jung")
    kim_a["aliases"] = kim_b["aliases"] = ["Kim"]
    ids = ids_of(tmp_path, [actor("Georgia", "state"), kim_a], [actor("Georgia"), kim_b])
    assert ids[("a0", "Georgia")] == "state:georgia" and ids[("a1", "Georgia")] == "person:georgia"
    assert ids[("a0", "Kim Jong-un")] != ids[("a1", "Kim Dae-jung")]


def test_actors_table_has_one_row_per_actor_of_an_article(tmp_path: Path) -> None:
    records = [
        {
            "id": "a1",
            "title": "Talks",
            "date": "2015-09-16",
            "source": "wire",
            "actors": [actor("Barack Obama", evidence=2), actor("Xi Jinping", stance="none", evidence=0)],
        },
        {"id": "a2", "title": "No stance stage", "date": "", "actors": [actor("Obama", stance=None)]},
        {"id": "a3", "title": "No actors stage"},
    ]
    write_predictions(tmp_path, records)
    paths = write_tables(tmp_path, "month")
    assert [path.name for path in paths] == [ACTORS_PARQUET, ACTORS_CSV, BY_PERIOD_CSV]

    table = pd.read_parquet(tmp_path / ACTORS_PARQUET)
    assert list(table.columns) == [
        "article_id", "date", "source", "title", "actor", "actor_id", "type", "stance",
        "prob_aggressive", "prob_conciliatory", "prob_hedging", "prob_none", "evidence_count",
        "strongest_evidence",
    ]  # fmt: skip
    rows = table.to_dict("records")
    assert [(r["article_id"], r["actor"], r["actor_id"]) for r in rows] == [
        ("a1", "Barack Obama", "person:barack-obama"),
        ("a1", "Xi Jinping", "person:xi-jinping"),
        ("a2", "Obama", "person:barack-obama"),
    ]
    obama = rows[0]
    assert obama["stance"] == "aggressive" and obama["prob_aggressive"] == pytest.approx(0.7)
    assert obama["evidence_count"] == 2 and obama["strongest_evidence"] == "Barack Obama said thing 0."
    assert rows[1]["evidence_count"] == 0 and pd.isna(rows[1]["strongest_evidence"])
    assert pd.isna(rows[2]["stance"]) and pd.isna(rows[2]["prob_none"])  # no stance stage: empty

    with (tmp_path / ACTORS_CSV).open(newline="", encoding="utf-8") as handle:
        from_csv = list(csv.DictReader(handle))
    assert [r["actor_id"] for r in from_csv] == list(table["actor_id"])
    assert from_csv[0]["prob_aggressive"] == "0.7" and from_csv[2]["prob_aggressive"] == ""


def test_stance_by_period_counts_each_actor_once_per_article_and_period(tmp_path: Path) -> None:
    records = [
        {"id": "a1", "date": "2015-09-16", "actors": [actor("Barack Obama"), actor("President Obama")]},
        {"id": "a2", "date": "2015-09-30T10:00Z", "actors": [actor("Obama", stance="hedging")]},
        {"id": "a3", "date": "2016-01-02", "actors": [actor("Obama", stance="conciliatory")]},
        {"id": "a4", "date": "not a date", "actors": [actor("Obama")]},
        {"id": "a5", "actors": [actor("North Korea", "state", stance="none", evidence=0)]},
    ]
    write_predictions(tmp_path, records)

    def by_period(period: str) -> list[dict[str, str]]:
        write_tables(tmp_path, period)
        with (tmp_path / BY_PERIOD_CSV).open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))

    monthly = by_period("month")
    assert list(monthly[0]) == [
        "actor_id", "actor", "period", "articles", "aggressive", "conciliatory", "hedging", "none",
    ]  # fmt: skip
    counts = {
        (r["actor_id"], r["period"]): (r["articles"], r["aggressive"], r["conciliatory"], r["hedging"])
        for r in monthly
    }
    assert counts == {
        ("person:barack-obama", "2015-09"): ("2", "1", "0", "1"),  # a1 counts once for its two Obamas
        ("person:barack-obama", "2016-01"): ("1", "0", "1", "0"),
        ("person:barack-obama", "undated"): ("1", "1", "0", "0"),
        ("state:north-korea", "undated"): ("1", "0", "0", "0"),
    }
    assert monthly[0]["actor"] == "Barack Obama"  # the fullest name, without a title
    assert [r["period"] for r in monthly][:3] == ["2015-09", "2016-01", "undated"]
    assert [r["period"] for r in by_period("week")][:3] == ["2015-W38", "2015-W40", "2015-W53"]
    assert [r["period"] for r in by_period("year")][:2] == ["2015", "2016"]
    with pytest.raises(ValueError, match=r"tables\.period is 'fortnight'"):
        write_tables(tmp_path, "fortnight")


def test_tables_stream_through_more_rows_than_one_batch(tmp_path: Path) -> None:
    articles = BATCH_ROWS // 3 + 7  # three actors each: more rows than one batch holds
    records = [
        {
            "id": f"a{n}",
            "date": f"20{10 + n % 5}-01-01",
            "actors": [actor("Anna Berg"), actor("Berg"), actor("Oslo", "state")],
        }
        for n in range(articles)
    ]
    write_predictions(tmp_path, records)
    write_tables(tmp_path, "year")
    table = pd.read_parquet(tmp_path / ACTORS_PARQUET)
    assert len(table) == 3 * articles > BATCH_ROWS
    assert set(table["actor_id"]) == {"person:anna-berg", "state:oslo"}
    by_period = pd.read_csv(tmp_path / BY_PERIOD_CSV, dtype={"period": str})
    assert by_period["articles"].sum() == 2 * articles  # Anna Berg and "Berg" are one actor per article


def test_a_run_writes_and_logs_the_tables(compose_config: ComposeConfig, tmp_path: Path) -> None:
    articles = tmp_path / "articles.jsonl"
    articles.write_text("".join(SAMPLE_ARTICLES.read_text(encoding="utf-8").splitlines(keepends=True)[:3]))
    cfg = compose_config(
        f"data.path={articles}", "summarizer=lead3", "~faithfulness", "stance=embedding", "tables.period=year"
    )
    summary = run_pipeline(cfg)

    predictions = [
        json.loads(line) for line in (summary.output_dir / "predictions.jsonl").read_text().splitlines()
    ]
    table = pd.read_parquet(summary.output_dir / ACTORS_PARQUET)
    assert len(table) == sum(len(p["actors"]) for p in predictions) > 0
    probabilities = table[["prob_aggressive", "prob_conciliatory", "prob_hedging", "prob_none"]].sum(axis=1)
    assert probabilities.to_numpy() == pytest.approx(1.0, abs=1e-4)
    by_period = pd.read_csv(summary.output_dir / BY_PERIOD_CSV, dtype={"period": str})
    assert set(by_period["period"]) == {p["date"][:4] for p in predictions}
    assert set(by_period["actor_id"]) == set(table["actor_id"])
    logged = {a.path for a in mlflow.MlflowClient(summary.tracking_uri).list_artifacts(summary.run_id)}
    assert {ACTORS_PARQUET, ACTORS_CSV, BY_PERIOD_CSV} <= logged
    assert not (summary.output_dir / ARROW_DIR).exists()  # the ingested articles' Arrow file is gone


def test_a_bad_period_stops_the_run_before_any_work(compose_config: ComposeConfig, tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match=r"tables\.period is 'fortnight'; choose one of day, week, month, year"
    ):
        run_pipeline(compose_config("tables.period=fortnight", "stages=[]"))
    assert not (tmp_path / "out" / "predictions.jsonl").exists()
