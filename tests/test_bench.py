"""The bench machinery on two tiny articles: a tiny chat model, the real spaCy actors, zero-shot stance."""

import json
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest

from pipeline import bench
from tests.summarize import conftest as summarize_fixtures
from tests.test_run import OBAMA_ARTICLE

# The second article is the first one's second paragraph: another text, other actors.
ARTICLES = [
    OBAMA_ARTICLE,
    {**OBAMA_ARTICLE, "id": "china-trust", "text": OBAMA_ARTICLE["text"].split("\n\n")[1]},
]

# The tiny chat model that tests/summarize builds once per session, registered here too.
tiny_qwen_dir = summarize_fixtures.tiny_qwen_dir


@pytest.fixture
def two_articles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "select_articles", lambda count: ARTICLES[:count])
    # In this process: a fresh interpreter per job would triple the test's time for nothing it checks.
    monkeypatch.setattr(bench, "in_fresh_process", bench.timed)
    monkeypatch.setattr(bench, "GEMM_SIZES", {size_type: 64 for size_type in bench.GEMM_SIZES})


def test_bench_compares_pipeline_with_baseline_and_logs(
    two_articles: None, tiny_qwen_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    metrics = bench.main(
        [
            "--articles=2",
            "--scaling-sizes",  # none: a scaling run is the pipeline run again, at another size
            "--memory-sizes",  # none: test_memory_run_on_a_synthetic_corpus runs one
            f"--output-dir={tmp_path / 'bench'}",
            "summarizer=qwen_coder_0.5b",  # the summariser the baseline re-implements, on a tiny model
            f"summarizer.model={tiny_qwen_dir}",
            "summarizer.gguf=null",
            "summarizer.generation.max_new_tokens=12",
            "summarizer.generation.min_new_tokens=4",
            "stance=embedding",
            "device=cpu",
            f"tracking.tracking_uri={tracking_uri}",
            f"tracking.artifact_root={tmp_path / 'artifacts'}",
        ]
    )

    for run in ("baseline", "pipeline"):
        assert metrics[f"{run}_articles_per_s"] > 0 and metrics[f"{run}_peak_rss_mib"] > 0
        assert metrics[f"{run}_prompt_tokens"] > 0 and metrics[f"{run}_generated_tokens_per_s"] > 0
        assert metrics[f"{run}_summarize_s"] > 0 and metrics[f"{run}_stance_s"] > 0
    ratio = metrics["pipeline_articles_per_s"] / metrics["baseline_articles_per_s"]
    assert metrics["ratio_articles_per_s"] == pytest.approx(ratio)
    # Same weights, same greedy decoding: both tell the same actors apart and give them the same stance.
    assert metrics["actors_compared"] >= 2 and metrics["stance_agreement"] == 1.0
    assert 0.0 <= metrics["summary_rougeL_vs_baseline"] <= 1.0
    assert metrics["gemm_float32_gflops"] > 0 and metrics["summarize_fraction_of_hardware"] > 0

    printed = capsys.readouterr().out
    for heading in (
        "Pipeline vs naive baseline",
        "Quality",
        "Hardware",
        "article length",
        "Scaling",
        "Memory",
    ):
        assert heading in printed
    [run] = mlflow.MlflowClient(tracking_uri).search_runs(
        [mlflow.get_experiment_by_name("newsstance").experiment_id], "attributes.run_name = 'bench'"
    )
    assert run.data.metrics["ratio_articles_per_s"] == pytest.approx(metrics["ratio_articles_per_s"])
    assert json.loads(run.data.params["article_ids"]) == ["obama-cyber", "china-trust"]


def test_rouge_of_identical_and_disjoint_texts() -> None:
    assert bench.rouge_f1("The talks failed.", "the talks failed.") == (1.0, 1.0)
    assert bench.rouge_f1("a b", "c d") == (0.0, 0.0)
    rouge1, rouge_l = bench.rouge_f1("a b c d", "a c b d")
    assert rouge1 == 1.0 and rouge_l == pytest.approx(0.75)


def test_memory_run_on_a_synthetic_corpus(tmp_path: Path) -> None:
    tracking = [
        f"tracking.tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}",
        f"tracking.artifact_root={tmp_path}",
    ]
    [run] = bench.memory_runs([50], tmp_path / "bench", tracking)  # in a process of its own, as make bench

    corpus = [json.loads(line) for line in (tmp_path / "bench" / "memory-50" / "articles.jsonl").open()]
    assert len(corpus) == len({article["id"] for article in corpus}) == 50  # the sample repeated, fresh ids
    predictions = (tmp_path / "bench" / "memory-50" / "predictions.jsonl").read_text().splitlines()
    assert len(predictions) == run["metrics"]["articles_out_count"] == 50
    assert run["articles"] == 50 and run["peak_rss_mib"] > 0 and run["wall_s"] > 0
    assert "Memory by corpus size" in bench.memory_table([run]) and "| 50 |" in bench.memory_table([run])


def test_bench_help_lists_the_memory_sizes() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.bench", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert "--memory-sizes" in result.stdout and "--scaling-sizes" in result.stdout
