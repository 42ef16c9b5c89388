"""A self-contained HTML report over the folders a pipeline writes: plots a person would rather
look at than read.

    schoolhouse report out/stories out/textbooks out/web-edu runs/tiny --out out/report.html

Each folder is recognised by what it holds: a generated dataset (stories, textbooks, exercises:
drop-reason funnel, lengths, vocabulary or topic coverage, teacher tokens and time per kept row),
annotations (score distribution), filtered web text (step funnel, classifier scores), a merged
training mix, a classifier (PR curve, confusion matrix) a student run (loss curve, perplexity,
GPT-Eval grades), an experiment (reference loss per arm) or a self-training run (reward rate and
scores per teacher). Plots are inline SVG, so the page is one file that opens anywhere.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from ..datasets.folder import STATE, write_atomic
from ..datasets.outdir import OutError, locked
from . import datasets, experiment, selftrain, training

KINDS = {
    "stories": ("Stories", datasets.stories),
    "textbooks": ("Textbook sections", lambda f: datasets.lessons(f, "textbooks")),
    "exercises": ("Exercises", lambda f: datasets.lessons(f, "exercises")),
    "annotations": ("Annotations", datasets.annotations),
    "filtered": ("Filtered web text", datasets.filtered),
    "merged": ("Training mix", datasets.merged),
    "classifier": ("Quality classifier", training.classifier),
    "student": ("Student run", training.student),
    "experiment": ("Experiment: reference loss per arm", experiment.section),
    "selftrain": ("Self-training (ReST-EM): scores per teacher", selftrain.section),
}


def kind_of(folder: Path) -> str:
    """What a folder holds, from the files its writer leaves; a clear error when none match."""
    job = folder / STATE / "job.json"
    if job.exists():
        kind = json.loads(job.read_text()).get("kind", "stories")
        if kind in KINDS:
            return kind
    for marker, kind in (
        ("experiment.json", "experiment"),
        ("iterations.json", "selftrain"),
        ("classifier.json", "classifier"),
        ("merge.json", "merged"),
        ("log.jsonl", "student"),
    ):
        if (folder / marker).exists():
            return kind
    config = folder / "config.json"
    if config.exists() and "dedup" in json.loads(config.read_text()):
        return "filtered"
    raise ValueError(
        f"{folder} is not a dataset folder, classifier or student run (no {STATE}/job.json, "
        "classifier.json, merge.json, log.jsonl or filter config.json)"
    )


def folder_section(folder: Path) -> str:
    folder = Path(folder)
    kind = kind_of(folder)
    title, build = KINDS[kind]
    stats, figures = build(folder)
    if not stats:
        raise ValueError(f"{folder} holds no rows yet")
    table = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in stats
    )
    body = "".join(f"<figure>{p}</figure>" for p in figures)
    return (
        f'<section id="{html.escape(kind)}"><h2>{title}: <code>{html.escape(str(folder))}</code>'
        f'</h2><table>{table}</table><div class="plots">{body}</div></section>'
    )


GENERATOR = '<meta name="generator" content="schoolhouse report">'
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">{generator}<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; padding: 0 2rem; max-width: 1500px; color: #222; }}
h1 {{ font-weight: 600; }} h2 {{ border-bottom: 1px solid #ddd; padding-bottom: .3rem; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
th, td {{ text-align: left; padding: .25rem 1rem .25rem 0; vertical-align: top; }}
th {{ color: #555; font-weight: 500; }}
.plots {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 1rem; }}
figure {{ margin: 0; }} svg, img {{ max-width: 100%; height: auto; }}
</style></head><body><h1>{title}</h1>{intro}{sections}</body></html>
"""


def write_report(
    folders: list[Path], out: Path, *, title: str = "schoolhouse report", intro: str = ""
) -> Path:
    """One page over the folders, in the order given; `intro` is HTML put before them."""
    out = Path(out)
    check_out(out)  # before any work
    sections = "".join(folder_section(Path(f)) for f in folders)
    page = PAGE.format(
        generator=GENERATOR, title=html.escape(title), intro=intro, sections=sections
    )
    with locked(out, file=True):
        check_out(out)
        write_atomic(out, page)
    return out


def check_out(out: Path) -> None:
    """--out is a new file or a report this command wrote: never a folder, a dataset card or
    any other file (OutError, one line)."""
    if out.is_dir():
        raise OutError(f"{out} is a folder: --out names the HTML file to write")
    if not out.exists() or (out.is_file() and out.stat().st_size == 0):
        return  # nothing there to lose (an empty file is what holds a new report's lock)
    try:
        with open(out, encoding="utf-8", errors="replace") as f:
            head = f.read(4096)
    except OSError as e:
        raise OutError(f"{out}: cannot read it to check it is a report ({e.strerror})") from None
    # reports written before the generator tag carry the page's <title>schoolhouse ...
    if GENERATOR not in head and "<title>schoolhouse" not in head:
        raise OutError(
            f"{out} exists and is not a schoolhouse report: refusing to overwrite it; "
            "choose a new --out"
        )
