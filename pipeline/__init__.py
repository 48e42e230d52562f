"""newsstance: abstractive summaries of news articles and the stance of each actor, tracked in MLflow."""

import os
from pathlib import Path

from omegaconf import OmegaConf

PROJECT_ROOT = Path(os.environ.get("NEWSSTANCE_ROOT", Path(__file__).resolve().parent.parent))
CONFIG_DIR = Path(__file__).resolve().parent.parent / "conf"

# Lets the config say `${project_root:}` so paths (and the experiments/ search path) do not depend on
# the directory a user starts from.
OmegaConf.register_new_resolver("project_root", lambda: str(PROJECT_ROOT), replace=True)
