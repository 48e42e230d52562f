"""Executors: where a job's shards run, chosen by `_target_` in conf/executor/.

An executor has two steps: `start(cfg)` loads what runs in this process and returns those stages (a
local run) or none (the stages load where the shards run); `run(pending, writer)` runs the shards not
done yet and hands each result to the `ShardWriter`, which writes it. Both executors share the shard
loop's parts in `pipeline.shards`, so output files, resuming and failure records are the same.
"""

from __future__ import annotations

from typing import Protocol

from omegaconf import DictConfig

from pipeline.shards import Shard, ShardWriter
from pipeline.stages import Stage


class Executor(Protocol):
    def start(self, cfg: DictConfig) -> list[Stage]: ...

    def run(self, pending: list[Shard], writer: ShardWriter) -> None: ...
