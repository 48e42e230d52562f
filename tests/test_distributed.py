"""The ray executor on a local Ray with 2 workers gives the same output as the local executor."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.run import run_pipeline
from tests.conftest import SAMPLE_ARTICLES, ComposeConfig

ray = pytest.importorskip("ray", reason="the ray executor needs the `ray` extra (make setup installs it)")


@pytest.fixture
def local_ray() -> Iterator[None]:
    yield
    ray.shutdown()


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_ray_executor_matches_local_and_resumes(
    compose_config: ComposeConfig, tmp_path: Path, local_ray: None
) -> None:
    common = (f"data.path={SAMPLE_ARTICLES}", "data=file", "stages=[actors]", "shard_size=4")
    local = run_pipeline(compose_config(*common, f"paths.output_dir={tmp_path / 'local'}"))
    ray_overrides = (*common, "executor=ray", "executor.num_workers=2", "executor.num_cpus=2")
    distributed = run_pipeline(compose_config(*ray_overrides, f"paths.output_dir={tmp_path / 'ray'}"))

    expected = read_jsonl(local.output_dir / "predictions.jsonl")
    assert len(expected) == 22
    assert read_jsonl(distributed.output_dir / "predictions.jsonl") == expected
    assert distributed.metrics["articles_out_count"] == 22 and distributed.metrics["time_actors_s"] > 0

    # Shards are the unit of work on Ray too: a re-run finds all 6 done and sends nothing to the workers.
    again = run_pipeline(compose_config(*ray_overrides, f"paths.output_dir={tmp_path / 'ray'}"))
    assert again.metrics["resumed_shards_count"] == 6
    assert read_jsonl(again.output_dir / "predictions.jsonl") == expected
