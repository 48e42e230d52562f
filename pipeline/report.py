"""The run's self-contained HTML report: `report.html` in its output folder.

One page that needs no network: CSS inline, charts as base64 PNG drawn with matplotlib's Agg backend,
no scripts (a Content-Security-Policy forbids them and any outside load). predictions.jsonl and
rejected.jsonl are read as streams, predictions three times (the corpus-wide actor ids, then the counts,
then the co-occurrence of the actors found most often), so a batch of 100,000 articles costs counters
and `max_cards` cards, not the records. The charts count actors by their corpus-wide id and label them
with its fullest name (pipeline/tables.py); stance over time draws the counts that
actor_stance_by_period.csv holds.
Titles, texts, actor names, evidence and rejection reasons are untrusted: the template escapes every
value (Jinja2 autoescape) and the evidence highlighting escapes each piece it builds.
"""

from __future__ import annotations

import base64
import io
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
from markupsafe import Markup, escape
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pipeline.files import read_jsonl, write_text_atomic
from pipeline.schema import LABELS, NO_STANCE
from pipeline.tables import (
    UNDATED,
    ActorIds,
    StanceByPeriod,
    article_stances,
    collect_actor_ids,
)

REPORT_FILE = "report.html"
TEMPLATES_DIR = Path(__file__).parent / "templates"
STANCE_ORDER = (*LABELS, NO_STANCE)
# Okabe-Ito hues, told apart with the common colour-vision deficiencies; the template's badge and
# highlight CSS is generated from this table, so a chart and a badge never disagree.
STANCE_COLOURS = {
    "aggressive": "#D55E00",
    "conciliatory": "#009E73",
    "hedging": "#E69F00",
    NO_STANCE: "#999999",
}
OTHER_COLOUR = "#56B4E9"  # a label outside STANCE_ORDER (a backend's extra class), and mixed highlights
# How many of the most mentioned actors each chart shows: beyond these the bars and cells get unreadable.
CHART_ACTORS = 15
TIMELINE_ACTORS = 6
COOCCURRENCE_ACTORS = 12
ACTOR_LABEL_CHARS = 32
REJECTIONS_LISTED = 50
REASONS_LISTED = 20
DETECTION_ERRORS_LISTED = 10
PERIOD_NAMES = {"day": "per day", "week": "per week", "month": "per month", "year": "per year"}
# The overview's numbers, in this order, when the run's metrics have them (see pipeline/run.py).
OVERVIEW_METRICS = (
    ("articles accepted", "articles_in"),
    ("articles rejected", "articles_rejected"),
    ("articles processed", "articles_out_count"),
    ("summarised in chunks", "articles_chunked_count"),
    ("summarised from their lead", "articles_summarised_from_lead_count"),
    ("summaries repaired", "summaries_repaired_count"),
    ("actors", "actors_count"),
    ("actors with evidence", "actors_with_evidence_count"),
    ("shards resumed", "resumed_shards_count"),
    ("articles per second", "articles_per_s"),
)


@dataclass
class CorpusCounts:
    """What the counting pass over predictions.jsonl gathers: counts for the charts and the first cards.

    Actors are counted by corpus-wide id (`ids`), each id once per article.
    """

    ids: ActorIds
    by_period: StanceByPeriod
    articles: int = 0
    stances: Counter[str] = field(default_factory=Counter)
    actor_articles: Counter[str] = field(default_factory=Counter)
    actor_stances: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    has_actors: bool = False
    cards: list[dict[str, Any]] = field(default_factory=list)


def write_report(
    output_dir: Path,
    metrics: Mapping[str, float],
    texts: Mapping[str, str] | None = None,
    evaluation: Mapping[str, Any] | None = None,
    max_cards: int = 200,
    period: str = "month",
) -> Path:
    """The path of `report.html`, written into `output_dir` from its predictions.jsonl and rejected.jsonl.

    `metrics` is the run's metrics dict (`RunSummary.metrics`). `texts` maps article id to the text
    the stages read; only the ids of the first `max_cards` records are looked up, and their evidence
    is highlighted in it. `evaluation` is the dict `pipeline.eval_stance.evaluate_run` returns; with
    it the page gets the scores, the confusion matrix and the worst errors. `period` is the stance-over-time
    chart's (`tables.period`: day, week, month or year).
    """
    output_dir = Path(output_dir)
    counts = count_predictions(output_dir / "predictions.jsonl", texts or {}, max_cards, period)
    timings, total_s = stage_timings(metrics)
    context = {
        "title": output_dir.name,
        "overview": [
            (label, f"{metrics[key]:,.0f}" if float(metrics[key]).is_integer() else f"{metrics[key]:,.2f}")
            for label, key in OVERVIEW_METRICS
            if key in metrics
        ],
        "timings": timings,
        "total_s": total_s,
        "rejections": count_rejections(output_dir / "rejected.jsonl"),
        "charts": draw_charts(output_dir / "predictions.jsonl", counts),
        "has_actors": counts.has_actors,
        "cards": counts.cards,
        "cards_left_out": counts.articles - len(counts.cards),
        "max_cards": max_cards,
        "evaluation": evaluation,
        "detection_errors_listed": DETECTION_ERRORS_LISTED,
        "stance_colours": {**STANCE_COLOURS, "other": OTHER_COLOUR},
    }
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["stance_class"] = stance_class
    path = output_dir / REPORT_FILE
    write_text_atomic(path, environment.get_template("report.html.j2").render(context))
    return path


def count_predictions(path: Path, texts: Mapping[str, str], max_cards: int, period: str) -> CorpusCounts:
    """Two streaming passes over predictions.jsonl: the actor ids; then stance and actor counts, the
    stances per actor and period, the first cards."""
    ids = collect_actor_ids(path)
    counts = CorpusCounts(ids, StanceByPeriod(ids, period))
    for record in read_jsonl(path):
        counts.articles += 1
        if len(counts.cards) < max_cards:
            counts.cards.append(article_card(record, texts.get(str(record.get("id")))))
        counts.by_period.add(record)
        actors = record.get("actors")
        counts.has_actors |= actors is not None
        for actor_id, stance in article_stances(actors or [], ids).items():
            counts.actor_articles[actor_id] += 1
            if stance is not None:
                counts.stances[stance] += 1
                counts.actor_stances[actor_id][stance] += 1
    return counts


def article_card(record: Mapping[str, Any], text: str | None) -> dict[str, Any]:
    """The record as the template's card: its fields, its actors, and the text with the evidence marked."""
    actors = record.get("actors")
    highlighted, placed = highlight_evidence(text, actors or []) if text else (None, set())
    return {
        "id": str(record.get("id", "")),
        "title": record.get("title") or "(untitled)",
        "date": record.get("date") or "",
        "source": record.get("source") or "",
        "summary": record.get("summary"),
        "summary_chunks": record.get("summary_chunks", 1),
        "summary_read_sentences": record.get("summary_read_sentences"),
        "summary_repairs": record.get("summary_repairs") or [],
        "faithful": record.get("summary_faithful"),
        "faithfulness": record.get("summary_faithfulness"),
        "actors": None
        if actors is None
        else [
            {**actor, "unplaced": [s for s in actor.get("evidence") or [] if s not in placed]}
            for actor in actors
        ],
        "text": highlighted,
    }


def highlight_evidence(text: str, actors: Sequence[Mapping[str, Any]]) -> tuple[Markup, set[str]]:
    """The text escaped, each verbatim occurrence of an actor's evidence in a <mark>; and the evidence found.

    Overlapping occurrences (two actors quoted in one sentence) merge into one mark that names both and
    takes their stance's colour when they agree, the "mixed" colour when not.
    """
    spans: list[tuple[int, int, str, str]] = []
    for actor in actors:
        for sentence in actor.get("evidence") or []:
            start = text.find(sentence) if sentence else -1
            while start >= 0:
                spans.append(
                    (start, start + len(sentence), str(actor["name"]), actor.get("stance", NO_STANCE))
                )
                start = text.find(sentence, start + len(sentence))
    merged: list[tuple[int, int, list[str], set[str]]] = []
    for start, end, name, stance in sorted(spans):
        if merged and start < merged[-1][1]:
            last_start, last_end, names, stances = merged[-1]
            merged[-1] = (last_start, max(last_end, end), [*names, name], stances | {stance})
        else:
            merged.append((start, end, [name], {stance}))
    html, position = Markup(), 0
    for start, end, names, stances in merged:
        stance = next(iter(stances)) if len(stances) == 1 else "mixed"
        html += escape(text[position:start])
        html += Markup('<mark class="stance-{}" title="{}">{}</mark>').format(
            stance_class(stance), ", ".join(dict.fromkeys(names)), text[start:end]
        )
        position = end
    html += escape(text[position:])
    return html, {text[start:end] for start, end, _, _ in spans}


def stance_class(label: str) -> str:
    """The CSS class suffix of a stance label: the label itself when known, "other" for anything else."""
    return label if label in STANCE_COLOURS else "other"


def stage_timings(metrics: Mapping[str, float]) -> tuple[list[tuple[str, float, float]], float]:
    """(stage, seconds, percent of the total) per `time_<stage>_s` metric in the run's order; and the total.

    The total is `time_total_s`, which also holds what no stage accounts for (loading the models);
    without it, the stages' sum.
    """
    stages = {
        key.removeprefix("time_").removesuffix("_s"): value
        for key, value in metrics.items()
        if key.startswith("time_") and key.endswith("_s") and key != "time_total_s"
    }
    total = metrics.get("time_total_s", sum(stages.values()))
    return [(stage, value, 100 * value / total if total else 0.0) for stage, value in stages.items()], total


def count_rejections(path: Path) -> dict[str, Any]:
    """The rejections' total, the most common reasons with their counts, and the first few records."""
    reasons: Counter[str] = Counter()
    listed = []
    for rejection in read_jsonl(path):
        reasons[str(rejection.get("reason"))] += 1
        if len(listed) < REJECTIONS_LISTED:
            listed.append(rejection)
    return {"total": reasons.total(), "reasons": reasons.most_common(REASONS_LISTED), "listed": listed}


def draw_charts(path: Path, counts: CorpusCounts) -> list[tuple[str, str]]:
    """(caption, PNG data URI) for each chart the run's data allows; co-occurrence in a last pass."""
    charts = []
    if counts.stances:
        charts.append(("Stance of all actors", stance_distribution_png(counts.stances)))
    label = counts.ids.labels
    top = [
        actor_id
        for actor_id, _ in counts.actor_articles.most_common(CHART_ACTORS)
        if counts.actor_stances[actor_id]
    ]
    if top:
        charts.append(
            (
                f"Stance per actor: the {len(top)} actors in most articles",
                actor_stances_png([label[i] for i in top], [counts.actor_stances[i] for i in top]),
            )
        )
    timeline = dated_stances(counts.by_period, top[:TIMELINE_ACTORS])
    if timeline:
        charts.append(
            (
                f"Stance over time ({PERIOD_NAMES[counts.by_period.period]})",
                timeline_png([(label[actor_id], periods) for actor_id, periods in timeline.items()]),
            )
        )
    cooccurring = [actor_id for actor_id, _ in counts.actor_articles.most_common(COOCCURRENCE_ACTORS)]
    if len(cooccurring) >= 2:
        charts.append(
            (
                "Articles in which two actors appear together (in brackets: all articles of the actor)",
                cooccurrence_png(
                    [label[i] for i in cooccurring], count_together(path, counts.ids, cooccurring)
                ),
            )
        )
    return charts


def dated_stances(by_period: StanceByPeriod, actor_ids: Sequence[str]) -> dict[str, dict[str, Counter[str]]]:
    """Per actor id (of `actor_ids`, in order) with a stance in a dated article: period -> stance counts."""
    timeline: dict[str, dict[str, Counter[str]]] = {actor_id: {} for actor_id in actor_ids}
    for (actor_id, when), stances in by_period.stances.items():
        if actor_id in timeline and when != UNDATED and stances:
            timeline[actor_id][when] = stances
    return {actor_id: periods for actor_id, periods in timeline.items() if periods}


def count_together(path: Path, ids: ActorIds, actor_ids: Sequence[str]) -> np.ndarray:
    """A last pass: the articles per pair of `actor_ids`; the diagonal holds each one's own article count."""
    index = {actor_id: position for position, actor_id in enumerate(actor_ids)}
    together = np.zeros((len(actor_ids), len(actor_ids)), dtype=int)
    for record in read_jsonl(path):
        present = sorted(index[i] for i in article_stances(record.get("actors") or [], ids) if i in index)
        together[np.ix_(present, present)] += 1
    return together


def png_data_uri(figure: Figure) -> str:
    """The figure as a `data:image/png;base64,...` URI, so the page embeds it instead of linking a file."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def new_figure(width_in: float, height_in: float) -> Figure:
    # Constrained layout makes room for tick labels, colour bars and a legend outside the axes.
    figure = Figure(figsize=(width_in, height_in), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def chart_label(name: str) -> str:
    """An actor name fit for a tick label: shortened, and with "$" escaped so matplotlib draws no mathtext."""
    short = name if len(name) <= ACTOR_LABEL_CHARS else name[: ACTOR_LABEL_CHARS - 1] + "…"
    return short.replace("$", r"\$")


def labels_in(counters: Sequence[Mapping[str, int]]) -> list[str]:
    """The stance labels the counters hold: the known ones in STANCE_ORDER, then any other, sorted."""
    present = {label for counter in counters for label, count in counter.items() if count}
    return [label for label in STANCE_ORDER if label in present] + sorted(present - set(STANCE_ORDER))


def stance_colour(label: str) -> str:
    return STANCE_COLOURS.get(label, OTHER_COLOUR)


def stacked_bars(axes: Axes, counters: Sequence[Mapping[str, int]], horizontal: bool) -> None:
    """One bar per counter at positions 0..n-1, split into its stance labels' colours."""
    base = np.zeros(len(counters))
    draw, offset = (axes.barh, "left") if horizontal else (axes.bar, "bottom")
    for label in labels_in(counters):
        values = np.array([counter.get(label, 0) for counter in counters], dtype=float)
        draw(range(len(counters)), values, color=stance_colour(label), label=label, **{offset: base})
        base += values


def stance_distribution_png(stances: Mapping[str, int]) -> str:
    labels = labels_in([stances])
    figure = new_figure(7, 0.5 * len(labels) + 1)
    axes = figure.add_subplot()
    values = [stances[label] for label in labels]
    bars = axes.barh(range(len(labels)), values, color=[stance_colour(label) for label in labels])
    axes.bar_label(
        bars, labels=[f"{value:,} ({100 * value / sum(values):.0f}%)" for value in values], padding=3
    )
    axes.set_yticks(range(len(labels)), labels=[chart_label(label) for label in labels])
    axes.invert_yaxis()
    axes.set_xlabel("actors")
    axes.margins(x=0.2)
    return png_data_uri(figure)


def actor_stances_png(names: Sequence[str], counters: Sequence[Mapping[str, int]]) -> str:
    figure = new_figure(8, 0.35 * len(names) + 1.2)
    axes = figure.add_subplot()
    stacked_bars(axes, counters, horizontal=True)
    axes.set_yticks(range(len(names)), labels=[chart_label(name) for name in names])
    axes.invert_yaxis()
    axes.set_xlabel("articles")
    figure.legend(loc="outside lower center", fontsize="small", ncols=4)
    return png_data_uri(figure)


def timeline_png(rows: Sequence[tuple[str, Mapping[str, Counter[str]]]]) -> str:
    return png_data_uri(timeline_figure(rows))


def timeline_figure(rows: Sequence[tuple[str, Mapping[str, Counter[str]]]]) -> Figure:
    """Small multiples: one panel per (actor label, period -> stance counts), one stacked bar per period,
    all panels on the same periods, and each with its own period labels (so every panel shows its years)."""
    periods = sorted({period for _, counts in rows for period in counts})
    figure = new_figure(8, 1.7 * len(rows) + 1.2)
    axes_rows = figure.subplots(len(rows), 1, sharex=True, squeeze=False)[:, 0]
    # Every tick labelled would overlap beyond a few dozen periods; a stride keeps about 20.
    ticks = range(0, len(periods), max(1, len(periods) // 20))
    for axes, (name, counts) in zip(axes_rows, rows, strict=True):
        stacked_bars(axes, [counts.get(period, {}) for period in periods], horizontal=False)
        axes.set_ylabel(chart_label(name), rotation=0, ha="right", va="center")
        axes.yaxis.get_major_locator().set_params(integer=True)
        axes.set_xticks(ticks, labels=[periods[i] for i in ticks], rotation=45, ha="right")
        axes.tick_params(axis="x", labelbottom=True)  # sharex hides them on all but the last panel
    handles, labels = axes_rows[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside upper right", fontsize="small", ncols=len(labels))
    return figure


def cooccurrence_png(names: Sequence[str], together: np.ndarray) -> str:
    """The pairs' heat map; each actor's own article count goes into its label, not the diagonal.

    On the diagonal it would dwarf every pair and wash the colour scale out.
    """
    pairs = together.copy()
    np.fill_diagonal(pairs, 0)
    size = 0.55 * len(names) + 3
    figure = new_figure(size + 1, size)
    axes = figure.add_subplot()
    image = axes.imshow(pairs, cmap="Blues")
    figure.colorbar(image, ax=axes, label="articles with both", shrink=0.8)
    labels = [f"{chart_label(name)} ({together[index, index]})" for index, name in enumerate(names)]
    axes.set_xticks(range(len(names)), labels=labels, rotation=45, ha="right")
    axes.set_yticks(range(len(names)), labels=labels)
    threshold = pairs.max() / 2
    for (row, column), count in np.ndenumerate(pairs):
        if count:
            colour = "white" if count > threshold else "black"
            axes.text(column, row, str(count), ha="center", va="center", color=colour, fontsize="small")
    return png_data_uri(figure)
