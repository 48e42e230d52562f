"""`python -m pipeline [overrides]` (or the `newsstance` console script): the Hydra entry point."""

import hydra
from omegaconf import DictConfig

from pipeline import CONFIG_DIR
from pipeline.run import run_pipeline


@hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    summary = run_pipeline(cfg)
    print(f"outputs: {summary.output_dir.resolve()}")
    print(f"mlflow run: {summary.run_id} ({summary.tracking_uri})")
    print(f"open the UI: mlflow ui --backend-store-uri {summary.tracking_uri}")


if __name__ == "__main__":
    main()
