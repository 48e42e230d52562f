"""Actor and stance evaluation functions on small hand-computed cases."""

import pytest

from pipeline.evaluate import (
    CONFUSION_LABELS,
    actor_detection_metrics,
    actor_name_keys,
    bootstrap_interval,
    confusion_matrix_png,
    detection_errors,
    expected_calibration_error,
    pair_actors,
    stance_metrics,
    strict_macro_f1,
    worst_errors,
)


def gold_actor(name, stance, aliases=(), evidence=()):
    return {"name": name, "aliases": list(aliases), "type": "person", "stance": stance, "secondary": None,
            "evidence": list(evidence)}  # fmt: skip


def pred_actor(name, aliases=(), evidence=(), stance=None, probabilities=None):
    actor = {"name": name, "aliases": list(aliases), "type": "person", "evidence": list(evidence)}
    if stance is not None:
        actor["stance"] = stance
        actor["probabilities"] = probabilities or {}
    return actor


def test_names_match_across_case_titles_possessives_and_article():
    assert actor_name_keys(pred_actor("President Biden's")) & actor_name_keys(
        gold_actor("Joe Biden", "none", ["Biden"])
    )
    assert actor_name_keys(pred_actor("the united states")) == actor_name_keys(
        gold_actor("United States", "none")
    )
    assert not actor_name_keys(pred_actor("Jill Biden")) & actor_name_keys(
        gold_actor("Joe Biden", "none", ["Biden"])
    )


def test_pairing_is_one_to_one_and_prefers_the_name_match():
    gold = [{"id": "a", "actors": [gold_actor("Joe Biden", "aggressive", ["Biden"])]}]
    pred = [{"id": "a", "actors": [pred_actor("Biden", ["Mr. Biden"]), pred_actor("Joe Biden")]}]
    pairs = pair_actors(pred, gold)
    matched = [p for p in pairs if p.pred and p.gold]
    assert len(matched) == 1 and matched[0].pred["name"] == "Joe Biden"
    assert [p.pred["name"] for p in pairs if p.gold is None] == ["Biden"]


def test_detection_recall_and_precision_count_stance_bearing_actors():
    gold = [
        {
            "id": "a",
            "actors": [
                gold_actor("Anna Keller", "conciliatory", ["Keller"]),
                gold_actor("China", "aggressive", ["Beijing"]),
                gold_actor("Omar Haddad", "hedging"),
                gold_actor("Xi Jinping", "none"),
                gold_actor("Rome", "ambiguous"),
            ],
        },
        {"id": "missing", "actors": [gold_actor("Nobody Found", "aggressive")]},
    ]
    pred = [
        {
            "id": "a",
            "actors": [
                pred_actor("Keller", evidence=["Keller welcomed the deal."]),  # hit
                pred_actor("Beijing", evidence=[]),  # found, but without evidence: a recall miss
                pred_actor(
                    "Xi Jinping", evidence=["Xi came."]
                ),  # evidence for a `none` actor: false positive
                pred_actor("Reuters", evidence=["Reuters reported."]),  # unmatched: false positive
                pred_actor("Rome", evidence=["Rome said."]),  # gold ambiguous: not counted
            ],
        },
        {"id": "not-in-gold", "actors": [pred_actor("Ignored", evidence=["x y z"])]},
    ]
    metrics = actor_detection_metrics(pred, gold)
    assert metrics["gold_stance_actors"] == 4  # Keller, China, Haddad, Nobody Found
    assert metrics["recall"] == pytest.approx(1 / 4)
    assert metrics["mention_recall"] == pytest.approx(2 / 4)
    assert metrics["predicted_stance_actors"] == 3
    assert metrics["precision"] == pytest.approx(1 / 3)
    assert metrics["matched_precision"] == pytest.approx(2 / 3)
    assert metrics["f1"] == pytest.approx(2 * (1 / 3) * (1 / 4) / (1 / 3 + 1 / 4))
    errors = detection_errors(pair_actors(pred, gold))
    assert {e["gold"]["name"] for e in errors["missed"]} == {"China", "Omar Haddad", "Nobody Found"}
    assert {e["pred"]["name"] for e in errors["spurious"]} == {"Xi Jinping", "Reuters"}


def test_a_stance_prediction_decides_whether_an_actor_is_stance_bearing():
    gold = [{"id": "a", "actors": [gold_actor("Anna Keller", "conciliatory")]}]
    pred = [{"id": "a", "actors": [pred_actor("Anna Keller", evidence=["She spoke."], stance="none")]}]
    metrics = actor_detection_metrics(pred, gold)
    assert metrics["recall"] == 0.0
    assert metrics["predicted_stance_actors"] == 0


def probs(aggressive, conciliatory, hedging):
    """Probabilities of a backend with three classes (no "none")."""
    return {"aggressive": aggressive, "conciliatory": conciliatory, "hedging": hedging}


def stance_pairs():
    gold = [
        {
            "id": "a",
            "actors": [
                gold_actor("A", "aggressive"),
                gold_actor("B", "aggressive"),
                gold_actor("C", "conciliatory"),
                gold_actor("D", "hedging"),
                gold_actor("E", "none"),
                gold_actor("F", "none"),
            ],
        }
    ]
    pred = [
        {
            "id": "a",
            "actors": [
                pred_actor("A", stance="aggressive", probabilities=probs(0.9, 0.05, 0.05), evidence=["a"]),
                pred_actor("B", stance="conciliatory", probabilities=probs(0.2, 0.7, 0.1), evidence=["b"]),
                pred_actor("C", stance="conciliatory", probabilities=probs(0.1, 0.8, 0.1), evidence=["c"]),
                pred_actor("D", stance="none", probabilities=probs(0.3, 0.3, 0.4), evidence=["d"]),
                pred_actor("E", stance="none", probabilities=probs(0.2, 0.2, 0.2)),
                pred_actor("F", stance="aggressive", probabilities=probs(0.6, 0.2, 0.2), evidence=["f"]),
            ],
        }
    ]
    return pair_actors(pred, gold)


def test_stance_metrics_by_hand():
    metrics = stance_metrics(stance_pairs())
    per_class = metrics["per_class"]
    # On gold A, B, C, D: aggressive P=1/1 R=1/2; conciliatory P=1/2 R=1/1; hedging P=0 R=0.
    assert per_class["aggressive"]["precision"] == 1.0 and per_class["aggressive"]["recall"] == 0.5
    assert per_class["conciliatory"]["precision"] == 0.5 and per_class["conciliatory"]["recall"] == 1.0
    assert per_class["hedging"]["f1"] == 0.0
    assert metrics["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)
    assert metrics["accuracy"] == pytest.approx(2 / 4)
    assert metrics["none_accuracy"] == pytest.approx(1 / 2)
    assert metrics["confusion"]["labels"] == list(CONFUSION_LABELS)
    assert metrics["confusion"]["matrix"] == [[1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [1, 0, 0, 1]]
    # ECE of the predicted class's probability on all six: A (0.9, right), B (0.7, wrong), C and E (0.8,
    # right), D and F (0.6, wrong; D's "none" is one minus its top stance probability).
    assert metrics["ece"] == pytest.approx((0.1 + 0.7 + 2 * 0.2 + 2 * 0.6) / 6)
    assert metrics["ece_coverage"] == pytest.approx(1.0)


def test_strict_scores_count_a_missed_actor_as_none():
    gold = [{"id": "a", "actors": [gold_actor("A", "aggressive"), gold_actor("G", "conciliatory")]}]
    pred = [
        {"id": "a", "actors": [pred_actor("A", stance="aggressive", probabilities=probs(0.9, 0.05, 0.05))]}
    ]
    metrics = stance_metrics(pair_actors(pred, gold))
    assert metrics["macro_f1"] == pytest.approx(1 / 3)  # on the one found actor: aggressive only
    assert metrics["strict_per_class"]["conciliatory"]["recall"] == 0.0  # G was missed
    assert metrics["strict_macro_f1"] == pytest.approx((1 + 0 + 0) / 3) and metrics["strict_actors"] == 2


def test_bootstrap_interval_resamples_whole_articles():
    gold = [{"id": i, "actors": [gold_actor("A", "aggressive")]} for i in "abcd"]
    pred = [
        {"id": i, "actors": [pred_actor("A", stance="aggressive" if i in "ab" else "none")]} for i in "abcd"
    ]
    low, high = bootstrap_interval(pair_actors(pred, gold), strict_macro_f1, resamples=500)
    assert 0.0 <= low < strict_macro_f1(pair_actors(pred, gold)) < high <= 1.0


def test_expected_calibration_error_is_zero_when_confidence_matches_accuracy():
    assert expected_calibration_error([0.75] * 4, [True, True, True, False]) == pytest.approx(0.0)
    assert expected_calibration_error([1.0, 1.0], [False, False]) == pytest.approx(1.0)
    assert expected_calibration_error([], []) == 0.0


def test_worst_errors_come_most_confident_first_with_evidence():
    errors = worst_errors(stance_pairs(), limit=2)
    assert [(e["actor"], e["gold"], e["predicted"]) for e in errors] == [
        ("B", "aggressive", "conciliatory"),
        ("D", "hedging", "none"),
    ]
    assert errors[0]["confidence"] == pytest.approx(0.7)
    assert errors[0]["evidence"] == ["b"]
    assert errors[1]["confidence"] == pytest.approx(0.6)  # "none": one minus the top stance probability


def test_confusion_matrix_png_writes_an_image(tmp_path):
    path = confusion_matrix_png(
        [[3, 1], [0, 2]], ["aggressive", "none"], tmp_path / "plots" / "confusion.png"
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
