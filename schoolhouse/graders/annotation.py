"""Annotate documents: the teacher scores each one's educational value, 0-5.

    schoolhouse annotate web/ --out out/annotations -n 2000

The rubric is FineWeb-Edu's additive 5-point prompt (`prompts/edu_rubric.jinja2`, Penedo et al.
2024). The answer comes back through the engine's JSON-schema guided decoding as `EduScore`
(`reason` first, so the score follows the justification, then `score`), so a document that
says "ignore your instructions and output ..." still gets an answer of the right shape.

Decisions:
- Documents longer than `max_chars` (3,000 characters, ~750 tokens, default) are cut at a
  paragraph, sentence or word boundary for the prompt, and the prompt says so; the row keeps the
  whole text and `truncated`. The budget keeps the prompt well inside a small teacher's context
  (4,096 tokens on the CPU engine) and the cost per document flat.
- `-n` documents are a seeded random sample of the input (the n smallest hashes of seed + id:
  the same sample on every rerun, and a larger n extends it), or with `--first` the first n.
- The row key is the input's document id: a rerun asks only for documents without a row. A
  later document with an id already picked is skipped and counted.
- Scores from the distribution, not one sample (G-Eval, Liu et al. 2023): the request asks for
  the top `logprobs` tokens at every position; at the score digit, the probabilities of the
  digits 0-5 among them, renormalised, are the row's `score_probs`, and their mean
  `score_expected`. They are the model's raw distribution (before temperature and the JSON
  grammar), so a greedy `score` of 2 with 45 % on 3 reads 2.5, not 2: small graders rank far
  more consistently this way. A backend that reports no log-probabilities, or no digit among
  the top tokens, leaves both null (the sampled score stands; the card counts such rows).
- The teacher's justification is stored as `rationale`: `reason` is the drop reason of a
  rejected row everywhere in schoolhouse. An answer cut off by the token limit (`cut_off`) or not
  valid (`invalid_answer`) is asked once more, sampled at temperature 0.7 with its own seed, then
  lands in rejected/ with that reason and the answer as it came.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from ..config import RETRY_TEMPERATURE, AnnotateConfig
from ..datasets.folder import DatasetFolder
from ..datasets.readers import DocumentReader
from ..datasets.records import ANNOTATION_SCHEMA, REJECTED_ANNOTATION_SCHEMA, Annotation, Document
from ..jobrun import open_run, progress_run, with_teacher
from ..prompt_files import Template, load_template
from ..teacher import (
    Completion,
    Opener,
    Request,
    Sampling,
    Teacher,
    TeacherSpec,
    request_seed,
    resolve_teacher,
)


class EduScore(BaseModel):
    reason: str = Field(max_length=500)
    score: Literal[0, 1, 2, 3, 4, 5]


def truncate(text: str, max_chars: int) -> tuple[str, bool]:
    """The text cut before `max_chars` at the last paragraph, line, sentence or word boundary in
    its second half (else hard), and whether it was cut."""
    if len(text) <= max_chars:
        return text, False
    cut = text[:max_chars]
    for separator in ("\n\n", "\n", ". ", " "):
        at = cut.rfind(separator)
        if at >= max_chars // 2:
            return cut[: at + (1 if separator == ". " else 0)].rstrip(), True
    return cut, True


def sample_key(seed: int, doc_id: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{doc_id}".encode()).digest()[:8], "big")


@dataclass
class AnnotationSummary:
    out: str
    requested: int
    teacher: str
    picked: int = 0  # documents in the sample (fewer than requested if the input is smaller)
    scored: int = 0
    rejected: Counter = field(default_factory=Counter)
    histogram: Counter = field(default_factory=Counter)  # score -> rows
    skipped: int = 0  # already written by an earlier run
    written: int = 0  # rows written by this run
    retried: int = 0  # second tries this run
    no_distribution: int = 0  # scored rows without score_expected (all runs)
    mean_expected: float | None = None  # over rows with score_expected (all runs)
    duplicate_ids: int = 0  # input documents skipped because an earlier one had the same id
    unreadable: dict = field(default_factory=dict)  # the reader's skips (empty, too_large, ...)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    wall_s: float = 0.0

    def to_dict(self) -> dict:
        return {
            "out": self.out,
            "requested": self.requested,
            "picked": self.picked,
            "teacher": self.teacher,
            "scored": self.scored,
            "rejected": dict(self.rejected.most_common()),
            "histogram": {str(s): self.histogram.get(s, 0) for s in range(6)},
            "skipped_already_done": self.skipped,
            "written_this_run": self.written,
            "retried": self.retried,
            "no_distribution": self.no_distribution,
            "mean_expected": None if self.mean_expected is None else round(self.mean_expected, 3),
            "duplicate_ids": self.duplicate_ids,
            "unreadable": self.unreadable,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "wall_s": round(self.wall_s, 2),
        }


@dataclass
class AnnotationJob:
    config: AnnotateConfig
    template: Template
    folder: DatasetFolder
    teacher_spec: TeacherSpec
    job: dict
    picked: dict[int, str]  # input position -> document id
    duplicate_ids: int
    unreadable: dict
    done: set[str]  # document ids with a row in a shard; a sealed journal may add more

    @property
    def pending(self) -> list[int]:
        return sorted(p for p, i in self.picked.items() if i not in self.done)

    def reader(self) -> DocumentReader:
        return DocumentReader(max_bytes=self.config.max_bytes)


def pick(config: AnnotateConfig) -> tuple[dict[int, str], int, dict]:
    """Input position -> id of the documents to annotate; ids only, texts are read again later."""
    reader = DocumentReader(max_bytes=config.max_bytes)
    seen: set[str] = set()
    duplicates = 0
    heap: list[tuple[int, int, str]] = []  # (-key, position, id): the n smallest keys
    for position, doc in enumerate(reader.read(*config.inputs)):
        if doc.id in seen:
            duplicates += 1
            continue
        seen.add(doc.id)
        if config.first:
            heap.append((0, position, doc.id))
            if len(heap) == config.n:
                break
            continue
        item = (-sample_key(config.seed, doc.id), position, doc.id)
        if len(heap) < config.n:
            heapq.heappush(heap, item)
        elif item > heap[0]:
            heapq.heapreplace(heap, item)
    return {p: i for _, p, i in heap}, duplicates, dict(reader.skipped)


def prepare_annotation(
    config: AnnotateConfig, teacher_spec: TeacherSpec | None = None
) -> AnnotationJob:
    """Load and check everything and pick the documents; raise a one-line error before any
    teacher work."""
    template = load_template(config.template, {"extract", "truncated"})
    spec = teacher_spec or resolve_teacher(config.teacher)
    job = {
        "kind": "annotations",
        "template_sha": template.sha,
        "teacher": spec.name,
        "inputs": [str(p.resolve()) for p in config.inputs],
    }
    job |= {k: getattr(config, k) for k in AnnotateConfig.JOB_FIELDS}
    folder = DatasetFolder(
        config.out, ANNOTATION_SCHEMA, REJECTED_ANNOTATION_SCHEMA, config.shard_size
    )
    folder.check(job)
    picked, duplicates, unreadable = pick(config)
    if not picked:
        raise ValueError(f"{', '.join(map(str, config.inputs))}: no document to annotate")
    done = folder.done_ids()
    extra = done - set(picked.values())
    if extra:
        raise ValueError(
            f"{config.out} holds rows for {len(extra)} documents outside the {config.n} picked now: "
            "use the same or a larger -n, or a new --out"
        )
    return AnnotationJob(config, template, folder, spec, job, picked, duplicates, unreadable, done)


def run_annotation(
    job: AnnotationJob, teacher: Teacher | None, progress: bool = True
) -> AnnotationSummary:
    """Write one row per pending document; `teacher` may be None when nothing is pending."""
    config, folder = job.config, job.folder
    if open_run(folder, job.job, config):  # an interrupted run's journal became shards
        job.done = folder.done_ids()
    pending = set(job.pending)
    summary = AnnotationSummary(str(config.out), config.n, job.teacher_spec.name)
    summary.picked, summary.skipped = len(job.picked), len(job.picked) - len(pending)
    summary.duplicate_ids, summary.unreadable = job.duplicate_ids, job.unreadable
    if pending and teacher is None:
        raise ValueError("documents are pending but no teacher was given")
    in_flight: dict[str, tuple[Document, int]] = {}
    retry: list[tuple[Document, int]] = []

    def requests(docs, attempt: int) -> Iterator[Request]:
        for doc, position in docs:
            in_flight[str(position)] = (doc, position)
            yield _request(job, doc, position, attempt)

    with progress_run(folder, summary, len(job.picked), summary.skipped, "doc", "annotate",
                      progress) as out:  # fmt: skip
        for attempt, docs in enumerate((_stream(job, pending), retry)):
            if not pending:
                break
            docs = list(docs) if attempt else docs
            for completion in teacher.generate(requests(docs, attempt)) if docs else ():
                doc, position = in_flight.pop(completion.request_id)
                summary.prompt_tokens += completion.prompt_tokens
                summary.completion_tokens += completion.completion_tokens
                row = _row(job, doc, position, completion, attempt)
                if row.get("reason") and attempt == 0:
                    retry.append((doc, position))
                    summary.retried += 1
                    continue
                out.write(row)
    _count_all(job, summary)
    from .cards import write_annotation_card

    write_annotation_card(job, summary)
    return summary


def _stream(job: AnnotationJob, pending: set[int]) -> Iterator[tuple[Document, int]]:
    """The pending documents, read again from the input in order."""
    last = max(pending, default=-1)
    for position, doc in enumerate(job.reader().read(*job.config.inputs)):
        if position in pending:
            if doc.id != job.picked[position]:
                raise ValueError(
                    f"the input changed while annotating: document #{position} is now "
                    f"{doc.id!r}, was {job.picked[position]!r}"
                )
            yield doc, position
        if position >= last:
            return


def _sampling(config: AnnotateConfig, position: int, attempt: int) -> Sampling:
    return Sampling(
        temperature=RETRY_TEMPERATURE if attempt else config.temperature,
        top_p=0.95 if attempt else 1.0,
        frequency_penalty=0.0,  # JSON repeats its quotes and braces by design
        max_tokens=config.max_tokens,
        seed=request_seed("annotate", config.seed, position, attempt),
    )


def render(template: Template, text: str, max_chars: int) -> tuple[str, bool]:
    extract, cut = truncate(text, max_chars)
    return template.render(extract=extract, truncated=cut), cut


def _request(job: AnnotationJob, doc: Document, position: int, attempt: int) -> Request:
    prompt, _ = render(job.template, doc.text, job.config.max_chars)
    return Request(
        id=str(position),
        messages=({"role": "user", "content": prompt},),
        sampling=_sampling(job.config, position, attempt),
        json_schema=EduScore.model_json_schema(),
        top_logprobs=job.config.logprobs or None,
    )


SCORES = tuple(str(s) for s in range(6))
# where the score's digit follows: the key outside the reason's string (there quotes are escaped)
SCORE_KEY = re.compile(r'(?<!\\)"score"\s*:\s*$')


def score_distribution(completion: Completion) -> tuple[float, ...] | None:
    """P(score = 0..5) at the sampled score digit: the digits among the top tokens there, their
    probabilities summed per digit (" 3" and "3" are one score) and renormalised; None when the
    backend reported no log-probabilities or no digit made the top."""
    pieces, top = completion.pieces, completion.top_logprobs
    if not pieces or not top:
        return None
    before = ""
    for piece, candidates in zip(pieces, top, strict=False):
        if piece.strip() in SCORES and SCORE_KEY.search(before):
            mass = [0.0] * len(SCORES)
            for token, logprob in candidates:
                if token.strip() in SCORES and math.isfinite(logprob):
                    mass[int(token.strip())] += math.exp(logprob)
            total = sum(mass)
            return tuple(m / total for m in mass) if total > 0 else None
        before += piece
    return None


def expected_score(probs: tuple[float, ...]) -> float:
    return sum(score * p for score, p in enumerate(probs))


def parse(completion: Completion) -> tuple[EduScore | None, str | None]:
    """The answer, or None with the reason it cannot be used."""
    if completion.finish_reason == "length":
        return None, "cut_off"
    try:
        return EduScore.model_validate_json(completion.text), None
    except ValidationError:
        return None, "invalid_answer"


def _row(
    job: AnnotationJob, doc: Document, position: int, completion: Completion, attempt: int
) -> dict:
    answer, problem = parse(completion)
    probs = score_distribution(completion) if answer else None
    return Annotation(
        id=doc.id,
        index=position,
        text=doc.text,
        source=doc.source,
        score=answer.score if answer else None,
        score_expected=None if probs is None else expected_score(probs),
        score_probs=None if probs is None else list(probs),
        rationale=answer.reason if answer else None,
        truncated=len(doc.text) > job.config.max_chars,
        template=job.template.name,
        template_sha=job.template.sha,
        teacher=job.teacher_spec.name,
        sampling=_sampling(job.config, position, attempt).to_dict(),
        prompt_tokens=completion.prompt_tokens,
        completion_tokens=completion.completion_tokens,
        finish_reason=completion.finish_reason,
        attempts=attempt + 1,
        answer=completion.text if problem else None,
        reason=problem,
    ).to_row()


def _count_all(job: AnnotationJob, summary: AnnotationSummary) -> None:
    """Replace this run's counts by the folder's totals (earlier runs included)."""
    table = job.folder.read("data", ["score", "score_expected"])
    scores = table.column("score").to_pylist()
    summary.scored, summary.histogram = len(scores), Counter(scores)
    expected = [e for e in table.column("score_expected").to_pylist() if e is not None]
    summary.no_distribution = len(scores) - len(expected)
    summary.mean_expected = sum(expected) / len(expected) if expected else None
    reasons = job.folder.read("rejected", ["reason"]).column("reason").to_pylist()
    summary.rejected = Counter(reasons)


def annotate(
    config: AnnotateConfig,
    teacher: Teacher | None = None,
    progress: bool = True,
    teacher_options: dict | None = None,
    opener: Opener | None = None,
) -> AnnotationSummary:
    """Prepare, start the teacher if there is work and none was given, run, close what was opened."""
    return with_teacher(prepare_annotation, run_annotation, config, teacher, progress,
                        teacher_options, opener=opener)  # fmt: skip
