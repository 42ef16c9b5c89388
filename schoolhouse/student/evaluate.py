"""Evaluate a student: validation loss and perplexity, samples, and the teacher's GPT-Eval.

    schoolhouse sample runs/tiny --prompt "Once upon a time, a little dog"
    schoolhouse evaluate runs/tiny --n 50

GPT-Eval (Eldan & Li 2023): the student completes the beginning of a held-out story; the teacher
reads both and grades grammar, creativity and consistency (1–10) and guesses the writer's age
group. The grade comes back through the engine's JSON-schema guided decoding, so it always has
the right shape; an answer cut off by the token limit is counted as unparsed, never guessed.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from ..datasets.folder import write_atomic
from ..teacher import Request, Sampling, Teacher, opened
from . import checkpoint as ckpt
from .config import GPT_EVAL_PROMPTS, EvaluateConfig
from .tokenizer import Tokenizer

CONTROLS = 3  # beginnings whose real and shuffled endings the grader also grades
AGE_GROUPS = ("A: 3 or under", "B: 4-5", "C: 6-7", "D: 8-9", "E: 10-12", "F: 13-16")
Score = Literal[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]


class Grade(BaseModel):
    assessment: str = Field(max_length=600)
    grammar: Score
    creativity: Score
    consistency: Score
    age_group: Literal["A", "B", "C", "D", "E", "F"]


class Student:
    """A trained run loaded for inference, on CPU unless told otherwise."""

    def __init__(self, run: Path, device: str = "cpu"):
        import torch

        from .model import ModelArgs, Transformer

        self.run = Path(run)
        state = ckpt.load(self.run, map_location=device)
        self.state = state
        self.tokenizer = Tokenizer.from_str(state["tokenizer"])
        self.model = Transformer(ModelArgs(**state["model_args"])).to(device)
        self.model.load_state_dict(state["model"])
        self.model.eval()
        self.device = device
        self.torch = torch

    def complete(
        self, prompt: str, max_new_tokens: int = 200, temperature: float = 0.0,
        top_k: int | None = 50, seed: int = 0,
    ) -> str:  # fmt: skip
        """The student's continuation of `prompt` (greedy at temperature 0)."""
        torch = self.torch
        ids = [self.tokenizer.eot, *self.tokenizer.encode(prompt)]
        idx = torch.tensor([ids], dtype=torch.long, device=self.device)
        gen = torch.Generator(device=self.device).manual_seed(seed)
        out = self.model.generate(
            idx, max_new_tokens, temperature, top_k, stop=self.tokenizer.eot, generator=gen
        )
        return self.tokenizer.decode(out[0, len(ids) :].tolist())

    def bits_per_byte(self, texts: list[str]) -> tuple[float, int]:
        """The student's loss on `texts`, in bits per UTF-8 byte of the text, and the bytes
        read: unlike loss per token it does not depend on the tokenizer, so students whose
        tokenizers were trained on different data compare. Each text is read from its start
        (after the end-of-text token) in windows of the model's context, each window seeing
        the one before it as far back as the context allows (half a context of overlap)."""
        torch = self.torch
        F = torch.nn.functional
        ctx = self.model.args.max_seq_len
        stride = max(1, ctx // 2)
        nats, nbytes = 0.0, 0
        with torch.no_grad():
            for text in texts:
                ids = [self.tokenizer.eot, *self.tokenizer.encode(text)]
                nbytes += len(text.encode("utf-8"))
                scored = 1  # ids[:scored] have been predicted (the first is given)
                while scored < len(ids):
                    end = min(len(ids), scored + stride)
                    start = max(0, end - ctx - 1)
                    window = torch.tensor([ids[start:end]], device=self.device)
                    logits, _ = self.model(window[:, :-1])
                    new = end - scored  # the targets not yet scored: the window's last ones
                    nats += F.cross_entropy(
                        logits[0, -new:].float(), window[0, -new:], reduction="sum"
                    ).item()
                    scored = end
        return (nats / math.log(2) / nbytes if nbytes else float("nan")), nbytes

    def val_loss(self, max_windows: int = 256) -> tuple[float, int]:
        """Mean loss over the run's validation split (the same windows training reported)."""
        from contextlib import nullcontext

        from .data import Tokens, eval_windows
        from .train import evaluate_loss

        seq_len = self.state["full_config"]["seq_len"]
        val = Tokens(
            self.run / "val.bin", "uint16" if self.tokenizer.vocab_size <= 2**16 else "uint32"
        )
        windows = eval_windows(val.array(), seq_len, max_windows)
        loss = evaluate_loss(self.model, windows, nullcontext(), self.device, 16)
        return loss, int(windows[0].size)


def story_splits(run: Path, n: int, seed: int = 0) -> list[tuple[str, str]]:
    """`n` held-out stories cut mid-sentence after ~40 % of their words, as in TinyStories:
    (beginning, the story's own rest)."""
    path = Path(run) / "heldout.jsonl"
    if not path.is_file():
        raise ckpt.CheckpointError(f"{run}: no heldout.jsonl (it is written by pretrain)")
    texts = [json.loads(line)["text"] for line in path.read_text().splitlines() if line.strip()]
    splits = cut_texts(texts, n, seed)
    if not splits:
        raise ckpt.CheckpointError(f"{path}: no held-out story of at least 20 words to begin from")
    return splits


def cut_texts(
    texts: list[str], n: int, seed: int = 0, *, max_beginning: int | None = None,
    max_rest: int | None = None,
) -> list[tuple[str, str]]:  # fmt: skip
    """`n` of `texts` (of at least 20 words, a seeded sample) cut after ~40 % of their words,
    the beginning at most `max_beginning` words and the rest at most `max_rest`: documents are
    longer than stories, and a student's completion is a few hundred tokens."""
    texts = [t for t in texts if len(t.split()) >= 20]
    picked = random.Random(seed).sample(texts, min(n, len(texts)))
    out = []
    for text in picked:
        words = text.split()
        cut = min(max(8, int(0.4 * len(words))), max_beginning or len(words))
        rest = words[cut:][:max_rest] if max_rest else words[cut:]
        out.append((" ".join(words[:cut]), " ".join(rest)))
    return out


def story_beginnings(run: Path, n: int, seed: int = 0) -> list[str]:
    return [beginning for beginning, _ in story_splits(run, n, seed)]


def controls(splits: list[tuple[str, str]], k: int, seed: int) -> dict[str, list[tuple[str, str]]]:
    """The grader's own check, on the first `k` beginnings: the story's real ending (a grader
    worth reading grades it high) and the same words shuffled (it must grade them low)."""
    rng = random.Random(seed)
    real = [(b, rest) for b, rest in splits[:k] if rest.strip()]
    shuffled = []
    for b, rest in real:
        words = rest.split()
        rng.shuffle(words)
        shuffled.append((b, " ".join(words)))
    return {"real_ending": real, "shuffled_words": shuffled}


def grader_check(
    teacher: Teacher, splits: list[tuple[str, str]], seed: int = 0, *,
    template: str = "gpt_eval", k: int = CONTROLS,
) -> dict:  # fmt: skip
    """Grade the real endings and the shuffled words of the first `k` splits: `controls` (mean
    grade of the three, per kind) and `grader_discriminates` (real endings a point above)."""
    from ..prompt_files import load_template

    checks = controls(splits, min(k, len(splits)), seed)
    asked = {f"{name}:{i}": pair for name, pairs in checks.items() for i, pair in enumerate(pairs)}
    graded, _ = _grade(teacher, load_template(template, {"beginning", "completion"}), asked, seed)
    means = {}
    for name in checks:
        got = [g for key, g in graded.items() if key.startswith(f"{name}:")]
        means[name] = (sum((g.grammar + g.creativity + g.consistency) / 3 for g in got) / len(got)
                       if got else None)  # fmt: skip
    real, noise = means.get("real_ending"), means.get("shuffled_words")
    return {
        "controls": means,
        "grader_discriminates": None if real is None or noise is None else real - noise >= 1.0,
    }


def gpt_eval(
    student: Student, teacher: Teacher, n: int = GPT_EVAL_PROMPTS, *, max_new_tokens: int = 200,
    temperature: float = 0.8, seed: int = 0, progress: bool = False,
    splits: list[tuple[str, str]] | None = None, template: str = "gpt_eval",
    check_grader: bool = True,
) -> dict:  # fmt: skip
    """The student completes `n` beginnings (its own held-out stories, or `splits` given) and
    the grader grades each completion; `check_grader` also grades the controls (`grader_check`)."""
    from ..prompt_files import load_template

    prompt = load_template(template, {"beginning", "completion"})
    splits = story_splits(student.run, n, seed) if splits is None else splits[:n]
    beginnings = [b for b, _ in splits]
    completions = [
        student.complete(b, max_new_tokens, temperature, seed=seed + i)
        for i, b in enumerate(beginnings)
    ]
    asked = {str(i): (b, c) for i, (b, c) in enumerate(zip(beginnings, completions, strict=True))}
    graded, failed = _grade(teacher, prompt, asked, seed)
    grades = {int(k): g for k, g in graded.items()}
    failures = Counter(failed.values())
    check = (grader_check(teacher, splits, seed, template=template) if check_grader
             else {"controls": None, "grader_discriminates": None})  # fmt: skip

    def mean(key: str) -> float | None:
        values = [getattr(g, key) for g in grades.values()]
        return sum(values) / len(values) if values else None

    ages = Counter(g.age_group for g in grades.values())
    top_age = ages.most_common(1)[0][0] if ages else None
    return {
        "teacher": teacher.name,
        "template": template,
        "template_sha": prompt.sha,
        "prompts": len(beginnings),
        "graded": len(grades),
        "unparsed": len(beginnings) - len(grades),
        "unparsed_reasons": dict(failures),
        "grammar": mean("grammar"),
        "creativity": mean("creativity"),
        "consistency": mean("consistency"),
        "age_group": next((a for a in AGE_GROUPS if a[0] == top_age), None),
        "age_groups": dict(sorted(ages.items())),
        "sampling": {"max_new_tokens": max_new_tokens, "temperature": temperature, "seed": seed},
        # the grader's check: mean grade (of the three) of real endings and shuffled ones
        **check,
        "examples": [
            {"beginning": beginnings[i], "completion": completions[i]}
            | grades[i].model_dump(exclude={"assessment"})
            | {"assessment": grades[i].assessment}
            for i in sorted(grades)[:5]
        ],
    }


def _grade(
    teacher: Teacher, template, asked: dict[str, tuple[str, str]], seed: int
) -> tuple[dict[str, Grade], dict[str, str]]:
    """Grade every (beginning, completion): grades by request id, and why each ungraded
    request's answers could not be used. A greedy grade first; an answer cut off or off-schema
    gets one sampled second try."""
    schema = Grade.model_json_schema()
    prompts = {k: template.render(beginning=b, completion=c) for k, (b, c) in asked.items()}
    grades: dict[str, Grade] = {}
    failed: dict[str, str] = {}
    for attempt, temperature in enumerate((0.0, 0.7)):
        todo = [k for k in prompts if k not in grades]
        if not todo:
            break
        requests = [
            Request(
                id=k,
                messages=({"role": "user", "content": prompts[k]},),
                sampling=Sampling(
                    temperature=temperature, frequency_penalty=0.0, max_tokens=400,
                    seed=seed + attempt,
                ),
                json_schema=schema,
            )
            for k in todo
        ]  # fmt: skip
        for done in teacher.generate(requests):
            if done.finish_reason != "stop":
                failed[done.request_id] = "cut_off"
                continue
            try:
                grades[done.request_id] = Grade.model_validate_json(done.text)
                failed.pop(done.request_id, None)
            except ValidationError:
                failed[done.request_id] = "invalid"
    return grades, failed


# (id, text, kind) items -> {id: sense 0-1}: the sense judge (`graders/sense`), handed in
Judge = Callable[[list[tuple[str, str, str]]], dict[str, float]]
SENSE_MARGIN = 0.2  # real endings must read this much more sensible than shuffled ones


def sense_eval(
    student: Student, judge: Judge, n: int = GPT_EVAL_PROMPTS, *, max_new_tokens: int = 200,
    temperature: float = 0.8, seed: int = 0,
) -> dict:  # fmt: skip
    """The student completes `n` held-out beginnings and the sense judge reads each whole story
    (beginning + completion). Its control: the same beginnings with their real endings, and with
    the real endings' words shuffled; the judge is trusted (`judge_discriminates`) only when the
    real endings read at least SENSE_MARGIN above the shuffled ones and above them in most pairs."""
    splits = story_splits(student.run, n, seed)
    completions = [
        student.complete(b, max_new_tokens, temperature, seed=seed + i)
        for i, (b, _) in enumerate(splits)
    ]
    checks = controls(splits, len(splits), seed)
    items = [(f"student:{i}", f"{b} {c}", "story") for i, ((b, _), c) in
             enumerate(zip(splits, completions, strict=True))]  # fmt: skip
    for name, pairs in checks.items():
        items += [(f"{name}:{i}", f"{b} {rest}", "story") for i, (b, rest) in enumerate(pairs)]
    scores = judge(items)

    def mean(prefix: str) -> float | None:
        got = [v for k, v in scores.items() if k.startswith(prefix + ":") and v is not None]
        return sum(got) / len(got) if got else None

    real, noise = mean("real_ending"), mean("shuffled_words")
    pairs = [(scores.get(f"real_ending:{i}"), scores.get(f"shuffled_words:{i}"))
             for i in range(len(checks["real_ending"]))]  # fmt: skip
    wins = sum(1 for a, b in pairs if a is not None and b is not None and a > b)
    return {
        "prompts": len(splits),
        "student": mean("student"),
        "real_ending": real,
        "shuffled_words": noise,
        "control_wins": f"{wins}/{len(pairs)}",
        "judge_discriminates": None
        if real is None or noise is None
        else (real - noise >= SENSE_MARGIN and wins >= 0.75 * len(pairs)),
        "sampling": {"max_new_tokens": max_new_tokens, "temperature": temperature, "seed": seed},
        "examples": [
            {"beginning": b, "completion": c, "sense": scores.get(f"student:{i}")}
            for i, ((b, _), c) in enumerate(zip(splits[:5], completions, strict=False))
        ],
    }


def evaluate(
    run: Path, teacher: Teacher | None, n: int = GPT_EVAL_PROMPTS, *, val_windows: int = 256,
    judge: Judge | None = None, **options,
) -> dict:  # fmt: skip
    """Validation loss and perplexity, then GPT-Eval when a teacher is given and the sense
    evaluation when a judge is; saved in the run."""
    from .report import write_run_report

    student = Student(run)
    loss, tokens = student.val_loss(val_windows)
    result = {
        "step": student.state["step"],
        "val_loss": loss,
        "perplexity": math.exp(loss),
        "val_tokens": tokens,
        "gpt_eval": gpt_eval(student, teacher, n, **options) if teacher is not None else None,
        "sense_eval": sense_eval(
            student,
            judge,
            n,
            **{k: v for k, v in options.items() if k in ("max_new_tokens", "temperature", "seed")},
        )
        if judge is not None
        else None,
    }
    write_atomic(Path(run) / "eval.json", json.dumps(result, indent=2))
    write_run_report(Path(run))
    return result


def evaluate_run(config: EvaluateConfig) -> dict:
    """`schoolhouse evaluate`: `evaluate` with the config's settings, its grader opened for
    GPT-Eval (none under --teacher none or -n 0) and closed after."""
    with opened(config.teacher, needed=config.teacher != "none" and config.n > 0) as grader:
        return evaluate(
            config.run, grader, config.n, val_windows=config.val_windows,
            max_new_tokens=config.max_new_tokens, temperature=config.temperature, seed=config.seed,
        )  # fmt: skip
