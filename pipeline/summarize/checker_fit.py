"""Fits the faithfulness checker's weights (conf/faithfulness/minilm.yaml) and says how well it finds errors.

    python -m pipeline.summarize.checker_fit [--corrupt-articles 150]

Training data: (1) synthetic corruptions of correct sentences: lead sentences of shared news articles (not
the judged, dev or stance ones), each kept once as it is and once with one error made the way small models
make them: subject and object swapped, a name replaced by another of the same type from the article, a
speaker's attribution dropped, a negation added or removed, a figure changed; (2) the judged tuning
summaries of data/summaries/ (a summary with an error a majority of judges found is unfaithful). Fitted:
a logistic regression over the checker's FEATURES, class-balanced. Printed: the weights to paste into the
config, and precision/recall of the flag on the judged held-out summaries (never fitted on) and on
FRANK's judged system summaries.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

from pipeline import CONFIG_DIR, PROJECT_ROOT
from pipeline.files import read_jsonl
from pipeline.ingest import clean_text
from pipeline.stance.annotation import stable_rank
from pipeline.summarize.faithfulness import FEATURES, FaithfulnessChecker
from pipeline.summarize.judgements import SHARED_DATA, SPLITS, judged_summaries
from pipeline.summarize.lead import body_sentences

NUMBER = re.compile(r"\b\d+(?:[.,]\d+)?\b")


def corrupt(
    sentence: str, article: str, nlp: Any, rng: random.Random, foreign: dict[str, list[str]]
) -> str | None:
    """`sentence` with one error of a kind picked at random among those it allows; None if none applies.
    `foreign` holds names of other articles by entity type, for a name this article never mentions."""
    doc = nlp(sentence)
    options = []
    subjects = [t for t in doc if t.dep_ == "nsubj" and t.ent_type_]
    objects = [t for t in doc if t.dep_ in ("dobj", "pobj") and t.ent_type_]
    if subjects and objects:
        first, second = subjects[0], objects[0]
        a = doc[first.left_edge.i : first.right_edge.i + 1].text
        b = doc[second.left_edge.i : second.right_edge.i + 1].text
        if a != b and a in sentence and b in sentence:
            options.append(sentence.replace(a, "\0").replace(b, a).replace("\0", b))
    others = {e.label_: [] for e in doc.ents}
    for entity in nlp(article[:5000]).ents:
        if entity.label_ in others and entity.text not in sentence:
            others[entity.label_].append(entity.text)
    for entity in doc.ents:
        if others.get(entity.label_):
            options.append(sentence.replace(entity.text, rng.choice(others[entity.label_]), 1))
        if foreign.get(entity.label_):
            options.append(sentence.replace(entity.text, rng.choice(foreign[entity.label_]), 1))
    for verb in doc:
        speakers = [c for c in verb.children if c.dep_ == "nsubj"]
        claims = [c for c in verb.children if c.dep_ == "ccomp"]
        if verb.lemma_ in ("say", "tell", "claim", "state", "warn", "insist") and speakers and claims:
            claim = doc[claims[0].left_edge.i : claims[0].right_edge.i + 1].text
            options.append(claim[:1].upper() + claim[1:].rstrip(",") + ".")
    auxiliaries = [t for t in doc if t.dep_ in ("aux", "auxpass") or (t.lemma_ == "be" and t.dep_ == "ROOT")]
    negations = [t for t in doc if t.dep_ == "neg"]
    if negations:
        options.append(re.sub(rf"\s*\b{re.escape(negations[0].text)}\b", "", sentence, count=1))
    elif auxiliaries:
        aux = auxiliaries[0]
        options.append(sentence[: aux.idx + len(aux.text)] + " not" + sentence[aux.idx + len(aux.text) :])
    if match := NUMBER.search(sentence):
        value = match.group().replace(",", "")
        changed = str(int(float(value)) * 2 + 3) if value.replace(".", "").isdigit() else None
        if changed:
            options.append(sentence[: match.start()] + changed + sentence[match.end() :])
    options = [option for option in options if option and option != sentence]
    return rng.choice(options) if options else None


def synthetic_examples(count: int, excluded: set[str], nlp: Any, seed: int) -> list[tuple[str, str, int]]:
    """(summary, article, faithful) pairs: lead sentences as they are and corrupted, from `count` articles."""
    rng = random.Random(seed)
    with gzip.open(SHARED_DATA / "articles" / "wikinews.jsonl.gz", "rt", encoding="utf-8") as handle:
        articles = [json.loads(line) for line in handle]
    articles = sorted(
        (a for a in articles if a["id"] not in excluded and 800 <= len(a["text"]) <= 5000),
        key=lambda a: stable_rank("checker:" + a["id"]),
    )[:count]
    texts = [clean_text(article["text"]) for article in articles]
    foreign: dict[str, list[str]] = {}
    for doc in nlp.pipe(text[:2000] for text in texts[::-1]):
        for entity in doc.ents:
            if entity.label_ in ("PERSON", "ORG", "GPE", "NORP"):
                foreign.setdefault(entity.label_, []).append(entity.text)
    examples = []
    for text in texts:
        lead = body_sentences(text)[:2]
        if len(lead) < 2:
            continue
        examples.append((" ".join(lead), text, 1))
        absent = {label: [name for name in names if name not in text] for label, names in foreign.items()}
        broken = corrupt(lead[1], text, nlp, rng, absent)
        if broken:
            examples.append((f"{lead[0]} {broken}", text, 0))
    return examples


def feature_matrix(
    checker: FaithfulnessChecker, summaries: Sequence[str], articles: Sequence[str]
) -> np.ndarray:
    verdicts = checker.check_batch(list(summaries), list(articles))
    return np.array([[verdict.features[name] for name in FEATURES] for verdict in verdicts])


def flag_scores(truth: Sequence[int], faithful_scores: Sequence[float], threshold: float) -> dict[str, float]:
    """Precision and recall of flagging (score < threshold) the summaries with an error; ROC AUC of the score."""
    has_error = [1 - t for t in truth]
    flagged = [int(score < threshold) for score in faithful_scores]
    precision, recall, f1, _ = precision_recall_fscore_support(
        has_error, flagged, average="binary", zero_division=0
    )
    auc = roc_auc_score(truth, faithful_scores) if len(set(truth)) == 2 else float("nan")
    return {
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "roc_auc": float(auc),
        "summaries": len(truth),
        "with_error": sum(has_error),
    }


def best_threshold(truth: Sequence[int], faithful_scores: Sequence[float]) -> float:
    """The flagging threshold (a summary scoring below it is flagged) with the best F1 at finding errors."""
    candidates = [*sorted(set(faithful_scores)), 1.0]
    return round(max(candidates, key=lambda t: (flag_scores(truth, faithful_scores, t)["f1"], -t)), 4)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.summarize.checker_fit", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--corrupt-articles", type=int, default=150)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=["device=cpu"])
    checker: FaithfulnessChecker = instantiate(cfg.faithfulness)
    judged = {split: judged_summaries(split) for split in SPLITS}
    excluded = {r["id"] for r in read_jsonl(SHARED_DATA / "gold" / "dev.jsonl")}
    excluded |= {
        r["id"] for r in read_jsonl(PROJECT_ROOT / "data" / "stance" / "articles" / "annotated.jsonl")
    }
    excluded |= {item["id"] for items in judged.values() for item in items}
    synthetic = synthetic_examples(args.corrupt_articles, excluded, checker.nlp, args.seed)
    training = [*synthetic, *((j["summary"], j["text"], int(not j["has_error"])) for j in judged["tune"])]
    features = feature_matrix(checker, [t[0] for t in training], [t[1] for t in training])
    labels = np.array([t[2] for t in training])
    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000).fit(features, labels)
    weights = {"intercept": round(float(model.intercept_[0]), 3)} | {
        name: round(float(w), 3) for name, w in zip(FEATURES, model.coef_[0], strict=True)
    }
    print(f"fitted on {len(synthetic)} synthetic and {len(judged['tune'])} judged tuning summaries")
    print("weights: {" + ", ".join(f"{k}: {v}" for k, v in weights.items()) + "}")
    checker.weights = weights
    tune = judged["tune"]
    tune_scores = [
        v.score for v in checker.check_batch([j["summary"] for j in tune], [j["text"] for j in tune])
    ]
    checker.threshold = best_threshold([int(not j["has_error"]) for j in tune], tune_scores)
    print(f"threshold (best F1 at flagging the judged tuning summaries' errors): {checker.threshold}")
    for split in ("held_out", "final"):
        checked = judged[split]
        scores = [
            v.score
            for v in checker.check_batch([j["summary"] for j in checked], [j["text"] for j in checked])
        ]
        print(
            f"judged {split}:",
            flag_scores([int(not j["has_error"]) for j in checked], scores, checker.threshold),
        )


if __name__ == "__main__":
    main()
