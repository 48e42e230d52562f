"""The trained stance classifier: frozen all-MiniLM-L6-v2 features, a logistic-regression head, and the
zero-shot label prototypes as a prior.

Per (actor, sentence) pair the text that is encoded is the actor's clause: the part of the sentence
whose subject is the actor ("while France called for talks" for France in "Russia threatened Ukraine,
while France called for talks"), found with a spaCy dependency parse; the whole sentence when the
actor is not a subject in it (a bare quote, a fragment). The features are that text's embedding, the
contextual embedding of the actor's mention in it (zeros when it does not name the actor), a flag for
whether it does, and log-counts of cue-lexicon hits. The clause is what lets two actors named in one
sentence get different stances: on the 35 two-actor team sentences, held out of training, both actors
were right in 30 with it and in 3 with whole sentences.

The head has a fourth class, "none": a sentence stating facts with no stance ("X met Y on Monday").
A sentence's probabilities over the three labels are a fixed blend of the head's (renormalised over
them) and the zero-shot prototypes' (`embedding.py`): the head knows the training data, the prototypes
the annotation guideline. That blend is then pulled toward uniform by the head's "none" probability,
so a neutral sentence says little (on dev with the actors stage's evidence, macro-F1 0.60 instead of
0.54 without the "none" class) and ranks last in the actor's evidence. An actor's stance is the mean
over its `strongest_sentences` sentences that put most on one label: the actors stage's evidence
carries more neutral and off-topic material than gold evidence, and averaging all of it diluted the
main message (dev macro-F1 with our evidence 0.61 over all sentences, 0.66 over the strongest 2;
with gold evidence 0.81 either way).

The artifact is a folder with `head.safetensors` (scaler, weights, prototypes) and `metadata.json`
(labels, encoder checksum, parser, lexicons, blend, training data digest, validation scores): no pickle.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file
from scipy.special import softmax
from spacy.tokens import Doc, Token

from pipeline.nlp import load_spacy
from pipeline.schema import LABELS, NO_STANCE
from pipeline.stance import average_sentence_probabilities
from pipeline.stance.embedding import prototype_probabilities
from pipeline.stance.encoder import ENCODER_ID, SentenceEncoder, Span

SHIPPED_ARTIFACT_DIR = Path(__file__).resolve().parent / "artifacts" / "trained"
HEAD_FILE = "head.safetensors"
METADATA_FILE = "metadata.json"
HEAD_TENSORS = ("feature_mean", "feature_scale", "weights", "bias", "label_prototypes")
HEAD_LABELS = (*LABELS, NO_STANCE)  # the classes the head is trained on, in its weights' row order
# Dependency labels (spaCy's English scheme) that lead from a word of a name to the head of its noun
# phrase ("Prime Minister X", "X and Y", "X's government"), and those that attach a further clause.
NOUN_PHRASE_DEPS = frozenset({"compound", "amod", "poss", "conj", "appos", "det", "nmod"})
ATTACHED_CLAUSE_DEPS = frozenset({"conj", "advcl", "parataxis"})

log = logging.getLogger(__name__)


def mention_spans(sentence: str, names: Sequence[str]) -> list[Span]:
    """Character spans where any of `names` occurs in `sentence` as whole words, ignoring case."""
    spans = []
    for name in names:
        if name.strip():
            pattern = r"(?<!\w)" + re.escape(name.strip()) + r"(?!\w)"
            spans += [match.span() for match in re.finditer(pattern, sentence, flags=re.IGNORECASE)]
    return spans


class ActorClauses:
    """Cuts each sentence down to the clause(s) whose subject, or passive agent, is the actor.

    A clause attached to the actor's verb keeps its place unless it has a noun subject of its own that
    is not the actor ("..., while France called for talks"); a pronoun subject ("and they agreed") is
    taken to be the actor again.
    """

    def __init__(self, spacy_model: str):
        self.nlp = load_spacy(spacy_model)

    @property
    def version(self) -> str:
        return str(self.nlp.meta.get("version", "unknown"))

    def extract(self, sentences: Sequence[str], spans: Sequence[list[Span]]) -> list[str]:
        clauses = list(sentences)
        mentioned = [index for index, found in enumerate(spans) if found]
        # Only the parse is needed: NER and lemmas are skipped, which makes parsing faster.
        parsed = self.nlp.pipe((sentences[i] for i in mentioned), disable=["ner", "lemmatizer"])
        for index, doc in zip(mentioned, parsed, strict=True):
            clauses[index] = actor_clause(doc, spans[index])
        return clauses


def actor_clause(doc: Doc, spans: list[Span]) -> str:
    """The text of the clauses in `doc` whose subject overlaps `spans`; all of `doc` if there is none."""
    mention = {
        token.i
        for token in doc
        if any(token.idx < end and start < token.idx + len(token) for start, end in spans)
    }
    kept: set[int] = set()
    for verb in subject_verbs(doc, mention):
        # '"...," the minister said': the quote is the clause, "said" only attaches to it.
        while verb.dep_ == "parataxis" and verb.head is not verb:
            verb = verb.head
        other_clauses = {
            token.i
            for child in verb.children
            if child.dep_ in ATTACHED_CLAUSE_DEPS and has_other_subject(child, mention)
            for token in child.subtree
        }
        kept |= {token.i for token in verb.subtree} - other_clauses
    if not kept:
        return doc.text
    return "".join(doc[index].text_with_ws for index in sorted(kept)).strip()


def subject_verbs(doc: Doc, mention: set[int]) -> list[Token]:
    verbs = []
    for index in mention:
        head = doc[index]
        while head.dep_ in NOUN_PHRASE_DEPS and head.head is not head:
            head = head.head
        if head.dep_ == "nsubj":
            verbs.append(head.head)
        elif head.dep_ == "pobj" and head.head.dep_ == "agent":  # "... was condemned by France"
            verbs.append(head.head.head)
    return verbs


def has_other_subject(clause: Token, mention: set[int]) -> bool:
    subjects = [child for child in clause.children if child.dep_ in ("nsubj", "nsubjpass")]
    return any(
        subject.pos_ in ("NOUN", "PROPN") and not {token.i for token in subject.subtree} & mention
        for subject in subjects
    )


class CueLexicon:
    """Counts, per group ("hedging", "aggressive", ...), the occurrences of the group's cues in a text.

    A cue is a word or phrase matched as whole words ignoring case; a trailing "*" matches any ending
    ("threat*" matches "threatens").
    """

    def __init__(self, groups: Mapping[str, Sequence[str]]):
        self.patterns = [
            re.compile("|".join(cue_pattern(cue) for cue in cues), flags=re.IGNORECASE)
            for cues in groups.values()
        ]

    def counts(self, texts: Sequence[str]) -> np.ndarray:
        return np.array(
            [[len(pattern.findall(text)) for pattern in self.patterns] for text in texts], dtype=np.float32
        )


def cue_pattern(cue: str) -> str:
    words = cue.rstrip("*").split()
    ending = r"\w*" if cue.endswith("*") else r"(?!\w)"
    return r"(?<!\w)" + r"\s+".join(re.escape(word) for word in words) + ending


class StanceFeaturizer:
    """Turns (actor names, sentence) pairs into feature rows: [clause | mention | mentioned | cues]."""

    def __init__(self, encoder: SentenceEncoder, clauses: ActorClauses, lexicon: CueLexicon):
        self.encoder = encoder
        self.clauses = clauses
        self.lexicon = lexicon

    def transform(self, names: Sequence[Sequence[str]], sentences: Sequence[str]) -> np.ndarray:
        spans = [
            mention_spans(sentence, actor_names)
            for sentence, actor_names in zip(sentences, names, strict=True)
        ]
        clauses = self.clauses.extract(sentences, spans)
        clause_spans = [
            mention_spans(clause, actor_names) for clause, actor_names in zip(clauses, names, strict=True)
        ]
        clause_embeddings, mention_embeddings = self.encoder.encode(clauses, clause_spans)
        mentioned = np.array([1.0 if found else 0.0 for found in spans], dtype=np.float32).reshape(-1, 1)
        cues = np.log1p(self.lexicon.counts(clauses))
        return np.hstack([clause_embeddings, mention_embeddings, mentioned, cues])


def blended_probabilities(
    head: Mapping[str, np.ndarray], features: np.ndarray, prototype_weight: float, temperature: float
) -> np.ndarray:
    """(n, len(LABELS)): the head and prototype blend, pulled toward uniform by the head's "none"."""
    standardised = (features - head["feature_mean"]) / head["feature_scale"]
    head_probabilities = softmax(standardised @ head["weights"].T + head["bias"], axis=1)
    stance_strength = 1.0 - head_probabilities[:, HEAD_LABELS.index(NO_STANCE), None]
    on_labels = head_probabilities[:, : len(LABELS)]
    on_labels = on_labels / on_labels.sum(axis=1, keepdims=True)
    # The featurizer puts the clause embedding first.
    clause_embeddings = features[:, : head["label_prototypes"].shape[1]]
    prior = prototype_probabilities(clause_embeddings, head["label_prototypes"], temperature)
    blend = (1.0 - prototype_weight) * on_labels + prototype_weight * prior
    return stance_strength * blend + (1.0 - stance_strength) / len(LABELS)


def save_artifact(directory: Path, head: Mapping[str, np.ndarray], metadata: Mapping[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    save_file({name: np.ascontiguousarray(head[name]) for name in HEAD_TENSORS}, str(directory / HEAD_FILE))
    write_metadata(directory, metadata)


def write_metadata(directory: Path, metadata: Mapping[str, Any]) -> None:
    (directory / METADATA_FILE).write_text(
        json.dumps(metadata, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


class TrainedStanceClassifier:
    """Loads an artifact folder written by `python -m pipeline.stance.train` (None: the one shipped here)."""

    def __init__(
        self,
        artifact_dir: str | Path | None = None,
        encoder_path: str | Path | None = None,
        device: str = "auto",
        batch_size: int = 64,
    ):
        self.artifact_dir = Path(artifact_dir) if artifact_dir is not None else SHIPPED_ARTIFACT_DIR
        self.metadata = json.loads((self.artifact_dir / METADATA_FILE).read_text(encoding="utf-8"))
        if tuple(self.metadata["head_labels"]) != HEAD_LABELS:
            raise ValueError(
                f"artifact {self.artifact_dir} has classes {self.metadata['head_labels']}, expected {HEAD_LABELS}"
            )
        self.head = load_file(str(self.artifact_dir / HEAD_FILE))
        encoder = SentenceEncoder(encoder_path, device, batch_size)
        if encoder.weights_sha256() != self.metadata["encoder"]["sha256"]:
            raise ValueError(
                f"artifact {self.artifact_dir} was trained on encoder weights with sha256 "
                f"{self.metadata['encoder']['sha256']}, but {encoder.model_path} holds different ones"
            )
        parser = self.metadata["features"]["clause_parser"]
        clauses = ActorClauses(parser["model"])
        if clauses.version != parser["version"]:
            log.warning(
                "artifact %s was trained with %s %s, running %s: clause boundaries may differ slightly",
                self.artifact_dir,
                parser["model"],
                parser["version"],
                clauses.version,
            )
        self.featurizer = StanceFeaturizer(encoder, clauses, CueLexicon(self.metadata["features"]["cues"]))
        self.blend = self.metadata["blend"]

    def predict_proba(
        self, actors: list[str], evidence: list[list[str]], aliases: list[list[str]] | None = None
    ) -> np.ndarray:
        return average_sentence_probabilities(
            actors, evidence, aliases, self.score_sentences, self.blend["strongest_sentences"]
        )

    def score_sentences(self, names: list[list[str]], sentences: list[str]) -> np.ndarray:
        features = self.featurizer.transform(names, sentences)
        return blended_probabilities(
            self.head, features, self.blend["prototype_weight"], self.blend["temperature"]
        )

    def params(self) -> dict[str, str | int | float | bool | None]:
        return {
            "backend": "trained",
            "encoder": ENCODER_ID,
            "artifact_dir": str(self.artifact_dir),
            "training_data_sha256": self.metadata["training"]["data_sha256"],
            "prototype_weight": self.blend["prototype_weight"],
            "strongest_sentences": self.blend["strongest_sentences"],
        }
