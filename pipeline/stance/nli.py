"""Zero-shot stance by natural language inference: does the sentence entail "<actor> <label description>"?

Per (actor, sentence) pair and label, the evidence sentence is the premise and the hypothesis template of
conf/stance/nli.yaml, filled with the actor's name and the label's description, the hypothesis. A label's
score is the entailment logit minus the contradiction logit (the log-odds of "yes" against "no", leaving out
the neutral class, which a description that only half fits takes), and the softmax of the scores over the
labels is the probabilities. The actor's name in the hypothesis lets two actors in one sentence differ.

transformers' zero-shot-classification pipeline is not used: its template is filled with the label alone,
so the actor could not be named, and a model without an entailment label only earns a warning there.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, PretrainedConfig

from pipeline.models import load_pretrained, pick_device
from pipeline.schema import LABELS
from pipeline.stance import SentenceLevelClassifier


def label_column(config: PretrainedConfig, prefix: str) -> int:
    """The logit column of the model's class whose name starts with `prefix`, ignoring case."""
    for index, name in config.id2label.items():
        if str(name).lower().startswith(prefix):
            return int(index)
    raise ValueError(
        f"model {config.name_or_path!r} has no class starting with {prefix!r} among {dict(config.id2label)}; "
        "the nli stance backend needs an MNLI-style model with entailment and contradiction classes"
    )


class NLIStanceClassifier(SentenceLevelClassifier):
    """Stance probabilities from an NLI model's entailment of one hypothesis per label about the actor."""

    def __init__(
        self,
        model: str,
        hypothesis_template: str,
        descriptions: Mapping[str, str],
        device: str = "auto",
        dtype: str = "float32",
        batch_size: int = 32,
        trust_remote_code: bool = False,
    ) -> None:
        if set(descriptions) != set(LABELS):
            raise ValueError(f"descriptions must cover exactly {LABELS}, got {sorted(descriptions)}")
        if "{actor}" not in hypothesis_template or "{description}" not in hypothesis_template:
            raise ValueError(
                f"hypothesis_template must name {{actor}} and {{description}}, got {hypothesis_template!r}"
            )
        self.model_ref, self.hypothesis_template = model, hypothesis_template
        self.descriptions = {label: descriptions[label] for label in LABELS}
        self.batch_size, self.dtype = batch_size, dtype
        self.device = pick_device(device)
        self.model, self.tokenizer = load_pretrained(
            AutoModelForSequenceClassification, model, self.device, dtype, trust_remote_code=trust_remote_code
        )
        self.entailment = label_column(self.model.config, "entail")
        self.contradiction = label_column(self.model.config, "contradict")

    def hypotheses(self, actor: str) -> list[str]:
        """One hypothesis about `actor` per label, in LABELS order."""
        return [
            self.hypothesis_template.format(actor=actor, description=self.descriptions[label])
            for label in LABELS
        ]

    def score_sentences(self, names: list[list[str]], sentences: list[str]) -> np.ndarray:
        premises = [sentence for sentence in sentences for _ in LABELS]
        hypotheses = [hypothesis for actor_names in names for hypothesis in self.hypotheses(actor_names[0])]
        scores = torch.cat(
            [
                self.entailment_scores(premises[i : i + self.batch_size], hypotheses[i : i + self.batch_size])
                for i in range(0, len(premises), self.batch_size)
            ]
        )
        return torch.softmax(scores.reshape(len(sentences), len(LABELS)), dim=1).numpy()

    def entailment_scores(self, premises: list[str], hypotheses: list[str]) -> torch.Tensor:
        """Per (premise, hypothesis) pair, its entailment logit minus its contradiction logit, on the CPU."""
        # Only a long premise is cut, never the hypothesis that names the actor and the label.
        inputs = self.tokenizer(
            premises, hypotheses, padding=True, truncation="only_first", return_tensors="pt"
        ).to(self.device)
        with torch.inference_mode():
            logits = self.model(**inputs).logits.float()
        return (logits[:, self.entailment] - logits[:, self.contradiction]).cpu()

    def params(self) -> dict[str, str | int | float | bool | None]:
        return {
            "backend": "nli",
            "model": self.model_ref,
            "device": str(self.device),
            "dtype": self.dtype,
            "batch_size": self.batch_size,
            "hypothesis_template": self.hypothesis_template,
            **{f"descriptions.{label}": description for label, description in self.descriptions.items()},
        }
