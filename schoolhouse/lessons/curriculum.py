"""What the teacher is asked to teach: the samplers that turn the prompt files (read and checked
in `schoolhouse.prompt_files`) into prompts for stories, textbooks and exercises.

A sampler is a pure function of (seed, index): the same seed gives the same prompts, in any
order, so a resumed run asks for exactly the prompts it had not finished.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..prompt_files import POS, Feature, Template, Topic, Vocabulary


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


@dataclass(frozen=True)
class LessonPrompt:
    """A textbook or exercise prompt and everything sampled for it."""

    index: int
    text: str
    topic: Topic
    words: tuple[str, ...]
    audience: Feature | None = None
    style: Feature | None = None


class TextbookSampler:
    """phi-1.5 / Cosmopedia prompts: topic x audience x style, plus a few random words for
    diversity (phi-1.5 constrains topics and vocabulary; Cosmopedia varies audience and style)."""

    REQUIRED = {"topic", "audience", "style", "words"}

    def __init__(self, topics, audiences, styles, vocabulary, template, seed, n_words=3):
        self.topics, self.audiences, self.styles = topics, audiences, styles
        self.vocabulary, self.template, self.seed, self.n_words = (
            vocabulary,
            template,
            seed,
            n_words,
        )
        self._words = sorted({w for ws in vocabulary.words.values() for w in ws})

    def sample(self, index: int) -> LessonPrompt:
        rng = random.Random(f"{self.seed}:{index}")
        topic = rng.choice(self.topics)
        audience, style = rng.choice(self.audiences), rng.choice(self.styles)
        words = tuple(rng.sample(self._words, self.n_words))
        text = self.template.render(
            topic=topic.name,
            audience=audience.instruction,
            style=style.instruction,
            words=list(words),
        )
        return LessonPrompt(index, text, topic, words, audience, style)


class ExerciseSampler:
    """phi-1 CodeExercises prompts: a Python topic and a word to build the function around (phi-1
    made its exercises diverse by constraining function names and topics)."""

    REQUIRED = {"topic", "words"}

    def __init__(self, topics, vocabulary, template, seed, n_words=1):
        self.topics, self.vocabulary, self.template = topics, vocabulary, template
        self.seed, self.n_words = seed, n_words
        self._words = vocabulary.words["noun"]

    def sample(self, index: int) -> LessonPrompt:
        rng = random.Random(f"{self.seed}:{index}")
        topic = rng.choice(self.topics)
        words = tuple(rng.sample(self._words, self.n_words))
        text = self.template.render(topic=topic.name, words=list(words))
        return LessonPrompt(index, text, topic, words)
