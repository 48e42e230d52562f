"""The local executor: shards one after another in this process, with the models loaded once."""

from __future__ import annotations

from omegaconf import DictConfig

from pipeline.shards import Shard, ShardWriter, run_shard
from pipeline.stages import Stage, build_stages


class LocalExecutor:
    def __init__(self) -> None:
        self.stages: list[Stage] = []

    def start(self, cfg: DictConfig) -> list[Stage]:
        self.stages = build_stages(cfg)
        return self.stages

    def run(self, pending: list[Shard], writer: ShardWriter) -> None:
        for shard in pending:
            writer.write(run_shard(shard.index, shard.articles, self.stages))
