"""Micro-benchmark behind experiments/bench/RESULTS.md: prefill and decode-step cost of the default summariser
(the configured summariser's weights, as the pipeline resolves them) at batch 1/4/8/16: float32 with torch's
kernels, float32 with oneDNN for few-row matmuls (`linear_kernel: onednn`), then dynamic int8. Random token
ids: the cost of a step does not depend on which tokens they are.

    python experiments/bench/decode_steps.py
"""

import time

import torch
from hydra.utils import instantiate
from transformers import AutoModelForCausalLM

from pipeline.api import compose_config
from pipeline.models import load_pretrained, resolve_model_dir
from pipeline.summarize.decoding import use_onednn_for_few_rows

PROMPT_TOKENS = 300
DECODE_STEPS = 10


def measure(model: torch.nn.Module, tag: str) -> None:
    for batch in (1, 4, 8, 16):
        ids = torch.randint(100, 1000, (batch, PROMPT_TOKENS))
        with torch.inference_mode():
            started = time.perf_counter()
            # As in generation: logits for the last position only.
            cache = model(ids, use_cache=True, logits_to_keep=1).cache
            prefill_s = time.perf_counter() - started
            next_ids = ids[:, -1:]
            started = time.perf_counter()
            for _ in range(DECODE_STEPS):
                cache = model(next_ids, cache=cache, use_cache=True).cache
            step_s = (time.perf_counter() - started) / DECODE_STEPS
        print(
            f"{tag} batch {batch}: prefill {batch * PROMPT_TOKENS / prefill_s:.0f} tokens/s, "
            f"decode step {step_s * 1000:.0f} ms ({batch / step_s:.1f} tokens/s)",
            flush=True,
        )


def main() -> None:
    spec = compose_config([]).summarizer
    model_dir = resolve_model_dir(spec.model, instantiate(spec.gguf) if spec.gguf else None, spec.cache_dir)
    model, _ = load_pretrained(AutoModelForCausalLM, model_dir, torch.device("cpu"), "float32")
    print(f"{torch.get_num_threads()} threads, {model_dir}")
    measure(model, "float32")
    use_onednn_for_few_rows(model)
    measure(model, "float32 oneDNN")
    torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, torch.qint8, inplace=True)
    measure(model, "dynamic int8")


if __name__ == "__main__":
    main()
