"""CPU speed-ups for a decoder-only summariser, found by profiling a batch of 12 bench articles (issue 6).

- `greedy_decode` (`batching: ragged`): generate() prefills a left-padded batch padding and all (12 prompts of
  150-409 tokens cost 12 x 409) and steps every sequence until the last one ends. Here each prompt is
  prefilled alone after the chat-template prefix they share, computed once (`prefill_per_prompt`), and a
  sequence leaves the batch when it stops. The outputs are generate()'s (tests/summarize/test_decoding.py).
- `use_onednn_for_few_rows`: a decode step multiplies ~12 rows by every weight; MKL's sgemm reaches 21-37
  GFLOP/s there (the 151,936-row output layer alone took 156 ms of a 505 ms step) where oneDNN reaches 55-63
  on most of the model's shapes, same float32 weights (experiments/bench/RESULTS.md). Large prompts stay on
  MKL, which is as fast.
"""

from __future__ import annotations

import types

import torch
from torch import nn
from transformers import DynamicCache, LogitsProcessorList, PreTrainedModel, StoppingCriteriaList

# At most this many rows go through oneDNN; above it MKL's GEMM is as fast (measured at 300 and 4,908 rows).
ONEDNN_MAX_ROWS = 64


def onednn_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """`F.linear` by oneDNN's inner-product primitive, on the module's own (dense) weight: no copy is kept."""
    rows = x.reshape(-1, x.shape[-1])
    out = torch.ops.mkldnn._linear_pointwise(rows, weight, bias, "none", [], "")
    return out.reshape(*x.shape[:-1], weight.shape[0])


def few_rows_forward(self: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    if x.numel() // x.shape[-1] <= ONEDNN_MAX_ROWS:
        return onednn_linear(x, self.weight, self.bias)
    return nn.functional.linear(x, self.weight, self.bias)


def onednn_usable(model: PreTrainedModel) -> bool:
    """Whether oneDNN's float32 linear runs here and agrees with `F.linear` (it is a private torch op)."""
    if model.device.type != "cpu" or model.dtype != torch.float32 or not torch.backends.mkldnn.is_available():
        return False
    x, weight, bias = torch.randn(3, 8), torch.randn(5, 8), torch.randn(5)
    try:
        return torch.allclose(
            onednn_linear(x, weight, bias), nn.functional.linear(x, weight, bias), atol=1e-4
        )
    except RuntimeError:
        return False


def use_onednn_for_few_rows(model: PreTrainedModel) -> bool:
    """Routes the model's float32 CPU `nn.Linear` calls of few rows to oneDNN; False (no change) where it can't:
    on a GPU, in another dtype, or on a torch build without oneDNN."""
    if not onednn_usable(model):
        return False
    for module in model.modules():
        if type(module) is nn.Linear:
            module.forward = types.MethodType(few_rows_forward, module)
    return True


def prefill_per_prompt(
    model: PreTrainedModel, input_ids: torch.Tensor, attention_mask: torch.Tensor
) -> DynamicCache | None:
    """The KV cache of every left-padded prompt in the batch but its last token, computed without padding;
    None when a prompt has a single token, so there is nothing to prefill.

    `greedy_decode` (or `generate(cache=...)`, given the same `input_ids` and `attention_mask`) then runs only
    the last column before decoding. The positions the padding holds stay zero and masked out.
    """
    lengths = attention_mask.sum(dim=1).tolist()
    if min(lengths) < 2:
        return None
    width = input_ids.shape[1]
    prompts = [input_ids[row, width - length :] for row, length in enumerate(lengths)]
    # Each prompt keeps at least its last token for generate() to run.
    shared = min(shared_prefix_length(prompts), min(lengths) - 1)
    prefix = run_prompt(model, prompts[0][:shared], None) if shared else None
    keys: list[list[torch.Tensor]] = [[] for _ in range(model.config.num_hidden_layers)]
    values: list[list[torch.Tensor]] = [[] for _ in range(model.config.num_hidden_layers)]
    for prompt in prompts:
        cache = run_prompt(model, prompt[shared:-1], prefix) if len(prompt) - 1 > shared else prefix
        for layer, (layer_keys, layer_values) in enumerate(cache_layers(cache)):
            keys[layer].append(left_pad(layer_keys, width - 1))
            values[layer].append(left_pad(layer_values, width - 1))
    return DynamicCache(
        [(torch.cat(k), torch.cat(v)) for k, v in zip(keys, values, strict=True)], config=model.config
    )


def shared_prefix_length(prompts: list[torch.Tensor]) -> int:
    """How many leading tokens all `prompts` have in common."""
    shortest = min(len(prompt) for prompt in prompts)
    same = torch.stack([prompt[:shortest] for prompt in prompts]).eq(prompts[0][:shortest]).all(dim=0)
    return shortest if bool(same.all()) else int(same.int().argmin())


def run_prompt(model: PreTrainedModel, token_ids: torch.Tensor, prefix: DynamicCache | None) -> DynamicCache:
    """The cache after running `token_ids` (one prompt, no padding) on top of a copy of `prefix`."""
    cache = DynamicCache(cache_layers(prefix), config=model.config) if prefix else None
    # Only the cache is wanted: one position of logits instead of the whole 151,936-column output layer.
    return model(input_ids=token_ids[None], cache=cache, use_cache=True, logits_to_keep=1).cache


def cache_layers(cache: DynamicCache) -> list[tuple[torch.Tensor, torch.Tensor]]:
    # DynamicCache.update concatenates into new tensors, so sharing the prefix's tensors is safe.
    return [(layer.keys, layer.values) for layer in cache.layers]


def left_pad(states: torch.Tensor, width: int) -> torch.Tensor:
    """(1, heads, length, dim) states with zeros in front up to `width` positions."""
    return nn.functional.pad(states, (0, 0, width - states.shape[2], 0))


def greedy_decode(
    model: PreTrainedModel,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    max_new_tokens: int,
    processors: LogitsProcessorList,
    stopping: StoppingCriteriaList,
    stop_ids: list[int],
    pad_id: int,
) -> torch.Tensor:
    """Greedy continuations of a left-padded batch as `generate()` returns them past the prompt: (batch, steps),
    each row its tokens up to and including the one that stopped it, then `pad_id`.

    Unlike generate(), a sequence leaves the batch when it stops: at a dozen rows a decode step costs about
    in proportion to the rows (oneDNN), and one summary running to the token cap no longer drags the others.
    """
    cache = prefill_per_prompt(model, input_ids, attention_mask)
    if cache is None:  # a one-token prompt: nothing to prefill, so run it whole
        cache, step_ids = DynamicCache(config=model.config), input_ids
    else:
        step_ids = input_ids[:, -1:]
    mask = attention_mask
    # generate()'s positions: each prompt counts from its first real token.
    positions = (mask.cumsum(dim=1) - 1).masked_fill(mask == 0, 1)[:, -step_ids.shape[1] :]
    sequences = input_ids  # prompt and output of the rows still running, for processors and stopping
    rows = torch.arange(len(input_ids), device=input_ids.device)  # their indices in the batch
    new_tokens = torch.full((len(input_ids), max_new_tokens), pad_id, device=input_ids.device)
    stops = torch.tensor(stop_ids, device=input_ids.device)
    for step in range(max_new_tokens):
        logits = (
            model(
                input_ids=step_ids,
                attention_mask=mask,
                position_ids=positions,
                cache=cache,
                use_cache=True,
                logits_to_keep=1,
            )
            .logits[:, -1]
            .float()
        )
        tokens = processors(sequences, logits).argmax(dim=-1)
        new_tokens[rows, step] = tokens
        sequences = torch.cat([sequences, tokens[:, None]], dim=1)
        running = ~(torch.isin(tokens, stops) | stopping(sequences, logits))
        if not running.any():
            return new_tokens[:, : step + 1]
        if not running.all():
            keep = running.nonzero().flatten()
            cache.batch_select_indices(keep)
            rows, sequences, mask, positions, tokens = (
                t[keep] for t in (rows, sequences, mask, positions, tokens)
            )
        step_ids = tokens[:, None]
        mask = torch.cat([mask, mask.new_ones(len(mask), 1)], dim=1)
        positions = positions[:, -1:] + 1
    return new_tokens
