"""Summaries from an encoder-decoder model fine-tuned for summarisation (BART-CNN, PEGASUS, T5)."""

from __future__ import annotations

from transformers import AutoModelForSeq2SeqLM, BatchEncoding

from pipeline.summarize.backend import ModelSummarizer


class Seq2SeqSummarizer(ModelSummarizer):
    """`prompt` is prepended to the article as is: empty for BART, "summarize: " for T5."""

    backend = "seq2seq"
    model_class = AutoModelForSeq2SeqLM
    padding_side = "right"

    def prompt_overhead_tokens(self) -> int:
        return len(self.tokenizer(self.prompt)["input_ids"])

    def encode(self, texts: list[str]) -> BatchEncoding:
        # Chunks fit the budget already; truncation only guards the position embeddings against a
        # tokenisation of prompt + text that comes out a token longer than the two counted apart.
        return self.tokenizer(
            [self.prompt + text for text in texts],
            return_tensors="pt",
            padding=True,
            truncation=True,
            max_length=self.max_input_tokens,
        )
