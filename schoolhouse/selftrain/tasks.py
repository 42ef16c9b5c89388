"""What self-training learns to do: problems, the binary reward, and how a teacher is scored.

- `ExercisesTask`: the problems are Python exercises the teacher wrote (`generate exercises`,
  kept rows: their tests passed). A problem is asked the way HumanEval asks: the function's
  signature and docstring, "write the whole function". The reward is 1 when the exercise's own
  tests pass on the answer in the sandbox. Rows that share a 13-gram with HumanEval were already
  dropped by the exercise filters; problems whose function name or docstring matches a
  HumanEval problem are dropped here too. The score is HumanEval (`graders/humaneval.py`) plus
  greedy pass@1 on held-out exercises.
- `StoriesTask`: the problems are story prompts from the story sampler (no steering); the reward
  is 1 when the story passes the generation filters (its three words, length, repetition,
  language...). The score is adherence (all three words) and kept rate on held-out prompts.
"""

from __future__ import annotations

import ast
import hashlib
import textwrap
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ..graders.humaneval import INSTRUCTION as HUMANEVAL_STYLE  # asked as HumanEval asks
from ..teacher import Completion, Sampling


@dataclass(frozen=True)
class Problem:
    id: str  # stable across runs: the source row's id, or the story prompt's index
    messages: tuple[dict, ...]  # what the teacher is asked
    payload: Any  # what the reward needs: the exercise's row, the story prompt

    @property
    def check(self) -> str:
        """What decides the reward beyond the prompt (an exercise's tests), for the folder's job."""
        return self.payload["tests"] if isinstance(self.payload, dict) else ""


@dataclass(frozen=True)
class Reward:
    passed: bool
    reason: str | None = None  # why not, as the sandbox or the filters say
    detail: str | None = None


def held_out(problem_id: str, share: float) -> bool:
    """A fixed share of problems, chosen by hash, is never trained on."""
    h = int.from_bytes(hashlib.sha256(problem_id.encode()).digest()[:8], "big")
    return h / 2**64 < share


def exercise_prompt(row: dict) -> str:
    """The problem as HumanEval states one: the solution's imports, the signature, the docstring."""
    imports = [line for line in row["solution"].splitlines()
               if line.startswith(("import ", "from "))]  # fmt: skip
    doc = textwrap.indent(f'"""{row["docstring"]}\n"""', "    ")
    return "\n".join([*imports, *([""] if imports else []), row["signature"], doc]) + "\n"


def tests_for_entry_point(solution: str, tests: str, entry_point: str) -> str | None:
    """The test statements that a program holding only the entry point can run: those using a
    name the solution defines besides it (a second function, a constant) are left out, since
    the problem shows the entry point alone. None when no assert on the entry point is left."""
    try:
        defined = {
            n.name
            for n in ast.parse(solution).body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        }
        defined |= {t.id for n in ast.parse(solution).body if isinstance(n, ast.Assign)
                    for t in n.targets if isinstance(t, ast.Name)}  # fmt: skip
        statements = ast.parse(tests).body
    except SyntaxError:
        return None
    other = defined - {entry_point}
    kept = []
    for statement in statements:
        used = {n.id for n in ast.walk(statement) if isinstance(n, ast.Name)}
        if used & other:
            continue
        kept.append(statement)
    calls = [s for s in kept if isinstance(s, ast.Assert)
             and entry_point in {n.id for n in ast.walk(s) if isinstance(n, ast.Name)}]  # fmt: skip
    if not calls:
        return None
    return "\n".join(ast.unparse(s) for s in kept) + "\n"


class ExercisesTask:
    name = "exercises"
    metric = "tests_pass"

    def __init__(self, rows: list[dict], config):
        from ..graders.humaneval import problems as humaneval_problems

        benchmark = humaneval_problems()
        names = {p["entry_point"] for p in benchmark}
        self.config = config
        self.dropped: dict[str, int] = {"same_name_as_humaneval": 0, "duplicate": 0,
                                        "tests_need_other_code": 0}  # fmt: skip
        seen: set[str] = set()
        kept = []
        for row in rows:
            if row["entry_point"] in names:
                self.dropped["same_name_as_humaneval"] += 1
                continue
            tests = tests_for_entry_point(row["solution"], row["tests"], row["entry_point"])
            if tests is None:
                self.dropped["tests_need_other_code"] += 1
                continue
            row = row | {"tests": tests}
            keys = {" ".join(row["docstring"].split()).lower(), f"def {row['entry_point']}"}
            if keys & seen:  # the same docstring, or a function of the same name again
                self.dropped["duplicate"] += 1
                continue
            seen |= keys
            kept.append(row)
        self.rows = kept

    def problems(self) -> list[Problem]:
        return [
            Problem(row["id"],
                    ({"role": "user", "content": HUMANEVAL_STYLE.format(prompt=exercise_prompt(row))},),
                    row)
            for row in self.rows
        ]  # fmt: skip

    def constraints(self, problem: Problem) -> list[str]:
        row = problem.payload
        return [
            f"defines `{row['entry_point']}` with the signature given, in one ```python block",
            "does exactly what the docstring says, for every input it describes, edge cases too",
            "uses only the standard library and prints nothing",
        ]

    def reward(self, pairs: list[tuple[Problem, Completion]]) -> list[Reward]:
        from ..graders.humaneval import solution_of
        from ..sandbox import run_many

        programs = []
        for problem, completion in pairs:
            row = problem.payload
            stub = {"prompt": exercise_prompt(row), "entry_point": row["entry_point"]}
            programs.append((solution_of(stub, completion.text), row["tests"]))
        results = run_many(programs, workers=self.config.workers, timeout_s=self.config.timeout_s,
                           unsafe_no_sandbox=self.config.unsafe_no_sandbox)  # fmt: skip
        return [Reward(r.passed, None if r.passed else r.reason, (r.detail or "")[:1000] or None)
                for r in results]  # fmt: skip

    def round_sampling(self) -> Sampling:
        c = self.config
        return Sampling(temperature=c.temperature, top_p=c.top_p, frequency_penalty=0.0,
                        max_tokens=c.max_tokens)  # fmt: skip

    def eval_sampling(self, problem: Problem) -> Sampling:
        return Sampling(temperature=0.0, top_p=1.0, frequency_penalty=0.0,
                        max_tokens=self.config.max_tokens, seed=0)  # fmt: skip


class StoriesTask:
    name = "stories"
    metric = "kept"

    def __init__(self, kind, stories_config, config):
        self.kind, self.stories_config, self.config = kind, stories_config, config
        self.dropped: dict[str, int] = {}

    def problems(self, start: int, count: int) -> list[Problem]:
        found = []
        for index in range(start, start + count):
            prompt = self.kind.sampler.sample(index)
            found.append(Problem(f"story-{self.stories_config.seed}-{index}",
                                 ({"role": "user", "content": prompt.text},), prompt))  # fmt: skip
        return found

    def constraints(self, problem: Problem) -> list[str]:
        return self.kind.constraints(problem.payload)

    def reward(self, pairs: list[tuple[Problem, Completion]]) -> list[Reward]:
        """Each story built and checked as `generate stories` checks it."""
        from ..lessons.generation import _build

        job = SimpleNamespace(config=SimpleNamespace(seed=self.stories_config.seed, best_of=1),
                              sampler=self.kind.sampler, teacher_spec=SimpleNamespace(name=""),
                              kind=self.kind)  # fmt: skip
        sampling = self.stories_config.sampling()
        records = [_build(job, p.payload, c, sampling, None) for p, c in pairs]
        self.kind.verify(records)
        return [Reward(r.reason is None, r.reason, f"words used: {', '.join(r.words_used) or 'none'}")
                for r in records]  # fmt: skip

    def adherent(self, problem: Problem, text: str) -> bool:
        from ..text import words_used

        return len(words_used(text, problem.payload.words)) == len(problem.payload.words)

    def round_sampling(self) -> Sampling:
        """As `generate stories` samples (its penalties), at the run's temperature."""
        return self.stories_config.sampling()

    def eval_sampling(self, problem: Problem) -> Sampling:
        return self.stories_config.sampling()


def exercise_rows(folder: Path) -> list[dict]:
    """The kept rows of a `generate exercises` folder, in index order."""
    from ..datasets.folder import DatasetFolder
    from ..datasets.records import EXERCISE_SCHEMA, REJECTED_EXERCISE_SCHEMA

    if not (Path(folder) / "data").is_dir():
        raise ValueError(f"--exercises: {folder} holds no kept exercises (no data/ folder); "
                         "make some with `schoolhouse generate exercises`")  # fmt: skip
    table = DatasetFolder(folder, EXERCISE_SCHEMA, REJECTED_EXERCISE_SCHEMA).read("data")
    rows = sorted(table.to_pylist(), key=lambda r: r["index"])
    return [r for r in rows if r.get("tests_passed") and r.get("solution") and r.get("tests")]
