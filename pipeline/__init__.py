"""newsstance: abstractive summaries of news articles and the stance of each actor, tracked in MLflow.

`from pipeline import analyze` gives the Python API (pipeline/api.py); it is imported on first use, so
`import pipeline` stays cheap (no torch, no spaCy).
"""

import os
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

PACKAGE_DIR = Path(__file__).resolve().parent
# A checkout keeps conf/ and data/sample/ at its top, beside the package; a wheel carries them inside the
# package (pyproject.toml maps them to pipeline.conf and pipeline.sample).
CHECKOUT_DIR = PACKAGE_DIR.parent
IN_CHECKOUT = (CHECKOUT_DIR / "conf" / "config.yaml").is_file()
CONFIG_DIR = CHECKOUT_DIR / "conf" if IN_CHECKOUT else PACKAGE_DIR / "conf"
SAMPLE_DIR = CHECKOUT_DIR / "data" / "sample" if IN_CHECKOUT else PACKAGE_DIR / "sample"
# Where outputs/, mlflow.db and mlartifacts/ go: an installed package has no project folder of its own,
# so it works in the folder it is started from.
PROJECT_ROOT = Path(os.environ.get("NEWSSTANCE_ROOT") or (CHECKOUT_DIR if IN_CHECKOUT else Path.cwd()))

# Lets the config say `${project_root:}` and `${sample_dir:}` so paths (and the experiments/ search path)
# do not depend on the directory a user starts from, nor on whether the package is a checkout or installed.
OmegaConf.register_new_resolver("project_root", lambda: str(PROJECT_ROOT), replace=True)
OmegaConf.register_new_resolver("sample_dir", lambda: str(SAMPLE_DIR), replace=True)


def __getattr__(name: str) -> Any:
    # `from pipeline import analyze` loads the API, and with it the stages' imports, only when asked for.
    if name == "analyze":
        from pipeline.api import analyze

        return analyze
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
