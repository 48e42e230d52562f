import csv
import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.ingest import clean_text, ingest, write_rejections

DATA = Path(__file__).parent / "data"
TEXT = "The foreign minister said on Monday that talks would resume next week."


def test_bad_records_are_rejected_with_reasons_and_good_ones_kept(tmp_path: Path) -> None:
    result = ingest(DATA / "bad_records.jsonl")

    assert result.dataset["id"] == ["good-1", "7"]
    assert result.dataset.column_names == ["id", "title", "date", "source", "text"]
    reasons = {(r.location, r.id, r.reason) for r in result.rejected}
    assert reasons == {
        (
            "bad_records.jsonl:2",
            "empty-text",
            "text is empty after removing whitespace, markup and page furniture",
        ),
        (
            "bad_records.jsonl:3",
            "blank-text",
            "text is empty after removing whitespace, markup and page furniture",
        ),
        ("bad_records.jsonl:4", None, "missing id"),
        ("bad_records.jsonl:5", "good-1", "duplicate id (first seen at bad_records.jsonl:1)"),
        (
            "bad_records.jsonl:6",
            "furniture-only",
            "text is empty after removing whitespace, markup and page furniture",
        ),
        ("bad_records.jsonl:7", "text-not-string", "text must be a string, got list"),
        ("bad_records.jsonl:8", None, "id must be a string or integer, got dict"),
        ("bad_records.jsonl:9", None, "record is a list, not an object"),
        ("bad_records.jsonl:10", "bad-bytes", "text has bytes that are not valid UTF-8"),
        (
            "bad_records.jsonl:11",
            None,
            "malformed JSON line: Unterminated string starting at: line 1 column 29 (char 28)",
        ),
    }
    # Every input line is accounted for: kept or rejected, none dropped.
    assert len(result.dataset) + len(result.rejected) == 12

    out = tmp_path / "rejected.jsonl"
    write_rejections(out, result.rejected)
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(written) == len(result.rejected)
    assert all(set(record) == {"location", "id", "reason"} and record["reason"] for record in written)


def test_clean_text_normalises_whitespace_and_strips_furniture() -> None:
    raw = (
        "Leaders   met in\u00a0Geneva.\r\nThey agreed   to talk.\n\n\n"
        "Advertisement\n\nREAD MORE: Ten things about Geneva\n"
        "Photo: John Smith/Getty Images\n\nTalks continue on Friday.  "
    )
    assert clean_text(raw) == "Leaders met in Geneva. They agreed to talk.\n\nTalks continue on Friday."


def test_clean_text_drops_navigation_lines_and_a_glued_section_label() -> None:
    raw = "Cybersecurity\nGet more with myNEWS\n\nLearn more\n\nChina said on Monday that talks would go on."
    assert clean_text(raw) == "Cybersecurity\n\nChina said on Monday that talks would go on."
    assert clean_text("Wikinews Today short infobox The North Korean government denied it.") == (
        "The North Korean government denied it."
    )
    assert clean_text("Economy and business Trading was suspended.") == "Trading was suspended."
    assert clean_text("Australian news Australian Prime Minister John Howard said no.") == (
        "Australian Prime Minister John Howard said no."
    )
    # Only a label before a capitalised sentence start, and only at the very beginning.
    assert clean_text("Fox news reported it. Economy and business Trading rose.") == (
        "Fox news reported it. Economy and business Trading rose."
    )


def test_clean_text_splits_a_name_glued_to_the_next_word() -> None:
    raw = "Belgium has no government. Belgiumis a federal state. Alexis met Alex, and Alexis left."
    assert clean_text(raw) == (
        "Belgium has no government. Belgium is a federal state. Alexis met Alex, and Alexis left."
    )


def test_clean_text_separates_run_on_sentences_of_a_scraped_page() -> None:
    raw = (
        "Share this withEmailFacebookTwitterCopy this linkDrilling stopped after the tremor.It will resume."
        'A review follows.I agree, the firm said."We care."The U.S. Army met at 3 p.m. on Node.js day.'
    )
    assert clean_text(raw) == (
        "Drilling stopped after the tremor. It will resume. A review follows. I agree, the firm said. "
        '"We care." The U.S. Army met at 3 p.m. on Node.js day.'
    )


def test_a_photo_caption_goes_with_its_credit_line() -> None:
    raw = (
        "Asylum process to change\n\nThe vessel HMC Searcher on The Solent on February 8, 2010.\n\n"
        "Image: Brian Burnell.\n\nThe Home Office today began issuing questionnaires.\nPhoto: Reuters\n"
        "It will process 12,000 claims."
    )
    assert clean_text(raw) == ("Asylum process to change\n\nIt will process 12,000 claims.")


def test_csv_with_embedded_newlines_and_quotes(tmp_path: Path) -> None:
    path = tmp_path / "articles.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "text"])
        writer.writerow(["a", 'He said "no"', 'Line one, "quoted".\nLine two.'])
        writer.writerow(["b", "empty", ""])
    result = ingest(path)
    assert result.dataset["id"] == ["a"]
    assert result.dataset["title"] == ['He said "no"']
    assert result.dataset["text"] == ['Line one, "quoted". Line two.']
    assert [(r.id, r.reason) for r in result.rejected] == [("b", "missing text")]


def test_parquet_gzip_jsonl_and_txt_directory(tmp_path: Path) -> None:
    pq.write_table(pa.table({"id": ["p1", "p2"], "text": [TEXT, None]}), tmp_path / "a.parquet")
    parquet = ingest(tmp_path / "a.parquet")
    assert parquet.dataset["id"] == ["p1"] and parquet.rejected[0].reason == "missing text"

    with gzip.open(tmp_path / "a.jsonl.gz", "wt") as handle:
        handle.write(json.dumps({"id": "g1", "text": TEXT}) + "\n")
    assert ingest(tmp_path / "a.jsonl.gz").dataset["id"] == ["g1"]

    folder = tmp_path / "txt"
    folder.mkdir()
    (folder / "first.txt").write_text("A headline\n\n" + TEXT)
    (folder / "empty.txt").write_text("  \n")
    txt = ingest(folder)
    assert txt.dataset["id"] == ["first"] and txt.dataset["title"] == ["A headline"]
    assert [r.location for r in txt.rejected] == ["empty.txt"]


def test_limit_keeps_the_first_valid_articles(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text("".join(json.dumps({"id": f"x{i}", "text": TEXT}) + "\n" for i in range(5)))
    assert ingest(path, limit=2).dataset["id"] == ["x0", "x1"]


def test_unusable_inputs_raise_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ingest(tmp_path / "missing.jsonl")
    (tmp_path / "a.xml").write_text("<a/>")
    with pytest.raises(ValueError, match="cannot tell the format"):
        ingest(tmp_path / "a.xml")


def test_with_a_cache_dir_the_articles_are_memory_mapped_from_an_arrow_file(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    lines = [json.dumps({"id": f"x{i}", "text": f"{TEXT} ({i})"}) for i in range(4)] + ["{broken"]
    path.write_text("\n".join(lines) + "\n")
    mapped = ingest(path, cache_dir=tmp_path / "arrow")
    in_memory = ingest(path)

    assert mapped.dataset.to_list() == in_memory.dataset.to_list()
    assert len(mapped.dataset) == 4 and mapped.rejected == in_memory.rejected
    [arrow_file] = mapped.dataset.cache_files  # read from disk, not held in memory
    assert Path(arrow_file["filename"]).is_relative_to(tmp_path / "arrow")
    assert in_memory.dataset.cache_files == []  # without a cache dir: loaded, its temporary file gone

    (tmp_path / "bad.jsonl").write_text("{broken\n")
    nothing = ingest(tmp_path / "bad.jsonl", cache_dir=tmp_path / "arrow-empty")
    assert len(nothing.dataset) == 0
    assert nothing.dataset.column_names == ["id", "title", "date", "source", "text"]
    assert [r.reason.split(":")[0] for r in nothing.rejected] == ["malformed JSON line"]
