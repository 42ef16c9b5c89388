"""`schoolhouse judge`: a sense score for every row of any input, written as a dataset folder.

    schoolhouse judge out/stories --out out/stories-judged
    schoolhouse judge rows.jsonl --out out/judged --judge http://host:8000/v1

Inputs are dataset folders (their kept rows; `--rejected` adds the rejected ones) and JSON Lines
or Parquet files with `id`, `text` and optionally `kind`. A row's kind is its own `kind` column,
else `--kind`, else its dataset folder's job (stories -> story, textbooks -> textbook), else
`web`. Every input row ends as one row with the same id: judged in `data/`, or in `rejected/`
when the judge gave nothing to read (`no_reading`). Rows are written per batch of `--batch`
texts, and a rerun judges only the ids without a row.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ...config import JudgeConfig
from ...datasets.folder import DatasetFolder
from ...datasets.readers import DocumentReader
from ...datasets.records import JUDGEMENT_SCHEMA, REJECTED_JUDGEMENT_SCHEMA, Judgement
from ...jobrun import open_run, progress_run, with_teacher
from ...teacher import Opener, Teacher, TeacherSpec, resolve_teacher
from . import FEATURES, KINDS, SenseJudge, Verdict, weights_for

FOLDER_KINDS = {"stories": "story", "textbooks": "textbook"}


@dataclass
class JudgeSummary:
    out: str
    judge: str
    method: str = ""
    rows: int = 0  # input rows (unique ids)
    judged: int = 0
    rejected: Counter = field(default_factory=Counter)
    skipped: int = 0  # already written by an earlier run
    written: int = 0
    duplicate_ids: int = 0
    by_kind: dict = field(default_factory=dict)  # kind -> {"rows", "mean", "below"}
    threshold: float | None = None
    prompt_tokens: int = 0
    wall_s: float = 0.0

    def to_dict(self) -> dict:
        return {
            "out": self.out,
            "judge": self.judge,
            "method": self.method,
            "rows": self.rows,
            "judged": self.judged,
            "rejected": dict(self.rejected.most_common()),
            "skipped_already_done": self.skipped,
            "written_this_run": self.written,
            "duplicate_ids": self.duplicate_ids,
            "by_kind": self.by_kind,
            "threshold": self.threshold,
            "prompt_tokens": self.prompt_tokens,
            "wall_s": round(self.wall_s, 2),
            "docs_per_s": round(self.written / self.wall_s, 3) if self.wall_s else None,
        }


@dataclass
class JudgeJob:
    config: JudgeConfig
    folder: DatasetFolder
    teacher_spec: TeacherSpec
    job: dict
    ids: list[str]  # every input row's id, in input order (first of each id)
    duplicate_ids: int
    done: set[str]

    @property
    def pending(self) -> list[str]:
        return [i for i in self.ids if i not in self.done]


def input_rows(config: JudgeConfig) -> Iterator[tuple[str, str, str, str]]:
    """(id, text, kind, source) of every input row, in order."""
    reader = DocumentReader(max_bytes=config.max_bytes)
    for path in config.inputs:
        path = Path(path)
        if not path.exists():
            raise ValueError(f"{path}: no such file or folder")
        folder_kind = _folder_kind(path)
        sources = [path]
        if path.is_dir() and config.rejected and (path / "rejected").is_dir():
            sources += sorted((path / "rejected").glob("*.parquet"))
        for source in sources:
            for doc in reader.read(source):
                kind = doc.metadata.get("kind")
                if kind is None:
                    kind = config.kind if config.kind != "auto" else folder_kind or "web"
                if kind not in KINDS:
                    where = doc.metadata.get("line", doc.metadata.get("row"))
                    raise ValueError(
                        f"{doc.source}, row {where}: kind {kind!r} is not one of {', '.join(KINDS)}"
                    )
                yield doc.id, doc.text, kind, doc.source


def _folder_kind(path: Path) -> str | None:
    job = path / ".schoolhouse" / "job.json"
    if path.is_dir() and job.is_file():
        try:
            return FOLDER_KINDS.get(json.loads(job.read_text()).get("kind"))
        except (OSError, ValueError):
            return None
    return None


def prepare_judging(config: JudgeConfig, teacher_spec: TeacherSpec | None = None) -> JudgeJob:
    """Check the inputs, the folder and the judge; a one-line error before any engine starts."""
    spec = teacher_spec or resolve_teacher(config.judge)
    weights = weights_for(spec.name)
    job = {
        "kind": "judgements",
        "judge": spec.name,
        "weights": hashlib.sha256(json.dumps(weights, sort_keys=True).encode()).hexdigest()[:12],
        "inputs": [str(Path(p).resolve()) for p in config.inputs],
    }
    job |= {k: getattr(config, k) for k in JudgeConfig.JOB_FIELDS}
    folder = DatasetFolder(config.out, JUDGEMENT_SCHEMA, REJECTED_JUDGEMENT_SCHEMA,
                           config.shard_size)  # fmt: skip
    folder.check(job)
    seen: set[str] = set()
    ids, duplicates = [], 0
    for row_id, *_ in input_rows(config):
        if row_id in seen:
            duplicates += 1
            continue
        seen.add(row_id)
        ids.append(row_id)
    if not ids:
        raise ValueError(f"{', '.join(map(str, config.inputs))}: no text to judge")
    return JudgeJob(config, folder, spec, job, ids, duplicates, folder.done_ids())


def run_judging(job: JudgeJob, teacher: Teacher | None, progress: bool = True) -> JudgeSummary:
    config, folder = job.config, job.folder
    if open_run(folder, job.job, config):
        job.done = folder.done_ids()
    pending = set(job.pending)
    summary = JudgeSummary(str(config.out), job.teacher_spec.name, rows=len(job.ids))
    summary.skipped, summary.duplicate_ids = len(job.ids) - len(pending), job.duplicate_ids
    if pending and teacher is None:
        raise ValueError("rows are pending but no judge was given")
    judge = SenseJudge.load(teacher) if teacher is not None else None
    with progress_run(folder, summary, len(job.ids), summary.skipped, "doc", "judge",
                      progress) as out:  # fmt: skip
        batch: list[tuple] = []
        position = {row_id: n for n, row_id in enumerate(job.ids)}

        def flush() -> None:
            for (row_id, text, kind, source), verdict in judge.judge(batch):
                row = _row(job, judge, row_id, position[row_id], text, kind, source, verdict)
                summary.prompt_tokens += verdict.features.get("prompt_tokens", 0)
                out.write(row, f"sense {verdict.sense:.2f}" if verdict.sense is not None else None)
            batch.clear()

        for row_id, text, kind, source in input_rows(config):
            if row_id not in pending:
                continue
            pending.discard(row_id)  # a later duplicate id is skipped
            batch.append((row_id, text, kind, source))
            if len(batch) >= config.batch:
                flush()
        if batch:
            flush()
    _count_all(job, summary)
    from .card import write_judge_card

    write_judge_card(job, summary)
    return summary


def _row(job, judge, row_id, index, text, kind, source, verdict: Verdict) -> dict:
    f = verdict.features
    return Judgement(
        id=row_id,
        index=index,
        text=text,
        kind=kind,
        source=source,
        sense=verdict.sense,
        sense_method=verdict.method,
        **{name: f.get(name) for name in FEATURES if name != "tokens"},
        tokens=f.get("tokens", 0),
        cut=bool(f.get("cut")),
        judge=job.teacher_spec.name,
        template_sha=judge.template_sha,
        prompt_tokens=f.get("prompt_tokens", 0),
        reason=None if verdict.sense is not None else "no_reading",
    ).to_row()


def _count_all(job: JudgeJob, summary: JudgeSummary) -> None:
    table = job.folder.read("data", ["kind", "sense", "sense_method"])
    kinds, senses = table.column("kind").to_pylist(), table.column("sense").to_pylist()
    methods = Counter(table.column("sense_method").to_pylist())
    weights = weights_for(job.teacher_spec.name)
    summary.threshold = float(weights["threshold"]) if weights else 0.5
    summary.method = ", ".join(f"{m} ({n})" for m, n in methods.most_common())
    summary.judged = len(senses)
    for kind in sorted(set(kinds)):
        values = [s for k, s in zip(kinds, senses, strict=True) if k == kind]
        summary.by_kind[kind] = {
            "rows": len(values),
            "mean": round(sum(values) / len(values), 4),
            "below_threshold": sum(v < summary.threshold for v in values),
        }
    reasons = job.folder.read("rejected", ["reason"]).column("reason").to_pylist()
    summary.rejected = Counter(reasons)


def judge_rows(
    config: JudgeConfig,
    teacher: Teacher | None = None,
    progress: bool = True,
    teacher_options: dict | None = None,
    opener: Opener | None = None,
) -> JudgeSummary:
    """Prepare, start the judge if there is work and none was given, run, close what was opened."""
    from . import JUDGE_ENGINE

    options = JUDGE_ENGINE | (teacher_options or {})
    return with_teacher(
        prepare_judging, run_judging, config, teacher, progress, options, opener=opener
    )
