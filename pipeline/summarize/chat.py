"""Summaries from an instruction-tuned causal LM, prompted through its tokenizer's chat template."""

from __future__ import annotations

from transformers import AutoModelForCausalLM, BatchEncoding

from pipeline.summarize.backend import ModelSummarizer


class ChatSummarizer(ModelSummarizer):
    backend = "chat"
    model_class = AutoModelForCausalLM
    # Generation continues from the right edge of the prompt, so the padding has to go on the left.
    padding_side = "left"

    def render(self, text: str) -> str:
        """The chat-templated prompt asking for a summary of `text`, ready for the assistant's reply."""
        messages = [{"role": "user", "content": f"{self.prompt}\n\n{text}"}]
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def prompt_overhead_tokens(self) -> int:
        return self.count_tokens(self.render(""))

    def encode(self, texts: list[str]) -> BatchEncoding:
        prompts = [self.render(text) for text in texts]
        return self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
