"""Prefect flow: the teacher scores documents for educational value, as `schoolhouse annotate`.

    python -m flows.annotate web/ --n 200 --out out/annotations      # local, no server needed

A failed teacher is retried by re-running the task: annotation resumes from what is on disk.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from prefect import flow, get_run_logger, task

from schoolhouse.annotation import annotate, prepare_annotation
from schoolhouse.config import AnnotateConfig
from schoolhouse.teacher import TeacherError


def is_teacher_error(task, task_run, state) -> bool:
    return isinstance(state.data, TeacherError)


@task
def check(config: AnnotateConfig) -> int:
    """Fail fast on bad input (template, folder, inputs, teacher spec); return documents left."""
    return len(prepare_annotation(config).pending)


@task(retries=3, retry_delay_seconds=[10, 30, 90], retry_condition_fn=is_teacher_error)
def score(config: AnnotateConfig) -> dict:
    return annotate(config, progress=False).to_dict()


@flow(name="annotate", log_prints=True)
def annotate_flow(
    inputs: list[str],
    n: int = 2000,
    out: str = "out/annotations",
    teacher: str = "embedded",
    options: dict | None = None,
) -> dict:
    """`options` sets any other AnnotateConfig field (seed, first, max_chars, ...)."""
    config = AnnotateConfig(
        inputs=[Path(p) for p in inputs], n=n, out=Path(out), teacher=teacher, **(options or {})
    )
    logger = get_run_logger()
    logger.info("%d documents to score into %s", check(config), out)
    summary = score(config)
    logger.info("scored %d, rejected %s, histogram %s",
                summary["scored"], summary["rejected"], summary["histogram"])  # fmt: skip
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the annotate flow locally.")
    parser.add_argument("inputs", nargs="+", help="dataset folders, Parquet, JSONL or text folders")
    parser.add_argument("--n", type=int, default=2000, help="documents to score")
    parser.add_argument("--out", default="out/annotations", help="dataset folder")
    parser.add_argument("--teacher", default="embedded", help="'embedded', a folder, or URL(s)")
    args = parser.parse_args(argv)
    annotate_flow(inputs=args.inputs, n=args.n, out=args.out, teacher=args.teacher)


if __name__ == "__main__":
    main()
