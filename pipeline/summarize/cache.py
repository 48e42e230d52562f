"""Summaries cached by content: a re-run over articles already summarised with the same settings does no
model work, whatever folder, file or order the articles come in.

An entry's key is the SHA-256 of the article text under a namespace that hashes the summariser's and the
checker's params together with the package's source code, so changing a model, a generation setting, the
prompt or the code starts a fresh namespace instead of serving stale summaries. Entries are small JSON files written atomically; deleting the folder clears the cache.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline.files import write_text_atomic

PACKAGE_DIR = Path(__file__).resolve().parents[1]


def source_digest() -> str:
    """SHA-256 over the pipeline package's Python source: any code change, committed or not, changes it."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


class SummaryCache:
    def __init__(self, directory: Path | str, settings: Mapping[str, Any]) -> None:
        identity = json.dumps(settings, sort_keys=True, default=str)
        self.directory = Path(directory) / hashlib.sha256(identity.encode()).hexdigest()[:16]
        self.counts: Counter[str] = Counter()  # cache_hits, cache_misses: logged with the stage's metrics

    def path(self, text: str) -> Path:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return self.directory / digest[:2] / f"{digest}.json"

    def get(self, text: str) -> dict[str, Any] | None:
        """The summary columns stored for `text`, or None (counted as a hit or a miss)."""
        path = self.path(text)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            # An unreadable entry (a disk that filled mid-write elsewhere) is recomputed, not trusted.
            self.counts["cache_misses"] += 1
            return None
        self.counts["cache_hits"] += 1
        return record

    def put(self, text: str, record: Mapping[str, Any]) -> None:
        path = self.path(text)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(record, ensure_ascii=False))
