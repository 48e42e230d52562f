"""Actor and stance evaluation against gold articles annotated per ANNOTATION.md.

An article is `{"id", "actors": [...]}`. A predicted actor is `{"name", "aliases", "type", "stance",
"probabilities": {label: p}, "evidence": [...]}` (`stance` and `probabilities` absent before the stance
stage); a gold actor is `{"name", "aliases", "type", "stance", "secondary", "evidence", ...}`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from pipeline.actors.names import name_key
from pipeline.schema import LABELS as STANCE_LABELS
from pipeline.schema import NO_STANCE
from pipeline.text import fold_name

CONFUSION_LABELS = (*STANCE_LABELS, NO_STANCE)
# Gold actors the three annotators labelled three different ways; they are left out of every count.
AMBIGUOUS = "ambiguous"
CALIBRATION_BINS = 10
# Part of the metric's definition, so deliberately not the extractor's configurable list: tuning the
# extractor must not change how its output is scored.
_MATCH_TITLE_LINES = (
    "Mr., Mrs., Ms., Dr., Sir, President, Vice President, Former President, Prime Minister",
    "Deputy Prime Minister, Premier, Chancellor, King, Queen, Prince, Sheikh, Sheik, Secretary",
    "Secretary of State, Secretary-General, Deputy Secretary, Minister, Foreign Minister, Defence Minister",
    "Defense Minister, Ambassador, Senator, Representative, Rep., Governor, General, Gen., Brigadier General",
    "Major, Sergeant, Colonel, Admiral, Commissioner, Chairman, Spokesman, Spokeswoman, Spokesperson",
)
MATCH_TITLES = tuple(
    sorted(
        {fold_name(title) for line in _MATCH_TITLE_LINES for title in line.split(", ")}, key=len, reverse=True
    )
)


@dataclass
class ActorPair:
    """A predicted and a gold actor matched one-to-one in an article; `None` on the side without a match."""

    article_id: str
    pred: dict | None
    gold: dict | None


def actor_name_keys(actor: dict) -> set[str]:
    """The actor's name and aliases, case-, accent-, title-, possessive- and "the"-insensitive."""
    names = [actor["name"], *(actor.get("aliases") or [])]
    return {key for name in names if (key := name_key(name, MATCH_TITLES))}


def pair_actors(pred_articles: Iterable[dict], gold_articles: Iterable[dict]) -> list[ActorPair]:
    """Matches predicted to gold actors per article, one-to-one.

    A predicted and a gold actor can match when a name or alias of one equals a name or alias of the
    other (see `actor_name_keys`). Among the possible matchings the one with the most matches is
    taken, preferring name-equals-name over alias matches. Gold articles without a prediction count
    with all their actors unmatched; predicted articles without gold are ignored.
    """
    predicted = {article["id"]: article.get("actors") or [] for article in pred_articles}
    pairs: list[ActorPair] = []
    for gold_article in gold_articles:
        article_id = gold_article["id"]
        preds, golds = predicted.get(article_id, []), gold_article.get("actors") or []
        scores = np.zeros((len(preds), len(golds)))
        for i, pred in enumerate(preds):
            pred_keys, pred_name = actor_name_keys(pred), name_key(pred["name"], MATCH_TITLES)
            for j, gold in enumerate(golds):
                if pred_keys & actor_name_keys(gold):
                    scores[i, j] = 2.0 if pred_name == name_key(gold["name"], MATCH_TITLES) else 1.0
        matched_preds, matched_golds = set(), set()
        if scores.size:
            for i, j in zip(*linear_sum_assignment(scores, maximize=True), strict=True):
                if scores[i, j] > 0:
                    pairs.append(ActorPair(article_id, preds[i], golds[j]))
                    matched_preds.add(i)
                    matched_golds.add(j)
        pairs.extend(
            ActorPair(article_id, None, gold) for j, gold in enumerate(golds) if j not in matched_golds
        )
        pairs.extend(
            ActorPair(article_id, pred, None) for i, pred in enumerate(preds) if i not in matched_preds
        )
    return pairs


def has_predicted_stance(actor: dict) -> bool:
    """A stance-bearing prediction: stance not "none"; before the stance stage, any evidence at all."""
    if "stance" in actor:
        return actor["stance"] in STANCE_LABELS
    return bool(actor.get("evidence"))


def _gold_has_stance(actor: dict) -> bool:
    return actor["stance"] in STANCE_LABELS


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def actor_detection_metrics(pred_articles: Iterable[dict], gold_articles: Iterable[dict]) -> dict[str, float]:
    """How well stance-bearing actors are found (names matched by `pair_actors`).

    - recall: gold actors with stance aggressive/conciliatory/hedging that are matched to a
      stance-bearing prediction (`has_predicted_stance`), over all such gold actors.
    - precision: stance-bearing predictions matched to a gold actor with one of those three stances,
      over all stance-bearing predictions (an unmatched one, or one matched to a gold `none` actor, is
      a false positive).
    - mention_recall: the same gold actors matched to any prediction, stance-bearing or not.
    - matched_precision: stance-bearing predictions matched to any gold actor, `none` ones included.
    Gold actors with stance "ambiguous", and the predictions matched to them, are not counted.
    """
    pairs = pair_actors(pred_articles, gold_articles)
    gold_positive = [p for p in pairs if p.gold and _gold_has_stance(p.gold)]
    predicted_positive = [
        p
        for p in pairs
        if p.pred and has_predicted_stance(p.pred) and not (p.gold and p.gold["stance"] == AMBIGUOUS)
    ]
    found = sum(1 for p in gold_positive if p.pred and has_predicted_stance(p.pred))
    correct = sum(1 for p in predicted_positive if p.gold and _gold_has_stance(p.gold))
    recall, precision = _ratio(found, len(gold_positive)), _ratio(correct, len(predicted_positive))
    return {
        "recall": recall,
        "precision": precision,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "mention_recall": _ratio(sum(1 for p in gold_positive if p.pred), len(gold_positive)),
        "matched_precision": _ratio(sum(1 for p in predicted_positive if p.gold), len(predicted_positive)),
        "gold_stance_actors": float(len(gold_positive)),
        "predicted_stance_actors": float(len(predicted_positive)),
    }


def detection_errors(pairs: Iterable[ActorPair]) -> dict[str, list[dict]]:
    """For error analysis, the false negatives and positives behind `actor_detection_metrics`.

    missed: gold stance-bearing actors without a stance-bearing prediction; spurious: stance-bearing
    predictions that match no gold actor or a gold `none` one.
    """
    missed, spurious = [], []
    for pair in pairs:
        found = pair.pred is not None and has_predicted_stance(pair.pred)
        if pair.gold and _gold_has_stance(pair.gold) and not found:
            missed.append({"article_id": pair.article_id, "gold": pair.gold, "pred": pair.pred})
        elif found and (pair.gold is None or pair.gold["stance"] == "none"):
            spurious.append({"article_id": pair.article_id, "gold": pair.gold, "pred": pair.pred})
    return {"missed": missed, "spurious": spurious}


def _stance_pairs(pairs: Iterable[ActorPair]) -> list[ActorPair]:
    """Matched pairs whose gold stance is one of the four classes and whose prediction has a stance."""
    return [
        p for p in pairs if p.pred and p.gold and p.gold["stance"] in CONFUSION_LABELS and "stance" in p.pred
    ]


def predicted_label(actor: dict | None) -> str:
    """The prediction's stance as one of CONFUSION_LABELS; a missed actor, or another label, is "none"."""
    stance = (actor or {}).get("stance", NO_STANCE)
    return stance if stance in CONFUSION_LABELS else NO_STANCE


def confidence_of(actor: dict) -> float:
    """The predicted probability of the predicted class; for "none" without a "none" probability (a
    backend with three classes), one minus the top stance probability."""
    probabilities = actor.get("probabilities") or {}
    if actor["stance"] in probabilities:
        return float(probabilities[actor["stance"]])
    return 1.0 - max(probabilities.values(), default=0.0)


def expected_calibration_error(confidences: Sequence[float], correct: Sequence[bool]) -> float:
    """ECE over `CALIBRATION_BINS` equal-width bins: the bin-size-weighted |accuracy - mean confidence|."""
    if not confidences:
        return 0.0
    confidence, hit = np.asarray(confidences, dtype=float), np.asarray(correct, dtype=float)
    bins = np.minimum((confidence * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    error = 0.0
    for index in np.unique(bins):
        in_bin = bins == index
        error += in_bin.mean() * abs(hit[in_bin].mean() - confidence[in_bin].mean())
    return float(error)


def label_scores(gold: Sequence[str], predicted: Sequence[str]) -> tuple[float, dict[str, dict[str, float]]]:
    """Macro-F1 over the three stances and per-label precision/recall/F1/support (scikit-learn); a
    prediction of "none" for a gold stance is a miss of that stance."""
    if not gold:
        return 0.0, {
            label: {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0} for label in STANCE_LABELS
        }
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, predicted, labels=list(STANCE_LABELS), zero_division=0
    )
    per_class = {
        label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(n)}
        for label, p, r, f, n in zip(STANCE_LABELS, precision, recall, f1, support, strict=True)
    }
    return float(np.mean(f1)), per_class


def strict_pairs(pairs: Iterable[ActorPair]) -> list[ActorPair]:
    """Every gold actor with one of the three stances, matched or not: a missed actor counts as "none"."""
    return [p for p in pairs if p.gold and p.gold["stance"] in STANCE_LABELS]


def strict_macro_f1(pairs: Sequence[ActorPair]) -> float:
    scored = strict_pairs(pairs)
    return label_scores([p.gold["stance"] for p in scored], [predicted_label(p.pred) for p in scored])[0]


def stance_metrics(pairs: Iterable[ActorPair]) -> dict:
    """Stance quality on the pairs from `pair_actors` (predictions with a `stance`).

    - strict_macro_f1 and strict_per_class: over every gold actor with one of the three stances, a
      missed actor counting as predicted "none" (what a reader of the output gets).
    - macro_f1 and per_class (precision/recall/F1): over the matched ones only ("on found actors");
      accuracy on the same pairs.
    - confusion: 4x4 over the three labels and "none", rows gold, columns predicted, matched pairs.
    - none_accuracy: on matched gold `none` actors, the share predicted "none".
    - ece: expected calibration error of the probability of the predicted class, on matched pairs
      with gold in the four classes; `ece_coverage` is the share of them that carry probabilities.
    Gold "ambiguous" actors are not counted.
    """
    pairs = list(pairs)
    scored = _stance_pairs(pairs)
    on_stance = [p for p in scored if p.gold["stance"] in STANCE_LABELS]
    macro_f1, per_class = label_scores(
        [p.gold["stance"] for p in on_stance], [predicted_label(p.pred) for p in on_stance]
    )
    strict = strict_pairs(pairs)
    strict_f1, strict_per_class = label_scores(
        [p.gold["stance"] for p in strict], [predicted_label(p.pred) for p in strict]
    )
    matrix = confusion_matrix(
        [p.gold["stance"] for p in scored],
        [predicted_label(p.pred) for p in scored],
        labels=list(CONFUSION_LABELS),
    )
    gold_none = [p for p in scored if p.gold["stance"] == NO_STANCE]
    calibrated = [p for p in scored if p.pred.get("probabilities")]
    return {
        "strict_macro_f1": strict_f1,
        "strict_per_class": strict_per_class,
        "strict_actors": len(strict),
        "macro_f1": macro_f1,
        "accuracy": _ratio(sum(1 for p in on_stance if p.pred["stance"] == p.gold["stance"]), len(on_stance)),
        "per_class": per_class,
        "confusion": {"labels": list(CONFUSION_LABELS), "matrix": matrix.tolist()},
        "none_accuracy": _ratio(sum(1 for p in gold_none if p.pred["stance"] == NO_STANCE), len(gold_none)),
        "ece": expected_calibration_error(
            [confidence_of(p.pred) for p in calibrated],
            [predicted_label(p.pred) == p.gold["stance"] for p in calibrated],
        ),
        "ece_coverage": _ratio(len(calibrated), len(scored)),
        "matched_actors": len(scored),
        "matched_stance_actors": len(on_stance),
    }


def bootstrap_interval(
    pairs: Sequence[ActorPair],
    statistic: Callable[[Sequence[ActorPair]], float],
    resamples: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """The `level` percentile interval of `statistic` over `resamples` resamples of the articles (with
    replacement): actors of one article are not independent, so the article is the unit."""
    by_article: dict[str, list[ActorPair]] = {}
    for pair in pairs:
        by_article.setdefault(pair.article_id, []).append(pair)
    articles = list(by_article.values())
    rng = np.random.default_rng(seed)
    values = [
        statistic([pair for i in rng.integers(0, len(articles), len(articles)) for pair in articles[i]])
        for _ in range(resamples)
    ]
    tail = (1 - level) / 2 * 100
    return float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))


def worst_errors(pairs: Iterable[ActorPair], limit: int = 20) -> list[dict]:
    """The most confident wrong stance predictions (by `confidence_of`), with their evidence, worst first."""
    wrong = [p for p in _stance_pairs(pairs) if p.pred["stance"] != p.gold["stance"]]
    wrong.sort(key=lambda p: confidence_of(p.pred), reverse=True)
    return [
        {
            "article_id": p.article_id,
            "actor": p.gold["name"],
            "gold": p.gold["stance"],
            "gold_secondary": p.gold.get("secondary"),
            "predicted": p.pred["stance"],
            "confidence": confidence_of(p.pred),
            "probabilities": p.pred.get("probabilities") or {},
            "evidence": p.pred.get("evidence") or [],
            "gold_evidence": p.gold.get("evidence") or [],
        }
        for p in wrong[:limit]
    ]


def confusion_matrix_png(matrix: Sequence[Sequence[int]], labels: Sequence[str], path: str | Path) -> Path:
    """Writes the confusion matrix (rows gold, columns predicted) as a PNG heat map with counts; returns the path."""
    counts = np.asarray(matrix)
    figure = Figure(figsize=(1.2 * len(labels) + 1.5, 1.2 * len(labels) + 1))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    image = axes.imshow(counts, cmap="Blues")
    figure.colorbar(image, ax=axes)
    axes.set_xticks(range(len(labels)), labels=labels, rotation=30, ha="right")
    axes.set_yticks(range(len(labels)), labels=labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("gold")
    threshold = counts.max() / 2 if counts.size else 0
    for (row, column), count in np.ndenumerate(counts):
        axes.text(
            column, row, str(count), ha="center", va="center", color="white" if count > threshold else "black"
        )
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return path
