"""Stories (TinyStories): one noun, verb and adjective plus story features per prompt."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import StoriesConfig
from ..datasets.records import REJECTED_STORY_SCHEMA, STORY_SCHEMA, Story
from ..prompt_files import load_features, load_phrases, load_template, load_vocabulary
from ..teacher.steering import SteeringArgs, request_args, row_steering, word_sources
from ..text import words_used
from .curriculum import StorySampler


@dataclass
class StoriesKind:
    sampler: StorySampler
    verify_one: Any  # the filter pipeline (filters.story_filters), or None to only prepare
    name: str = "stories"
    unit: str = "story"
    adherence: str = "all_words"
    schema: Any = STORY_SCHEMA
    rejected_schema: Any = REJECTED_STORY_SCHEMA
    batch: int = 1
    config: StoriesConfig | None = None
    avoid: tuple[str, ...] = ()  # stock openings, kept out when a prompt asks for another
    never_start: tuple[str, ...] = ()  # a chat model's preambles ("Sure", "Title"), never first
    ban: tuple[str, ...] = ()  # talk about the task ("The story ends"), never written

    @classmethod
    def load(cls, config: StoriesConfig, verify) -> StoriesKind:
        vocabulary = load_vocabulary(config.vocabulary)
        features = load_features(config.features)
        openings = load_features(config.openings, "openings") if config.vary_openings else ()
        template = load_template(config.template, StorySampler.REQUIRED)
        sampler = StorySampler(
            vocabulary, features, template, config.seed, config.max_features, openings
        )
        avoid, never, ban = load_phrases(
            config.steering_phrases, ("avoid_start", "never_start", "never_write"), "steering"
        )
        return cls(sampler, verify, config=config, avoid=avoid, never_start=never, ban=ban)

    def steering(self, prompt) -> SteeringArgs | None:
        if self.config is None:  # a kind built by hand, without a job config
            return None
        avoid = (*self.never_start, *(self.avoid if prompt.opening else ()))
        words = [(w, pos) for pos, w in prompt.words.items()]
        return request_args(self.config, words, avoid, self.ban)

    def job_info(self) -> dict:
        return {
            "vocabulary_sha": self.sampler.vocabulary.sha[:12],
            "features": [f.name for f in self.sampler.features],
            "openings": [f.name for f in self.sampler.openings],
        } | ({"steering_phrases": self.phrases_sha()} if self.config and self.config.steer else {})

    def phrases_sha(self) -> str:
        import hashlib

        text = "\n".join(["|".join(self.avoid), "|".join(self.never_start), "|".join(self.ban)])
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def build(self, prompt, completion, base: dict) -> Story:
        args = self.steering(prompt)
        return Story(
            steering=row_steering(self.config, args) if args else None,
            word_sources=word_sources(args, completion, self.config.max_tokens) if args else [],
            **base,
            words=dict(prompt.words),
            features=[f.name for f in prompt.features],
            opening=prompt.opening.name if prompt.opening else None,
            words_used=words_used(base["text"], prompt.words),
        )

    def verify(self, records: list[Story]) -> None:
        for story in records:
            story.reason = self.verify_one(story)

    def rank(self, story: Story) -> tuple:
        return (len(story.words_used),)

    def adherent(self, story: Story) -> bool:
        return len(story.words_used) == len(story.words)

    def constraints(self, prompt) -> list[str]:
        return [
            *(f'uses the {pos} "{word}"' for pos, word in prompt.words.items()),
            *(f.instruction for f in prompt.features),
            *([prompt.opening.instruction] if prompt.opening else []),
            "uses only very simple words a 3 year old would understand",
            "is a story of 3 to 5 paragraphs, and nothing else",
        ]

    def write_card(self, job, summary) -> Path:
        from ..datasets.card import write_story_card

        return write_story_card(job, summary)
