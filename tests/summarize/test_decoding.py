from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

from pipeline.models import load_pretrained
from pipeline.summarize.decoding import (
    ONEDNN_MAX_ROWS,
    greedy_decode,
    prefill_per_prompt,
    shared_prefix_length,
    use_onednn_for_few_rows,
)
from tests.summarize.test_chat import TEXTS, make_chat


@pytest.fixture
def tiny_qwen(tiny_qwen_dir):
    return load_pretrained(AutoModelForCausalLM, str(tiny_qwen_dir), torch.device("cpu"), padding_side="left")


def test_shared_prefix_length() -> None:
    prompts = [torch.tensor([5, 6, 7, 8]), torch.tensor([5, 6, 9]), torch.tensor([5, 6, 7])]
    assert shared_prefix_length(prompts) == 2
    assert shared_prefix_length([torch.tensor([5, 6]), torch.tensor([5, 6, 7])]) == 2
    assert shared_prefix_length([torch.tensor([1, 2]), torch.tensor([3, 2])]) == 0


def test_per_prompt_prefill_matches_the_padded_batch(tiny_qwen) -> None:
    model, tokenizer = tiny_qwen
    prompts = [f"Summarize the following news article.\n\n{text}" for text in TEXTS]
    inputs = tokenizer(prompts, return_tensors="pt", padding=True)
    ids, mask = inputs["input_ids"], inputs["attention_mask"]
    with torch.inference_mode():
        cache = prefill_per_prompt(model, ids, mask)
        # generate()'s own prefill: positions count from each prompt's first real token.
        positions = (mask[:, :-1].cumsum(dim=1) - 1).clamp(min=0)
        padded = model(
            input_ids=ids[:, :-1], attention_mask=mask[:, :-1], position_ids=positions, use_cache=True
        ).cache
    lengths = mask.sum(dim=1) - 1  # the last token is left to generate()
    for layer, padded_layer in zip(cache.layers, padded.layers, strict=True):
        for row, length in enumerate(lengths.tolist()):
            real = slice(ids.shape[1] - 1 - length, None)
            torch.testing.assert_close(layer.keys[row, :, real], padded_layer.keys[row, :, real])
            torch.testing.assert_close(layer.values[row, :, real], padded_layer.values[row, :, real])
            assert not layer.keys[row, :, : ids.shape[1] - 1 - length].any()  # padding stays zero

    settings = {"max_new_tokens": 8, "do_sample": False, "pad_token_id": tokenizer.pad_token_id}
    with torch.inference_mode():
        reference = model.generate(input_ids=ids, attention_mask=mask, **settings)
        from_cache = model.generate(input_ids=ids, attention_mask=mask, cache=cache, **settings)
    assert torch.equal(from_cache, reference)


class StopAfterRowPlusOne(StoppingCriteria):
    """Stops row i of the batch after i + 1 new tokens, so rows leave the batch one by one."""

    def __init__(self, prompts: torch.Tensor) -> None:
        # Once rows leave, a row's index no longer says which it is; its prompt does.
        self.row_of = {tuple(prompt.tolist()): row for row, prompt in enumerate(prompts)}
        self.prompt_tokens = prompts.shape[1]

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs) -> torch.BoolTensor:
        generated = input_ids.shape[1] - self.prompt_tokens
        rows = [self.row_of[tuple(ids[: self.prompt_tokens].tolist())] for ids in input_ids]
        return torch.tensor([generated >= row + 1 for row in rows])


@pytest.mark.parametrize("prompts", [[f"Summarize this.\n\n{text}" for text in TEXTS[:3]], None])
def test_greedy_decode_matches_generate_as_rows_finish(tiny_qwen, prompts) -> None:
    model, tokenizer = tiny_qwen
    if prompts is None:  # one-token prompts: nothing to prefill
        ids, mask = torch.tensor([[0, 7], [8, 9], [0, 11]]), torch.tensor([[0, 1], [1, 1], [0, 1]])
        assert prefill_per_prompt(model, ids, mask) is None
    else:
        inputs = tokenizer(prompts, return_tensors="pt", padding=True)
        ids, mask = inputs["input_ids"], inputs["attention_mask"]
    settings = {"max_new_tokens": 6, "do_sample": False, "pad_token_id": tokenizer.pad_token_id}
    with torch.inference_mode():
        stopping = StoppingCriteriaList([StopAfterRowPlusOne(ids)])
        reference = model.generate(input_ids=ids, attention_mask=mask, stopping_criteria=stopping, **settings)
        ours = greedy_decode(
            model, ids, mask, 6, LogitsProcessorList(), stopping, [4], tokenizer.pad_token_id
        )
    assert torch.equal(ours, reference[:, ids.shape[1] :])
    assert ours.shape[1] == 3 and (ours[0, 1:] == tokenizer.pad_token_id).all()


def test_onednn_routing_keeps_the_outputs(tiny_qwen) -> None:
    model, tokenizer = tiny_qwen
    few = tokenizer(TEXTS[:2], return_tensors="pt", padding=True)
    many = torch.randint(5, model.config.vocab_size, (2, ONEDNN_MAX_ROWS))  # 128 rows: torch's own kernel
    with torch.inference_mode():
        before = [model(**few).logits, model(input_ids=many).logits]
        assert use_onednn_for_few_rows(model)
        after = [model(**few).logits, model(input_ids=many).logits]
    assert all("forward" in vars(m) for m in model.modules() if type(m) is torch.nn.Linear)
    for old, new in zip(before, after, strict=True):
        torch.testing.assert_close(new, old, rtol=1e-4, atol=1e-4)


def test_onednn_routing_leaves_other_dtypes_alone(tiny_qwen) -> None:
    model, _ = tiny_qwen
    model.to(torch.bfloat16)
    assert not use_onednn_for_few_rows(model)
    assert all("forward" not in vars(m) for m in model.modules())


def test_summaries_are_the_same_with_and_without_the_speed_ups(tiny_qwen_dir, generation, tmp_path) -> None:
    fast = make_chat(tiny_qwen_dir, generation, tmp_path, batching="ragged", linear_kernel="onednn")
    plain = make_chat(tiny_qwen_dir, generation, tmp_path)
    assert (fast.params()["batching"], fast.params()["linear_kernel"]) == ("ragged", "onednn")
    assert (plain.params()["batching"], plain.params()["linear_kernel"]) == ("padded", "default")
    assert fast.summarize_batch(TEXTS) == plain.summarize_batch(TEXTS)
    assert fast.token_counts == plain.token_counts


def test_unknown_speed_up_settings_are_refused(tiny_qwen_dir, generation, tmp_path) -> None:
    with pytest.raises(ValueError, match="batching='chunked'"):
        make_chat(tiny_qwen_dir, generation, tmp_path, batching="chunked")
    with pytest.raises(ValueError, match="linear_kernel='mkl'"):
        make_chat(tiny_qwen_dir, generation, tmp_path, linear_kernel="mkl")
