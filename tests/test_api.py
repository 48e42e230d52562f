"""The Python API (`from pipeline import analyze`) on the real configs and the fast real backends, and the
README's example of it, run as written."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipeline import analyze
from pipeline.api import ArticlesRejected, cached_stages, compose_config
from tests.test_run import OBAMA_ARTICLE

PROJECT = Path(__file__).resolve().parents[1]
FAST = ["summarizer=lead3", "~faithfulness", "stance=embedding"]
SUMMARIES_ONLY = ["summarizer=lead3", "~faithfulness", "stages=[summarize]"]
FIRST_PARAGRAPH, SECOND_PARAGRAPH = OBAMA_ARTICLE["text"].split("\n\n")
# Ids out of alphabetical order, so input order is what the result can only have kept on purpose.
ARTICLES = [
    {**OBAMA_ARTICLE, "id": "z-obama", "text": FIRST_PARAGRAPH},
    {"id": "a-china", "date": "2015-10-02", "source": "wire", "text": SECOND_PARAGRAPH},
    {"id": "m-undated", "title": "No date", "text": FIRST_PARAGRAPH.replace("Wednesday", "Thursday")},
]


def test_analyze_gives_records_in_input_order_and_the_tables_writing_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    records, actors, by_period = analyze(ARTICLES, overrides=FAST, tables=True)

    assert [record["id"] for record in records] == ["z-obama", "a-china", "m-undated"]
    assert records[0]["summary"].startswith("President Barack Obama warned China")
    assert "summary_faithful" not in records[0]  # ~faithfulness: no checker columns
    obama = {actor["name"]: actor for actor in records[0]["actors"]}["Barack Obama"]
    assert obama["stance"] == "aggressive" and set(obama["probabilities"]) == {
        "aggressive", "conciliatory", "hedging", "none",
    }  # fmt: skip

    assert list(actors["article_id"].unique()) == ["z-obama", "a-china", "m-undated"]
    assert len(actors) == sum(len(record["actors"]) for record in records)
    obama_rows = actors[actors["actor_id"] == "person:barack-obama"]
    assert list(obama_rows["article_id"]) == ["z-obama", "m-undated"]
    periods = by_period[by_period["actor_id"] == "person:barack-obama"].set_index("period")["articles"]
    assert periods.to_dict() == {"2015-09": 1, "undated": 1}
    assert list(tmp_path.iterdir()) == []  # no output_dir: nothing written


def test_analyze_takes_a_dataframe_as_a_batch_job_reads_a_file() -> None:
    frame = pd.DataFrame(
        [
            {"id": "d1", "title": "Dated", "date": pd.Timestamp("2015-09-16"), "text": FIRST_PARAGRAPH},
            {"id": "d2", "title": None, "date": None, "text": SECOND_PARAGRAPH},
        ]
    )
    records = analyze(frame, overrides=SUMMARIES_ONLY)
    assert [record["id"] for record in records] == ["d1", "d2"]
    assert records[0]["date"].startswith("2015-09-16")  # a timestamp arrives as its text
    assert records[1]["title"] == "" and records[1]["date"] == ""  # missing values: absent fields
    assert set(records[0]) == {"id", "title", "date", "source", "summary", "summary_chunks",
                               "summary_read_sentences", "summary_repairs"}  # fmt: skip


def test_rejected_articles_raise_naming_each_record_and_reason() -> None:
    articles = [
        {"id": "ok", "text": FIRST_PARAGRAPH},
        {"id": "blank", "text": "   "},
        {"text": "An article without an id."},
        {"id": "ok", "text": SECOND_PARAGRAPH},
    ]
    with pytest.raises(ArticlesRejected) as raised:
        analyze(articles, overrides=SUMMARIES_ONLY)
    message = str(raised.value)
    assert message.startswith("3 article(s) rejected: ")
    assert "blank: text is empty after removing whitespace" in message
    assert "articles.jsonl:3: missing id" in message
    assert "ok: duplicate id (first seen at articles.jsonl:1)" in message
    assert [rejection.id for rejection in raised.value.rejected] == ["blank", None, "ok"]


def test_stages_are_built_once_per_stage_configuration(tmp_path: Path) -> None:
    first = cached_stages(compose_config([*SUMMARIES_ONLY, f"paths.output_dir={tmp_path / 'a'}"]))
    again = cached_stages(compose_config([*SUMMARIES_ONLY, f"paths.output_dir={tmp_path / 'b'}", "seed=7"]))
    other = cached_stages(compose_config([*SUMMARIES_ONLY, "summarizer.num_sentences=1"]))
    assert again is first  # where outputs go and the seed do not change the models
    assert other is not first and other[0].summarizer.num_sentences == 1


def test_output_dir_gets_the_predictions_tables_and_report(tmp_path: Path) -> None:
    out = tmp_path / "analysis"
    records = analyze(ARTICLES, overrides=FAST, output_dir=out)
    written = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert written == records
    names = {path.name for path in out.iterdir()}
    assert {
        "actors.parquet",
        "actors.csv",
        "actor_stance_by_period.csv",
        "report.html",
        "config.yaml",
    } <= names
    assert "Barack Obama" in (out / "report.html").read_text()
    assert not any(path.name in ("mlflow.db", "mlartifacts") for path in tmp_path.rglob("*"))


def test_importing_pipeline_loads_no_model_library() -> None:
    code = (
        "import sys, pipeline; "
        "print([m for m in ('torch', 'spacy', 'transformers', 'datasets', 'mlflow') if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_readme_example_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    [example] = [block for block in re.findall(r"```python\n(.*?)```", readme, re.S) if "analyze(" in block]
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)
    records, actors = namespace["records"], namespace["actors"]
    assert [record["id"] for record in records] == [article["id"] for article in namespace["articles"]]
    assert "person:barack-obama" in set(actors["actor_id"])
    assert set(namespace["by_period"]["period"]) >= {"2015-09"}
    assert os.listdir(tmp_path) == []
