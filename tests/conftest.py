"""Fixtures shared by all tests: the real Hydra config, shrunk, with outputs and MLflow in tmp_path."""

from collections.abc import Callable
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from pipeline import CONFIG_DIR

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SAMPLE_ARTICLES = Path(__file__).resolve().parents[1] / "data" / "sample" / "articles.jsonl"

ComposeConfig = Callable[..., DictConfig]


@pytest.fixture
def compose_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ComposeConfig:
    """Composes conf/<config_name>.yaml with the given overrides, writing outputs and tracking under tmp_path."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)

    def compose_with(*overrides: str, config_name: str = "config") -> DictConfig:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            return compose(
                config_name,
                overrides=[
                    f"paths.output_dir={tmp_path / 'out'}",
                    f"tracking.tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}",
                    f"tracking.artifact_root={tmp_path / 'artifacts'}",
                    *overrides,
                ],
            )

    return compose_with
