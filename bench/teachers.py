"""Which teacher writes sense fastest? Each embedded teacher on the same prompts, read by the judge.

    python bench/teachers.py                              # the three embedded teachers
    python bench/teachers.py --teachers embedded,http://127.0.0.1:8000/v1 --stories 16

Every teacher writes the same `--stories` story prompts and `--textbooks` textbook prompts
(`--seed`), steered, with the cheap checks and without the sense check (`--judge none`), each
into its own folder under `--out` (a rerun resumes). Then the judge (`--judge`, default
`embedded`) reads every kept row. Printed per teacher and kind: kept rows, kept per minute
of the teacher's wall time, *sensible* kept per minute (kept rows the judge scores at or above its
threshold), and completion tokens per sensible kept row. Only one engine runs at a time.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teachers", default="embedded,embedded-coder,embedded-large",
                        help="comma-separated teacher specs")  # fmt: skip
    parser.add_argument("--stories", type=int, default=16, help="story prompts per teacher")
    parser.add_argument("--textbooks", type=int, default=8, help="textbook prompts per teacher")
    parser.add_argument("--seed", type=int, default=101, help="prompt seed")
    parser.add_argument("--judge", default="embedded", help="the sense judge")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "bench-teachers")
    args = parser.parse_args()

    from schoolhouse.config import JudgeConfig, StoriesConfig, TextbooksConfig
    from schoolhouse.graders.sense.job import judge_rows
    from schoolhouse.jobs import generate

    results = []
    for spec in [t.strip() for t in args.teachers.split(",") if t.strip()]:
        name = spec.replace("/", "_").replace(":", "_")
        for kind, config_type, n in (("story", StoriesConfig, args.stories),
                                     ("textbook", TextbooksConfig, args.textbooks)):  # fmt: skip
            if not n:
                continue
            out = args.out / f"{name}-{kind}"
            config = config_type(n=n, out=out, seed=args.seed, teacher=spec, judge="none")
            generate(config, progress=True)
            runs = [json.loads(line) for line in (out / ".schoolhouse" / "runs.jsonl").open()]
            wall = sum(r["wall_s"] for r in runs)
            tokens = sum(r["completion_tokens"] for r in runs)
            results.append({"teacher": spec, "kind": kind, "folder": out, "wall_s": wall,
                            "completion_tokens": tokens, "prompts": n})  # fmt: skip
    for r in results:  # the judge after every teacher: one engine at a time
        if not (r["folder"] / "data").exists():
            r |= {"kept": 0, "sensible": 0}
            continue
        judged = r["folder"].parent / f"{r['folder'].name}-judged"
        config = JudgeConfig(inputs=[r["folder"]], out=judged, judge=args.judge)
        summary = judge_rows(config, progress=True)
        import pyarrow.parquet as pq

        senses = [s for p in sorted((judged / "data").glob("*.parquet"))
                  for s in pq.read_table(p, columns=["sense"]).column("sense").to_pylist()]  # fmt: skip
        r |= {"kept": len(senses),
              "sensible": sum(s is not None and s >= summary.threshold for s in senses)}  # fmt: skip
    print(f"\njudge: {args.judge}; seed {args.seed}\n")
    print("| teacher | kind | prompts | kept | sensible | kept/min | sensible kept/min | "
          "tokens per sensible kept |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        minutes = r["wall_s"] / 60
        per = f"{r['completion_tokens'] / r['sensible']:,.0f}" if r["sensible"] else "-"
        print(
            f"| {r['teacher']} | {r['kind']} | {r['prompts']} | {r['kept']} | {r['sensible']} | "
            f"{r['kept'] / minutes:.2f} | {r['sensible'] / minutes:.2f} | {per} |"
        )


if __name__ == "__main__":
    main()
