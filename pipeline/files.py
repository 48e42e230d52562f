"""Files that several jobs may meet: atomic writes, the one-writer lock of an output folder, and the lock
that lets one process build a shared cache entry while others wait.

A file is written to a uniquely named temporary file beside it (so two jobs, or two threads, never share
one), flushed to disk and renamed over the target: a reader sees the old file or the new one, never a
torn one, and a failed write removes its temporary file and leaves the target as it was. A full disk or a
read-only folder raises `OutputError`, which names the path; what was written before stays.

The locks are the operating system's (`flock`): they go with the process that holds them, so a job killed
any way, `kill -9` included, never leaves a stale lock behind.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

# Readable by everyone, like a file opened the ordinary way (mkstemp makes its files owner-only): the
# model cache and run folders are shared between users and processes.
FILE_MODE = 0o644
# In an output folder: held by the job writing it, and saying which job that is.
FOLDER_LOCK = ".newsstance.lock"
# What a full disk, a read-only folder or a missing permission raise.
STORAGE_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


class OutputError(OSError):
    """A file could not be written for a reason the user must fix (space, permissions); names the path."""


class FolderInUse(RuntimeError):
    """Another job holds the output folder's lock."""


@contextmanager
def atomic_write(path: Path, binary: bool = False) -> Iterator[IO[Any]]:
    """A handle whose content replaces `path` when the block ends without an error."""
    path = Path(path)
    try:
        fd, temporary_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise storage_error(error, path) from error
    temporary = Path(temporary_name)
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        temporary.chmod(FILE_MODE)
        os.replace(temporary, path)
    except OSError as error:
        raise storage_error(error, path) from error
    finally:
        temporary.unlink(missing_ok=True)


def storage_error(error: OSError, path: Path) -> OSError:
    """A clear OutputError for a full disk or an unwritable folder; any other error as it is."""
    if error.errno not in STORAGE_ERRORS:
        return error
    return OutputError(
        error.errno,
        f"cannot write {path}: {os.strerror(error.errno or 0)}. What was written before is kept; free space "
        "or fix the folder's permissions, then run the same command again to resume",
    )


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


@contextmanager
def scratch_folder(path: Path) -> Iterator[Path]:
    """`path` as an empty folder for the block, removed after it; what a killed job left there goes first."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Holds an exclusive lock on `path` (created if missing) for the block, waiting for another holder:
    one process builds a shared cache entry, the others then find it built."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def exclusive_folder(folder: Path) -> Iterator[Callable[[Mapping[str, Any]], None]]:
    """Holds `folder`'s lock for the block, or raises FolderInUse at once naming the job that holds it.

    The lock file says which job holds it (pid, host, start time and whatever the block adds with the
    function it is given, such as the MLflow run).
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FOLDER_LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        holder = lock_holder(path)
        raise FolderInUse(
            f"output folder {folder} is in use by another job (pid {holder.get('pid', '?')} on "
            f"{holder.get('host', '?')}, started {holder.get('started', '?')}, MLflow run "
            f"{holder.get('mlflow_run', 'not started yet')}). Wait for it to end, or give this job its own "
            "output folder (paths.output_dir=..., or OUT=... for make infer)"
        ) from None
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }

    def describe(more: Mapping[str, Any]) -> None:
        holder.update(more)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)

    try:
        describe({})
        yield describe
    finally:
        os.close(fd)  # closing releases the lock


def lock_holder(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, json.JSONDecodeError):
        return {}
