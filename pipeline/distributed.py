"""The `ray` executor: the same stages over Ray Data, for when one machine is not enough.

Work is cut into the same shards as a local run (`shard_size`), so resuming, failure records and the
output files are the same too: the driver sends each shard not yet done through `map_batches` to a
pool of actors, one per worker, each holding the loaded models (`ShardWorker`), and writes the shard
files as results come back. On a cluster (`executor.address=ray://head:10001` or `auto`), only the
driver writes files, so workers need no shared file system; they need the newsstance package and its
model packages installed (or a `runtime_env`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import datasets
import numpy as np
from omegaconf import DictConfig, OmegaConf

from pipeline.ingest import ARTICLE_FEATURES
from pipeline.run import (
    ShardFiles,
    apply_stages_isolating_failures,
    build_stage,
    prediction_record,
    selected_stages,
    shard_done,
    write_shard,
)


class ShardWorker:
    """A Ray Data actor: builds the stages once, then runs whole shards through them."""

    def __init__(self, config: dict[str, Any]):
        cfg = OmegaConf.create(config)
        self.stages = [build_stage(name, cfg) for name in selected_stages(cfg.stages)]

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {"shard": [], "predictions": [], "failures": [], "timings": []}
        for shard, articles in zip(batch["shard"], batch["articles"], strict=True):
            dataset = datasets.Dataset.from_list(json.loads(articles), features=ARTICLE_FEATURES)
            timings: Counter[str] = Counter()
            done, failures = apply_stages_isolating_failures(dataset, self.stages, timings)
            out["shard"].append(int(shard))
            out["predictions"].append(
                json.dumps([prediction_record(row) for row in done], ensure_ascii=False)
            )
            out["failures"].append(json.dumps(failures, ensure_ascii=False))
            out["timings"].append(json.dumps(timings))
        return out


def run_shards_on_ray(
    dataset: datasets.Dataset,
    cfg: DictConfig,
    shards_dir: Path,
    timings: Counter[str],
    counts: Counter[str],
) -> Iterator[ShardFiles]:
    """`run_shards` on Ray: yields each shard's files in input order once every shard is done."""
    import ray

    shards_dir.mkdir(parents=True, exist_ok=True)
    size = cfg.shard_size
    shard_count = (len(dataset) + size - 1) // size
    shards = [dataset.select(range(i * size, min((i + 1) * size, len(dataset)))) for i in range(shard_count)]
    files = [ShardFiles.at(shards_dir, index) for index in range(shard_count)]
    pending = [index for index in range(shard_count) if not shard_done(files[index], shards[index]["id"])]
    counts["resumed_shards"] += shard_count - len(pending)
    counts["failed_articles"] += sum(
        len(files[i].failed_ids()) for i in range(shard_count) if i not in pending
    )

    if pending:
        executor = cfg.executor
        if executor.address:
            ray.init(address=executor.address, ignore_reinit_error=True)
        else:
            ray.init(num_cpus=executor.num_cpus, include_dashboard=False, ignore_reinit_error=True)
        items = [{"shard": index, "articles": json.dumps(shards[index].to_list())} for index in pending]
        results = ray.data.from_items(items).map_batches(
            ShardWorker,
            fn_constructor_kwargs={"config": OmegaConf.to_container(cfg, resolve=True)},
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=executor.num_workers),
            num_cpus=executor.num_cpus_per_worker,
            num_gpus=executor.num_gpus_per_worker,
        )
        for row in results.iter_rows():
            failures = json.loads(row["failures"])
            counts["failed_articles"] += len(failures)
            for stage, seconds in json.loads(row["timings"]).items():
                timings[stage] += seconds
            if counts["failed_articles"] > cfg.max_failures:
                raise RuntimeError(
                    f"{counts['failed_articles']} articles failed, more than max_failures={cfg.max_failures}"
                )
            write_shard(files[int(row["shard"])], json.loads(row["predictions"]), failures)
    yield from files
