"""Tiny random models with a real byte-level BPE tokenizer, saved to disk and loaded by path like real weights."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    BartConfig,
    BartForConditionalGeneration,
    PreTrainedTokenizerFast,
    Qwen2Config,
    Qwen2ForCausalLM,
)

from pipeline.summarize.backend import GenerationSettings

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
SPECIAL_TOKENS = ["<pad>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
PARAGRAPH = (
    "The finance ministers of the seven largest economies met in Washington on Friday. "
    "They agreed to use all available tools to support banks and to unfreeze credit markets. "
    "Officials said the plan would be reviewed at a second meeting in November."
)


def save_tokenizer(out_dir: Path, eos_token: str, chat_template: str | None = None) -> int:
    """A byte-level BPE like Qwen's and BART's, trained on a paragraph; returns its vocabulary size."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    bpe.train_from_iterator(
        [PARAGRAPH],
        trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIAL_TOKENS, initial_alphabet=alphabet),
    )
    bos, eos = bpe.token_to_id("<s>"), bpe.token_to_id("</s>")
    # BART-style framing when asked for special tokens; the chat backend never asks.
    bpe.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", bos), ("</s>", eos)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token="<s>",
        eos_token=eos_token,
        pad_token="<pad>",
        chat_template=chat_template,
    )
    tokenizer.save_pretrained(out_dir)
    return bpe.get_vocab_size()


@pytest.fixture(scope="session")
def tiny_qwen_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out_dir = tmp_path_factory.mktemp("tiny_qwen")
    vocab_size = save_tokenizer(out_dir, "<|im_end|>", CHAT_TEMPLATE)
    config = Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=1,
        eos_token_id=4,
        pad_token_id=0,
    )
    torch.manual_seed(0)
    Qwen2ForCausalLM(config).save_pretrained(out_dir)
    return out_dir


@pytest.fixture(scope="session")
def tiny_bart_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out_dir = tmp_path_factory.mktemp("tiny_bart")
    vocab_size = save_tokenizer(out_dir, "</s>")
    config = BartConfig(
        vocab_size=vocab_size,
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=256,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=2,
        forced_bos_token_id=None,
        forced_eos_token_id=None,
    )
    torch.manual_seed(0)
    BartForConditionalGeneration(config).save_pretrained(out_dir)
    return out_dir


@pytest.fixture
def generation() -> GenerationSettings:
    return GenerationSettings(max_new_tokens=12, min_new_tokens=4)


@pytest.fixture
def long_article() -> str:
    """Twelve paragraphs of about 50 tokens each: several chunks for a 128-token input budget."""
    return "\n\n".join(PARAGRAPH.replace("Friday", f"day {i}") for i in range(12))


@pytest.fixture
def compose_summarizer(tmp_path: Path) -> Callable[..., DictConfig]:
    """Composes conf/summarizer/NAME.yaml under a minimal root that defines what it interpolates."""
    root = tmp_path / "conf"
    root.mkdir()
    (root / "config.yaml").write_text(
        "defaults:\n  - summarizer: ???\n  - _self_\n"
        f"device: cpu\nsummarize_batch_size: 4\npaths:\n  cache_dir: {tmp_path / 'cache'}\n"
        f"hydra:\n  searchpath:\n    - file://{CONF_DIR}\n"
    )

    def compose_one(name: str, *overrides: str) -> DictConfig:
        with initialize_config_dir(version_base=None, config_dir=str(root)):
            return compose("config", overrides=[f"summarizer={name}", *overrides]).summarizer

    return compose_one
