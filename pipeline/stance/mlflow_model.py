"""The registered stance model as MLflow "models from code": no pickled object, just this file.

`mlflow.pyfunc.load_model("models:/newsstance-stance@champion")` runs this file, which loads the
trained artifact logged beside it. Input: a DataFrame with one row per actor: `text` (the article),
`actor` (its name) and optionally `aliases` (other names) and `evidence` (sentences the actor says or
does something in); output: the stance and one probability column per class. Loading needs the
newsstance package importable (installed, or run from the checkout).
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel, PythonModelContext

from pipeline.schema import STANCE_CLASSES
from pipeline.stance.trained import TrainedStanceClassifier


class StanceModel(PythonModel):
    def load_context(self, context: PythonModelContext) -> None:
        self.classifier = TrainedStanceClassifier(context.artifacts["stance_artifact"])

    def predict(
        self, context: PythonModelContext, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        actors = [
            [
                {
                    "name": row["actor"],
                    "aliases": list(row.get("aliases") or []),
                    "evidence": list(row.get("evidence") or []),
                }
            ]
            for _, row in model_input.iterrows()
        ]
        results = self.classifier.classify_articles(list(model_input["text"]), actors)
        rows = [{"stance": r.stance, **r.probabilities} for [r] in results]
        return pd.DataFrame(rows, columns=["stance", *STANCE_CLASSES], index=model_input.index)


mlflow.models.set_model(StanceModel())
