"""The pipeline as a registered MLflow model, and champion/challenger promotion, on a real sqlite registry."""

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from pipeline.registry import CHALLENGER, CHAMPION, promote
from pipeline.run import run_pipeline
from tests.conftest import SAMPLE_ARTICLES, ComposeConfig


def test_registered_pipeline_model_predicts_what_the_run_wrote(
    compose_config: ComposeConfig, tmp_path: Path
) -> None:
    articles = tmp_path / "articles.jsonl"
    articles.write_text("".join(SAMPLE_ARTICLES.read_text(encoding="utf-8").splitlines(keepends=True)[:3]))
    cfg = compose_config(
        f"data.path={articles}", "summarizer=lead3", "stance=embedding", "registry.register=true"
    )
    summary = run_pipeline(cfg)
    assert summary.model_version == 1
    written = [
        json.loads(line) for line in (summary.output_dir / "predictions.jsonl").read_text().splitlines()
    ]

    mlflow.set_tracking_uri(cfg.tracking.tracking_uri)
    model = mlflow.pyfunc.load_model(f"models:/{cfg.registry.model_name}@{CHALLENGER}")
    frame = pd.DataFrame([json.loads(line) for line in articles.read_text().splitlines()])
    assert model.predict(frame) == written

    with pytest.raises(ValueError, match=r"rejected: .*text is empty"):
        model.predict(pd.DataFrame([{"id": "blank", "text": "   "}]))


def register_scored_version(client: MlflowClient, name: str, score: float | None) -> str:
    experiment_id = (
        client.create_experiment(f"exp-{score}") if score is not None else client.create_experiment("x")
    )
    run = client.create_run(experiment_id)
    if score is not None:
        client.log_metric(run.info.run_id, "stance_macro_f1", score)
    client.set_terminated(run.info.run_id)
    return client.create_model_version(name, f"runs:/{run.info.run_id}/model", run.info.run_id).version


def test_promote_moves_champion_only_to_a_better_challenger(tmp_path: Path) -> None:
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    name = "newsstance-pipeline"
    client.create_registered_model(name)
    with pytest.raises(ValueError, match="no @challenger"):
        promote(client, name, "stance_macro_f1")

    first = register_scored_version(client, name, 0.60)
    client.set_registered_model_alias(name, CHALLENGER, first)
    assert promote(client, name, "stance_macro_f1").startswith("promoted")  # no champion yet
    assert client.get_model_version_by_alias(name, CHAMPION).version == first

    worse = register_scored_version(client, name, 0.55)
    client.set_registered_model_alias(name, CHALLENGER, worse)
    assert promote(client, name, "stance_macro_f1").startswith("kept")
    assert client.get_model_version_by_alias(name, CHAMPION).version == first

    better = register_scored_version(client, name, 0.70)
    client.set_registered_model_alias(name, CHALLENGER, better)
    assert "before: version 1 (0.6000)" in promote(client, name, "stance_macro_f1")
    assert client.get_model_version_by_alias(name, CHAMPION).version == better

    unscored = register_scored_version(client, name, None)
    client.set_registered_model_alias(name, CHALLENGER, unscored)
    with pytest.raises(ValueError, match="no metric 'stance_macro_f1'"):
        promote(client, name, "stance_macro_f1")
