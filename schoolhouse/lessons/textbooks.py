"""Textbooks (phi-1.5, Cosmopedia): a topic x audience x style lesson with a few random words."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import TextbooksConfig
from ..datasets.records import REJECTED_TEXTBOOK_SCHEMA, TEXTBOOK_SCHEMA, Textbook
from ..prompt_files import load_features, load_template, load_topics, load_vocabulary, topics_sha
from ..teacher.steering import SteeringArgs, request_args, row_steering, word_sources
from ..text import words_used
from .curriculum import TextbookSampler


@dataclass
class TextbooksKind:
    sampler: TextbookSampler
    verify_one: Any  # filters.textbook_filters pipeline, or None to only prepare
    name: str = "textbooks"
    unit: str = "lesson"
    adherence: str = "all_words"
    schema: Any = TEXTBOOK_SCHEMA
    rejected_schema: Any = REJECTED_TEXTBOOK_SCHEMA
    batch: int = 1
    config: TextbooksConfig | None = None

    @classmethod
    def load(cls, config: TextbooksConfig, verify) -> TextbooksKind:
        topics = load_topics(config.topics)
        audiences = load_features(config.audiences, "audiences")
        styles = load_features(config.styles, "styles")
        vocabulary = load_vocabulary(config.vocabulary)
        template = load_template(config.template, TextbookSampler.REQUIRED)
        sampler = TextbookSampler(
            topics, audiences, styles, vocabulary, template, config.seed, config.n_words
        )
        return cls(sampler, verify, config=config)

    def steering(self, prompt) -> SteeringArgs | None:
        if self.config is None:  # a kind built by hand, without a job config
            return None
        return request_args(self.config, [(w, None) for w in prompt.words])

    def job_info(self) -> dict:
        s = self.sampler
        return {
            "topics": len(s.topics),
            "topics_sha": topics_sha(s.topics),
            "subjects": sorted({t.subject for t in s.topics}),
            "audiences": [a.name for a in s.audiences],
            "styles": [x.name for x in s.styles],
            "vocabulary_sha": s.vocabulary.sha[:12],
        }

    def build(self, prompt, completion, base: dict) -> Textbook:
        args = self.steering(prompt)
        return Textbook(
            steering=row_steering(self.config, args) if args else None,
            word_sources=word_sources(args, completion, self.config.max_tokens) if args else [],
            **base,
            topic=prompt.topic.name,
            subject=prompt.topic.subject,
            audience=prompt.audience.name,
            style=prompt.style.name,
            words=list(prompt.words),
            words_used=words_used(base["text"], {str(i): w for i, w in enumerate(prompt.words)}),
        )

    def verify(self, records: list[Textbook]) -> None:
        for record in records:
            record.reason = self.verify_one(record)

    def rank(self, record: Textbook) -> tuple:
        return (len(record.words_used), record.completion_tokens)

    def adherent(self, record: Textbook) -> bool:
        return len(record.words_used) == len(record.words)

    def constraints(self, prompt) -> list[str]:
        return [
            f'teaches the topic "{prompt.topic.name}" correctly and in depth',
            f"is written for {prompt.audience.instruction}",
            f"is {prompt.style.instruction}",
            *(f'uses the word "{w}"' for w in prompt.words),
            "contains only the text itself, with no notes to the reader",
        ]

    def write_card(self, job, summary) -> Path:
        from ..datasets.card import write_lesson_card

        s = self.sampler
        subjects = ", ".join(sorted({t.subject for t in s.topics}))
        return write_lesson_card(
            job,
            summary,
            title="Synthetic textbooks (phi-1.5 / Cosmopedia style)",
            intro="lessons for training small language models, written by a local teacher model "
            "for a sampled topic, audience and style (phi-1.5, Li et al. 2023; Cosmopedia, "
            "Ben Allal et al. 2024), then verified",
            prompt=f"each prompt samples one of {len(s.topics)} topics ({subjects}), one of "
            f"{len(s.audiences)} audiences ({', '.join(a.name for a in s.audiences)}), one of "
            f"{len(s.styles)} styles ({', '.join(x.name for x in s.styles)}) and "
            f"{s.n_words} random vocabulary words",
            checks=f"not truncated at the token limit, at least {job.config.min_tokens} completion "
            "tokens (Cosmopedia), no degenerate repetition (Gopher thresholds), no 13-gram shared "
            "with HumanEval"
            + (
                "; every Python block runs, in order, in the sandbox and prints the output the "
                "text shows (`code_fails`)"
                if job.config.run_code
                else ""
            ),
            tags=["synthetic", "textbooks", "cosmopedia", "schoolhouse"],
            columns="`topic`, `subject`, `audience`, `style`, `words`, `words_used`",
        )
