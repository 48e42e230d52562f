"""The whole pipeline as an MLflow model from code: no pickled object, just this file and a config.

`mlflow.pyfunc.load_model("models:/newsstance-pipeline@champion")` runs this file, which builds the
stages from the resolved config logged beside it (pipeline/registry.py logs it). Input: a DataFrame of
articles with a `text` column and optionally `id`, `title`, `date`, `source` (a missing id becomes the
row number); output: the prediction records, as `make infer` writes them to predictions.jsonl. The
models themselves load as in any run (PyPI packages, the local model cache, or the hub), so loading
needs the newsstance package and its offline model packages installed.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel, PythonModelContext
from omegaconf import OmegaConf

from pipeline.ingest import ingest
from pipeline.stages import build_stages, prediction_fields, prediction_record


class PipelineModel(PythonModel):
    def load_context(self, context: PythonModelContext) -> None:
        cfg = OmegaConf.load(context.artifacts["config"])
        self.max_text_chars = cfg.data.max_text_chars
        self.stages = build_stages(cfg)
        self.fields = prediction_fields(self.stages)

    def predict(
        self, context: PythonModelContext, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        records = [
            {
                "id": str(index),
                **{k: v for k, v in row.items() if not (isinstance(v, float) and math.isnan(v))},
            }
            for index, row in zip(model_input.index, model_input.to_dict("records"), strict=True)
        ]
        # Through the same ingest as a batch job, so the same articles are cleaned and validated the same way.
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "articles.jsonl"
            path.write_text("".join(json.dumps(record, default=str) + "\n" for record in records))
            ingested = ingest(path, "jsonl", max_text_chars=self.max_text_chars)
        if ingested.rejected:
            reasons = "; ".join(f"{r.id or r.location}: {r.reason}" for r in ingested.rejected[:10])
            raise ValueError(f"{len(ingested.rejected)} article(s) rejected: {reasons}")
        dataset = ingested.dataset
        for stage in self.stages:
            dataset = stage(dataset)
        return [prediction_record(row, self.fields) for row in dataset]


mlflow.models.set_model(PipelineModel())
