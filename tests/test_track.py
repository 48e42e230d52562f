from pathlib import Path

import datasets
import mlflow
import pytest

from pipeline.track import Tracker, flatten, shorten


def make_tracker(tmp_path: Path) -> Tracker:
    return Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", "test", str(tmp_path / "artifacts"), run_name="t")


def test_tracker_logs_params_metrics_input_and_artifacts(tmp_path: Path) -> None:
    config_path = tmp_path / "config.yaml"
    config_path.write_text("seed: 1\n")
    data_path = tmp_path / "articles.jsonl"
    data_path.write_text("{}\n")
    with make_tracker(tmp_path) as tracker:
        tracker.log_config({"seed": 1, "data": {"limit": None, "stages": ["a", "b"]}}, config_path)
        tracker.log_metrics({"articles_in": 3.0})
        tracker.log_input(
            datasets.Dataset.from_dict({"id": ["a"], "text": ["x"]}), data_path, name="articles"
        )
        run_id = tracker.run_id

    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"seed": "1", "data.limit": "None", "data.stages": '["a", "b"]'}
    assert run.data.metrics == {"articles_in": 3.0}
    assert run.data.tags["version.torch"]
    assert [i.dataset.name for i in run.inputs.dataset_inputs] == ["articles"]
    assert [a.path for a in client.list_artifacts(run_id)] == ["config.yaml"]
    assert run.info.artifact_uri.startswith((tmp_path / "artifacts").as_uri())


def test_tracker_marks_a_failed_job_and_keeps_the_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"), make_tracker(tmp_path) as tracker:
        run_id = tracker.run_id
        raise RuntimeError("boom")
    run = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}").get_run(run_id)
    assert run.info.status == "FAILED"
    assert run.data.tags["error"] == "RuntimeError: boom"


def test_flatten_and_shorten() -> None:
    assert flatten({"a": {"b": 1, "c": [1, 2]}}, "p") == {"p.a.b": 1, "p.a.c": "[1, 2]"}
    assert flatten({"capitals": {"Quai d'Orsay": "France"}}) == {"capitals": '{"Quai d\'Orsay": "France"}'}
    long_value = shorten("x" * 7000)
    assert len(long_value) == 6000 and long_value.endswith("…[truncated]")
