"""Jobs that share a machine: two jobs on one output folder, a killed job's lock, two first runs that
provision the same model at once. Real processes, as a cron overlap or a second user would start them."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pipeline.files import FOLDER_LOCK
from tests.test_models import write_tiny_qwen2_gguf

PROJECT = Path(__file__).resolve().parents[1]
# 240 articles: long enough for a second job to start while the first still runs.
ARTICLES = PROJECT / "data" / "stance" / "articles" / "annotated.jsonl"
ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}


def start_job(output_dir: Path, tmp_path: Path) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "pipeline", "stages=[actors]", "shard_size=1", "data=file",
        f"data.path={ARTICLES}", f"paths.output_dir={output_dir}",
        f"tracking.tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}", f"tracking.artifact_root={tmp_path / 'art'}",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=PROJECT, env=ENVIRONMENT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)  # fmt: skip


def wait_until_it_holds_the_folder(job: subprocess.Popen, output_dir: Path) -> dict:
    deadline = time.monotonic() + 120
    while True:
        lock = output_dir / FOLDER_LOCK
        holder = json.loads(lock.read_text() or "{}") if lock.is_file() else {}
        if holder.get("pid") == job.pid and "mlflow_run" in holder:
            return holder
        assert job.poll() is None and time.monotonic() < deadline, "the job ended before taking its folder"
        time.sleep(0.05)


def test_a_second_job_on_a_folder_stops_at_once_and_the_first_finishes(tmp_path: Path) -> None:
    output_dir = tmp_path / "out"
    first = start_job(output_dir, tmp_path)
    holder = wait_until_it_holds_the_folder(first, output_dir)
    started = time.monotonic()
    second = start_job(output_dir, tmp_path)
    _, error = second.communicate(timeout=120)
    assert second.returncode == 1 and time.monotonic() - started < 60
    assert f"output folder {output_dir} is in use by another job (pid {first.pid}" in error
    assert holder["mlflow_run"] in error and "Traceback" not in error
    first.communicate(timeout=600)
    assert first.returncode == 0
    ids = [json.loads(line)["id"] for line in (output_dir / "predictions.jsonl").read_text().splitlines()]
    assert len(ids) == len(set(ids)) == len(ARTICLES.read_text().splitlines())


def test_a_killed_job_leaves_no_stale_lock(tmp_path: Path) -> None:
    output_dir = tmp_path / "out"
    killed = start_job(output_dir, tmp_path)
    wait_until_it_holds_the_folder(killed, output_dir)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    again = start_job(output_dir, tmp_path)
    _, error = again.communicate(timeout=600)
    assert again.returncode == 0, error[-2000:]


def test_two_first_runs_provision_one_model_and_both_use_it(tmp_path: Path) -> None:
    gguf = tmp_path / "tiny.gguf"
    write_tiny_qwen2_gguf(gguf)
    cache = tmp_path / "cache"
    code = (
        "import logging, sys; logging.basicConfig(level=logging.INFO, format='%(message)s');"
        "from pipeline.models import resolve_model_dir; print(resolve_model_dir(sys.argv[1], None, sys.argv[2]))"
    )
    jobs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(gguf), str(cache)],
            cwd=PROJECT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [job.communicate(timeout=300) for job in jobs]
    assert all(job.returncode == 0 for job in jobs), [error[-1500:] for _, error in outputs]
    folders = {out.strip().splitlines()[-1] for out, _ in outputs}
    assert len(folders) == 1  # both use the same converted model
    assert sum("converting" in error for _, error in outputs) == 1  # one converted, the other waited
    folder = Path(folders.pop())
    assert (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()
    assert not [p for p in folder.parent.iterdir() if p.name.endswith(".tmp")]
