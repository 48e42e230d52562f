"""What the chat and seq2seq summarisers share: loading, chunking, length-sorted batched generation, clean-up.

With `read_sentences` set, the model reads only the article's first that many sentences: news states its key
facts first, and the lead gave better ROUGE-2 from a third of the prompt (experiments/summaries/MODELS.md).
An input over the model's budget is split into chunks; each chunk is summarised, and the cleaned partial
summaries are joined and, when that is still longer than a summary, summarised again.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import torch
from transformers import (
    BatchEncoding,
    LogitsProcessor,
    LogitsProcessorList,
    MinNewTokensLengthLogitsProcessor,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    RepetitionPenaltyLogitsProcessor,
    StoppingCriteria,
    StoppingCriteriaList,
)

from pipeline.models import GGUFSpec, load_pretrained, pick_device, resolve_model_dir, weights_params
from pipeline.summarize import Summary
from pipeline.summarize.chunking import split_into_chunks
from pipeline.summarize.cleanup import clean_summary
from pipeline.summarize.decoding import greedy_decode, use_onednn_for_few_rows
from pipeline.summarize.lead import body_sentences
from pipeline.text import split_sentences


@dataclass(frozen=True)
class GenerationSettings:
    """Arguments to `generate()`; greedy decoding unless `num_beams` or `do_sample` say otherwise."""

    max_new_tokens: int
    min_new_tokens: int = 0
    num_beams: int = 1
    do_sample: bool = False
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    length_penalty: float = 1.0


@dataclass(frozen=True)
class Generated:
    text: str
    hit_token_cap: bool  # stopped by max_new_tokens rather than an end token: the last sentence may be cut


class SentenceLimit(StoppingCriteria):
    """Stops a sequence once it starts the sentence after `max_sentences`: the clean-up would drop it anyway."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, prompt_tokens: int, max_sentences: int) -> None:
        self.tokenizer, self.prompt_tokens, self.max_sentences = tokenizer, prompt_tokens, max_sentences

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs) -> torch.BoolTensor:
        texts = self.tokenizer.batch_decode(input_ids[:, self.prompt_tokens :], skip_special_tokens=True)
        # Waiting for the next sentence to start, rather than stopping at the full stop, keeps "U.S." whole.
        done = [len(split_sentences(" ".join(text.split()))) > self.max_sentences for text in texts]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


class NoRepeatNGramInOutput(LogitsProcessor):
    """Bans a token that would repeat an n-gram of the generated text. transformers' `no_repeat_ngram_size`
    counts a decoder-only model's prompt as well, which would forbid quoting the article."""

    def __init__(self, size: int, prompt_tokens: int) -> None:
        self.size, self.prompt_tokens = size, prompt_tokens

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        for row, tokens in enumerate(input_ids[:, self.prompt_tokens :].tolist()):
            context = tuple(tokens[len(tokens) - self.size + 1 :])
            banned = [
                tokens[start + self.size - 1]
                for start in range(len(tokens) - self.size + 1)
                if tuple(tokens[start : start + self.size - 1]) == context
            ]
            scores[row, banned] = -float("inf")
        return scores


class ModelSummarizer:
    """A transformers model summarising articles of any length; subclasses say how to prompt it."""

    backend: ClassVar[str]
    model_class: ClassVar[type[PreTrainedModel]]
    padding_side: ClassVar[str]

    def __init__(
        self,
        model: str | None,
        generation: GenerationSettings,
        prompt: str,
        max_input_tokens: int,
        cache_dir: Path | str,
        gguf: GGUFSpec | None = None,
        device: str = "auto",
        dtype: str = "float32",
        batch_size: int = 4,
        max_sentences: int = 3,
        trust_remote_code: bool = False,
        quantize: str | None = None,
        read_sentences: int | None = None,
        batching: str = "padded",
        linear_kernel: str = "default",
    ) -> None:
        if read_sentences is not None and read_sentences < 1:
            raise ValueError(
                f"read_sentences must be at least 1 or null (the whole article), got {read_sentences}"
            )
        self.model_ref, self.gguf, self.generation, self.prompt = model, gguf, generation, prompt
        self.max_input_tokens, self.max_sentences = max_input_tokens, max_sentences
        self.read_sentences = read_sentences
        self.batch_size, self.dtype = batch_size, dtype
        self.model_dir = resolve_model_dir(model, gguf, cache_dir)
        self.device = pick_device(device)
        if quantize not in (None, "dynamic_int8") or (quantize and self.device.type != "cpu"):
            raise ValueError(
                f"quantize={quantize!r} on {self.device}: choose null, or 'dynamic_int8' on the CPU"
            )
        if batching not in ("padded", "ragged") or linear_kernel not in ("default", "onednn"):
            raise ValueError(
                f"batching={batching!r}, linear_kernel={linear_kernel!r}: choose batching padded|ragged and "
                "linear_kernel default|onednn"
            )
        self.quantize = quantize
        self.model, self.tokenizer = load_pretrained(
            self.model_class, self.model_dir, self.device, dtype, self.padding_side, trust_remote_code
        )
        if batching == "ragged" and self.model.config.is_encoder_decoder:
            raise ValueError(
                "batching=ragged needs a decoder-only model; an encoder-decoder one takes padded"
            )
        # A GPU computes a padded batch's padding in parallel; ragged batches pay off where compute is scarce.
        # Beam search and sampling are generate()'s alone.
        greedy = generation.num_beams == 1 and not generation.do_sample
        self.batching = batching if self.device.type == "cpu" and greedy else "padded"
        if quantize:
            # Each decoding step reads every weight: int8 weights are a quarter of the bytes, and fbgemm's int8
            # GEMM outruns float32 on an AVX2 CPU. Activations are quantised per call: no calibration needed.
            torch.ao.quantization.quantize_dynamic(self.model, {torch.nn.Linear}, torch.qint8, inplace=True)
        # What ran, for the run's params: "default" where oneDNN cannot serve this device or dtype.
        self.linear_kernel = (
            "onednn" if linear_kernel == "onednn" and use_onednn_for_few_rows(self.model) else "default"
        )
        # Tokens read and written by generate() so far, for throughput metrics.
        self.token_counts: Counter[str] = Counter()
        self.stop_token_ids = sorted(
            {*as_list(self.model.generation_config.eos_token_id), *as_list(self.tokenizer.eos_token_id)}
        )
        self.chunk_budget_tokens = max_input_tokens - self.prompt_overhead_tokens()
        # Partial summaries must pack at least two to a chunk, or combining them would never converge.
        if self.chunk_budget_tokens < 2 * generation.max_new_tokens:
            raise ValueError(
                f"max_input_tokens={max_input_tokens} leaves {self.chunk_budget_tokens} tokens of article after the "
                f"prompt; it must be at least 2 x max_new_tokens ({2 * generation.max_new_tokens})"
            )

    def prompt_overhead_tokens(self) -> int:
        """Tokens the model input takes besides the article text."""
        raise NotImplementedError

    def encode(self, texts: list[str]) -> BatchEncoding:
        """The padded model input for a batch of texts that each fit the chunk budget."""
        raise NotImplementedError

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def summarize_batch(self, texts: list[str]) -> list[Summary]:
        """One cleaned summary per text, in input order."""
        texts, read = list(texts), [None] * len(texts)
        if self.read_sentences is not None:
            for i, text in enumerate(texts):
                sentences = body_sentences(text)
                if len(sentences) > self.read_sentences:
                    texts[i], read[i] = " ".join(sentences[: self.read_sentences]), self.read_sentences
        summaries: list[Summary | None] = [None] * len(texts)
        repairs: list[list[str]] = [[] for _ in texts]
        chunk_counts: list[list[int]] = [[] for _ in texts]  # per round: chunks of article, then of partials

        def finish(i: int, text: str) -> None:
            summaries[i] = Summary(text, chunk_counts[i][0], repairs[i], read[i])

        pending = dict(enumerate(texts))  # text index -> what is left to summarise
        while pending:
            chunks = {}
            for i, text in pending.items():
                parts = split_into_chunks(text, self.count_tokens, self.chunk_budget_tokens)
                # A verbose model's partials can fill as many chunks as they came from; stop combining then.
                if chunk_counts[i] and len(parts) >= chunk_counts[i][-1]:
                    finish(i, self.clean(Generated(text, hit_token_cap=False), texts[i], repairs[i]))
                else:
                    chunks[i] = parts
                    chunk_counts[i].append(len(parts))
            outputs = iter(self.generate_sorted([chunk for parts in chunks.values() for chunk in parts]))
            pending = {}
            for i, parts in chunks.items():
                partials = [self.clean(next(outputs), chunk, repairs[i]) for chunk in parts]
                joined = "\n\n".join(partials)
                if len(parts) == 1:
                    finish(i, partials[0])
                elif len(split_sentences(joined)) <= self.max_sentences:
                    finish(i, self.clean(Generated(joined, hit_token_cap=False), texts[i], repairs[i]))
                else:
                    pending[i] = joined
        return [s for s in summaries if s is not None]

    def clean(self, generated: Generated, source: str, repairs: list[str]) -> str:
        """`generated` cleaned up; repairs not yet in `repairs` are appended to it."""
        text, fixes = clean_summary(generated.text, source, self.max_sentences, generated.hit_token_cap)
        repairs.extend(fix for fix in fixes if fix not in repairs)
        return text

    def generate_sorted(self, texts: list[str]) -> list[Generated]:
        """Generations for `texts` in input order, run in batches of similar length to waste little padding."""
        order = sorted(range(len(texts)), key=lambda i: self.count_tokens(texts[i]), reverse=True)
        results: list[Generated | None] = [None] * len(texts)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            for i, generated in zip(batch, self.generate([texts[i] for i in batch]), strict=True):
                results[i] = generated
        return [g for g in results if g is not None]

    def generate(self, texts: list[str]) -> list[Generated]:
        inputs = self.encode(texts).to(self.device)
        # A decoder-only output repeats the prompt; an encoder-decoder one starts with the decoder start token.
        prompt_tokens = 1 if self.model.config.is_encoder_decoder else inputs["input_ids"].shape[1]
        settings = asdict(self.generation)
        processors = LogitsProcessorList()
        if not self.model.config.is_encoder_decoder and settings["no_repeat_ngram_size"]:
            processors.append(NoRepeatNGramInOutput(settings.pop("no_repeat_ngram_size"), prompt_tokens))
        stopping = StoppingCriteriaList([SentenceLimit(self.tokenizer, prompt_tokens, self.max_sentences)])
        with torch.inference_mode():
            if self.batching == "ragged":
                new_tokens = greedy_decode(
                    self.model,
                    inputs["input_ids"],
                    inputs["attention_mask"],
                    self.generation.max_new_tokens,
                    LogitsProcessorList([*self.greedy_processors(prompt_tokens), *processors]),
                    stopping,
                    self.stop_token_ids,
                    self.tokenizer.pad_token_id,
                )
            else:
                output = self.model.generate(
                    input_ids=inputs["input_ids"],
                    attention_mask=inputs["attention_mask"],
                    **settings,
                    pad_token_id=self.tokenizer.pad_token_id,
                    eos_token_id=self.stop_token_ids,
                    logits_processor=processors,
                    stopping_criteria=stopping,
                )
                new_tokens = output[:, prompt_tokens:]
        ran_to_cap = new_tokens.shape[1] >= self.generation.max_new_tokens
        stops = torch.tensor([*self.stop_token_ids, self.tokenizer.pad_token_id], device=new_tokens.device)
        is_stop = torch.isin(new_tokens, stops)
        stopped = is_stop.any(dim=1)
        # A finished sequence is padded to the batch's length; count its tokens up to its stop token.
        generated = torch.where(stopped, is_stop.int().argmax(dim=1) + 1, new_tokens.shape[1])
        self.token_counts["prompt_tokens"] += int(inputs["attention_mask"].sum())
        self.token_counts["generated_tokens"] += int(generated.sum())
        texts_out = self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
        return [
            Generated(text.strip(), ran_to_cap and not stop)
            for text, stop in zip(texts_out, stopped.tolist(), strict=True)
        ]

    def greedy_processors(self, prompt_tokens: int) -> LogitsProcessorList:
        """What generate() itself applies to greedy logits for these settings (no_repeat_ngram_size aside)."""
        processors = LogitsProcessorList()
        if self.generation.min_new_tokens:
            processors.append(
                MinNewTokensLengthLogitsProcessor(
                    prompt_tokens, self.generation.min_new_tokens, self.stop_token_ids
                )
            )
        if self.generation.repetition_penalty != 1.0:
            processors.append(RepetitionPenaltyLogitsProcessor(self.generation.repetition_penalty))
        return processors

    def params(self) -> dict[str, str | int | float | bool | None]:
        return {
            "backend": self.backend,
            **weights_params(self.model_ref, self.model_dir, self.gguf),
            "device": str(self.device),
            "dtype": self.dtype,
            "quantize": self.quantize,
            "batching": self.batching,
            "linear_kernel": self.linear_kernel,
            "max_input_tokens": self.max_input_tokens,
            "batch_size": self.batch_size,
            "max_sentences": self.max_sentences,
            "read_sentences": self.read_sentences,
            "prompt": self.prompt,
            **{f"generation.{key}": value for key, value in asdict(self.generation).items()},
        }


def as_list(token_ids: int | list[int] | None) -> list[int]:
    if token_ids is None:
        return []
    return [token_ids] if isinstance(token_ids, int) else list(token_ids)
