"""How well does each grader agree with labels? Sampled scores against expected ones, and the
FineWeb-Edu recipe end to end (a classifier trained on each grader's annotations).

    apt-get install python3.11-doc debian-handbook fortunes       # the proxy labels below
    python bench/annotate.py [--labels PATH] [--docs 120] [--graders embedded,embedded-coder]
    make grader-large && python bench/annotate.py     # with the 1.5B grader as well

Labels: `--labels` takes any data with text and score (0-5) columns. Without it, the proxy
labels of bench/filter.py: real pages from installed Debian packages, labeled by source
(Python tutorial, how-to and FAQ 4; Python library reference and Debian handbook 3; Debian
changelogs and fortunes 1; copyright files 0), cut into whole-paragraph documents of ~2,500
characters, `--docs` of them sampled evenly over the sources with `--seed`. None of it is in
the tests' fixtures. Proxy labels rank sources, not pages: read the agreement as "does the
grader tell a tutorial from a changelog", not as a human judgement.

Every grader annotates the same documents through `schoolhouse annotate` (the engine, guided
JSON, temperature 0, logprobs on; the folders are kept under `--out` and a rerun resumes).
Printed per grader and per score kind (the sampled `score` and the probability-weighted
`score_expected`): Spearman rho with the labels, binary F1 at score >= 3 (rounded half up),
mean absolute error, and documents per second. Then the recipe: the documents are split
70/30 with `--seed`; a classifier (`--features`, default hashing + SGD, the fast tier; or
static / embedding + ridge) is trained on the grader's scores of the 70 % and judged against
the labels of the 30 %. The `labels` row trains on the labels themselves: the ceiling.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

THRESHOLD = 3


def labeled_set(args) -> list[tuple[str, str, float]]:
    """(id, text, label) rows."""
    import filter as filter_bench  # bench/filter.py

    if args.labels:
        rows = filter_bench.labeled_corpus(args.labels, args.docs, args.seed)
    else:
        rows = filter_bench.proxy_corpus(args.docs, args.seed)
    return [(f"doc-{i:05d}", text, float(score)) for i, (text, score) in enumerate(rows)]


def graders(spec: str | None) -> list[str]:
    """The graders asked for; by default every embedded one whose packages are installed."""
    from schoolhouse.teacher.embedded import EMBEDDED, EmbeddedModelError, part_paths

    if spec:
        return [g.strip() for g in spec.split(",") if g.strip()]
    found = []
    for name, model in EMBEDDED.items():
        try:
            part_paths(model)
            found.append(name)
        except EmbeddedModelError:
            print(f"{name}: not installed ({model.install}), left out", flush=True)
    return found


def agreement(labels, scores) -> dict:
    """Spearman rho, binary F1 at THRESHOLD and MAE of `scores` against `labels`."""
    import numpy as np
    from scipy.stats import spearmanr

    from schoolhouse.graders.classifier.metrics import score_metrics

    labels, scores = np.asarray(labels, float), np.asarray(scores, float)
    metrics = score_metrics(labels, scores, THRESHOLD)
    rho = spearmanr(labels, scores).statistic if len(set(scores)) > 1 else float("nan")
    return {
        "docs": len(labels),
        "spearman": round(float(rho), 3),
        "binary_f1": round(metrics["binary_f1"], 3),
        "mae": round(metrics["mae"], 3),
    }


def annotate_with(grader: str, data: Path, out: Path, docs: int) -> tuple[dict, dict]:
    """Rows by id and the summary of `schoolhouse annotate` with this grader."""
    import pyarrow.parquet as pq

    from schoolhouse.config import AnnotateConfig
    from schoolhouse.graders.annotation import annotate

    config = AnnotateConfig(inputs=[data], out=out, n=docs, first=True, teacher=grader)
    started = time.perf_counter()
    summary = annotate(config, progress=sys.stderr.isatty())
    wall = time.perf_counter() - started
    rows = {
        r["id"]: r
        for f in sorted((out / "data").glob("*.parquet"))
        for r in pq.read_table(f, columns=["id", "score", "score_expected"]).to_pylist()
    }
    speed = {
        "written": summary.written,
        "annotate_s": round(summary.wall_s, 1),
        "with_startup_s": round(wall, 1),
        "docs_per_s": round(summary.written / summary.wall_s, 3) if summary.written else None,
        "rejected": dict(summary.rejected),
    }
    return rows, speed


def recipe(texts_train, y_train, texts_test, labels_test, features: str, seed: int) -> dict:
    """A classifier trained on (texts_train, y_train), judged against the true test labels."""
    from schoolhouse.graders.classifier.features import make_features
    from schoolhouse.graders.classifier.model import DEFAULT_ESTIMATOR, Classifier, make_estimator

    name = DEFAULT_ESTIMATOR[features]
    made = make_features(features, {})
    clf = Classifier(made, make_estimator(name, made, seed), name, THRESHOLD)
    clf.fit(texts_train, y_train)
    return agreement(labels_test, clf.score(texts_test))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=Path, help="text + score data (default: proxy labels)")
    parser.add_argument("--docs", type=int, default=120, help="documents every grader scores")
    parser.add_argument(
        "--graders",
        help="comma-separated teacher specs (default: every installed embedded grader)",
    )
    parser.add_argument("--features", default="hashing", choices=("hashing", "static", "embedding"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "bench-annotate")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    rows = labeled_set(args)
    args.out.mkdir(parents=True, exist_ok=True)
    data = args.out / "labeled.jsonl"
    data.write_text(
        "".join(json.dumps({"id": i, "text": t, "label": s}) + "\n" for i, t, s in rows)
    )
    label = {i: s for i, _, s in rows}
    text = {i: t for i, t, _ in rows}
    print(f"{len(rows)} labeled documents ({'--labels' if args.labels else 'proxy labels'}); "
          f"labels {sorted(__import__('collections').Counter(label.values()).items())}")  # fmt: skip

    ids = sorted(label)
    random.Random(args.seed).shuffle(ids)
    cut = int(0.7 * len(ids))
    train_ids, test_ids = ids[:cut], ids[cut:]
    results = {"labels": {"recipe": recipe(
        [text[i] for i in train_ids], [label[i] for i in train_ids],
        [text[i] for i in test_ids], [label[i] for i in test_ids], args.features, args.seed,
    )}}  # fmt: skip
    for grader in graders(args.graders):
        scored, speed = annotate_with(grader, data, args.out / grader, len(rows))
        result = {"speed": speed, "rows": len(scored)}
        for kind, column in (("sampled", "score"), ("expected", "score_expected")):
            have = [i for i in ids if i in scored and scored[i][column] is not None]
            if not have:
                result[kind] = None
                continue
            result[kind] = agreement([label[i] for i in have], [scored[i][column] for i in have])
            train = [i for i in train_ids if i in have]
            test = [i for i in test_ids if i in have]
            result[kind]["recipe"] = recipe(
                [text[i] for i in train], [scored[i][column] for i in train],
                [text[i] for i in test], [label[i] for i in test], args.features, args.seed,
            )  # fmt: skip
        results[grader] = result
        print(f"{grader}: {json.dumps(result)}", flush=True)

    print(f"\nagreement with the labels ({len(rows)} documents; recipe: {args.features} "
          f"classifier trained on {len(train_ids)}, judged on {len(test_ids)})")  # fmt: skip
    print(f"{'grader':<16} {'score':<9} {'rho':>6} {'F1@3':>6} {'MAE':>6} {'docs/s':>7}   "
          f"{'clf rho':>7} {'clf F1':>6}")  # fmt: skip
    ceiling = results["labels"]["recipe"]
    print(f"{'labels':<16} {'':<9} {'':>6} {'':>6} {'':>6} {'':>7}   "
          f"{ceiling['spearman']:>7} {ceiling['binary_f1']:>6}")  # fmt: skip
    for grader, result in results.items():
        if grader == "labels":
            continue
        for kind in ("sampled", "expected"):
            r = result[kind]
            if r is None:
                print(f"{grader:<16} {kind:<9} (no rows: the grader reported no probabilities)")
                continue
            speed = result["speed"]["docs_per_s"]
            print(f"{grader:<16} {kind:<9} {r['spearman']:>6} {r['binary_f1']:>6} {r['mae']:>6} "
                  f"{speed if speed is not None else 'resumed':>7}   "
                  f"{r['recipe']['spearman']:>7} {r['recipe']['binary_f1']:>6}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
