"""The hostile-input corpus (tests/data/hostile/): every record ends processed or rejected with a reason,
the job never crashes, and no file is written outside the output folder."""

import json
from pathlib import Path

from pipeline.ingest import ingest
from pipeline.run import run_pipeline
from tests.conftest import ComposeConfig

HOSTILE = Path(__file__).parent / "data" / "hostile"


def test_hostile_jsonl_records_are_kept_or_rejected_with_reasons() -> None:
    result = ingest(HOSTILE / "articles.jsonl")
    assert list(result.dataset["id"]) == [
        "ok-en", "html-page", "non-english-ru", "non-english-zh", "../../etc/passwd", "a/b\\c:d*?", "control-chars",
    ]  # fmt: skip
    reasons = {r.location.split(":")[1]: r.reason for r in result.rejected}
    assert reasons["2"].startswith("text is empty") and reasons["4"].startswith("text is empty")
    assert reasons["10"] == "duplicate id (first seen at articles.jsonl:1)"
    assert reasons["14"] == "id must be a string or integer, got bool"
    assert reasons["18"].startswith("malformed JSON line")  # the truncated last line
    assert len(result.dataset) + len(result.rejected) == 18

    texts = dict(zip(result.dataset["id"], result.dataset["text"], strict=True))
    # A scraped page keeps its visible text only: no markup, script or style, entities decoded.
    assert texts["html-page"].startswith(
        'Home\n\nPresident Maria Lopez said on Tuesday that Chile would "seek'
    )
    assert "<" not in texts["html-page"] and "alert" not in texts["html-page"]
    assert texts["control-chars"] == "The spokesman said the talks would resume."


def test_binary_garbage_and_awkward_csv_never_crash() -> None:
    garbage = ingest(HOSTILE / "garbage.jsonl")
    assert len(garbage.dataset) == 0 and garbage.rejected
    assert all(
        r.reason.startswith(("malformed JSON line", "record is a", "text has bytes"))
        for r in garbage.rejected
    )

    table = ingest(HOSTILE / "articles.csv")
    assert list(table.dataset["id"]) == ["q1", "q3"]
    assert table.dataset["title"][0] == 'A "quoted" title'
    assert [(r.id, r.reason) for r in table.rejected] == [("q2", "missing text")]


def test_pipeline_over_the_hostile_corpus_accounts_for_every_record(
    compose_config: ComposeConfig, tmp_path: Path
) -> None:
    corpus = tmp_path / "input" / "hostile.jsonl"
    corpus.parent.mkdir()
    lines = (HOSTILE / "articles.jsonl").read_bytes().rstrip(b"\n").split(b"\n")
    huge = json.dumps({"id": "two-megabytes", "text": "The minister said talks would resume. " * 55_000})
    lines[-1:-1] = [huge.encode(), b'{"id": "bad-utf8", "text": "caf\xe9 \xff"}']
    corpus.write_bytes(b"\n".join(lines))
    out = tmp_path / "out"
    before = {path for path in tmp_path.rglob("*")}

    summary = run_pipeline(
        compose_config(f"data.path={corpus}", "summarizer=lead3", "stance=embedding", "shard_size=3")
    )

    predictions = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    rejected = [json.loads(line) for line in (out / "rejected.jsonl").read_text().splitlines()]
    assert len(predictions) + len(rejected) == len(lines) == 20
    reasons = {r["id"]: r["reason"] for r in rejected if r["id"]}
    assert "over the limit of 500,000" in reasons["two-megabytes"]
    assert reasons["bad-utf8"] == "text has bytes that are not valid UTF-8"
    by_id = {p["id"]: p for p in predictions}
    assert {"../../etc/passwd", "a/b\\c:d*?", "non-english-zh"} <= set(by_id)
    assert any(actor["name"] == "Maria Lopez" for actor in by_id["html-page"]["actors"])
    assert summary.metrics["articles_out_count"] == len(predictions)
    # Everything the run wrote is under its output folder or the tracking store given to it.
    written = {path for path in tmp_path.rglob("*")} - before
    allowed = (out, tmp_path / "artifacts", tmp_path / "mlflow.db")
    assert all(any(path == root or root in path.parents for root in allowed) for path in written)
    assert not any(path.name == "passwd" for path in tmp_path.rglob("*"))
