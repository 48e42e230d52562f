"""Actors stage: the people, states, organisations and groups in an article, with what each says or does.

`extract_actors` is the entry. An article is read in four steps, each a module that reads the shared
`Article` (article.py) and adds to it, in data-flow order:

1. `mentions`: spaCy NER's names (and those it missed) with their kind and key; capitals, demonyms and
   seats of government become their state (the tables in `names`, configured in conf/actors/).
2. `entities`: the mentions of one real-world entity merged into one cluster, with a person's roles.
3. `agents`: who says or does something in each sentence, from the dependency parse (subjects and
   by-agents, "according to X", act nouns, roles and pronouns resolved to entities).
4. `evidence`: each event's sentence, each attributed quote (also across paragraphs) and each transcript
   turn ("PRESIDENT BIDEN: ...", found by `layout`) go to their actor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import datasets
from tqdm import tqdm

from pipeline.actors.agents import collect_events
from pipeline.actors.article import Article
from pipeline.actors.entities import build_clusters
from pipeline.actors.evidence import Actor, EvidenceSettings, actors_of, attribute
from pipeline.actors.mentions import collect_mentions
from pipeline.actors.names import NameTables
from pipeline.nlp import load_spacy
from pipeline.schema import ACTOR_FEATURES

if TYPE_CHECKING:
    from spacy.tokens import Doc

__all__ = ["Actor", "ActorExtractor", "extract_actors"]


class ActorExtractor:
    """Finds an article's actors with spaCy NER and the dependency rules configured in conf/actors/.

    `tables` are NameTables' arguments (countries, titles, verbs, ...), as the config lists them.
    """

    def __init__(
        self,
        spacy_model: str,
        max_evidence: int = 12,
        min_evidence_words: int = 3,
        min_quote_words: int = 5,
        **tables: Any,
    ) -> None:
        self.nlp = load_spacy(spacy_model)
        self.tables = NameTables(**tables)
        self.settings = EvidenceSettings(max_evidence, min_evidence_words, min_quote_words)

    def extract(self, text: str, title: str = "") -> list[Actor]:
        """The article's actors in order of first mention; those only mentioned have no evidence.

        The headline is read before the text for the names and roles it gives ("Remarks by President
        Biden and Prime Minister Albanese" says who "THE PRESIDENT:" is); evidence comes from the text.
        """
        return self.extract_many([text], 1, [title])[0]

    def extract_many(
        self, texts: Sequence[str], batch_size: int, titles: Sequence[str] | None = None
    ) -> list[list[Actor]]:
        """`extract` for each text (and title), parsed in batches by `nlp.pipe`."""
        heads = [f"{title.strip()}\n\n" if title.strip() else "" for title in titles or [""] * len(texts)]
        docs = self.nlp.pipe(
            [head + text for head, text in zip(heads, texts, strict=True)], batch_size=batch_size
        )
        return [self.read(doc, len(head)) for doc, head in zip(docs, heads, strict=True)]

    def read(self, doc: Doc, body_start: int = 0) -> list[Actor]:
        article = Article.read(doc, self.tables, body_start)
        build_clusters(article, collect_mentions(article))
        attribute(article, collect_events(article), self.settings)
        return actors_of(article, self.settings)


def extract_actors(
    dataset: datasets.Dataset, extractor: ActorExtractor, batch_size: int = 16
) -> datasets.Dataset:
    """Adds column `actors`: list of {"name", "aliases", "type", "evidence"} from columns `title` (when
    there is one) and `text`; tqdm progress."""
    texts = list(dataset["text"])
    titles = list(dataset["title"]) if "title" in dataset.column_names else [""] * len(texts)
    found: list[list[dict]] = []
    with tqdm(total=len(texts), desc="actors", unit="article") as progress:
        for start in range(0, len(texts), batch_size):
            batch = slice(start, start + batch_size)
            found.extend(
                [asdict(actor) for actor in actors]
                for actors in extractor.extract_many(texts[batch], batch_size, titles[batch])
            )
            progress.update(len(texts[batch]))
    if "actors" in dataset.column_names:  # gold input carries its own actors; the stage's replace them
        dataset = dataset.remove_columns("actors")
    return dataset.add_column("actors", found, feature=datasets.List(ACTOR_FEATURES))
