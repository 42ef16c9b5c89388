"""What the teacher is asked to teach: the child vocabulary, story features, templates, sampler.

The sampler is a pure function of (seed, index): the same seed gives the same prompts, in any
order, so a resumed run asks for exactly the prompts it had not finished.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import jinja2
import jinja2.meta

POS = ("noun", "verb", "adjective")


class CurriculumError(ValueError):
    """A vocabulary, feature or template file that cannot be used; the message names file and line."""


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
class StoryPrompt:
    index: int
    words: dict[str, str]
    features: tuple[Feature, ...]
    text: str
    opening: Feature | None = None


class StorySampler:
    """TinyStories prompts: one noun, verb and adjective, plus a random subset of features.

    Beyond the paper, a prompt may also name how the story opens: 59 % of TinyStories open with
    "Once upon a time", which a student then learns as the only way to begin.
    """

    REQUIRED = {"noun", "verb", "adjective", "features", "opening"}

    def __init__(
        self,
        vocabulary: Vocabulary,
        features: tuple[Feature, ...],
        template: Template,
        seed: int,
        max_features: int = 2,
        openings: tuple[Feature, ...] = (),
    ):
        self.vocabulary, self.features, self.template = vocabulary, features, template
        self.seed, self.max_features, self.openings = seed, max_features, openings

    def sample(self, index: int) -> StoryPrompt:
        rng = random.Random(f"{self.seed}:{index}")
        words = {pos: rng.choice(self.vocabulary.words[pos]) for pos in POS}
        k = rng.randint(0, min(self.max_features, len(self.features)))
        chosen = tuple(sorted(rng.sample(self.features, k), key=self.features.index))
        opening = rng.choice((None, *self.openings))  # None: the teacher opens as it likes
        text = self.template.render(
            **words,
            features=[f.instruction for f in chosen],
            opening=opening.instruction if opening else "",
        )
        return StoryPrompt(index, words, chosen, text, opening)
