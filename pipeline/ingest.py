"""Ingest stage: article files -> a validated `datasets.Dataset` plus the records rejected, with reasons.

Reads JSONL, CSV, Parquet (optionally gzipped for the text formats) or a directory of `.txt` files.
Every record either becomes a row with columns `id, title, date, source, text` or a `Rejection`;
nothing is dropped silently. Records are read and checked one at a time and streamed into an Arrow file
(`datasets.Dataset.from_generator`), so memory does not grow with the corpus.
"""

from __future__ import annotations

import csv
import gzip
import html
import io
import itertools
import json
import re
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import datasets
from datasets.fingerprint import generate_random_fingerprint

from pipeline.files import atomic_write
from pipeline.schema import ARTICLE_FEATURES
from pipeline.text import PARAGRAPH_BREAK

OPTIONAL_FIELDS = ("title", "date", "source")
FORMATS = ("jsonl", "csv", "parquet", "txt")

# Lines that are page furniture, not article text: they confuse both the summariser and the NER.
FURNITURE_LINE = re.compile(
    r"""^(?:
        advertisement|advertisements|skip\ advertisement|story\ continues\ below(?:\ advertisement)?
        |(?:read\ more|related|see\ also|watch|listen)\s*:.*
        |(?:photo|image|picture|video)(?:\ credit)?s?\s*:.*
        |\((?:photo|image)s?\b[^)]*\)
        |.*\b(?:getty\ images|afp\ via\ getty|reuters/[a-z]+|ap\ photo)\b.{0,40}
        |share\ this\ (?:article|story).*|sign\ up\ for\ .*newsletter.*
        |learn\ more|read\ more|click\ here\b.*|get\ more\ with\ \S+|subscribe(?:\ now)?|follow\ us\b.*
        |download\ (?:the|our)\ app.*|sign\ up|log\ in|print|e-?mail|share|comments?
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
# A news site's topic or section label that the export glued to the first sentence ("United States infobox
# The U.S. Senate ...", "Economy and business Trading on ...", "Australian news Australian Prime Minister ..."):
# navigation, not the story, and NER reads it as part of the first name.
LEADING_LABEL = re.compile(
    r"""^(?:(?:[\w.'&-]+\ ){1,6}infobox
        |(?:[A-Z][\w.'-]*\ ){1,3}news
        |(?:Economy\ and\ business|Politics\ and\ conflicts|Science\ and\ technology|Crime\ and\ law
           |Culture\ and\ entertainment|Disasters\ and\ accidents|Wackynews)
    )\ (?=["“]?[A-Z])""",
    re.VERBOSE,
)
# A name glued to the next word when a page lost a space ("Belgiumis a federal state"): split only when the
# name also stands alone elsewhere in the text and the glued form occurs once, so "Alexis" stays whole.
GLUED_WORD = re.compile(r"\b([A-Z][a-z]{3,})(is|was|has|had|and|the|of|in|to|for|said|will)\b")
CAPITALISED_WORD = re.compile(r"\b[A-Z][a-z]+\b")
PHOTO_CREDIT = re.compile(r"^(?:photo|image|picture)s?(?:\ credit)?s?\s*:.*$", re.IGNORECASE)
CAPTION_MAX_CHARS = 200
INLINE_SPACE = re.compile(r"[^\S\n]+")
# Scraped pages whose paragraph tags were stripped without a space run sentences together ("two months.It
# will"): a space goes back after a word's final punctuation (and closing quote) when a capitalised word follows.
RUN_ON_SENTENCE = re.compile(r"(?<=[a-z0-9%)][.!?])([\"”’]?)(?=[\"“‘]?[A-Z](?:[a-z]|\s))")
# A social-share button row glued to the text the same way ("Share this withEmailFacebook...Copy this link").
SHARE_BUTTONS = re.compile(r"Share this with\w*?Copy this link", re.IGNORECASE)
# Terminal colour codes, then control characters other than tab and newline: never article text.
CONTROL_CHARS = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A scraped page rather than its text: its markup would otherwise reach the models as words.
HTML_MARKUP = re.compile(r"<(?:html|body|head|div|p|br|span|script|style|article|a\s)\b[^>]*>", re.IGNORECASE)
HTML_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "article", "section", "tr"}
)
HTML_SKIPPED_TAGS = frozenset({"script", "style", "head", "noscript", "template"})
# Past this a record is not one article (the longest of the ~19,000 in ../shared is 177,000 characters),
# and spaCy refuses texts over 1,000,000 characters.
MAX_TEXT_CHARS = 500_000


@dataclass(frozen=True)
class Rejection:
    """A record that could not be used: where it was, its id if it had one, and why."""

    location: str
    id: str | None
    reason: str


@dataclass
class IngestResult:
    dataset: datasets.Dataset
    rejected: list[Rejection]


class RecordError(ValueError):
    """A record is unusable; the message is the reason recorded in rejected.jsonl."""


def ingest(
    path: str | Path,
    data_format: str = "auto",
    limit: int | None = None,
    max_text_chars: int = MAX_TEXT_CHARS,
    cache_dir: str | Path | None = None,
) -> IngestResult:
    """Reads `path` into a Dataset of valid articles and a list of rejections.

    Ids must be unique: a later record with an id already seen is rejected, the first is kept.
    `limit` keeps the first N valid articles (later records are not read). A text longer than
    `max_text_chars` after cleaning is rejected.

    Records are read, checked and written to an Arrow file one at a time, so only the rejections and the
    ids seen are held. With `cache_dir` the Dataset is memory-mapped from the Arrow file there (a corpus
    need not fit in memory), and the caller removes the folder once done with the Dataset; without it the
    file goes to a temporary folder and the Dataset is loaded into memory (small inputs: the API, a test).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"input {str(path)!r} does not exist")
    data_format = detect_format(path) if data_format == "auto" else data_format
    if data_format not in FORMATS:
        raise ValueError(
            f"unknown input format {data_format!r}; expected one of {', '.join(FORMATS)} or auto"
        )
    rejected: list[Rejection] = []
    articles = valid_articles(READERS[data_format](path), limit, max_text_chars, rejected)
    first = next(articles, None)
    if first is None:  # from_generator cannot build a Dataset without rows
        empty = datasets.Dataset.from_dict({name: [] for name in ARTICLE_FEATURES}, features=ARTICLE_FEATURES)
        return IngestResult(empty, rejected)
    stream = itertools.chain([first], articles)
    if cache_dir is not None:
        return IngestResult(arrow_dataset(stream, Path(cache_dir), keep_in_memory=False), rejected)
    with tempfile.TemporaryDirectory(prefix="newsstance-ingest-") as folder:
        return IngestResult(arrow_dataset(stream, Path(folder), keep_in_memory=True), rejected)


def valid_articles(
    records: Records, limit: int | None, max_text_chars: int, rejected: list[Rejection]
) -> Iterator[dict[str, str]]:
    """The usable articles among `records`, in order; each unusable record is appended to `rejected`."""
    first_seen: dict[str, str] = {}
    for location, raw in records:
        if limit is not None and len(first_seen) >= limit:
            return
        try:
            if isinstance(raw, RecordError):
                raise raw
            article = validate_article(raw, max_text_chars)
            if article["id"] in first_seen:
                raise RecordError(f"duplicate id (first seen at {first_seen[article['id']]})")
        except RecordError as error:
            rejected.append(Rejection(location, record_id(raw), str(error)))
            continue
        first_seen[article["id"]] = location
        yield article


def arrow_dataset(articles: Iterator[dict[str, str]], folder: Path, keep_in_memory: bool) -> datasets.Dataset:
    """`articles` written to an Arrow file in `folder` as they come, as a Dataset."""
    return datasets.Dataset.from_generator(
        lambda: articles,
        features=ARTICLE_FEATURES,
        cache_dir=str(folder),
        keep_in_memory=keep_in_memory,
        # A fresh fingerprint, as `Dataset.from_dict` gives, instead of hashing the generator: a stream
        # cannot be hashed, and no later step may take another input's cached results for this one's.
        fingerprint=generate_random_fingerprint(),
    )


def detect_format(path: Path) -> str:
    if path.is_dir():
        return "txt"
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    suffix = suffixes[-1] if suffixes else ""
    by_suffix = {
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
        ".json": "jsonl",
        ".csv": "csv",
        ".parquet": "parquet",
    }
    if suffix not in by_suffix:
        raise ValueError(f"cannot tell the format of {str(path)!r} from its suffix; set data.format")
    return by_suffix[suffix]


def validate_article(raw: Any, max_text_chars: int = MAX_TEXT_CHARS) -> dict[str, str]:
    """Returns the record's fields as strings with clean text, or raises RecordError with the reason."""
    if not isinstance(raw, dict):
        raise RecordError(f"record is a {type(raw).__name__}, not an object")
    article_id = raw.get("id")
    if article_id is None or (isinstance(article_id, str) and not article_id.strip()):
        raise RecordError("missing id")
    if isinstance(article_id, bool) or not isinstance(article_id, str | int):
        raise RecordError(f"id must be a string or integer, got {type(article_id).__name__}")
    text = raw.get("text")
    if text is None:
        raise RecordError("missing text")
    if not isinstance(text, str):
        raise RecordError(f"text must be a string, got {type(text).__name__}")
    check_decodable("text", text)
    article = {"id": str(article_id).strip(), "text": clean_text(text)}
    if not article["text"]:
        raise RecordError("text is empty after removing whitespace, markup and page furniture")
    if len(article["text"]) > max_text_chars:
        raise RecordError(
            f"text is {len(article['text']):,} characters, over the limit of {max_text_chars:,} "
            "(data.max_text_chars): not one article?"
        )
    for name in OPTIONAL_FIELDS:
        value = raw.get(name)
        if value is not None and not isinstance(value, str | int | float):
            raise RecordError(f"{name} must be a string, got {type(value).__name__}")
        article[name] = "" if value is None else " ".join(str(value).split())
        check_decodable(name, article[name])
    return article


def check_decodable(field: str, value: str) -> None:
    # Readers decode with surrogateescape, so undecodable bytes surface here as lone surrogates.
    if any("\udc80" <= char <= "\udcff" for char in value):
        raise RecordError(f"{field} has bytes that are not valid UTF-8")


def clean_text(text: str) -> str:
    """Normalises whitespace (paragraphs kept as blank-line breaks) and drops control characters, HTML
    markup (for a scraped page, its visible text) and page-furniture lines."""
    if HTML_MARKUP.search(text):
        text = html_to_text(text)
    text = CONTROL_CHARS.sub("", text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " "))
    paragraphs: list[list[str]] = []  # kept lines per paragraph
    caption: list[str] | None = None  # a paragraph whose only line is a caption if a credit comes next
    for paragraph in PARAGRAPH_BREAK.split(text):
        paragraph = RUN_ON_SENTENCE.sub(space_after_sentence, SHARE_BUTTONS.sub("", paragraph))
        kept: list[str] = []
        paragraphs.append(kept)
        for line in (INLINE_SPACE.sub(" ", line).strip() for line in paragraph.split("\n")):
            if not line:
                continue
            if PHOTO_CREDIT.match(line) and caption and len(caption[-1]) <= CAPTION_MAX_CHARS:
                # A credit follows its photo's caption, which is no part of the story ("The vessel on The
                # Solent on February 8, 2010." would read as news): a short line just before it goes too,
                # when that line opens its paragraph (a caption stands alone; a story's paragraph runs on).
                caption.pop()
            if FURNITURE_LINE.match(line):
                caption = None
                continue
            kept.append(line)
            caption = kept if len(kept) == 1 else None
        if len(kept) > 1:
            caption = None
    text = LEADING_LABEL.sub("", "\n\n".join(" ".join(lines) for lines in paragraphs if lines), count=1)
    return unglue_words(text)


def unglue_words(text: str) -> str:
    """`text` with GLUED_WORD's names split from the word they were glued to."""
    words = Counter(CAPITALISED_WORD.findall(text))

    def split(match: re.Match[str]) -> str:
        glued, name = match.group(0), match.group(1)
        return f"{name} {match.group(2)}" if words[name] and words[glued] == 1 else glued

    return GLUED_WORD.sub(split, text)


def space_after_sentence(match: re.Match[str]) -> str:
    """The space RUN_ON_SENTENCE restores: after a closing quote, or before a straight quote that opens."""
    quote = match.group(1)
    opens = quote == '"' and match.string.count('"', 0, match.start()) % 2 == 0
    return f" {quote}" if opens else f"{quote} "


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HTML_SKIPPED_TAGS:
            self.skipping += 1
        elif tag in HTML_BLOCK_TAGS:
            self.pieces.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in HTML_SKIPPED_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in HTML_BLOCK_TAGS:
            self.pieces.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.pieces.append(data)


def html_to_text(markup: str) -> str:
    """The text a browser would show for `markup`: tags, scripts and styles gone, entities decoded."""
    parser = _VisibleText()
    parser.feed(markup)
    parser.close()
    return html.unescape("".join(parser.pieces))


def record_id(raw: Any) -> str | None:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str | int) and not isinstance(raw.get("id"), bool):
        return str(raw["id"])
    return None


def open_text(path: Path) -> io.TextIOWrapper:
    """Text reader for the caller's with-block; undecodable bytes are kept as surrogates to reject later."""
    binary = gzip.open(path, "rb") if path.suffix.lower() == ".gz" else path.open("rb")  # noqa: SIM115
    return io.TextIOWrapper(binary, encoding="utf-8", errors="surrogateescape", newline="")


Records = Iterator[tuple[str, Any]]


def read_jsonl(path: Path) -> Records:
    with open_text(path) as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            location = f"{path.name}:{number}"
            try:
                yield location, json.loads(line.rstrip("\r\n"))
            except json.JSONDecodeError as error:
                yield location, RecordError(f"malformed JSON line: {error}")


def read_csv(path: Path) -> Records:
    with open_text(path) as handle:
        reader = csv.DictReader(handle)
        try:
            for row in reader:
                location = f"{path.name}:{reader.line_num}"
                if None in row:
                    yield location, RecordError("row has more fields than the header")
                else:
                    yield location, {key: value for key, value in row.items() if value != ""}
        except csv.Error as error:
            yield f"{path.name}:{reader.line_num}", RecordError(f"malformed CSV: {error}")


def read_parquet(path: Path) -> Records:
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as table:  # batch by batch: the file may not fit in memory
        rows = (row for batch in table.iter_batches() for row in batch.to_pylist())
        for number, row in enumerate(rows, start=1):
            yield f"{path.name}:row {number}", row


def read_txt_dir(path: Path) -> Records:
    """One article per .txt file: the file name (without suffix) is the id, the first line the title."""
    for file in sorted(path.glob("*.txt")):
        text = file.read_bytes().decode("utf-8", errors="surrogateescape")
        title = text.strip().split("\n", 1)[0] if text.strip() else ""
        yield file.name, {"id": file.stem, "title": title, "source": file.name, "text": text}


READERS = {"jsonl": read_jsonl, "csv": read_csv, "parquet": read_parquet, "txt": read_txt_dir}


def write_rejections(path: Path, rejected: list[Rejection]) -> None:
    """Writes one JSON object per rejection (an empty file when there are none)."""
    with atomic_write(path) as handle:
        for rejection in rejected:
            handle.write(json.dumps(asdict(rejection), ensure_ascii=False) + "\n")
