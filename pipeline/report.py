"""The run's self-contained HTML report: `report.html` in its output folder.

One page that needs no network: CSS inline, charts as base64 PNG drawn with matplotlib's Agg backend,
no scripts (a Content-Security-Policy forbids them and any outside load). predictions.jsonl and
rejected.jsonl are read as streams, predictions twice (the actors to chart are known only after the
first pass), so a batch of 100,000 articles costs counters and `max_cards` cards, not the records.
Titles, texts, actor names, evidence and rejection reasons are untrusted: the template escapes every
value (Jinja2 autoescape) and the evidence highlighting escapes each piece it builds.
"""

from __future__ import annotations

import base64
import io
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
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
PERIOD_NAMES = {"%Y-%m-%d": "per day", "%Y-%m": "per month", "%Y": "per year"}
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
    """What the first pass over predictions.jsonl gathers: counts for the charts and the first cards."""

    articles: int = 0
    stances: Counter[str] = field(default_factory=Counter)
    actor_articles: Counter[str] = field(default_factory=Counter)
    actor_stances: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    has_actors: bool = False
    first_date: date | None = None
    last_date: date | None = None
    cards: list[dict[str, Any]] = field(default_factory=list)


def write_report(
    output_dir: Path,
    metrics: Mapping[str, float],
    texts: Mapping[str, str] | None = None,
    evaluation: Mapping[str, Any] | None = None,
    max_cards: int = 200,
) -> Path:
    """The path of `report.html`, written into `output_dir` from its predictions.jsonl and rejected.jsonl.

    `metrics` is the run's metrics dict (`RunSummary.metrics`). `texts` maps article id to the text
    the stages read; only the ids of the first `max_cards` records are looked up, and their evidence
    is highlighted in it. `evaluation` is the dict `pipeline.eval_stance.evaluate_run` returns; with
    it the page gets the scores, the confusion matrix and the worst errors.
    """
    output_dir = Path(output_dir)
    counts = count_predictions(output_dir / "predictions.jsonl", texts or {}, max_cards)
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


def count_predictions(path: Path, texts: Mapping[str, str], max_cards: int) -> CorpusCounts:
    """One streaming pass over predictions.jsonl: stance and actor counts, the date span, the first cards."""
    counts = CorpusCounts()
    for record in read_jsonl(path):
        counts.articles += 1
        if len(counts.cards) < max_cards:
            counts.cards.append(article_card(record, texts.get(str(record.get("id")))))
        day = parse_date(record.get("date"))
        if day is not None:
            counts.first_date = min(day, counts.first_date or day)
            counts.last_date = max(day, counts.last_date or day)
        actors = record.get("actors")
        counts.has_actors |= actors is not None
        for name, stance in actor_stances(actors or []).items():
            counts.actor_articles[name] += 1
            if stance is not None:
                counts.stances[stance] += 1
                counts.actor_stances[name][stance] += 1
    return counts


def actor_stances(actors: Sequence[Mapping[str, Any]]) -> dict[str, str | None]:
    """Each actor name in an article with its stance (None before the stance stage), each name once."""
    return {str(actor["name"]): actor.get("stance") for actor in actors}


def parse_date(value: Any) -> date | None:
    """The ISO date a record's `date` starts with ("2007-11-06", "2007-11-06T10:00Z"); None if it has none."""
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


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
    """(caption, PNG data URI) for each chart the run's data allows, drawn in a second pass for the top actors."""
    charts = []
    if counts.stances:
        charts.append(("Stance of all actors", stance_distribution_png(counts.stances)))
    top = [name for name, _ in counts.actor_articles.most_common(CHART_ACTORS) if counts.actor_stances[name]]
    if top:
        charts.append(
            (
                f"Stance per actor: the {len(top)} actors in most articles",
                actor_stances_png(top, [counts.actor_stances[name] for name in top]),
            )
        )
    cooccurring = [name for name, _ in counts.actor_articles.most_common(COOCCURRENCE_ACTORS)]
    timeline_actors = top[:TIMELINE_ACTORS] if counts.first_date else []
    if len(cooccurring) < 2 and not timeline_actors:
        return charts
    period = period_format(counts.first_date, counts.last_date)
    timeline, together = count_top_actors(path, timeline_actors, cooccurring, period)
    if any(timeline.values()):
        charts.append((f"Stance over time ({PERIOD_NAMES[period]})", timeline_png(timeline)))
    if len(cooccurring) >= 2:
        charts.append(
            (
                "Articles in which two actors appear together (in brackets: all articles of the actor)",
                cooccurrence_png(cooccurring, together),
            )
        )
    return charts


def period_format(first: date | None, last: date | None) -> str:
    """The strftime format that splits the date span into a readable number of bars: days, months or years."""
    span_days = (last - first).days if first and last else 0
    if span_days <= 62:
        return "%Y-%m-%d"
    return "%Y-%m" if span_days <= 3 * 366 else "%Y"


def count_top_actors(
    path: Path, timeline_actors: Sequence[str], cooccurring: Sequence[str], period: str
) -> tuple[dict[str, dict[str, Counter[str]]], np.ndarray]:
    """A second pass: per timeline actor, period -> stance counts; and the articles per pair of actors.

    The co-occurrence matrix's diagonal holds each actor's own article count.
    """
    timeline: dict[str, dict[str, Counter[str]]] = {name: defaultdict(Counter) for name in timeline_actors}
    index = {name: position for position, name in enumerate(cooccurring)}
    together = np.zeros((len(cooccurring), len(cooccurring)), dtype=int)
    for record in read_jsonl(path):
        stances = actor_stances(record.get("actors") or [])
        present = sorted(index[name] for name in stances if name in index)
        together[np.ix_(present, present)] += 1
        day = parse_date(record.get("date"))
        if day is None:
            continue
        for name in timeline_actors:
            if stances.get(name) is not None:
                timeline[name][day.strftime(period)][stances[name]] += 1
    return timeline, together


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


def timeline_png(timeline: Mapping[str, Mapping[str, Counter[str]]]) -> str:
    """Small multiples: one row per actor, one stacked bar per period, all rows on the same periods."""
    names = [name for name, periods in timeline.items() if periods]
    periods = sorted({period for name in names for period in timeline[name]})
    figure = new_figure(8, 1.1 * len(names) + 1.2)
    axes_rows = figure.subplots(len(names), 1, sharex=True, squeeze=False)[:, 0]
    for axes, name in zip(axes_rows, names, strict=True):
        stacked_bars(axes, [timeline[name].get(period, {}) for period in periods], horizontal=False)
        axes.set_ylabel(chart_label(name), rotation=0, ha="right", va="center")
        axes.yaxis.get_major_locator().set_params(integer=True)
    # Every tick labelled would overlap beyond a few dozen periods; a stride keeps about 20.
    stride = max(1, len(periods) // 20)
    axes_rows[-1].set_xticks(
        range(0, len(periods), stride), labels=periods[::stride], rotation=45, ha="right"
    )
    handles, labels = axes_rows[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside upper right", fontsize="small", ncols=len(labels))
    return png_data_uri(figure)


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
