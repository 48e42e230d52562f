"""The two rejected prompt/decoding variants in experiments/summaries/MODELS.md, kept so their rows can be
re-run: compare.py with the chat summariser patched.

    python experiments/summaries/variants.py one-shot [compare.py arguments ...]
    python experiments/summaries/variants.py copy-bias BIAS [compare.py arguments ...]

one-shot: a team-written example article and its summary go before the article as an earlier chat turn.
copy-bias: BIAS is added to the logit of every token that continues a word pair of the prompt (greedy,
ragged batching only), nudging the model to copy the article's phrasing.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import torch
from transformers import LogitsProcessor, LogitsProcessorList

from pipeline.summarize.backend import ModelSummarizer
from pipeline.summarize.chat import ChatSummarizer

# Invented for this experiment (no real town or company), in the lead-first style of wire news.
EXAMPLE_ARTICLE = (
    "Firefighters in the coastal town of Port Elwin spent Tuesday night fighting a blaze that destroyed a timber "
    "warehouse and forced 200 residents from their homes, officials said. No one was hurt, the regional fire "
    "service said in a statement on Wednesday. The fire started shortly after 9pm in the warehouse on Harbour "
    "Road and spread to two neighbouring sheds as strong winds carried embers across the industrial estate. "
    '"It was the worst fire this town has seen in thirty years," said deputy fire chief Maria Okafor, who led '
    "the 60 firefighters at the scene. Residents of 80 homes near the estate spent the night in a school gym "
    "and were allowed to return on Wednesday morning. The cause of the fire is under investigation. The "
    "warehouse's owner, Elwin Timber, said it would rebuild and that its 45 staff would continue to be paid."
)
EXAMPLE_SUMMARY = (
    "A fire destroyed a timber warehouse in Port Elwin on Tuesday night and forced 200 residents from their "
    "homes, officials said.\nNo one was hurt, the regional fire service said; strong winds spread the fire to "
    "two neighbouring sheds.\nThe cause of the fire is under investigation, and the owner, Elwin Timber, said "
    "it would rebuild."
)


def render_one_shot(self: ChatSummarizer, text: str) -> str:
    messages = [
        {"role": "user", "content": f"{self.prompt}\n\n{EXAMPLE_ARTICLE}"},
        {"role": "assistant", "content": EXAMPLE_SUMMARY},
        {"role": "user", "content": f"{self.prompt}\n\n{text}"},
    ]
    return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


class SourceCopyBias(LogitsProcessor):
    def __init__(self, bias: float, prompt_tokens: int) -> None:
        self.bias, self.prompt_tokens = bias, prompt_tokens

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        prompt = input_ids[:, : self.prompt_tokens]
        follows_last = (prompt[:, :-1] == input_ids[:, -1:]).to(scores.dtype)
        continues = torch.zeros_like(scores).scatter_add_(1, prompt[:, 1:], follows_last) > 0
        return scores + self.bias * continues


def main() -> None:
    variant, args = sys.argv[1], sys.argv[2:]
    if variant == "one-shot":
        ChatSummarizer.render = render_one_shot
    elif variant == "copy-bias":
        bias, args = float(args[0]), args[1:]
        greedy_processors = ModelSummarizer.greedy_processors

        def with_copy_bias(self: ModelSummarizer, prompt_tokens: int) -> LogitsProcessorList:
            return LogitsProcessorList(
                [*greedy_processors(self, prompt_tokens), SourceCopyBias(bias, prompt_tokens)]
            )

        ModelSummarizer.greedy_processors = with_copy_bias
    else:
        raise SystemExit(f"unknown variant {variant!r}: one-shot or copy-bias")
    sys.argv = ["compare.py", *args]
    runpy.run_path(str(Path(__file__).with_name("compare.py")), run_name="__main__")


if __name__ == "__main__":
    main()
