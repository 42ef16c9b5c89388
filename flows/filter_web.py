"""Prefect flow: filter web text, as `schoolhouse filter`.

    python -m flows.filter_web web/ --out out/web-edu --classifier out/edu-clf      # local

The output folder appears only when a run finishes, so a retried task starts clean.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from prefect import flow, get_run_logger, task

from schoolhouse.config import WebFilterConfig
from schoolhouse.jobs import filter_web
from schoolhouse.webfilter import check_filter


@task
def check(config: WebFilterConfig) -> int:
    """Fail fast on bad input (output folder, steps, classifier, inputs); return input shards."""
    return len(check_filter(config))


@task(retries=1, retry_delay_seconds=30)
def run_filter(config: WebFilterConfig) -> dict:
    return filter_web(config, log=print).to_dict()


@flow(name="filter-web", log_prints=True)
def filter_web_flow(
    inputs: list[str],
    out: str = "out/web-edu",
    classifier: str | None = None,
    threshold: int = 3,
    dedup: str = "exact,minhash",
    decontaminate: str = "humaneval",
    heuristics: bool = True,
    rules: str = "fineweb",
    workers: int = 1,
) -> dict:
    config = WebFilterConfig(
        inputs=[Path(p) for p in inputs], out=Path(out), heuristics=heuristics, rules=rules,
        classifier=Path(classifier) if classifier else None, threshold=threshold, dedup=dedup,
        decontaminate=decontaminate, workers=workers,
    )  # fmt: skip
    logger = get_run_logger()
    logger.info("%d input shards", check(config))
    summary = run_filter(config)
    logger.info(
        "kept %d of %d; funnel %s", summary["kept"], summary["documents"], summary["funnel"]
    )
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the filter-web flow locally.")
    parser.add_argument("inputs", nargs="+", help="dataset folders, Parquet, JSONL or text folders")
    parser.add_argument("--out", default="out/web-edu", help="dataset folder")
    parser.add_argument("--classifier", help="model folder from `classifier train`")
    parser.add_argument("--workers", type=int, default=1, help="processes")
    args = parser.parse_args(argv)
    filter_web_flow(
        inputs=args.inputs, out=args.out, classifier=args.classifier, workers=args.workers
    )


if __name__ == "__main__":
    main()
