"""The registered stance model as MLflow "models from code": no pickled object, just this file.

`mlflow.pyfunc.load_model("models:/newsstance-stance@champion")` runs this file, which loads the
trained artifact logged beside it. Input: a DataFrame with columns `actor` (str), `evidence` (list of
sentences, at least one) and optionally `aliases` (list of str); output: one probability column per label.
Loading needs the newsstance package importable (installed, or run from the checkout).
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel, PythonModelContext

from pipeline.schema import LABELS
from pipeline.stance.trained import TrainedStanceClassifier


class StanceModel(PythonModel):
    def load_context(self, context: PythonModelContext) -> None:
        self.classifier = TrainedStanceClassifier(context.artifacts["stance_artifact"])

    def predict(
        self, context: PythonModelContext, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ):
        aliases = [list(names) for names in model_input["aliases"]] if "aliases" in model_input else None
        probabilities = self.classifier.predict_proba(
            list(model_input["actor"]), [list(sentences) for sentences in model_input["evidence"]], aliases
        )
        return pd.DataFrame(probabilities, columns=list(LABELS), index=model_input.index)


mlflow.models.set_model(StanceModel())
