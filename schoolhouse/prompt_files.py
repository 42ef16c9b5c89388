"""The files under `prompts/`, read and checked: the child vocabulary (`vocabulary.csv`), named
instructions (`features.json`, `openings.json`, `audiences.json`, `styles.json`), plain phrases,
topic lists (`topics_*.txt`) and Jinja templates (`*.jinja2`).

Every reader checks its file as it reads it and raises `CurriculumError` naming the file, and the
line where there is one, for anything it cannot use: a template's variables are checked at load
time against the ones its caller fills in. Each reader defaults to the packaged `prompts/` folder.

Nothing here knows who asks: the lessons sample prompts from what these return, and the graders,
the student's evaluation and the report read their templates and the vocabulary here too.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import jinja2
import jinja2.meta

POS = ("noun", "verb", "adjective")


class CurriculumError(ValueError):
    """A prompt file (vocabulary, features, phrases, topics, template) that cannot be used; the
    message names file and line."""


def prompts_dir() -> Path:
    return Path(str(files("prompts")))


@dataclass(frozen=True)
class Vocabulary:
    path: Path
    words: dict[str, tuple[str, ...]]  # pos -> words

    @property
    def sha(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    def __len__(self) -> int:
        return sum(len(v) for v in self.words.values())


def load_vocabulary(path: Path | None = None) -> Vocabulary:
    """Read a `word,pos,...` CSV; every row is checked and a bad one is named by file and line."""
    path = Path(path) if path else prompts_dir() / "vocabulary.csv"
    if not path.is_file():
        raise CurriculumError(f"{path}: vocabulary file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise CurriculumError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if not header or header[:2] != ["word", "pos"]:
        raise CurriculumError(
            f"{path}:1: expected a header starting with 'word,pos', got {header!r}"
        )
    words: dict[str, list[str]] = {p: [] for p in POS}
    seen: dict[str, int] = {}
    for line, row in enumerate(reader, start=2):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) < 2:
            raise CurriculumError(f"{path}:{line}: expected 'word,pos', got {','.join(row)!r}")
        word, pos = row[0].strip(), row[1].strip()
        if not word.isalpha() or not word.islower():
            raise CurriculumError(f"{path}:{line}: {word!r} is not a lowercase word")
        if pos not in words:
            raise CurriculumError(f"{path}:{line}: part of speech {pos!r} is not one of {POS}")
        if word in seen:
            raise CurriculumError(f"{path}:{line}: {word!r} already listed on line {seen[word]}")
        seen[word] = line
        words[pos].append(word)
    empty = [p for p, ws in words.items() if not ws]
    if empty:
        raise CurriculumError(f"{path}: no words for {', '.join(empty)}")
    return Vocabulary(path, {p: tuple(ws) for p, ws in words.items()})


@dataclass(frozen=True)
class Feature:
    name: str
    instruction: str


def load_features(path: Path | None = None, key: str = "features") -> tuple[Feature, ...]:
    """A JSON list of named instructions under `key` (story features, story openings)."""
    path = Path(path) if path else prompts_dir() / f"{key}.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CurriculumError(f"{path}: {key} file not found") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise CurriculumError(f"{path}: not valid JSON ({e})") from None
    items = raw.get(key) if isinstance(raw, dict) else None
    if not isinstance(items, list) or not items:
        raise CurriculumError(f"{path}: expected {{'{key}': [{{'name', 'instruction'}}, ...]}}")
    features, names = [], set()
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not {"name", "instruction"} <= item.keys():
            raise CurriculumError(f"{path}: {key}[{i}] needs 'name' and 'instruction'")
        if item["name"] in names:
            raise CurriculumError(f"{path}: {key}[{i}] repeats the name {item['name']!r}")
        names.add(item["name"])
        features.append(Feature(item["name"], item["instruction"]))
    return tuple(features)


def load_phrases(path: Path | None, keys: tuple[str, ...], name: str = "openings"):
    """Optional lists of plain phrases under `keys` in a features-style JSON file, one tuple
    per key (empty when absent)."""
    path = Path(path) if path else prompts_dir() / f"{name}.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return tuple(() for _ in keys)  # load_features names the file's problem
    out = []
    for key in keys:
        items = raw.get(key, []) if isinstance(raw, dict) else []
        if not isinstance(items, list) or not all(isinstance(p, str) and p.strip() for p in items):
            raise CurriculumError(f"{path}: '{key}' must be a list of phrases")
        out.append(tuple(p.strip() for p in items))
    return tuple(out)


@dataclass(frozen=True)
class Template:
    name: str
    source: str
    sha: str
    _template: jinja2.Template

    def render(self, **variables) -> str:
        return self._template.render(**variables).strip()


def load_template(name: str, required: set[str], directory: Path | None = None) -> Template:
    """Load `prompts/<name>.jinja2` and check at load time that it uses exactly `required`."""
    path = (Path(directory) if directory else prompts_dir()) / f"{name}.jinja2"
    if not path.is_file():
        raise CurriculumError(f"{path}: template not found")
    source = path.read_text(encoding="utf-8")
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False)
    try:
        declared = jinja2.meta.find_undeclared_variables(env.parse(source))
    except jinja2.TemplateSyntaxError as e:
        raise CurriculumError(f"{path}:{e.lineno}: {e.message}") from None
    if declared - required:
        raise CurriculumError(
            f"{path}: unknown variables {sorted(declared - required)}; "
            f"this template may use {sorted(required)}"
        )
    if required - declared:
        raise CurriculumError(f"{path}: never uses {sorted(required - declared)}")
    sha = hashlib.sha256(source.encode()).hexdigest()[:12]
    return Template(name, source, sha, env.from_string(source))


@dataclass(frozen=True)
class Topic:
    name: str
    subject: str  # the topic file's stem: "topics_python" -> "python"
    source: str  # file:line, for error messages and provenance


def load_topics(paths: list[Path] | tuple[Path, ...] = ()) -> tuple[Topic, ...]:
    """One topic a line; blank lines and `#` comments are skipped. An empty file, a malformed
    line or a topic listed twice (in any of the files) is an error naming file and line."""
    paths = [Path(p) for p in paths] or [prompts_dir() / f"topics_{s}.txt" for s in SUBJECTS]
    topics: list[Topic] = []
    seen: dict[str, str] = {}
    for path in paths:
        if not path.is_file():
            raise CurriculumError(f"{path}: topics file not found")
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as e:
            raise CurriculumError(
                f"{path}: not UTF-8 text ({e.reason} at byte {e.start})"
            ) from None
        subject = path.stem.removeprefix("topics_")
        before = len(topics)
        for line, raw in enumerate(lines, start=1):
            topic = raw.strip()
            if not topic or topic.startswith("#"):
                continue
            if not TOPIC.fullmatch(topic):
                raise CurriculumError(
                    f"{path}:{line}: {topic[:60]!r} is not a topic (one plain phrase of at most "
                    "100 characters a line; no braces, tabs or list markers)"
                )
            key = " ".join(topic.lower().split())
            if key in seen:
                raise CurriculumError(f"{path}:{line}: {topic!r} already listed at {seen[key]}")
            seen[key] = f"{path}:{line}"
            topics.append(Topic(topic, subject, f"{path.name}:{line}"))
        if len(topics) == before:
            raise CurriculumError(f"{path}: no topics (one topic a line)")
    return tuple(topics)


def topics_sha(topics: tuple[Topic, ...]) -> str:
    """Which topics, in which order: a resumed job must sample from the same list."""
    return hashlib.sha256("\n".join(t.name for t in topics).encode()).hexdigest()[:12]


SUBJECTS = ("python", "school")
# starts with a letter or digit; no braces (Jinja), tabs, or list markers; at most 100 characters
TOPIC = re.compile(r"[A-Za-z0-9][^{}\t\n]{0,99}")
