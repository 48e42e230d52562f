"""Tracking: one MLflow run per pipeline invocation. Knows nothing of models or stages."""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import sys
import warnings
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Any

import datasets
import mlflow
import requests
from mlflow.data.huggingface_dataset import from_huggingface
from mlflow.exceptions import MlflowException

# MLflow caps a param value at 6000 characters; longer values (prompts) are cut with a marker.
MAX_PARAM_CHARS = 6000
log = logging.getLogger(__name__)
# What a tracking call raises when the store cannot be reached (MLflow wraps most of it in MlflowException).
UNREACHABLE_ERRORS = (MlflowException, requests.exceptions.RequestException, OSError)
RECORDED_PACKAGES = ("torch", "transformers", "datasets", "spacy", "scikit-learn", "mlflow", "hydra-core")


class Tracker:
    """Opens an MLflow run on enter and always closes it on exit, marked FAILED if the job raised.

    Tracking must never cost a job its results: if the tracking server cannot be reached (at the start
    or half way), the tracker stops calling it, the job carries on and keeps its outputs, and
    `unlogged` lists what did not reach MLflow (printed at the end). A sqlite store has no such outage.
    """

    def __init__(
        self,
        tracking_uri: str,
        experiment_name: str,
        artifact_root: str,
        run_name: str | None = None,
        parent_run_id: str | None = None,
    ):
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self.artifact_root = artifact_root
        self.run_name = run_name
        self.parent_run_id = parent_run_id  # a sweep's parent run (pipeline/sweep.py): this run is its child
        self.run: mlflow.ActiveRun | None = None
        self.unreachable: str | None = None  # the error that took the tracking store out of reach
        self.unlogged: list[str] = []

    def __enter__(self) -> Tracker:
        mlflow.set_tracking_uri(self.tracking_uri)
        self._call("the run", self._start_run)
        return self

    def _start_run(self) -> None:
        experiment_id = experiment_id_for(self.experiment_name, self.artifact_root)
        self.run = mlflow.start_run(
            experiment_id=experiment_id, run_name=self.run_name, parent_run_id=self.parent_run_id
        )
        mlflow.set_tags(reproducibility_tags())

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if error is not None:
            self._call(
                "the error tag",
                mlflow.set_tag,
                "error",
                f"{kind.__name__ if kind else 'Error'}: {error}"[:MAX_PARAM_CHARS],
            )
        status = "FINISHED" if error is None else "FAILED"
        if self.unreachable is None:
            self._call("the run's end", mlflow.end_run, status=status)
        else:
            self.unlogged.append("the run's end")
            # end_run forgets the run locally before it calls the store; the call fails, but without it
            # a later run in this process (a sweep's next job, a test) would start nested under this one.
            with contextlib.suppress(*UNREACHABLE_ERRORS):
                mlflow.end_run(status=status)
        if self.unreachable is not None:
            log.warning(
                "MLflow at %s was unreachable (%s); not logged: %s. The outputs are complete on disk.",
                self.tracking_uri,
                self.unreachable,
                ", ".join(self.unlogged),
            )

    def _call(self, what: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Runs one tracking call; after a failure to reach the store, records `what` instead of calling."""
        if self.unreachable is None:
            try:
                function(*args, **kwargs)
                return
            except UNREACHABLE_ERRORS as error:
                self.unreachable = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
        self.unlogged.append(what)

    @property
    def run_id(self) -> str:
        """The MLflow run's id; empty when the tracking store could not be reached."""
        return self.run.info.run_id if self.run is not None else ""

    def log_config(self, config: Mapping[str, Any], path: Path) -> None:
        """Logs the resolved config as flat params and as a YAML artifact (already written at `path`)."""
        self.log_params(config)
        self.log_artifact(path)

    def log_params(self, params: Mapping[str, Any], prefix: str = "") -> None:
        flat = flatten(params, prefix)
        self._call(
            f"params {prefix or 'config'}",
            mlflow.log_params,
            {key: shorten(value) for key, value in flat.items()},
        )

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        self._call(f"{len(metrics)} metrics", mlflow.log_metrics, dict(metrics))

    def log_input(self, dataset: datasets.Dataset, source: Path, name: str) -> None:
        """Records the ingested dataset (schema, row count, content digest) and the file it came from."""
        with warnings.catch_warnings():
            # MLflow registers its local-file source twice and warns that the path is ambiguous.
            warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted")
            logged = from_huggingface(dataset, source=str(source.resolve()), name=name)
        self._call("the input dataset", mlflow.log_input, logged, context="inference")

    def log_artifact(self, path: Path) -> None:
        self._call(f"artifact {path.name}", mlflow.log_artifact, str(path))


def experiment_id_for(name: str, artifact_root: str) -> str:
    """The id of MLflow experiment `name` on the current tracking URI, created with `artifact_root` if new."""
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    return mlflow.create_experiment(name, artifact_location=Path(artifact_root).resolve().as_uri())


def reproducibility_tags() -> dict[str, str]:
    return {"git_commit": git_commit(), "python": sys.version.split()[0], **package_versions()}


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}. Lists, and maps keyed by data rather than by names (a lexicon
    such as {"Quai d'Orsay": "France"}), become one JSON string each: their keys are not param names."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and all(str(k).isidentifier() for k in value):
            flat.update(flatten(value, name))
        elif isinstance(value, Mapping | list | tuple):
            flat[name] = json.dumps(value if isinstance(value, Mapping) else list(value), ensure_ascii=False)
        else:
            flat[name] = value
    return flat


def shorten(value: Any) -> str:
    text = str(value)
    return text if len(text) <= MAX_PARAM_CHARS else text[: MAX_PARAM_CHARS - 12] + "…[truncated]"


def git_commit() -> str:
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return result.stdout.strip()


def package_versions() -> dict[str, str]:
    versions = {}
    for package in RECORDED_PACKAGES:
        try:
            versions[f"version.{package}"] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[f"version.{package}"] = "not installed"
    return versions
