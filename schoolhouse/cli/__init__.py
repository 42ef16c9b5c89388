"""The `schoolhouse` command.

schoolhouse generate stories -n 200 --seed 7 --out out/stories
schoolhouse generate textbooks -n 500 --out out/textbooks
schoolhouse generate exercises -n 500 --out out/exercises --teacher embedded-coder
schoolhouse teacher serve --port 8000
schoolhouse annotate web/ --out out/annotations -n 2000
schoolhouse classifier train --annotations out/annotations --out out/edu-clf
schoolhouse filter web/ --out out/web-edu --heuristics --classifier out/edu-clf --dedup exact,minhash
schoolhouse pipeline --web web/ --out out/pipeline
schoolhouse sandbox check solution.py tests.py
schoolhouse selftrain exercises --out runs/rest-exercises --iterations 2
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import click

from ..jobs import JOBS, LESSON_KINDS
from ..options import USER_ERRORS, build_config, config_options, fail, publish_options
from ..teacher.embedded import EMBEDDED_HELP


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="schoolhouse")
def main() -> None:
    """Synthetic textbooks for small language models: a teacher writes, graders keep, a student learns."""
    # A scheduler stops jobs with SIGTERM (Prefect cancel, docker stop, systemd): unwind like
    # Ctrl-C so an in-process engine is shut down instead of orphaned with its memory and cores.
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


@main.group()
def generate() -> None:
    """Write a synthetic dataset with the teacher."""


def _generate(kind: str, values: dict, progress: bool, json_summary: bool) -> None:
    job = JOBS[kind]
    config = build_config(job.config, values, job.short)
    try:
        summary = job.run(config, progress=progress)
    except USER_ERRORS as e:
        fail(str(e))
    except KeyboardInterrupt:
        fail(
            f"interrupted; finished rows are saved in {config.out}: rerun the same command to resume"
        )
    if json_summary:
        click.echo(json.dumps(summary.to_dict()))
    else:
        click.echo(format_summary(summary))


def run_options(fn):
    fn = click.option(
        "--json-summary", is_flag=True, help="print the summary as one JSON line on stdout"
    )(fn)
    return click.option(
        "--progress/--no-progress", default=True, show_default=True, help="show a progress bar"
    )(fn)


def _lesson_command(kind: str) -> click.Command:
    """`generate KIND`: its options from the job's config type, its help the job's, its run
    looked up in `JOBS` when it runs."""
    job = JOBS[kind]

    def command(progress: bool, json_summary: bool, **values) -> None:
        _generate(kind, values, progress, json_summary)

    command.__doc__ = job.help
    command.__name__ = f"generate_{kind}_cmd"
    return generate.command(kind)(config_options(job.config, job.short)(run_options(command)))


for _kind in LESSON_KINDS:  # one `generate KIND` command per lesson kind
    _lesson_command(_kind)


def format_summary(summary) -> str:
    d = summary.to_dict()
    total = summary.kept + sum(summary.rejected.values())
    lines = [
        f"\n{d['out']}: {summary.kept} kept, {sum(summary.rejected.values())} rejected "
        f"of {total} prompts (requested {summary.requested})"
    ]
    for reason, count in summary.rejected.most_common():
        lines.append(f"  rejected {reason:<24} {count:>6}")
    if summary.skipped:
        lines.append(
            f"  resumed: {summary.skipped} rows were already written, {summary.written} written now"
        )
    lines.append(f"  teacher   {summary.teacher}")
    lines.append(
        f"  tokens    {summary.prompt_tokens:,} prompt, {summary.completion_tokens:,} "
        f"completion in {summary.wall_s:.1f} s ({summary.tok_s:.0f} output tok/s)"
    )
    label = f"adherence_{summary.adherence_label}"
    if d[label] is not None:
        what = {"all_words": "used all required words", "tests_pass": "passed their tests"}
        lines.append(
            f"  adherence {100 * d[label]:.1f} % of completions "
            f"{what.get(summary.adherence_label, summary.adherence_label)} (before filtering)"
        )
    if summary.written and d["kept_per_minute"] is not None:
        per_kept = d["tokens_per_kept"]
        lines.append(
            f"  yield     {d['kept_per_minute']:.2f} kept per minute, "
            + (f"{per_kept:,} completion tokens per kept row" if per_kept else "none kept")
        )
    if d.get("steering"):
        shares = [(k, d[f"words_{k}"]) for k in ("free", "steered", "forced", "missing")]
        lines.append(
            f"  steering  {d['steering']}; required words "
            + ", ".join(f"{k} {100 * v:.0f} %" for k, v in shares if v is not None)
        )
    return "\n".join(lines)


@main.command("publish")
@publish_options
def publish_cmd(
    folder: Path, repo: str, private: bool, revision: str | None, retries: int, backoff: float
) -> None:
    """Publish a finished dataset folder to the Hugging Face Hub as one commit.

    The token comes from HF_TOKEN or the login cache. A rerun after an interrupted upload
    finishes it without duplicating files; the private resume state is never uploaded.
    """
    from ..datasets.publish import publish

    try:
        url = publish(
            folder,
            repo,
            private=private,
            revision=revision,
            retries=retries,
            backoff=backoff,
            log=lambda m: click.echo(m, err=True),
        )
    except USER_ERRORS as e:
        fail(f"{e}; nothing was published" if "Publish" in type(e).__name__ else str(e))
    except Exception as e:  # the Hub's own errors after retries: say so, and how to resume
        from ..datasets.publish import redact

        first = (str(e).splitlines() or [type(e).__name__])[0]
        fail(f"publishing failed ({redact(first)}); rerun the same command to finish")
    click.echo(url)


@main.command("report")
@click.argument("folders", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("out/report.html"),
    show_default=True,
    help="HTML file to write",
)
def report_cmd(folders: tuple[Path, ...], out: Path) -> None:
    """Write a self-contained HTML report with plots over one or more dataset folders."""
    from ..report import write_report

    try:
        click.echo(write_report(list(folders), out))
    except USER_ERRORS as e:
        fail(str(e))


@main.group()
def teacher() -> None:
    """Prepare, serve or benchmark a teacher model."""


def teacher_option(help_text: str):
    return click.option("--teacher", "spec", default="embedded", show_default=True, help=help_text)


@teacher.command("prepare")
@teacher_option("embedded teacher to convert into the cache ($SCHOOLHOUSE_CACHE): " + EMBEDDED_HELP)
def teacher_prepare(spec: str) -> None:
    """Convert an embedded teacher's GGUF file once and print its model folder."""
    from ..teacher.embedded import EMBEDDED, model_dir

    if spec not in EMBEDDED:
        fail(f"--teacher: {spec!r} is not an embedded teacher ({', '.join(EMBEDDED)})")
    try:
        click.echo(model_dir(spec))
    except USER_ERRORS as e:
        fail(str(e))


@teacher.command("serve")
@teacher_option(EMBEDDED_HELP + " or a local model folder")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="address to listen on (loopback by default; 0.0.0.0 exposes it)",
)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
    help="port (0 picks a free one)",
)  # fmt: skip
@click.option(
    "--kv-cache-gib", type=click.FloatRange(min=0, min_open=True), default=4.0, show_default=True,
    help="vLLM CPU KV cache (GiB)",
)  # fmt: skip
@click.option("--log", type=click.Path(path_type=Path), help="write the server's log here")
@click.argument("extra", nargs=-1, type=click.UNPROCESSED)
def teacher_serve(
    spec: str, host: str, port: int, kv_cache_gib: float, log: Path | None, extra: tuple[str, ...]
) -> None:
    """Start vLLM's OpenAI-compatible server on a teacher and print its URL.

    Arguments after `--` go to the vLLM server unchanged. Stop it with Ctrl-C.
    """
    from ..teacher import resolve_teacher
    from ..teacher.embedded import model_dir
    from ..teacher.serve import start_server, stop_server

    try:
        resolved = resolve_teacher(spec)
        if resolved.kind == "http":
            fail("--teacher: serve takes an embedded teacher or a model folder, not a URL")
        folder = model_dir(resolved.target) if resolved.kind == "embedded" else resolved.target
        click.echo(f"starting vLLM on {folder} ...", err=True)
        proc, url = start_server(
            folder,
            resolved.name,
            host=host,
            port=port,
            kv_cache_gib=kv_cache_gib,
            extra=extra,
            log=log,
        )
    except USER_ERRORS as e:
        fail(str(e))
    click.echo(url)
    click.echo(f"serving {resolved.name}; use --teacher {url}  (Ctrl-C stops it)", err=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop the server on TERM too
    try:
        proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop_server(proc)


from .experiment import experiment_cmd  # noqa: E402
from .graders import (  # noqa: E402
    annotate_cmd,
    classifier_group,
    filter_cmd,
    humaneval_cmd,
    judge_cmd,
)
from .pipeline import pipeline_cmd  # noqa: E402
from .sandbox import sandbox_group  # noqa: E402
from .selftrain import selftrain_group  # noqa: E402
from .student import evaluate_cmd, pretrain_cmd, sample_cmd  # noqa: E402

for command in (
    pretrain_cmd, sample_cmd, evaluate_cmd, annotate_cmd, judge_cmd, classifier_group, filter_cmd,
    pipeline_cmd, sandbox_group, experiment_cmd, selftrain_group,
):  # fmt: skip
    main.add_command(command)
teacher.add_command(humaneval_cmd)
