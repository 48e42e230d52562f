"""Micro-benchmark behind experiments/bench/RESULTS.md: prefill and decode-step cost of the default summariser
(Qwen2.5-Coder-0.5B from the converted cache that `make run` builds) at batch 1/4/8/16, float32 and then
dynamic int8. Random token ids: the cost of a step does not depend on which tokens they are.

    python experiments/bench/decode_steps.py
"""

import time
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM

from pipeline.models import load_pretrained

PROMPT_TOKENS = 300
DECODE_STEPS = 10


def measure(model: torch.nn.Module, tag: str) -> None:
    for batch in (1, 4, 8, 16):
        ids = torch.randint(100, 1000, (batch, PROMPT_TOKENS))
        with torch.inference_mode():
            started = time.perf_counter()
            out = model(ids, use_cache=True)
            prefill_s = time.perf_counter() - started
            cache, next_ids = out.past_key_values, ids[:, -1:]
            started = time.perf_counter()
            for _ in range(DECODE_STEPS):
                cache = model(next_ids, past_key_values=cache, use_cache=True).past_key_values
            step_s = (time.perf_counter() - started) / DECODE_STEPS
        print(
            f"{tag} batch {batch}: prefill {batch * PROMPT_TOKENS / prefill_s:.0f} tokens/s, "
            f"decode step {step_s * 1000:.0f} ms ({batch / step_s:.1f} tokens/s)",
            flush=True,
        )


def main() -> None:
    model_dir = next(p for p in (Path.home() / ".cache/newsstance/hf").iterdir() if "0.5b" in p.name)
    model, _ = load_pretrained(AutoModelForCausalLM, str(model_dir), torch.device("cpu"), "float32")
    print(f"{torch.get_num_threads()} threads, {model_dir}")
    measure(model, "float32")
    torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, torch.qint8, inplace=True)
    measure(model, "dynamic int8")


if __name__ == "__main__":
    main()
