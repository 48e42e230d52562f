"""Stance from a chat LLM: how its reply's first token splits the probability among the label words.

The prompt (conf/stance/llm.yaml) gives the label definitions, the actor and one evidence sentence and
asks for the label. One forward pass per (actor, sentence) pair reads the next-token distribution at the
start of the assistant's reply; the mass on the tokens that can begin each label word, renormalised over
the labels, is the probabilities. Nothing is generated, so the answer cannot stray from the label set,
and every label gets a score. The actor is named in the prompt, so two actors in one sentence can differ.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForCausalLM, PreTrainedTokenizerBase

from pipeline.models import GGUFSpec, load_pretrained, pick_device, resolve_model_dir, weights_params
from pipeline.schema import LABELS
from pipeline.stance import SentenceLevelClassifier


@dataclass(frozen=True)
class StancePrompt:
    """The chat messages asking for one actor's stance in one sentence."""

    system: str  # followed by one "- label: definition" line per label
    definitions: Mapping[str, str]  # label -> what it means
    user: str  # format fields: {actor}, {sentence}, {labels} (the label words, comma-separated)

    def __post_init__(self) -> None:
        if set(self.definitions) != set(LABELS):
            raise ValueError(f"definitions must cover exactly {LABELS}, got {sorted(self.definitions)}")
        if "{actor}" not in self.user or "{sentence}" not in self.user:
            raise ValueError(f"the user message must name {{actor}} and {{sentence}}, got {self.user!r}")

    def messages(self, actor: str, sentence: str) -> list[dict[str, str]]:
        """The system and user messages about `actor` in `sentence`."""
        definitions = "\n".join(f"- {label}: {self.definitions[label]}" for label in LABELS)
        user = self.user.format(actor=actor, sentence=sentence, labels=", ".join(LABELS))
        return [
            {"role": "system", "content": f"{self.system}\n{definitions}"},
            {"role": "user", "content": user},
        ]


def label_token_ids(tokenizer: PreTrainedTokenizerBase, words: Sequence[str]) -> list[list[int]]:
    """Per word, the single tokens a reply spelling it can start with; an error if two words share one.

    Those are the prefixes of the word that encode to one token, lowercase or capitalised, with or without
    a leading space: a model does not always start with the canonical first token (Qwen2.5 puts more mass on
    "con" than on "conc", the first token of "conciliatory").
    """
    ids = []
    for word in words:
        spellings = (word, word.title(), f" {word}", f" {word.title()}")
        prefixes = {spelling[:end] for spelling in spellings for end in range(1, len(spelling) + 1)}
        prefixes.discard(" ")  # a bare space starts every spelled-with-a-space word
        encoded = [tokenizer(prefix, add_special_tokens=False)["input_ids"] for prefix in prefixes]
        ids.append(sorted({tokens[0] for tokens in encoded if len(tokens) == 1}))
    for i, j in itertools.combinations(range(len(words)), 2):
        if shared := set(ids[i]) & set(ids[j]):
            raise ValueError(
                f"label words {words[i]!r} and {words[j]!r} can both start with token(s) "
                f"{tokenizer.convert_ids_to_tokens(sorted(shared))}: their logits cannot tell them apart"
            )
    return ids


class LLMStanceClassifier(SentenceLevelClassifier):
    """Stance probabilities from a chat LLM's next-token logits over the label words."""

    def __init__(
        self,
        model: str | None,
        prompt: StancePrompt,
        cache_dir: Path | str,
        gguf: GGUFSpec | None = None,
        device: str = "auto",
        dtype: str = "float32",
        batch_size: int = 8,
        trust_remote_code: bool = False,
    ) -> None:
        self.model_ref, self.gguf, self.prompt = model, gguf, prompt
        self.batch_size, self.dtype = batch_size, dtype
        self.model_dir = resolve_model_dir(model, gguf, cache_dir)
        self.device = pick_device(device)
        # Left padding puts every prompt's last token in the last column, where the reply starts.
        self.model, self.tokenizer = load_pretrained(
            AutoModelForCausalLM, self.model_dir, self.device, dtype, "left", trust_remote_code
        )
        self.label_token_ids = label_token_ids(self.tokenizer, LABELS)

    def render(self, actor: str, sentence: str) -> str:
        """The chat-templated prompt about `actor` in `sentence`, ending where the reply starts."""
        return self.tokenizer.apply_chat_template(
            self.prompt.messages(actor, sentence), tokenize=False, add_generation_prompt=True
        )

    def score_sentences(self, names: list[list[str]], sentences: list[str]) -> np.ndarray:
        prompts = [
            self.render(actor_names[0], sentence)
            for actor_names, sentence in zip(names, sentences, strict=True)
        ]
        rows = [
            self.label_probabilities(prompts[i : i + self.batch_size])
            for i in range(0, len(prompts), self.batch_size)
        ]
        return np.concatenate(rows)

    def label_probabilities(self, prompts: list[str]) -> np.ndarray:
        """(len(prompts), len(LABELS)): the next-token probabilities of the labels, renormalised over them."""
        inputs = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(
            self.device
        )
        # Positions counted from each prompt's first token, as generate() does: forward() would count from the
        # padding, which rotary models ignore but a model with absolute position embeddings would not.
        positions = (inputs["attention_mask"].cumsum(dim=1) - 1).clamp(min=0)
        with torch.inference_mode():
            logits = self.model(**inputs, position_ids=positions, logits_to_keep=1).logits[:, -1].float()
        label_logits = torch.stack([logits[:, ids].logsumexp(dim=1) for ids in self.label_token_ids], dim=1)
        return torch.softmax(label_logits, dim=1).cpu().numpy()

    def params(self) -> dict[str, str | int | float | bool | None]:
        return {
            "backend": "llm",
            **weights_params(self.model_ref, self.model_dir, self.gguf),
            "device": str(self.device),
            "dtype": self.dtype,
            "batch_size": self.batch_size,
            "prompt.system": self.prompt.system,
            "prompt.user": self.prompt.user,
            **{f"prompt.definitions.{label}": self.prompt.definitions[label] for label in LABELS},
        }
