"""The `ray` executor: the same stages over Ray Data, for when one machine is not enough.

The driver sends each shard not yet done through `map_batches` to a pool of actors, one per worker,
each holding the loaded models (`ShardWorker`), and writes the shard files as results come back. On a
cluster (`executor.address=ray://head:10001` or `auto`), only the driver writes files, so workers need
no shared file system; they need the newsstance package and its model packages installed (or a
`runtime_env`).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import datasets
import numpy as np
from omegaconf import DictConfig, OmegaConf

from pipeline.schema import ARTICLE_FEATURES
from pipeline.shards import Shard, ShardResult, ShardWriter, run_shard
from pipeline.stages import Stage, build_stages


class ShardWorker:
    """A Ray Data actor: builds the stages once, then runs whole shards through them."""

    def __init__(self, config: dict[str, Any]):
        self.stages = build_stages(OmegaConf.create(config))

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {"shard": [], "predictions": [], "failures": [], "timings": []}
        for index, articles in zip(batch["shard"], batch["articles"], strict=True):
            dataset = datasets.Dataset.from_list(json.loads(articles), features=ARTICLE_FEATURES)
            result = run_shard(int(index), dataset, self.stages)
            out["shard"].append(result.index)
            out["predictions"].append(json.dumps(result.predictions, ensure_ascii=False))
            out["failures"].append(json.dumps(result.failures, ensure_ascii=False))
            out["timings"].append(json.dumps(result.timings))
        return out


class RayExecutor:
    def __init__(
        self,
        address: str | None = None,
        num_workers: int = 2,
        num_cpus_per_worker: float = 1,
        num_gpus_per_worker: float = 0,
        num_cpus: int | None = None,
    ) -> None:
        self.address, self.num_workers, self.num_cpus = address, num_workers, num_cpus
        self.num_cpus_per_worker, self.num_gpus_per_worker = num_cpus_per_worker, num_gpus_per_worker
        self.config: dict[str, Any] = {}

    def start(self, cfg: DictConfig) -> list[Stage]:
        self.config = OmegaConf.to_container(cfg, resolve=True)
        return []  # the workers load the models, not this process

    def run(self, pending: list[Shard], writer: ShardWriter) -> None:
        if not pending:
            return
        # Imported here so a local run needs no Ray.
        import ray

        if self.address:
            ray.init(address=self.address, ignore_reinit_error=True)
        else:
            ray.init(num_cpus=self.num_cpus, include_dashboard=False, ignore_reinit_error=True)
        items = [
            {"shard": shard.index, "articles": json.dumps(shard.articles.to_list())} for shard in pending
        ]
        results = ray.data.from_items(items).map_batches(
            ShardWorker,
            fn_constructor_kwargs={"config": self.config},
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=self.num_workers),
            num_cpus=self.num_cpus_per_worker,
            num_gpus=self.num_gpus_per_worker,
        )
        for row in results.iter_rows():
            writer.write(
                ShardResult(
                    int(row["shard"]),
                    json.loads(row["predictions"]),
                    json.loads(row["failures"]),
                    Counter(json.loads(row["timings"])),
                )
            )
