"""The HTML report, rendered from hand-built output folders with hostile strings in every field."""

import json
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from markupsafe import escape

from pipeline.evaluate import (
    actor_detection_metrics,
    detection_errors,
    pair_actors,
    stance_metrics,
    worst_errors,
)
from pipeline.report import (
    REPORT_FILE,
    STANCE_ORDER,
    count_predictions,
    dated_stances,
    highlight_evidence,
    timeline_figure,
    write_report,
)
from pipeline.tables import BY_PERIOD_CSV, write_tables

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
# The tags the template itself writes; anything else in a page came from the data.
OWN_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "h1", "nav", "a", "main", "section", "h2",
    "h3", "div", "b", "span", "table", "tr", "th", "td", "details", "summary", "figure", "figcaption",
    "img", "p", "br", "mark", "ul", "li",
}  # fmt: skip
TEXTS = {
    "a1": f"Intro.\n\nAlice said: {HOSTILE} Then Bob agreed. The <end>.",
    "a2": "Bob met Dollar $\\frac$ Inc. Nothing else.",
}
METRICS = {
    "articles_in": 3.0,
    "articles_rejected": 2.0,
    "articles_out_count": 3.0,
    "articles_chunked_count": 1.0,
    "time_ingest_s": 0.5,
    "time_summarize_s": 1.5,
    "time_total_s": 4.0,
    "articles_per_s": 0.75,
}


def actor(name: str, stance: str, evidence: list[str], top: float = 0.8) -> dict[str, Any]:
    others = (1 - top) / 2 if evidence else 0.0
    probabilities = {label: others for label in ("aggressive", "conciliatory", "hedging")}
    if stance in probabilities:
        probabilities[stance] = top
    return {
        "name": name,
        "aliases": [],
        "type": "person",
        "evidence": evidence,
        "stance": stance,
        "probabilities": probabilities,
    }


def records() -> list[dict[str, Any]]:
    return [
        {
            "id": "a1",
            "title": HOSTILE,
            "date": "2024-01-05",
            "source": f"https://example.org/{HOSTILE}",
            "summary": f"Alice spoke. {HOSTILE}",
            "summary_chunks": 2,
            "summary_faithful": False,
            "summary_faithfulness": 0.42,
            "actors": [
                actor(f"Alice {HOSTILE}", "aggressive", [f"Alice said: {HOSTILE}"]),
                actor("Bob", "conciliatory", ["Then Bob agreed."]),
                actor("Carol", "none", []),
            ],
        },
        {
            "id": "a2",
            "title": "Second",
            "date": "2024-03-10",
            "summary": "Bob met someone.",
            "actors": [
                actor("Bob", "hedging", ["Bob hedged, not verbatim."]),
                actor("Dollar $\\frac$ Inc", "aggressive", ["Bob met Dollar $\\frac$ Inc."]),
            ],
        },
        {"id": "a3", "title": "Third, stages skipped"},
    ]


def write_run(folder: Path, predictions: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "predictions.jsonl").open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(record) + "\n" for record in predictions)
    rejections = [
        {"location": f"in.jsonl:{HOSTILE}", "id": HOSTILE, "reason": f"text is empty {HOSTILE}"},
        {"location": "in.jsonl:9", "id": None, "reason": "missing id"},
    ]
    with (folder / "rejected.jsonl").open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(rejection) + "\n" for rejection in rejections)
    return folder


def evaluation_of(predictions: list[dict[str, Any]]) -> dict[str, Any]:
    """The dict `evaluate_run` returns, built with the same functions from a hand-made gold file."""
    gold = [
        {"id": "a1", "actors": [{**actor(f"Alice {HOSTILE}", "hedging", []), "secondary": None}]},
        {"id": "a2", "actors": [{**actor("Bob", "conciliatory", []), "secondary": None}]},
    ]
    pairs = pair_actors(predictions, gold)
    return {
        "model": "trained",
        "gold": "dev.jsonl",
        "articles": 2,
        "articles_rejected": 0,
        "metrics": {},
        "detection": actor_detection_metrics(predictions, gold),
        "stance": stance_metrics(pairs),
        "worst_errors": worst_errors(pairs, 5),
        "detection_errors": detection_errors(pairs),
    }


class TagCollector(HTMLParser):
    """Every start tag of a page with its attributes, as the browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    collector = TagCollector()
    collector.feed(html)
    return collector.tags


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The report of `records()`, rendered once for the tests that only read it (charts take seconds)."""
    folder = write_run(tmp_path_factory.mktemp("report") / "run", records())
    path = write_report(folder, METRICS, TEXTS)
    assert path == folder / REPORT_FILE
    return path.read_text(encoding="utf-8")


def test_page_is_inert_with_hostile_data(page: str) -> None:
    tags = tags_of(page)
    assert {tag for tag, _ in tags} <= OWN_TAGS
    assert "script" not in {tag for tag, _ in tags}
    assert not [name for _, attrs in tags for name in attrs if name.startswith("on")]
    assert not [attrs for tag, attrs in tags if tag == "img" and attrs.get("src") == "x"]
    # Every hostile string arrives as text: title, text, actor name, evidence, reason, rejected id.
    assert page.count(str(escape(HOSTILE))) >= 8
    assert "<script" not in page and "<img src=x" not in page


def test_page_loads_nothing_from_the_network(page: str) -> None:
    tags = tags_of(page)
    sources = [attrs.get("src") or "" for tag, attrs in tags if tag == "img"]
    assert len(sources) == 4
    assert all(source.startswith("data:image/png;base64,") for source in sources)
    assert all((attrs.get("href") or "#").startswith("#") for tag, attrs in tags if tag == "a")
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", page)
    assert "https://example.org/" in page  # the source, as plain text


def test_overview_has_the_run_numbers_times_and_rejections(page: str) -> None:
    numbers = dict(
        (label, value)
        for value, label in re.findall(r'<div class="number"><b>([^<]*)</b><span>([^<]*)', page)
    )
    assert numbers["articles accepted"] == "3"
    assert numbers["articles rejected"] == "2"
    assert numbers["summarised in chunks"] == "1"
    assert numbers["articles per second"] == "0.75"
    assert re.search(r"<td>summarize</td><td class=\"num\">1.5</td><td class=\"num\">38%</td>", page)
    assert "<h3>Rejected records: 2</h3>" in page
    assert f"text is empty {escape(HOSTILE)}" in page


def test_charts_cover_stance_actors_time_and_cooccurrence(page: str) -> None:
    captions = re.findall(r"<figcaption>([^<]*)</figcaption>", page)
    assert captions == [
        "Stance of all actors",
        "Stance per actor: the 4 actors in most articles",
        "Stance over time (per month)",
        "Articles in which two actors appear together (in brackets: all articles of the actor)",
    ]


def test_one_card_per_article_with_badges_marks_and_flags(page: str) -> None:
    assert page.count('<section class="card">') == 3
    badges = re.findall(r'<span class="badge stance-(\w+)">(\w+)</span>', page)
    assert {label for _, label in badges} == {"aggressive", "conciliatory", "hedging", "none"}
    assert all(css == label for css, label in badges)
    marks = re.findall(r'<mark class="stance-(\w+)" title="([^"]*)">([^<]*)</mark>', page)
    assert ("aggressive", f"Alice {escape(HOSTILE)}", f"Alice said: {escape(HOSTILE)}") in marks
    assert ("conciliatory", "Bob", "Then Bob agreed.") in marks
    assert ("aggressive", "Dollar $\\frac$ Inc", "Bob met Dollar $\\frac$ Inc.") in marks
    assert "The &lt;end&gt;." in page
    assert '<div class="unplaced">“Bob hedged, not verbatim.”</div>' in page
    assert "not faithful faithfulness 0.42</span>" in page
    assert "aggressive 0.80 · conciliatory 0.10 · hedging 0.10" in page
    assert "No summary: the stage was skipped." in page
    assert "No actors: the stage was skipped." in page


def test_evaluation_section_only_with_an_evaluation(tmp_path: Path, page: str) -> None:
    assert 'id="evaluation"' not in page
    predictions = records()
    folder = write_run(tmp_path / "eval", predictions)
    evaluated = write_report(folder, METRICS, TEXTS, evaluation=evaluation_of(predictions)).read_text()
    assert 'id="evaluation"' in evaluated
    assert "Evaluation: trained on dev.jsonl" in evaluated
    assert "Confusion matrix (rows gold, columns predicted)" in evaluated
    assert "Worst errors (most confident first)" in evaluated
    # Alice: gold hedging, predicted aggressive at 0.80; Bob: gold conciliatory, predicted hedging.
    assert f"<td>Alice {escape(HOSTILE)}</td>" in evaluated
    assert {tag for tag, _ in tags_of(evaluated)} <= OWN_TAGS


def test_cards_are_capped_and_the_rest_counted(tmp_path: Path) -> None:
    folder = write_run(tmp_path / "run", records())
    html = write_report(folder, METRICS, TEXTS, max_cards=2).read_text()
    assert html.count('<section class="card">') == 2
    assert "1 more articles are not shown: the report shows the first 2." in html


def test_run_without_actors_or_dates_says_so(tmp_path: Path) -> None:
    folder = write_run(tmp_path / "run", [{"id": "x", "title": "Only", "summary": "S."}])
    html = write_report(folder, {"articles_in": 1.0}).read_text()
    assert "<figure>" not in html
    assert "No actors in this run: the actors stage was skipped." in html


def test_overlapping_evidence_merges_into_one_mark() -> None:
    actors = [actor("A", "aggressive", ["one two"]), actor("B", "hedging", ["two three"])]
    html, found = highlight_evidence("zero one two three <four>", actors)
    assert str(html) == 'zero <mark class="stance-other" title="A, B">one two three</mark> &lt;four&gt;'
    assert found == {"one two", "two three"}


def test_run_with_actors_but_no_stance_stage(tmp_path: Path) -> None:
    unlabelled = {"name": "Anna Berg", "aliases": [], "type": "person", "evidence": ["Berg warned Oslo."]}
    folder = write_run(tmp_path / "run", [{"id": "x", "title": "T", "actors": [unlabelled]}])
    html = write_report(folder, {"articles_in": 1.0}, {"x": "Berg warned Oslo."}).read_text()
    assert "Anna Berg" in html and '<mark class="stance-' in html


def obama_records() -> list[dict[str, Any]]:
    """Three articles naming Barack Obama three ways, and Xi Jinping in two of them."""
    return [
        {"id": "b1", "date": "2015-09-16", "actors": [actor("Barack Obama", "aggressive", ["x y z"]),
                                                       actor("Xi Jinping", "conciliatory", ["x y z"])]},
        {"id": "b2", "date": "2016-01-10", "actors": [actor("Obama", "hedging", ["x y z"]),
                                                       actor("Xi Jinping", "none", [])]},
        {"id": "b3", "date": "2016-01-20", "actors": [actor("President Obama", "aggressive", ["x y z"])]},
    ]  # fmt: skip


def test_charts_count_actors_by_their_corpus_wide_id(tmp_path: Path) -> None:
    folder = write_run(tmp_path / "run", obama_records())
    counts = count_predictions(folder / "predictions.jsonl", {}, max_cards=0, period="month")
    assert counts.actor_articles == {"person:barack-obama": 3, "person:xi-jinping": 2}
    assert counts.actor_stances["person:barack-obama"] == {"aggressive": 2, "hedging": 1}
    assert counts.ids.labels["person:barack-obama"] == "Barack Obama"
    html = write_report(folder, {"articles_in": 3.0}).read_text()
    captions = re.findall(r"<figcaption>([^<]*)</figcaption>", html)
    assert "Stance per actor: the 2 actors in most articles" in captions
    assert "Stance over time (per month)" in captions


def test_stance_over_time_draws_the_by_period_table(tmp_path: Path) -> None:
    folder = write_run(tmp_path / "run", obama_records())
    write_tables(folder, "month")
    table = pd.read_csv(folder / BY_PERIOD_CSV, dtype={"period": str})
    counts = count_predictions(folder / "predictions.jsonl", {}, max_cards=0, period="month")
    drawn = dated_stances(counts.by_period, ["person:barack-obama", "person:xi-jinping"])
    from_table = {
        (row.actor_id, row.period): {
            label: getattr(row, label) for label in STANCE_ORDER if getattr(row, label)
        }
        for row in table.itertuples()
        if row.period != "undated" and any(getattr(row, label) for label in STANCE_ORDER)
    }
    assert {(actor_id, period): dict(stances) for actor_id, periods in drawn.items()
            for period, stances in periods.items()} == from_table  # fmt: skip
    assert drawn["person:barack-obama"]["2016-01"] == {"hedging": 1, "aggressive": 1}


def test_every_stance_over_time_panel_labels_its_periods_with_years() -> None:
    rows = [
        (name, {"2015-09": Counter({"aggressive": 1}), "2016-01": Counter({"hedging": 2})})
        for name in ("Barack Obama", "Xi Jinping", "North Korea")
    ]
    figure = timeline_figure(rows)
    figure.canvas.draw()
    assert len(figure.axes) == 3
    for axes in figure.axes:
        labels = [
            tick.label1.get_text() for tick in axes.xaxis.get_major_ticks() if tick.label1.get_visible()
        ]
        assert labels == ["2015-09", "2016-01"]
