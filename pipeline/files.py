"""Atomic file writes: the one way the pipeline writes a file that a killed or concurrent job may meet.

A file is written to a uniquely named temporary file beside it (so two jobs, or two threads, never share
one), flushed to disk and renamed over the target: a reader sees the old file or the new one, never a
torn one, and a failed write removes its temporary file and leaves the target as it was.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

# Readable by everyone, like a file opened the ordinary way (mkstemp makes its files owner-only): the
# model cache and run folders are shared between users and processes.
FILE_MODE = 0o644


@contextmanager
def atomic_write(path: Path, binary: bool = False) -> Iterator[IO[Any]]:
    """A handle whose content replaces `path` when the block ends without an error."""
    path = Path(path)
    fd, temporary_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temporary = Path(temporary_name)
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        temporary.chmod(FILE_MODE)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    with atomic_write(path) as handle:
        handle.write(text)


def write_jsonl_atomic(path: Path, records: Iterable[Mapping[str, Any]]) -> None:
    """One JSON object per line; `records` may be a generator, streamed to disk."""
    with atomic_write(path) as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The file's JSON lines one at a time (blank lines skipped); nothing when the file does not exist."""
    if not Path(path).is_file():
        return
    with Path(path).open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)
