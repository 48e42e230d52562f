"""`python -m pipeline [overrides]` (or the `newsstance` console script): the Hydra entry point."""

import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from pipeline import CONFIG_DIR
from pipeline.files import FolderInUse, OutputError
from pipeline.run import run_pipeline


def run_and_report(cfg: DictConfig) -> str:
    """Runs the pipeline, prints where its outputs and MLflow run are (and the scores, for an evaluation);
    the run's id (a sweep's callback reads it from the job's return value)."""
    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        # Jobs of a sweep can start within the same second, so `outputs/${now}` could be shared (and one
        # job would "resume" another's shards): each job writes into its own numbered sweep folder.
        cfg.paths.output_dir = HydraConfig.get().runtime.output_dir
    try:
        summary = run_pipeline(cfg)
    except (FolderInUse, OutputError) as error:
        # The user's to fix, and the message says how: no traceback.
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(1) from error
    if summary.evaluation is not None:
        from pipeline.eval_stance import format_report

        print(format_report(summary.evaluation))
    counts = summary.metrics
    print(
        f"done: {int(counts.get('articles_out_count', 0))} articles written "
        f"({int(counts.get('resumed_shards_count', 0))} shards already done before this run), "
        f"{int(counts['articles_rejected'])} rejected (rejected.jsonl), "
        f"{int(counts.get('failed_articles_count', 0))} failed (failures.jsonl)"
    )
    print(f"outputs: {summary.output_dir.resolve()}")
    if summary.unlogged:
        print(
            f"NOT TRACKED: MLflow at {summary.tracking_uri} was unreachable; not logged: {', '.join(summary.unlogged)}"
        )
        return summary.run_id
    print(f"mlflow run: {summary.run_id} ({summary.tracking_uri})")
    print(f"open the UI: mlflow ui --backend-store-uri {summary.tracking_uri}")
    return summary.run_id


main = hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base="1.3")(run_and_report)

if __name__ == "__main__":
    main()
