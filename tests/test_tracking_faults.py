"""A real `mlflow server` on loopback that goes away: the job finishes, keeps its outputs, and says
what was not logged."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest

from pipeline.run import run_pipeline
from pipeline.track import Tracker
from tests.conftest import ComposeConfig

DATA = Path(__file__).parent / "data"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def tracking_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, subprocess.Popen]]:
    """An MLflow tracking server on 127.0.0.1; yields its URI and process (the test may stop it)."""
    # Fail fast once the server is gone instead of retrying for minutes.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    port = free_port()
    # The server's background job workers (several processes) are not needed to track runs.
    environment = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
         "--artifacts-destination", str(tmp_path / "server-artifacts")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment,
    )  # fmt: skip
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{uri}/health", timeout=2)
            break
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, "mlflow server did not start"
            time.sleep(0.5)
    yield uri, server
    server.terminate()
    server.wait(timeout=30)


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(timeout=30)


def test_a_run_is_tracked_on_the_server_and_still_finishes_when_it_is_gone(
    tracking_server: tuple[str, subprocess.Popen], compose_config: ComposeConfig, tmp_path: Path
) -> None:
    uri, server = tracking_server
    overrides = ("stages=[]", f"data.path={DATA / 'bad_records.jsonl'}", f"tracking.tracking_uri={uri}")
    tracked = run_pipeline(compose_config(*overrides, f"paths.output_dir={tmp_path / 'up'}"))
    assert not tracked.unlogged
    assert mlflow.MlflowClient(uri).get_run(tracked.run_id).data.metrics["articles_in"] == 2

    stop(server)
    untracked = run_pipeline(compose_config(*overrides, f"paths.output_dir={tmp_path / 'down'}"))
    assert untracked.run_id == "" and "the run" in untracked.unlogged
    assert any(item.startswith("artifact predictions.jsonl") for item in untracked.unlogged)
    up, down = (tmp_path / name / "predictions.jsonl" for name in ("up", "down"))
    assert [json.loads(line) for line in down.read_text().splitlines()] == [
        json.loads(line) for line in up.read_text().splitlines()
    ]


def test_the_server_going_away_mid_run_loses_nothing_on_disk(
    tracking_server: tuple[str, subprocess.Popen], tmp_path: Path
) -> None:
    uri, server = tracking_server
    with Tracker(uri, "faults", str(tmp_path / "artifacts"), run_name="mid-run") as tracker:
        tracker.log_metrics({"before": 1.0})
        stop(server)
        tracker.log_metrics({"after": 2.0})
        tracker.log_params({"late": 1})
        run_id = tracker.run_id
    assert run_id and tracker.unreachable is not None
    # Only the first failing call waits for the server; the rest are recorded without calling it.
    assert tracker.unlogged == ["1 metrics", "params config", "the run's end"]
