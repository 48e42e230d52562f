"""A real Hydra sweep in a subprocess: one MLflow parent run, a child per job, and the comparison table."""

import os
import subprocess
import sys
from pathlib import Path

import mlflow

from pipeline.sweep import comparison_table

PROJECT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"


def test_sweep_logs_a_parent_with_one_child_per_job_and_a_results_table(tmp_path: Path) -> None:
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    # Ingest-only jobs (no model) of the named experiment `baseline`, swept over two seeds.
    command = [sys.executable, "-m", "pipeline", "-m", "experiment=baseline", "stages=[]", "seed=1,2",
               f"data.path={DATA / 'bad_records.jsonl'}", f"paths.root_dir={tmp_path}",
               f"tracking.tracking_uri={tracking_uri}", f"tracking.artifact_root={tmp_path / 'artifacts'}",
               "compare_metrics=[articles_in,articles_rejected]"]  # fmt: skip
    environment = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    result = subprocess.run(
        command, cwd=PROJECT, env=environment, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]

    client = mlflow.MlflowClient(tracking_uri)
    runs = client.search_runs(client.get_experiment_by_name("newsstance").experiment_id)
    [parent] = [run for run in runs if run.info.run_name == "sweep-baseline"]
    children = [run for run in runs if run.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert parent.info.status == "FINISHED" and len(children) == 2
    assert sorted(child.data.params["seed"] for child in children) == ["1", "2"]
    # Each job wrote into its own numbered sweep folder, so neither "resumed" the other's shards.
    assert len({child.data.params["paths.output_dir"] for child in children}) == 2
    assert all("resumed_shards_count" not in child.data.metrics for child in children)

    results = (tmp_path / "experiments" / "baseline" / "RESULTS.md").read_text()
    assert "python -m pipeline -m experiment=baseline" in results and parent.info.run_id in results
    assert "| `seed=1` | COMPLETED | 2.000 | 10.000 |" in results
    assert [a.path for a in client.list_artifacts(parent.info.run_id)] == ["comparison.md"]


def test_comparison_table_has_a_row_per_job_and_lists_failures() -> None:
    rows = [
        {
            "overrides": ["evaluation=stance", "stance=trained"],
            "status": "COMPLETED",
            "stance_macro_f1": 0.61,
        },
        {
            "overrides": ["evaluation=stance", "stance=nli"],
            "status": "FAILED",
            "error": "OSError: no model at x",
        },
    ]
    table = comparison_table(rows, ["stance_macro_f1"])
    lines = table.splitlines()
    assert lines[0] == "| job | status | stance_macro_f1 |"
    assert lines[2] == "| `stance=trained` | COMPLETED | 0.610 |"
    assert lines[3] == "| `stance=nli` | FAILED |  |"
    assert "- `stance=nli`: OSError: no model at x" in table
