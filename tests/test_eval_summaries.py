import json
from pathlib import Path

import mlflow
import pytest

from pipeline.eval_summaries import evaluate_summaries, rouge_text
from tests.conftest import ComposeConfig

GUM_TEXT = (
    "Ministers meet in Geneva\nMonday, May 4, 2015\n"
    "Foreign ministers met in Geneva on Monday to discuss the ceasefire.\n"
    "They agreed to meet again next month.\nThe talks lasted six hours."
)
CNN_ARTICLE = (
    "Gary Locke will be confirmed as Kilmarnock's permanent manager on Friday. The club announced a three-year "
    "deal. The 39-year-old paid tribute to his players. Fans welcomed the news."
)
XSUM_ARTICLE = "Craig Venter has been called a maverick for decades. He mapped the human genome."


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))


@pytest.fixture
def summarization_dir(tmp_path: Path) -> Path:
    """A tiny GUM file (a news and an interview document) and a tiny FRANK file (2 CNN/DM, 2 XSum articles)."""
    folder = tmp_path / "summarization"
    folder.mkdir()
    write_jsonl(
        folder / "gum.jsonl",
        [
            {
                "id": "GUM_news_geneva",
                "genre": "news",
                "text": GUM_TEXT,
                "human_summaries": ["Foreign ministers met in Geneva about the ceasefire.", "Ministers met."],
            },
            {"id": "GUM_interview_x", "genre": "interview", "text": "Q. Hello.", "human_summaries": ["Hi."]},
        ],
    )
    tokenised = "Gary Locke will be confirmed as Kilmarnock 's permanent manager on Friday ."
    cnn = {
        "dataset": "cnndm",
        "article": CNN_ARTICLE,
        "reference": tokenised + " The 39-year-old paid tribute to his players .",
        # The same summary tokenised and not: detokenising every text alike must score them equally.
        "systems": {
            "bart": tokenised,
            "pgn": "Gary Locke will be confirmed as Kilmarnock's permanent manager on Friday.",
        },
        "factuality": {"bart": 1.0, "pgn": 1.0},
    }
    xsum = {
        "dataset": "xsum",
        "article": XSUM_ARTICLE,
        "reference": "``maverick\\'\\' is a word that follows craig venter .",
        "systems": {
            "BERTS2S": "craig venter is a maverick .",
            "PtGen": "andrew marr won the 1998 nobel prize .",
        },
        "factuality": {"BERTS2S": 1.0, "PtGen": 0.0},
    }
    write_jsonl(
        folder / "frank.jsonl",
        [{**cnn, "id": "c1"}, {**xsum, "id": "x1"}, {**cnn, "id": "c2"}, {**xsum, "id": "x2"}],
    )
    return folder


def test_lsum_gets_one_sentence_a_line() -> None:
    assert rouge_text("locke will stay . the club agreed . Mr. Mann said so .") == (
        "locke will stay.\nthe club agreed.\nMr. Mann said so."
    )


def test_lead3_evaluation_scores_every_row_and_logs_it(
    compose_config: ComposeConfig, summarization_dir: Path, tmp_path: Path
) -> None:
    cfg = compose_config(
        "evaluation=summaries",
        "summarizer=lead3",
        "device=cpu",
        "eval_summaries.name=lead3",
        f"eval_summaries.data_dir={summarization_dir}",
        f"eval_summaries.results_path={tmp_path / 'RESULTS.md'}",
        "eval_summaries.datasets.gum.file=gum.jsonl",
        "eval_summaries.datasets.cnndm.file=frank.jsonl",
        "eval_summaries.datasets.xsum.file=frank.jsonl",
        "eval_summaries.datasets.cnndm.limit=1",
    )
    result = evaluate_summaries(cfg)

    rows = {(row["dataset"], row["system"]): row for row in result["table"]}
    assert set(rows) == {
        ("gum", "lead3"),
        ("gum", "lead-3"),
        ("cnndm", "lead3"),
        ("cnndm", "lead-3"),
        ("cnndm", "bart"),
        ("cnndm", "pgn"),
        ("xsum", "lead3"),
        ("xsum", "lead-1"),
        ("xsum", "BERTS2S"),
        ("xsum", "PtGen"),
    }
    assert rows["gum", "lead3"]["articles"] == 1  # the interview is not news
    assert rows["cnndm", "lead3"]["articles"] == 1 and rows["xsum", "PtGen"]["articles"] == 2  # limit applies
    # The configured lead3 summariser and the lead-3 baseline are the same system: same scores.
    assert rows["cnndm", "lead3"]["rouge2"] == pytest.approx(rows["cnndm", "lead-3"]["rouge2"])
    assert rows["cnndm", "bart"]["rouge1"] == pytest.approx(rows["cnndm", "pgn"]["rouge1"])
    assert 0 < rows["gum", "lead-3"]["rouge1"] <= 100
    assert rows["xsum", "PtGen"]["faithful_pct"] == 0.0  # an invented name and a number

    [auc_all] = [row["roc_auc"] for row in result["validation"] if row["group"] == "all"]
    assert auc_all == pytest.approx(100.0)  # the one judged error scores lowest
    logged = mlflow.MlflowClient(cfg.tracking.tracking_uri).get_run(result["run_id"])
    assert logged.data.metrics["cnndm_bart_rouge1"] == pytest.approx(rows["cnndm", "bart"]["rouge1"])
    assert "frank_all_roc_auc" in logged.data.metrics and "gum_lead_3_faithful_pct" in logged.data.metrics
    artifacts = {
        a.path for a in mlflow.MlflowClient(cfg.tracking.tracking_uri).list_artifacts(result["run_id"])
    }
    assert {"eval_summaries.jsonl", "results.md", "config.yaml"} <= artifacts
    page = (tmp_path / "RESULTS.md").read_text()
    assert "| cnndm | bart | 1 |" in page and "ROC AUC" in page and "python -m pipeline" in page
