"""Prefect flow: filter web text, as `schoolhouse filter`.

    python -m flows.filter_web web/ --out out/web-edu --classifier out/edu-clf      # local
    python -m flows.filter_web --help                                               # options

The output folder appears only when a run finishes, so a retried task starts clean.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task

from flows.options import build, command, on_runner
from schoolhouse.config import WebFilterConfig
from schoolhouse.graders.webfilter import check_filter
from schoolhouse.jobs import JOBS


@task
def check(config: WebFilterConfig) -> int:
    """Fail fast on bad input (output folder, steps, classifier, inputs); return input shards."""
    return len(check_filter(config))


@task(retries=1, retry_delay_seconds=30)
def run_filter(config: WebFilterConfig) -> dict:
    return JOBS["filter"].run(config, log=print).to_dict()


@flow(name="filter-web", log_prints=True)
def filter_web_flow(
    inputs: list[str],
    out: str,
    classifier: str | None = None,
    threshold: int | None = None,
    dedup: str | None = None,
    decontaminate: str | None = None,
    heuristics: bool | None = None,
    rules: str | None = None,
    workers: int | None = None,
    options: dict | None = None,
) -> dict:
    """Tasks are submitted to the flow's task runner (prefect-ray's under `--runner ray`).
    None takes WebFilterConfig's default (no heuristics, no dedup: name the steps you want);
    `options` sets any other field (max_bytes, shard_size, license)."""
    config = build(
        WebFilterConfig, options, inputs=[Path(p) for p in inputs], out=Path(out),
        classifier=Path(classifier) if classifier else None, threshold=threshold, dedup=dedup,
        decontaminate=decontaminate, heuristics=heuristics, rules=rules, workers=workers,
    )  # fmt: skip
    logger = get_run_logger()
    logger.info("%d input shards", check.submit(config).result())
    summary = run_filter.submit(config).result()
    logger.info(
        "kept %d of %d; funnel %s", summary["kept"], summary["documents"], summary["funnel"]
    )
    return summary


def main(argv: list[str] | None = None) -> None:
    """`python -m flows.filter_web`: the options of `schoolhouse filter`, then the flow."""

    def run(config: WebFilterConfig, values: dict) -> None:
        flow = on_runner(filter_web_flow, config.runner)
        inputs, out = [str(p) for p in values.pop("inputs")], str(values.pop("out"))
        flow(inputs=inputs, out=out, options=values)

    job = JOBS["filter"]
    command(job.config, run, "filter-web", job.short, argv, arguments="inputs")


if __name__ == "__main__":
    main()
