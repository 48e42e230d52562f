"""A batch job killed with SIGKILL mid-run and started again: every input id exactly once, and the same
output as a run that was never interrupted."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import SAMPLE_ARTICLES

PROJECT = Path(__file__).resolve().parents[1]


def pipeline_command(output_dir: Path, tmp_path: Path) -> list[str]:
    return [
        sys.executable, "-m", "pipeline", "stages=[actors]", "shard_size=1", "data=file",
        f"data.path={SAMPLE_ARTICLES}", f"paths.output_dir={output_dir}",
        f"tracking.tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}", f"tracking.artifact_root={tmp_path / 'art'}",
    ]  # fmt: skip


def read_predictions(output_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (output_dir / "predictions.jsonl").read_text().splitlines()]


def test_a_killed_job_resumes_without_losing_or_repeating_articles(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    killed_dir, clean_dir = tmp_path / "killed", tmp_path / "clean"
    job = subprocess.Popen(
        pipeline_command(killed_dir, tmp_path), cwd=PROJECT, env=environment,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while len(list((killed_dir / "shards").glob("part-*.jsonl"))) < 2:
        assert job.poll() is None and time.monotonic() < deadline, "the job ended before it could be killed"
        time.sleep(0.05)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    done_before = len(list((killed_dir / "shards").glob("part-*.jsonl")))
    total = len(SAMPLE_ARTICLES.read_text().splitlines())
    assert done_before < total and not (killed_dir / "predictions.jsonl").exists()

    resumed = subprocess.run(pipeline_command(killed_dir, tmp_path), cwd=PROJECT, env=environment,
                             capture_output=True, text=True, timeout=600)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    clean = subprocess.run(pipeline_command(clean_dir, tmp_path), cwd=PROJECT, env=environment,
                           capture_output=True, text=True, timeout=600)  # fmt: skip
    assert clean.returncode == 0, clean.stderr[-3000:]

    ids = [record["id"] for record in read_predictions(killed_dir)]
    assert len(ids) == len(set(ids)) == total
    assert read_predictions(killed_dir) == read_predictions(clean_dir)
    # No half-written shard survives a kill: temp files are renamed only when complete.
    assert not list((killed_dir / "shards").glob("*.tmp"))
