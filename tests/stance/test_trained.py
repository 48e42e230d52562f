"""The trained backend: fine-tuning, cross-validation, the artifact, tracking and the registry, on a tiny
encoder built in the fixtures; the shipped artifact on the real all-MiniLM-L6-v2 (marked slow)."""

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from hydra.utils import instantiate

from pipeline.schema import STANCE_CLASSES
from pipeline.stance.train import main
from pipeline.stance.trained import METADATA_FILE, SHIPPED_ARTIFACT_DIR, WEIGHTS_FILE, TrainedStanceClassifier


def train(config: Path, tmp_path: Path, output: str, *extra: str) -> Path:
    main(
        [
            f"--output-dir={tmp_path / output}",
            f"--config={config}",
            f"--data-dir={tmp_path}",
            f"--tracking-uri=sqlite:///{tmp_path / 'mlflow.db'}",
            f"--artifact-root={tmp_path / 'mlartifacts'}",
            *extra,
        ]
    )
    return tmp_path / output


def test_training_is_deterministic(tiny_training_config: Path, tmp_path: Path) -> None:
    first = train(tiny_training_config, tmp_path, "first", "--no-cv")
    second = train(tiny_training_config, tmp_path, "second", "--no-cv")
    assert (first / WEIGHTS_FILE).read_bytes() == (second / WEIGHTS_FILE).read_bytes()
    metadata = json.loads((first / METADATA_FILE).read_text())
    assert metadata["classes"] == list(STANCE_CLASSES)
    # 2 training articles: the actors the stage finds (5) and the gold ones (5), plus 12 team sentences.
    assert metadata["training"]["examples_per_kind"]["team"] == 12
    assert metadata["training"]["examples_per_kind"]["gold"] == 5
    assert "embeddings.word_embeddings" not in json.dumps(list(metadata))  # the base's, not shipped


def test_training_job_cross_validates_tracks_and_registers(
    tiny_training_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = train(tiny_training_config, tmp_path, "artifact")
    out = capsys.readouterr().out
    assert "promoted newsstance-stance version 1 to @champion" in out
    metadata = json.loads((artifact / METADATA_FILE).read_text())
    cv = metadata["cross_validation"]["end_to_end"]
    assert (
        0.0 <= cv["strict_macro_f1_ci95"][0] <= cv["strict_macro_f1"] <= cv["strict_macro_f1_ci95"][1] <= 1.0
    )
    assert 0.2 <= metadata["temperature"] <= 5.0
    assert set(metadata["final_checks"]) == {"held_out"}  # no dev gold in this data folder
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    version = client.get_model_version_by_alias("newsstance-stance", "challenger")
    run = client.get_run(version.run_id)
    assert "cv_strict_macro_f1" in run.data.metrics and "held_out_strict_macro_f1" in run.data.metrics
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    model = mlflow.pyfunc.load_model("models:/newsstance-stance@champion")
    predicted = model.predict(
        pd.DataFrame(
            {
                "text": ["Chile threatened sanctions."],
                "actor": ["Chile"],
                "evidence": [["Chile threatened sanctions."]],
            }
        )
    )
    assert list(predicted.columns) == ["stance", *STANCE_CLASSES]
    assert float(predicted[list(STANCE_CLASSES)].sum(axis=1).iloc[0]) == pytest.approx(1.0, abs=1e-5)


def test_comparing_encoders_cross_validates_with_overrides_and_writes_nothing(
    tiny_training_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train(
        tiny_training_config,
        tmp_path,
        "artifact",
        "--cv-only",
        "--folds",
        "0",
        "fine_tuning.epochs=1",
        "max_mentions=2",
    )
    assert not (tmp_path / "artifact").exists()
    out = capsys.readouterr().out
    # Fold 0 alone is predicted, by a model trained on the other folds (not on nothing).
    assert "fold 0: fine-tuned on 0 " not in out and "fold 1:" not in out
    cross_validation = json.loads(out[out.index("{") :])["cross_validation"]
    assert cross_validation["folds"] == [0] and cross_validation["end_to_end"]["actors"] > 0
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    [run] = client.search_runs(client.get_experiment_by_name("newsstance-stance-training").experiment_id)
    assert run.data.params["fine_tuning.epochs"] == "1" and run.data.params["max_mentions"] == "2"
    assert "cv_strict_macro_f1" in run.data.metrics
    assert not client.search_registered_models()


def test_every_actor_gets_a_distribution_over_four_classes(
    tiny_training_config: Path, tmp_path: Path
) -> None:
    classifier = TrainedStanceClassifier(
        train(tiny_training_config, tmp_path, "artifact", "--no-cv"), device="cpu"
    )
    text = "Chile threatened sanctions against Peru. Peru was not mentioned again. Bolivia watched."
    actors = [
        {"name": "Chile", "aliases": [], "evidence": ["Chile threatened sanctions against Peru."]},
        {"name": "Bolivia", "aliases": [], "evidence": []},  # only named
        {"name": "Ecuador", "aliases": [], "evidence": []},  # not even named
    ]
    results = classifier.classify_articles([text], [actors])[0]
    for result in results:
        assert set(result.probabilities) == set(STANCE_CLASSES)
        assert sum(result.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
        assert result.stance == max(result.probabilities, key=result.probabilities.get)
    assert results[2].evidence == []


def test_an_artifact_for_other_encoder_weights_is_refused(tiny_training_config: Path, tmp_path: Path) -> None:
    artifact = train(tiny_training_config, tmp_path, "artifact", "--no-cv")
    metadata = json.loads((artifact / METADATA_FILE).read_text())
    metadata["encoder"]["sha256"] = "0" * 64
    (artifact / METADATA_FILE).write_text(json.dumps(metadata))
    with pytest.raises(ValueError, match="fine-tuned from encoder weights with sha256 0000"):
        TrainedStanceClassifier(artifact, device="cpu")


@pytest.mark.slow
def test_shipped_artifact_reads_each_actor_in_context(compose_config) -> None:
    classifier = instantiate(compose_config("stance=trained", "device=cpu").stance)
    assert isinstance(classifier, TrainedStanceClassifier) and classifier.artifact_dir == SHIPPED_ARTIFACT_DIR
    text = (
        "Russia warned Ukraine of severe consequences, while France called for talks between the two. "
        "The spokesman declined to comment on whether sanctions would follow. Olaf Scholz arrived in Kyiv."
    )
    actors = [
        {"name": "Russia", "aliases": [], "evidence": [text.split(". ")[0] + "."]},
        {"name": "France", "aliases": [], "evidence": [text.split(". ")[0] + "."]},
        {
            "name": "the spokesman",
            "aliases": [],
            "evidence": ["The spokesman declined to comment on whether sanctions would follow."],
        },
        {"name": "Olaf Scholz", "aliases": ["Scholz"], "evidence": []},
    ]
    stances = [result.stance for result in classifier.classify_articles([text], [actors])[0]]
    assert stances == ["aggressive", "conciliatory", "hedging", "none"]


# Written by the team after the example of ../shared/ANNOTATION.md (a 2015 report on US-China cyber tensions),
# whose labels it should get: the quote of Zheng sits in a paragraph of its own before its attribution.
ANNOTATION_EXAMPLE = {
    "id": "annotation-example",
    "title": "Obama warns China over cyber attacks ahead of Xi visit",
    "date": "2015-09-17",
    "text": (
        'President Barack Obama said on Wednesday that cyber theft by China was "an act of aggression that '
        'has to stop" and that the United States was prepared to take some countervailing actions.\n\n'
        '"China and the United States face common challenges, and we should increase mutual trust and '
        'cooperation in cyberspace."\n\n'
        "Assistant Foreign Minister Zheng Zeguang said this on Monday, adding that China was resolutely "
        "opposed to any statements or actions that harm China's interests.\n\n"
        "White House spokesman Josh Earnest said he was being intentionally non-specific about the "
        "administration's response, and that officials were hopeful that it would not need to use sanctions.\n\n"
        "Chinese President Xi Jinping will visit Washington next week."
    ),
}


def annotation_example_actors() -> dict[str, dict]:
    from pipeline import analyze

    [record] = analyze([ANNOTATION_EXAMPLE], overrides=["stages=[actors,stance]", "device=cpu"])
    return {actor["name"]: actor for actor in record["actors"]}


@pytest.mark.slow
def test_the_default_pipeline_labels_an_article_like_the_annotation_example() -> None:
    actors = annotation_example_actors()
    assert {name: actors[name]["stance"] for name in ("Barack Obama", "Josh Earnest", "Xi Jinping")} == {
        "Barack Obama": "aggressive",
        "Josh Earnest": "hedging",
        "Xi Jinping": "none",
    }
    # Zheng's quote, a paragraph before its attribution, is his evidence.
    assert any("increase mutual trust" in evidence for evidence in actors["Zheng Zeguang"]["evidence"])


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="known miss of the shipped model: the mixed case (call for cooperation, then firm defence of "
    "interests) reads as aggressive, 0.66 against 0.25 conciliatory",
)
def test_the_mixed_case_of_the_annotation_example_is_conciliatory() -> None:
    assert annotation_example_actors()["Zheng Zeguang"]["stance"] == "conciliatory"
