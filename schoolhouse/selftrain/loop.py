"""ReST-EM (Singh et al. 2023): the teacher learns from its own answers that a binary check accepts.

    schoolhouse selftrain exercises --teacher embedded-coder --out runs/rest-exercises \\
        --iterations 3 --samples 8 --problems 200 --eval humaneval
    schoolhouse generate exercises -n 500 --teacher runs/rest-exercises/iter-2

Per iteration i (1..I), with teacher T(i-1) (T0 = the base model):
  1. score T(i-1): HumanEval and held-out problems (`eval/iter-<i-1>/`);
  2. sample `--samples` answers per training problem at `--temperature` (`samples/iter-<i>/`);
     reward each with the task's check (tests pass in the sandbox; the story filters);
  3. keep at most `--cap` distinct rewarded answers per problem over every round so far, the
     newest first (the paper caps them so that easy problems do not dominate);
  4. fine-tune **the base model** on them (E-step data, M-step from base, as the paper does) and
     write T(i) as a model folder `iter-<i>/`.
Then T(I) is scored. Every step writes to its own folder and resumes: a killed run continues
where it stopped when rerun with the same command (and more `--iterations` extend it).
An iteration whose answers all fail stops the run with a message; the last good teacher stays.
`iterations.json` and `report.md` (a table and a plot) sum it up.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..config import SelfTrainConfig
from ..datasets.folder import write_atomic
from ..datasets.outdir import check_run, mark
from ..teacher import Opener, Sampling, Teacher, TeacherSpec, opened, resolve_teacher, settings_of
from . import sampling as rounds
from .finetune import MANIFEST, Example, Tuning, finetune_apart
from .tasks import Problem, held_out


class SelfTrainError(ValueError):
    """A run that cannot go on: its message says why and what to do."""


@dataclass
class Run:
    config: SelfTrainConfig
    task: object
    base: TeacherSpec
    train: list[Problem]
    held: list[Problem]
    timings: dict = field(default_factory=dict)
    opener: Opener | None = None  # handed in by the composition layer: Ray actors

    @property
    def out(self) -> Path:
        return self.config.out

    def teacher_at(self, i: int) -> TeacherSpec:
        if i == 0:
            return self.base
        return resolve_teacher(str(self.out / f"iter-{i}"))

    def trained(self, i: int) -> bool:
        return (self.out / f"iter-{i}" / MANIFEST).is_file()


def check_run_folder(config: SelfTrainConfig) -> None:
    """Refuse, naming the flag, a rerun on the same folder with other settings."""
    saved_file = config.out / "selftrain.json"
    saved = json.loads(saved_file.read_text()) if saved_file.is_file() else None
    check_run(config.out, "selftrain", config.job_fields(), saved, error=SelfTrainError)


def record_run(config: SelfTrainConfig) -> None:
    """Claim the folder for these settings, once they have been checked."""
    config.out.mkdir(parents=True, exist_ok=True)
    mark(config.out, "selftrain")
    job = json.dumps(config.job_fields(), indent=2, sort_keys=True)
    write_atomic(config.out / "selftrain.json", job)


def base_folder(spec: TeacherSpec) -> Path:
    """The base model's folder, which every iteration fine-tunes from."""
    if spec.kind == "embedded":
        from ..teacher.embedded import model_dir

        return model_dir(spec.target)
    if spec.kind == "folder":
        return Path(spec.target)
    raise SelfTrainError("--teacher: self-training fine-tunes the teacher's weights, so it must be "
                         "an embedded teacher or a model folder, not a server URL")  # fmt: skip


def selftrain(
    config: SelfTrainConfig,
    task_for: Callable[[SelfTrainConfig, Teacher | None], object],
    teacher: Teacher | None = None,
    progress: bool = True,
    train: Callable = finetune_apart,
    log: Callable[[str], None] = print,
    opener: Opener | None = None,
) -> dict:
    """Run (or resume) every iteration; the summary that `iterations.json` holds. `opener`
    opens each iteration's teacher where it is not this process (Ray actors)."""
    check_run_folder(config)
    base = resolve_teacher(config.teacher)
    if teacher is None:
        base_folder(base)  # a server URL fails here, before any work
    if config.exercises is not None and not (config.exercises / "data").is_dir():
        raise SelfTrainError(f"--exercises: {config.exercises} holds no kept exercises (no data/ "
                             "folder); make some with `schoolhouse generate exercises`")  # fmt: skip
    record_run(config)
    task = task_for(config, teacher)
    problems = task.problems()
    train_set = [p for p in problems if not held_out(p.id, config.held_out)]
    held = [p for p in problems if held_out(p.id, config.held_out)]
    if not train_set:
        raise SelfTrainError(f"no training problems: {len(problems)} problem(s), all held out; "
                             "raise --problems or lower --held-out")  # fmt: skip
    run = Run(config, task, base, train_set, held, _load_timings(config.out), opener)
    log(f"selftrain {task.name}: {len(train_set)} training problems, {len(held)} held out"
        + (f" (dropped: {task.dropped})" if any(task.dropped.values()) else ""))  # fmt: skip

    for i in range(1, config.iterations + 1):
        with _teacher(run, i - 1, teacher, need_samples=i) as current:
            evaluate(run, i - 1, current, progress)
            sample(run, i, current, progress)
        stats = rounds.count(_samples_dir(run, i))
        if stats["passed"] == 0:
            summarize(run)
            last = "the base model" if i == 1 else str(config.out / f"iter-{i - 1}")
            raise SelfTrainError(
                f"iteration {i}: none of the {stats['answers']} answers passed "
                f"({stats['failed']}); stopping. The last good teacher is {last}; try more "
                "--samples, a higher --temperature or easier problems"
            )
        if not run.trained(i):
            examples = training_set(run, i)
            log(f"iteration {i}: fine-tuning {config.method} on {len(examples)} answers")
            started = time.monotonic()
            train(
                base_folder(base),
                examples,
                config.out / f"iter-{i}",
                tuning(config),
                progress=progress,
                log=log,
            )
            _time(run, f"finetune-{i}", time.monotonic() - started)
        summarize(run)
    with _teacher(run, config.iterations, teacher, need_samples=None) as current:
        evaluate(run, config.iterations, current, progress)
    return summarize(run)


def tuning(config: SelfTrainConfig) -> Tuning:
    return Tuning(method=config.method, rank=config.rank, alpha=config.alpha, lr=config.lr,
                  epochs=config.epochs, batch=config.batch, max_length=config.max_length,
                  seed=config.seed)  # fmt: skip


def training_set(run: Run, i: int) -> list[Example]:
    """At most `--cap` distinct rewarded answers per problem over rounds 1..i, newest first."""
    by_problem: dict[str, list[dict]] = {}
    for j in range(i, 0, -1):
        for row in rounds.rewarded(_samples_dir(run, j)):
            by_problem.setdefault(row["problem_id"], []).append(row)
    messages = {p.id: p.messages for p in run.train}
    examples = []
    for problem_id in messages:  # training problems only: held-out ones are never learned
        if problem_id not in by_problem:
            continue
        seen: set[str] = set()
        for row in by_problem[problem_id]:
            key = " ".join(row["answer"].split())
            if key in seen:
                continue
            seen.add(key)
            examples.append(Example(messages[problem_id], row["answer"].strip()))
            if len(seen) >= run.config.cap:
                break
    return examples


def _samples_dir(run: Run, i: int) -> Path:
    return run.out / "samples" / f"iter-{i}"


def _eval_dir(run: Run, i: int) -> Path:
    return run.out / "eval" / f"iter-{i}"


class _teacher:
    """The teacher of iteration `i`, opened only when its scoring or sampling has work left."""

    def __init__(self, run: Run, i: int, given: Teacher | None, need_samples: int | None):
        self.run, self.i, self.given, self.need_samples = run, i, given, need_samples

    def __enter__(self):
        run, i = self.run, self.i
        pending = _eval_pending(run, i) or (
            self.need_samples is not None and _round(run, self.need_samples).pending(
                _done(_samples_dir(run, self.need_samples))))  # fmt: skip
        self.context = opened(
            run.teacher_at(i),
            settings_of(run.config, max_model_len=4096),
            given=self.given,
            needed=bool(pending),
            opener=run.opener,
        )
        return self.context.__enter__()

    def __exit__(self, *exc):
        return self.context.__exit__(*exc)


def _done(folder: Path) -> set[str]:
    from ..datasets.folder import DatasetFolder

    if not folder.exists():
        return set()
    return DatasetFolder(folder, rounds.SCHEMA, rounds.REJECTED_SCHEMA).done_ids()


def _round(run: Run, i: int) -> rounds.Round:
    c = run.config
    return rounds.Round(_samples_dir(run, i), run.task, run.train, run.teacher_at(i - 1).name,
                        i, c.samples, run.task.round_sampling(), c.source, c.seed, c.shard_size,
                        label=f"round {i}: T{i - 1} answers")  # fmt: skip


def _held_round(run: Run, i: int) -> rounds.Round:
    c = run.config
    problem = run.held[0] if run.held else None
    sampling = run.task.eval_sampling(problem) if problem else Sampling()
    return rounds.Round(_eval_dir(run, i) / "held-out", run.task, run.held,
                        run.teacher_at(i).name, i, 1, sampling, "direct", c.seed, c.shard_size,
                        kind="selftrain-held-out", label=f"T{i} held-out")  # fmt: skip


def _humaneval_configs(run: Run, i: int) -> list:
    """Greedy pass@1, and pass@k from `--eval-samples` answers at temperature 0.8."""
    from ..config import HumanEvalConfig

    c = run.config
    if c.eval != "humaneval":
        return []
    common = {"teacher": c.teacher, "problems": c.eval_problems, "timeout_s": c.timeout_s,
              "workers": c.workers, "unsafe_no_sandbox": c.unsafe_no_sandbox,
              "max_tokens": max(c.max_tokens, 512), "kv_cache_gib": c.kv_cache_gib}  # fmt: skip
    configs = [HumanEvalConfig(out=_eval_dir(run, i) / "humaneval", **common)]
    if c.eval_samples > 1:
        configs.append(HumanEvalConfig(out=_eval_dir(run, i) / "humaneval-k", samples=c.eval_samples,
                                       temperature=0.8, **common))  # fmt: skip
    return configs


def _eval_pending(run: Run, i: int) -> bool:
    if run.held and len(_done(_eval_dir(run, i) / "held-out")) < len(run.held):
        return True
    from ..graders.humaneval import problems

    return any(_done_humaneval(c.out) < len(problems(c.problems)) * c.samples
               for c in _humaneval_configs(run, i))  # fmt: skip


def _done_humaneval(folder: Path) -> int:
    from ..datasets.folder import DatasetFolder
    from ..graders.humaneval import REJECTED_SCHEMA, SCHEMA

    return len(DatasetFolder(folder, SCHEMA, REJECTED_SCHEMA).done_ids()) if folder.exists() else 0


def evaluate(run: Run, i: int, teacher: Teacher | None, progress: bool) -> None:
    """Score teacher i on held-out problems and, for exercises, HumanEval."""
    started = time.monotonic()
    worked = False
    if run.held:
        r = _held_round(run, i)
        if len(_done(r.out)) < len(run.held):
            rounds.run_round(r, teacher, progress)
            worked = True
    for config in _humaneval_configs(run, i):
        from ..graders import humaneval

        job = humaneval.prepare(config, run.teacher_at(i))
        if job.pending or not (job.folder.root / "results.json").exists():
            humaneval.run(job, teacher, progress)
            worked = True
    if worked:
        _time(run, f"eval-{i}", time.monotonic() - started)


def sample(run: Run, i: int, teacher: Teacher | None, progress: bool) -> None:
    r = _round(run, i)
    if r.pending(_done(r.out)):
        started = time.monotonic()
        rounds.run_round(r, teacher, progress)
        _time(run, f"sample-{i}", time.monotonic() - started)


def _load_timings(out: Path) -> dict:
    try:
        return json.loads((out / "timings.json").read_text())
    except (OSError, ValueError):
        return {}


def _time(run: Run, key: str, seconds: float) -> None:
    run.timings[key] = round(run.timings.get(key, 0.0) + seconds, 1)
    write_atomic(run.out / "timings.json", json.dumps(run.timings, indent=2))


def summarize(run: Run) -> dict:
    """iterations.json and report.md from what the folders hold now."""
    iterations = []
    for i in range(0, run.config.iterations + 1):
        entry: dict = {"iteration": i, "teacher": run.teacher_at(i).name if i == 0 or run.trained(i)
                       else None}  # fmt: skip
        if i > 0 and _samples_dir(run, i).exists():
            entry["samples"] = rounds.count(_samples_dir(run, i))
            entry["train_examples"] = len(training_set(run, i))
        if i > 0 and run.trained(i):
            stats = json.loads((run.out / f"iter-{i}" / MANIFEST).read_text())
            entry["finetune"] = {k: stats.get(k) for k in ("examples", "steps", "answer_tokens",
                                 "loss_first", "loss_last", "train_s", "tokens_per_s", "device")}  # fmt: skip
        held_dir = _eval_dir(run, i) / "held-out"
        if held_dir.exists():
            entry["held_out"] = rounds.count(held_dir)
        for name in ("humaneval", "humaneval-k"):
            results = _eval_dir(run, i) / name / "results.json"
            if results.exists():
                he = json.loads(results.read_text())
                scores = {f"{k} (sampled)" if name == "humaneval-k" else k: v
                          for k, v in he["pass_at_k"].items()}  # fmt: skip
                entry.setdefault("humaneval", {"problems": he["problems"]}).update(scores)
        entry["wall_s"] = {k.split("-")[0]: v for k, v in run.timings.items()
                           if k.endswith(f"-{i}")}  # fmt: skip
        if entry.get("teacher") is None and len(entry) <= 3:
            continue
        iterations.append(entry)
    summary = {"task": run.task.name, "base": run.base.name, "out": str(run.out),
               "settings": run.config.job_fields(), "train_problems": len(run.train),
               "held_out_problems": len(run.held), "iterations": iterations}  # fmt: skip
    write_atomic(run.out / "iterations.json", json.dumps(summary, indent=2))
    from ..report.selftrain import write_report

    write_report(run.out, summary)
    return summary
