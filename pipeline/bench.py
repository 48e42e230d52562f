"""`python -m pipeline.bench`: the pipeline against a naive baseline on the same articles, plus scaling tables.

The baseline is what a user would first write with the same models: one article at a time, one
`model.generate` per article in float32, spaCy on one article at a time, one stance call per actor.
The scaling runs time the pipeline at several corpus sizes; the memory runs measure the peak RSS of a job
without models (`summarizer=lead3 ~faithfulness stages=[summarize]`) on a synthetic corpus of 1,000 and
100,000 articles (the sample articles repeated with fresh ids), which should stay flat: ingest, the shards,
the tables and the report all stream. Each measured job runs in a fresh process, so its peak RSS and its
model loading are its own. The
tables are printed, written to `bench.md` in the output folder and logged, with the metrics, to MLflow.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import resource
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import torch
from rouge_score.rouge_scorer import RougeScorer

from pipeline import SAMPLE_DIR
from pipeline.api import compose_config
from pipeline.models import pick_device
from pipeline.track import Tracker

ROUGE = RougeScorer(["rouge1", "rougeL"], use_stemmer=False)

ROOT = Path(__file__).resolve().parents[1]
ARTICLES_DIR = ROOT.parent / "shared" / "data" / "articles"
# Short enough that every article fits the default summariser's 2048-token input in one chunk, so the
# baseline (which truncates rather than chunks) does the same work as the pipeline.
MIN_CHARS, MAX_CHARS = 400, 7000
LENGTH_BUCKETS_CHARS = (1000, 2000, 4000, MAX_CHARS + 1)  # upper bounds
STAGES = ("summarize", "actors", "stance")
# The summariser the baseline re-implements naively (one article, one float32 generate call).
CHAT_SUMMARIZER = "pipeline.summarize.chat.ChatSummarizer"
QUALITY_KEYS = (
    "summary_rouge1_vs_baseline",
    "summary_rougeL_vs_baseline",
    "summary_identical_share",
    "stance_agreement",
    "actors_compared",
)
GEMM_SIZES = {torch.float32: 2048, torch.bfloat16: 512}  # bf16 without hardware support crawls on a CPU
# The memory runs: a job whose cost is the data path alone (no model), so its memory is the pipeline's own.
MEMORY_OVERRIDES = ("summarizer=lead3", "~faithfulness", "stages=[summarize]")


def select_articles(count: int, articles_dir: Path = ARTICLES_DIR) -> list[dict[str, str]]:
    """`count` articles of mixed length and source, the same ones on every run.

    Per source file, the articles of MIN_CHARS..MAX_CHARS characters ordered by the hash of their id;
    then taken from the sources in turn.
    """
    per_source = []
    for path in sorted(articles_dir.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            records = [json.loads(line) for line in handle]
        fitting = [r for r in records if MIN_CHARS <= len(r["text"]) <= MAX_CHARS]
        per_source.append(sorted(fitting, key=lambda r: hashlib.sha256(r["id"].encode()).hexdigest()))
    chosen = [record for batch in zip(*per_source, strict=False) for record in batch][:count]
    if len(chosen) < count:
        raise ValueError(f"only {len(chosen)} articles of {MIN_CHARS}-{MAX_CHARS} chars in {articles_dir}")
    return [{key: r[key] for key in ("id", "title", "date", "source", "text")} for r in chosen]


def write_jsonl(articles: list[dict[str, Any]], path: Path) -> Path:
    """`path`, written with one JSON record per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles), encoding="utf-8")
    return path


def write_synthetic_corpus(size: int, path: Path, sample: Path = SAMPLE_DIR / "articles.jsonl") -> Path:
    """`path`, written with `size` articles: the sample articles repeated, each copy with a fresh id."""
    articles = [json.loads(line) for line in sample.read_text(encoding="utf-8").splitlines() if line.strip()]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for index in range(size):
            article = articles[index % len(articles)]
            copy = {**article, "id": f"{article['id']}#{index // len(articles)}"}
            handle.write(json.dumps(copy, ensure_ascii=False) + "\n")
    return path


def job_overrides(out: Path, name: str, corpus: Path, *overrides: str) -> list[str]:
    """The overrides of a measured job named `name` on the articles in `corpus`, writing into `out / name`."""
    return [
        *overrides,
        "data=file",
        f"data.path={corpus}",
        f"paths.output_dir={out / name}",
        f"tracking.run_name=bench-{name}",
    ]


def memory_runs(sizes: Sequence[int], out: Path, overrides: Sequence[str]) -> list[dict[str, Any]]:
    """Per size: a model-free job's metrics, wall time and peak RSS on a synthetic corpus of that size."""
    runs = []
    for size in sizes:
        name = f"memory-{size}"
        corpus = write_synthetic_corpus(size, out / name / "articles.jsonl")
        run = in_fresh_process(scaling_job, job_overrides(out, name, corpus, *overrides, *MEMORY_OVERRIDES))
        runs.append({**run, "articles": size})
    return runs


def in_fresh_process(job: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """`job(*args)`'s result plus `wall_s` and `peak_rss_mib`, measured in a process of its own."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(timed, job, *args).result()


def timed(job: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    started = time.perf_counter()
    result = job(*args)
    # ru_maxrss is in KiB on Linux: the high-water mark of this process alone.
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {**result, "wall_s": time.perf_counter() - started, "peak_rss_mib": peak_mib}


def pipeline_job(overrides: Sequence[str]) -> dict[str, Any]:
    """The pipeline's metrics and predictions ({id: record}) for the config `overrides` compose."""
    from pipeline.run import run_pipeline

    summary = run_pipeline(compose_config(overrides))
    with (summary.output_dir / "predictions.jsonl").open(encoding="utf-8") as handle:
        predictions = {record["id"]: record for record in map(json.loads, handle)}
    return {"metrics": summary.metrics, "predictions": predictions, "run_id": summary.run_id}


def baseline_job(overrides: Sequence[str], articles: list[dict[str, str]]) -> dict[str, Any]:
    """The naive baseline's predictions ({id: record}), per-article timings and token counts."""
    from hydra.utils import instantiate

    cfg = compose_config(overrides)
    summarize, model_flops = naive_summarizer(cfg)
    extractor = instantiate(cfg.actors)
    classifier = instantiate(cfg.stance)
    predictions, per_article = {}, []
    for article in articles:
        started = time.perf_counter()
        summary, tokens = summarize(article["text"])
        summarized = time.perf_counter()
        found = extractor.extract(article["text"], article.get("title") or "")
        extracted = time.perf_counter()
        actors = []
        for actor in found:  # one model call per actor: the naive way
            [[judged]] = classifier.classify_articles([article["text"]], [[asdict(actor)]])
            actors.append({"name": actor.name, "stance": judged.stance})
        predictions[article["id"]] = {"id": article["id"], "summary": summary, "actors": actors}
        per_article.append(
            {
                "chars": len(article["text"]),
                **tokens,
                "summarize_s": summarized - started,
                "actors_s": extracted - summarized,
                "stance_s": time.perf_counter() - extracted,
            }
        )
    return {"predictions": predictions, "per_article": per_article, "model_flops": model_flops}


def naive_summarizer(cfg: Any) -> tuple[Callable[[str], tuple[str, dict[str, int]]], dict[str, float]]:
    """(article text -> (summary, token counts), the model's FLOPs per prompt and per generated token).

    The function is written the first way a user would: one article, one float32 `generate` call.
    """
    from hydra.utils import instantiate

    if cfg.summarizer._target_ != CHAT_SUMMARIZER:
        # No hand-written naive version of it (lead-N has no model; grounded calls the chat model per
        # sentence): the summariser itself, one article per call.
        summarizer = instantiate(cfg.summarizer)
        return lambda text: (summarizer.summarize_batch([text])[0].text, {}), {}

    from transformers import AutoModelForCausalLM

    from pipeline.models import load_pretrained, resolve_model_dir
    from pipeline.summarize.cleanup import clean_summary

    spec = cfg.summarizer
    model_dir = resolve_model_dir(spec.model, instantiate(spec.gguf) if spec.gguf else None, spec.cache_dir)
    device = pick_device(cfg.device)
    model, tokenizer = load_pretrained(AutoModelForCausalLM, model_dir, device, "float32")
    settings = {key: value for key, value in spec.generation.items() if key != "_target_"}

    def summarize(text: str) -> tuple[str, dict[str, int]]:
        messages = [{"role": "user", "content": f"{spec.prompt}\n\n{text}"}]
        input_ids = tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )["input_ids"][:, -spec.max_input_tokens :]
        output = model.generate(input_ids.to(device), **settings, pad_token_id=tokenizer.pad_token_id)
        new_tokens = output[0, input_ids.shape[1] :]
        text_out = tokenizer.decode(new_tokens, skip_special_tokens=True).strip()
        hit_cap = len(new_tokens) >= settings["max_new_tokens"]
        # The pipeline's clean-up, so that comparing the two measures how the model ran, not the post-processing.
        summary, _ = clean_summary(text_out, text, spec.max_sentences, hit_cap)
        return summary, {"prompt_tokens": input_ids.shape[1], "generated_tokens": len(new_tokens)}

    # A matrix-vector product costs 2 FLOPs per weight; the prompt needs the output layer for its last token only.
    # Attention over the context adds about 5% for a 1,000-token prompt on a 0.5B model: left out.
    embeddings = {id(model.get_input_embeddings().weight), id(model.get_output_embeddings().weight)}
    body = sum(p.numel() for p in model.parameters() if id(p) not in embeddings)
    head = model.get_output_embeddings().weight.numel()
    return summarize, {"per_prompt_token": 2.0 * body, "per_generated_token": 2.0 * (body + head)}


def scaling_job(overrides: Sequence[str]) -> dict[str, Any]:
    """`pipeline_job` without the predictions: only time and memory matter at scale."""
    result = pipeline_job(overrides)
    return {"metrics": result["metrics"]}


def matmul_gflops(dtype: torch.dtype, size: int, repeats: int = 5) -> float:
    """Measured GFLOP/s of a `size`-square matrix product in `dtype` on the default device."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    a, b = (torch.randn(size, size, dtype=dtype, device=device) for _ in range(2))
    torch.mm(a, b)  # warm-up: kernels chosen, memory allocated
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(repeats):
        torch.mm(a, b)
    if device == "cuda":
        torch.cuda.synchronize()
    return 2 * size**3 * repeats / (time.perf_counter() - started) / 1e9


def rouge_f1(candidate: str, reference: str) -> tuple[float, float]:
    """(ROUGE-1, ROUGE-L) F1 of `candidate` against `reference` (rouge-score, no stemming): how close the
    pipeline's summary stays to the baseline's."""
    scores = ROUGE.score(reference, candidate)
    return scores["rouge1"].fmeasure, scores["rougeL"].fmeasure


def agreement(pipeline: dict[str, dict], baseline: dict[str, dict]) -> dict[str, float]:
    """Mean ROUGE of the pipeline's summaries against the baseline's, and the share of actors with equal stance."""
    rouges = [
        rouge_f1(pipeline[i]["summary"], baseline[i]["summary"]) for i in baseline if "summary" in pipeline[i]
    ]
    stances = {
        (i, actor["name"]): actor.get("stance") for i in pipeline for actor in pipeline[i].get("actors", [])
    }
    pairs = [(stances.get((i, a["name"])), a["stance"]) for i in baseline for a in baseline[i]["actors"]]
    return {
        "summary_rouge1_vs_baseline": sum(r[0] for r in rouges) / max(len(rouges), 1),
        "summary_rougeL_vs_baseline": sum(r[1] for r in rouges) / max(len(rouges), 1),
        "summary_identical_share": sum(r[1] == 1.0 for r in rouges) / max(len(rouges), 1),
        "stance_agreement": sum(p == b for p, b in pairs) / max(len(pairs), 1),
        "actors_compared": float(len(pairs)),
    }


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += [
        "| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in row) + " |" for row in rows
    ]
    return "\n".join(lines)


def length_table(per_article: list[dict[str, Any]]) -> str:
    """The baseline's seconds per article by article length: it runs one article at a time, so each is its own."""
    rows, lower = [], 0
    for upper in LENGTH_BUCKETS_CHARS:
        bucket = [a for a in per_article if lower <= a["chars"] < upper]
        if bucket:
            mean = {key: sum(a[key] for a in bucket) / len(bucket) for key in bucket[0]}
            tokens = [round(mean.get("prompt_tokens", 0)), round(mean.get("generated_tokens", 0))]
            rows.append([f"{lower}-{upper - 1}", len(bucket), *tokens, *(mean[f"{s}_s"] for s in STAGES)])
        lower = upper
    header = ["chars", "articles", "prompt tokens", "generated tokens", *(f"{s} s/article" for s in STAGES)]
    return markdown_table(header, rows)


def comparison(
    baseline: dict[str, Any], pipeline: dict[str, Any], articles: int, gemm: dict[str, float]
) -> dict[str, float]:
    """The bench's metrics: throughput, tokens/s, stage seconds and peak RSS of both, their ratios, quality."""
    stage_s = {s: sum(a[f"{s}_s"] for a in baseline["per_article"]) for s in STAGES}
    tokens = {
        k: float(sum(a.get(k, 0) for a in baseline["per_article"]))
        for k in ("prompt_tokens", "generated_tokens")
    }
    runs = {
        "baseline": {
            "wall_s": baseline["wall_s"],
            "peak_rss_mib": baseline["peak_rss_mib"],
            **tokens,
            **{f"{s}_s": v for s, v in stage_s.items()},
        },
        "pipeline": {
            "wall_s": pipeline["wall_s"],
            "peak_rss_mib": pipeline["peak_rss_mib"],
            "prompt_tokens": pipeline["metrics"].get("summarize_prompt_tokens", 0.0),
            "generated_tokens": pipeline["metrics"].get("summarize_generated_tokens", 0.0),
            **{f"{s}_s": pipeline["metrics"].get(f"time_{s}_s", 0.0) for s in STAGES},
        },
    }
    metrics = {}
    for name, run in runs.items():
        run["articles_per_s"] = articles / run["wall_s"]
        for kind in ("prompt", "generated"):
            run[f"{kind}_tokens_per_s"] = (
                run[f"{kind}_tokens"] / run["summarize_s"] if run["summarize_s"] else 0.0
            )
        metrics.update({f"{name}_{key}": value for key, value in run.items()})
    metrics["ratio_articles_per_s"] = metrics["pipeline_articles_per_s"] / metrics["baseline_articles_per_s"]
    model_s = {name: sum(runs[name][f"{s}_s"] for s in STAGES) for name in runs}
    # Without process start and model loading: what the stages themselves gained.
    metrics["ratio_stage_throughput"] = (
        model_s["baseline"] / model_s["pipeline"] if model_s["pipeline"] else 0.0
    )
    metrics.update(agreement(pipeline["predictions"], baseline["predictions"]))
    metrics.update({f"gemm_{dtype}_gflops": value for dtype, value in gemm.items()})
    flops = baseline["model_flops"]
    if flops and runs["pipeline"]["summarize_s"]:
        needed = runs["pipeline"]["prompt_tokens"] * flops["per_prompt_token"]
        needed += runs["pipeline"]["generated_tokens"] * flops["per_generated_token"]
        metrics["summarize_floor_s"] = needed / (gemm["float32"] * 1e9)
        metrics["summarize_fraction_of_hardware"] = (
            metrics["summarize_floor_s"] / runs["pipeline"]["summarize_s"]
        )
    return metrics


def report(
    metrics: dict[str, float],
    baseline: dict[str, Any],
    scaling: list[dict[str, Any]],
    memory: list[dict[str, Any]],
) -> str:
    """The bench's markdown tables."""
    keys = [
        "articles_per_s",
        "wall_s",
        "prompt_tokens_per_s",
        "generated_tokens_per_s",
        *(f"{s}_s" for s in STAGES),
        "peak_rss_mib",
    ]
    rows = [
        [
            key,
            metrics[f"baseline_{key}"],
            metrics[f"pipeline_{key}"],
            metrics[f"pipeline_{key}"] / metrics[f"baseline_{key}"] if metrics[f"baseline_{key}"] else "-",
        ]
        for key in keys
    ]
    rows += [[key, "", "", metrics[key]] for key in ("ratio_articles_per_s", "ratio_stage_throughput")]
    quality = [[key, metrics[key]] for key in QUALITY_KEYS]
    hardware = [[key, value] for key, value in metrics.items() if key.startswith(("gemm", "summarize_f"))]
    scale_rows = [
        [
            run["articles"],
            run["metrics"]["time_total_s"],
            run["metrics"]["articles_per_s"],
            *(run["metrics"].get(f"time_{s}_s", 0.0) for s in STAGES),
            run["peak_rss_mib"],
        ]
        for run in scaling
    ]
    return (
        "\n\n".join(
            [
                "### Pipeline vs naive baseline\n"
                + markdown_table(["metric", "baseline", "pipeline", "pipeline/baseline"], rows),
                "### Quality: pipeline against the baseline's outputs\n"
                + markdown_table(["metric", "value"], quality),
                "### Hardware\n" + markdown_table(["metric", "value"], hardware),
                "### Baseline time by article length\n" + length_table(baseline["per_article"]),
                "### Scaling\n"
                + markdown_table(
                    ["articles", "total s", "articles/s", *(f"{s} s" for s in STAGES), "peak RSS MiB"],
                    scale_rows,
                ),
                memory_table(memory),
            ]
        )
        + "\n"
    )


def memory_table(memory: list[dict[str, Any]]) -> str:
    rows = [
        [
            run["articles"],
            run["metrics"]["time_total_s"],
            run["metrics"]["articles_per_s"],
            run["peak_rss_mib"],
        ]
        for run in memory
    ]
    return f"### Memory by corpus size ({' '.join(MEMORY_OVERRIDES)})\n" + markdown_table(
        ["articles", "total s", "articles/s", "peak RSS MiB"], rows
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pipeline.bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--articles",
        type=int,
        default=40,
        help="articles for the pipeline-vs-baseline run (40: 907 s baseline + 215 s pipeline, 2 cores)",
    )
    parser.add_argument("--scaling-sizes", type=int, nargs="*", default=[10, 100, 1000])
    parser.add_argument(
        "--scaling-overrides",
        nargs="*",
        default=["summarizer=lead3"],
        help="Hydra overrides for the scaling runs (default: the cheap stages only)",
    )
    parser.add_argument(
        "--memory-sizes",
        type=int,
        nargs="*",
        default=[1000, 100_000],
        help=f"articles of the memory runs ({' '.join(MEMORY_OVERRIDES)}, the sample articles repeated)",
    )
    parser.add_argument("--output-dir", type=Path, default=None, help="default: outputs/bench-<time>")
    parser.add_argument(
        "overrides", nargs="*", help="Hydra overrides for every run, e.g. tracking.tracking_uri=..."
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    """Runs the bench, prints and logs its tables and metrics, and returns the metrics."""
    args = parse_args(argv)
    out = args.output_dir or ROOT / "outputs" / f"bench-{datetime.now():%Y-%m-%d_%H-%M-%S}"
    gemm = {
        str(dtype).removeprefix("torch."): matmul_gflops(dtype, size) for dtype, size in GEMM_SIZES.items()
    }

    def articles_file(name: str, articles: list[dict[str, str]]) -> Path:
        return write_jsonl(articles, out / name / "articles.jsonl")

    articles = select_articles(args.articles)
    overrides = job_overrides(out, "pipeline", articles_file("pipeline", articles), *args.overrides)
    baseline = in_fresh_process(baseline_job, overrides, articles)
    pipeline = in_fresh_process(pipeline_job, overrides)
    scaling = []
    for size in args.scaling_sizes:
        name = f"scale-{size}"
        corpus = articles_file(name, select_articles(size))
        run = in_fresh_process(
            scaling_job, job_overrides(out, name, corpus, *args.overrides, *args.scaling_overrides)
        )
        scaling.append({**run, "articles": size})
    memory = memory_runs(args.memory_sizes, out, args.overrides)

    baseline_path = write_jsonl(
        list(baseline["predictions"].values()), out / "baseline" / "predictions.jsonl"
    )
    metrics = comparison(baseline, pipeline, len(articles), gemm)
    for kind, runs in (("scale", scaling), ("memory", memory)):
        metrics.update(
            {
                f"{kind}_{run['articles']}_{key}": run[key]
                for run in runs
                for key in ("wall_s", "peak_rss_mib")
            }
        )
    tables = report(metrics, baseline, scaling, memory)
    (out / "bench.md").write_text(tables, encoding="utf-8")
    print(tables)
    cfg = compose_config(args.overrides)
    with Tracker(**{**cfg.tracking, "run_name": "bench"}) as tracker:
        tracker.log_params(
            {
                "articles": len(articles),
                "article_ids": [a["id"] for a in articles],
                "overrides": list(args.overrides),
                "scaling_overrides": list(args.scaling_overrides),
                "memory_sizes": list(args.memory_sizes),
                "pipeline_run_id": pipeline["run_id"],
                "device": str(pick_device(cfg.device)),
            }
        )
        tracker.log_metrics(metrics)
        tracker.log_artifact(out / "bench.md")
        tracker.log_artifact(baseline_path)
    return metrics


if __name__ == "__main__":
    main()
