"""Atomic writes, the output folder's one-writer lock, and a full disk in the middle of a job."""

import errno
import json
import os
from pathlib import Path

import pytest

from pipeline import files
from pipeline.files import (
    FOLDER_LOCK,
    FolderInUse,
    OutputError,
    atomic_write,
    exclusive_folder,
    write_text_atomic,
)
from pipeline.run import run_pipeline
from tests.conftest import SAMPLE_ARTICLES, ComposeConfig


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "predictions.jsonl"
    write_text_atomic(target, "old\n")
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write("half")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["predictions.jsonl"]


def test_a_second_holder_of_a_folder_is_refused_with_the_first_named(tmp_path: Path) -> None:
    with exclusive_folder(tmp_path) as describe:
        describe({"mlflow_run": "abc123"})
        refused = pytest.raises(
            FolderInUse, match=rf"in use by another job \(pid {os.getpid()} on .*run abc123"
        )
        with refused, exclusive_folder(tmp_path):
            pass
    assert json.loads((tmp_path / FOLDER_LOCK).read_text())["pid"] == os.getpid()
    with exclusive_folder(tmp_path):  # released when the first holder ended
        pass


def test_a_full_disk_mid_job_names_the_path_keeps_the_shards_and_resumes(
    compose_config: ComposeConfig, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cfg = compose_config("summarizer=lead3", "~faithfulness", "stages=[summarize]", "shard_size=8", "data=file",
                         f"data.path={SAMPLE_ARTICLES}")  # fmt: skip
    replace, renamed = os.replace, []

    def fill_disk_at_the_second_shard(source: str | Path, target: str | Path) -> None:
        if Path(target).name == "part-00001.jsonl":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        renamed.append(Path(target).name)
        replace(source, target)

    monkeypatch.setattr(files.os, "replace", fill_disk_at_the_second_shard)
    with pytest.raises(
        OutputError, match=r"cannot write .*part-00001\.jsonl: No space left on device.*resume"
    ):
        run_pipeline(cfg)
    shards = tmp_path / "out" / "shards"
    assert (shards / "part-00000.jsonl").is_file() and not list(shards.glob("*.tmp"))

    monkeypatch.setattr(files.os, "replace", replace)  # space freed
    again = run_pipeline(cfg)
    assert again.metrics["resumed_shards_count"] == 1
    ids = [
        json.loads(line)["id"] for line in (again.output_dir / "predictions.jsonl").read_text().splitlines()
    ]
    assert len(ids) == len(set(ids)) == len(SAMPLE_ARTICLES.read_text().splitlines())
