"""Hydra multirun (`-m`) as one MLflow parent run with a child run per job, and a comparison table.

`SweepTracker` is a Hydra callback (registered in conf/config.yaml). At the start of a sweep it opens
the parent run and exports its id as NEWSSTANCE_PARENT_RUN_ID, which `tracking.parent_run_id` reads,
so every job's `Tracker` starts a child of it. After each job it adds the job's row (its overrides,
status and the metrics named by `compare_metrics`) to `comparison.md` on the parent, so a sweep with a
failed job (Hydra stops it, and the parent is marked FAILED) still shows what it did. At the end it writes the table into the sweep folder and, for a
named experiment (`experiment=NAME`), into `experiments/NAME/RESULTS.md` with the command that made it.
"""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mlflow
from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from mlflow import MlflowClient
from omegaconf import DictConfig, OmegaConf

from pipeline.track import experiment_id_for, git_commit, reproducibility_tags

PARENT_RUN_ENV = "NEWSSTANCE_PARENT_RUN_ID"
COMPARISON_FILE = "comparison.md"
RESULTS_FILE = "RESULTS.md"


class SweepTracker(Callback):
    def __init__(self) -> None:
        self.client: MlflowClient | None = None
        self.parent_run_id: str | None = None
        self.rows: list[dict[str, Any]] = []
        self.metric_names: list[str] = []

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        tracking = config.tracking
        mlflow.set_tracking_uri(tracking.tracking_uri)
        self.client = MlflowClient(tracking.tracking_uri)
        name = experiment_name(config) or "multirun"
        run = self.client.create_run(
            experiment_id_for(tracking.experiment_name, tracking.artifact_root),
            run_name=f"sweep-{name}",
            tags={
                **reproducibility_tags(),
                "sweep.command": invocation(),
                "sweep.dir": config.hydra.sweep.dir,
            },
        )
        self.parent_run_id = run.info.run_id
        os.environ[PARENT_RUN_ENV] = self.parent_run_id

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if self.client is None or self.parent_run_id is None:
            return  # a single run, not a sweep
        self.metric_names = list(config.get("compare_metrics") or [])
        row: dict[str, Any] = {
            "overrides": list(config.hydra.overrides.task),
            "status": job_return.status.name,
        }
        if job_return.status == JobStatus.COMPLETED and job_return.return_value:
            row["run_id"] = job_return.return_value
            row.update(self.client.get_run(job_return.return_value).data.metrics)
        else:
            row["error"] = f"{type(job_return._return_value).__name__}: {job_return._return_value}"
            # Hydra's sweeper raises once the jobs have run, so on_multirun_end never comes: mark it now.
            self.client.set_terminated(self.parent_run_id, "FAILED")
        self.rows.append(row)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / COMPARISON_FILE
            path.write_text(comparison_table(self.rows, self.metric_names), encoding="utf-8")
            self.client.log_artifact(self.parent_run_id, str(path))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self.client is None or self.parent_run_id is None:
            return
        os.environ.pop(PARENT_RUN_ENV, None)
        table = comparison_table(self.rows, self.metric_names)
        sweep_dir = Path(config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        (sweep_dir / COMPARISON_FILE).write_text(table, encoding="utf-8")
        name = experiment_name(config)
        if name:
            results = Path(config.paths.root_dir) / "experiments" / name / RESULTS_FILE
            results.parent.mkdir(parents=True, exist_ok=True)
            results.write_text(results_page(name, table, self.parent_run_id), encoding="utf-8")
            print(f"results table: {results}")
        self.client.set_terminated(self.parent_run_id, "FINISHED")
        print(table)
        print(f"sweep parent run: {self.parent_run_id} ({config.tracking.tracking_uri})")


def experiment_name(config: DictConfig) -> str | None:
    """The `experiment=NAME` the sweep was started with, if any."""
    choices = OmegaConf.select(config, "hydra.runtime.choices", default={}) or {}
    return choices.get("experiment")


def invocation() -> str:
    """The command line that started this process, as a user would type it (`python -m pipeline ...`)."""
    script = Path(sys.argv[0])
    module = "pipeline" if script.name == "__main__.py" else f"pipeline.{script.stem}"
    return " ".join(["python", "-m", module, *map(shlex.quote, sys.argv[1:])])


def comparison_table(rows: Sequence[Mapping[str, Any]], metric_names: Sequence[str]) -> str:
    """A markdown table, one row per job: what sets it apart, its status and each metric in `metric_names`.

    A job is labelled by its overrides minus those every job shares (the command line's own), which
    are the same on each row.
    """
    shared = set.intersection(*(set(row["overrides"]) for row in rows)) if len(rows) > 1 else set()
    labels = [" ".join(o for o in row["overrides"] if o not in shared) for row in rows]
    header = ["job", "status", *metric_names]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row, label in zip(rows, labels, strict=True):
        cells = [f"`{label}`" if label else "(defaults)", row["status"]]
        cells += [f"{row[name]:.3f}" if name in row else "" for name in metric_names]
        lines.append("| " + " | ".join(cells) + " |")
    errors = [
        f"- `{label}`: {row['error']}" for row, label in zip(rows, labels, strict=True) if "error" in row
    ]
    return "\n".join(lines + (["", "Failed jobs:", *errors] if errors else [])) + "\n"


def results_page(name: str, table: str, parent_run_id: str) -> str:
    """experiments/NAME/RESULTS.md: the table the last sweep produced and how to produce it again."""
    return (
        f"# Experiment `{name}`: results of the last run\n\n"
        f"Produced by `{invocation()}` (or `make experiment NAME={name}`) on "
        f"{datetime.now(UTC):%Y-%m-%d} at commit `{git_commit()[:12]}`; MLflow parent run `{parent_run_id}`, "
        "one child run per row. Times are wall-clock on the machine that ran it.\n\n"
        f"{table}"
    )
