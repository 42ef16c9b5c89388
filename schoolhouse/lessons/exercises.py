"""Exercises (phi-1 CodeExercises): a Python function to write, with signature, docstring,
solution and assert tests, kept only when its tests pass in the sandbox."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import ExercisesConfig
from ..datasets.records import EXERCISE_SCHEMA, REJECTED_EXERCISE_SCHEMA, CodeExercise
from ..prompt_files import load_template, load_topics, load_vocabulary, prompts_dir, topics_sha
from ..sandbox import mode_label, require_isolation
from .curriculum import ExerciseSampler
from .exercise_parser import parse_exercise


@dataclass
class ExercisesKind:
    sampler: ExerciseSampler
    verify_one: Any  # filters.exercise_filters pipeline (truncated, contaminated), or None
    timeout_s: float = 10.0
    workers: int = 2
    name: str = "exercises"
    unit: str = "exercise"
    adherence: str = "tests_pass"
    schema: Any = EXERCISE_SCHEMA
    rejected_schema: Any = REJECTED_EXERCISE_SCHEMA
    batch: int = 8  # answers run in the sandbox together, `workers` at a time
    sandbox_mode: str = "bwrap"  # or "guard": --unsafe-no-sandbox where bwrap cannot run

    @classmethod
    def load(cls, config: ExercisesConfig, verify) -> ExercisesKind:
        topics = load_topics(config.topics or [prompts_dir() / "topics_python.txt"])
        vocabulary = load_vocabulary(config.vocabulary)
        template = load_template(config.template, ExerciseSampler.REQUIRED)
        sampler = ExerciseSampler(topics, vocabulary, template, config.seed, config.n_words)
        # refuse before any teacher work when no sandbox can run and the user did not accept that
        mode = require_isolation(config.unsafe_no_sandbox)
        return cls(sampler, verify, config.timeout_s, config.workers, sandbox_mode=mode)

    def job_info(self) -> dict:
        info = {
            "topics": len(self.sampler.topics),
            "topics_sha": topics_sha(self.sampler.topics),
            "vocabulary_sha": self.sampler.vocabulary.sha[:12],
        }
        if self.sandbox_mode != "bwrap":  # rows checked without the kernel's sandbox
            info["sandbox"] = mode_label(self.sandbox_mode)
        return info

    def build(self, prompt, completion, base: dict) -> CodeExercise:
        record = CodeExercise(**base, topic=prompt.topic.name, words=list(prompt.words))
        parsed = parse_exercise(base["text"])
        if isinstance(parsed, str):
            record.reason = parsed  # unparseable, syntax_error, no_docstring, no_tests
        else:
            record.entry_point, record.signature = parsed.name, parsed.signature
            record.docstring, record.solution, record.tests = (
                parsed.docstring,
                parsed.solution,
                parsed.tests,
            )
        return record

    def verify(self, records: list[CodeExercise]) -> None:
        """Text filters first (truncated, contaminated), then the parse, then the sandbox; the
        sandbox runs every parsed answer so that adherence counts passing tests before filters."""
        from ..sandbox import run_many

        parsed = [r for r in records if r.solution is not None]
        results = run_many(
            [(r.solution, r.tests) for r in parsed],
            workers=self.workers,
            timeout_s=self.timeout_s,
            mode=self.sandbox_mode,
        )
        sandbox: dict[int, str | None] = {}
        for record, result in zip(parsed, results, strict=True):
            record.tests_passed = result.passed
            record.sandbox_detail = None if result.passed else (result.detail[:500] or None)
            sandbox[id(record)] = result.reason
        for record in records:
            record.reason = self.verify_one(record) or record.reason or sandbox.get(id(record))

    def sandbox_text(self) -> str:
        if self.sandbox_mode == "bwrap":
            return (
                f"{mode_label(self.sandbox_mode)}: {self.timeout_s:g} s CPU, unprivileged, "
                "no network, read-only file system"
            )
        return (
            f"{mode_label(self.sandbox_mode)}, {self.timeout_s:g} s CPU: run with "
            "--unsafe-no-sandbox, without the kernel's sandbox"
        )

    def rank(self, record: CodeExercise) -> tuple:
        return (bool(record.tests_passed), record.solution is not None)

    def adherent(self, record: CodeExercise) -> bool:
        return bool(record.tests_passed)

    def constraints(self, prompt) -> list[str]:
        return [
            f'is a Python exercise about "{prompt.topic.name}"',
            *(f'involves "{w}"' for w in prompt.words),
            "has one ```python block with a single function: a signature with type hints, a "
            "docstring stating the task, and a correct body",
            "has a second ```python block with at least three assert statements that call the "
            "function and would pass",
            "uses only the standard library and prints nothing",
        ]

    def write_card(self, job, summary) -> Path:
        from ..datasets.card import write_lesson_card

        return write_lesson_card(
            job,
            summary,
            title="Synthetic Python exercises (phi-1 CodeExercises style)",
            intro="Python exercises (a function signature and docstring to implement, a "
            "solution and assert tests) for training small code models, written by a local "
            "teacher model in the manner of phi-1's CodeExercises (Gunasekar et al. 2023) and "
            "kept only when their tests pass when run",
            prompt=f"each prompt samples one of {len(self.sampler.topics)} Python topics and "
            f"{self.sampler.n_words} random noun(s) to build the function around",
            checks="not truncated at the token limit, no 13-gram shared with HumanEval, "
            "parsed into one function with a docstring and assert tests, and the tests pass "
            f"in the sandbox ({self.sandbox_text()})",
            tags=["synthetic", "code", "exercises", "phi-1", "schoolhouse"],
            columns="`topic`, `words`, `entry_point`, `signature`, `docstring`, `solution`, "
            "`tests`, `tests_passed`, `sandbox_detail`",
        )
