"""How well does each way of judging sense separate sense from nonsense? ROC AUC on labelled rows.

    python bench/judge.py                          # the default judge (embedded)
    python bench/judge.py --judge embedded-large   # the 1.5B as the judge
    python bench/judge.py --fit                    # refit the combination, write weights.json

The rows are `bench/sense_data.py`'s: coherent stories and textbook sections written by hand,
corrupted copies of them, and real teacher outputs labelled by reading. Every row is read once by
the judge model (`schoolhouse.graders.sense`: rubric P(Yes), token log-probabilities, a shuffled
copy, the second half alone); the readings are cached under `--cache`, so a rerun or a refit
costs nothing. Each method is then a number per row, and for each the table prints ROC AUC of
"makes sense" overall, per kind, and per failure (that failure's rows against every row that
makes sense of the same kind), and documents per second.

Methods: `rubric` (P(Yes) at the one-token answer), `likelihood` (mean token log-probability),
`min_k` (mean of the least likely 10 % of tokens), `shuffle_gap` (log-probability lost when the
sentences are shuffled), `context_gain` (log-probability the first half adds to the second),
`rubric_gap` (P(Yes) minus P(Yes) of the shuffled copy), and `combined`: the logistic
regression over all of them. The combined AUCs are out-of-fold: 5 folds grouped by the source
text (a text and its corrupted copies always in the same fold), so no row is scored by weights
fitted on it. `--fit` fits on every row, picks the threshold that keeps 90 % of the rows that
make sense (what a generator then drops as `nonsense`), and stores both in
`schoolhouse/graders/sense/weights.json` under the judge's model name.

Documents per second: the whole judge's (three prefills per row) is measured; a one-reading
method's is that divided by its share of the prompt tokens (the rubric and likelihood need the
first reading only), printed with a `~`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

METHODS = {
    "rubric": "p_yes",
    "likelihood": "lp_mean",
    "min_k": "lp_low",
    "shuffle_gap": "shuffle_gap",
    "context_gain": "context_gain",
    "rubric_gap": "p_yes_gap",
    "chat": "chat",
}
KEEP_SENSE = 0.90  # the threshold keeps this share of the rows that make sense


def auc(pos: list[float], neg: list[float]) -> float | None:
    """P(a random positive scores above a random negative), ties counted half."""
    if not pos or not neg:
        return None
    wins = 0.0
    for p in pos:
        for n in neg:
            wins += 1.0 if p > n else 0.5 if p == n else 0.0
    return wins / (len(pos) * len(neg))


def read_all(rows: list[dict], judge_spec: str, cache: Path) -> tuple[dict, float, str]:
    """Features per row id (cached per judge), the judge's docs/s, and its model name."""
    from schoolhouse.graders.sense import SenseJudge
    from schoolhouse.teacher import resolve_teacher

    spec = resolve_teacher(judge_spec)
    path = cache / f"{judge_spec.replace('/', '_').replace(':', '_')}.jsonl"
    done = {}
    if path.exists():
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            done[rec["key"]] = rec
    key = lambda row: f"{row['id']}|{hash_text(row['text'])}"  # noqa: E731
    todo = [row for row in rows if key(row) not in done]
    docs_s = None
    if todo:
        teacher = spec.open(kv_cache_gib=4, **JUDGE_ENGINE)
        try:
            judge = SenseJudge.load(teacher, weights={})
            start = time.monotonic()
            cache.mkdir(parents=True, exist_ok=True)
            with open(path, "a") as out:
                items = ((key(r), r["text"], r["kind"]) for r in todo)
                for n, (item, verdict) in enumerate(judge.judge(items), 1):
                    rec = {"key": item[0], **verdict.features}
                    done[item[0]] = rec
                    out.write(json.dumps(rec) + "\n")
                    out.flush()
                    if n % 20 == 0:
                        rate = n / (time.monotonic() - start)
                        print(f"  read {n}/{len(todo)} ({rate:.2f} docs/s)", file=sys.stderr)
            docs_s = len(todo) / (time.monotonic() - start)
            meta = cache / f"{path.stem}.meta.json"
            meta.write_text(json.dumps({"docs_s": docs_s, "rows": len(todo), "name": spec.name}))
        finally:
            teacher.close()
    meta = cache / f"{path.stem}.meta.json"
    if docs_s is None and meta.exists():
        docs_s = json.loads(meta.read_text())["docs_s"]
    from schoolhouse.graders.sense.score import chat_flag

    out = {row["id"]: done[key(row)] | {"chat": chat_flag(row["text"])} for row in rows}
    return out, docs_s or float("nan"), spec.name


from schoolhouse.graders.sense import JUDGE_ENGINE  # noqa: E402


def hash_text(text: str) -> str:
    import hashlib

    return hashlib.sha1(text.encode()).hexdigest()[:12]


def group_of(row: dict) -> str:
    return row["id"].split("~")[0]


def fit(rows: list[dict], feats: dict, names: tuple[str, ...], trees: int = 60):
    """A random forest over the features, as weights.json stores it (its trees as arrays). A
    forest, not a line: a judge's own text is *more* likely than a person's and garbled text
    less, and both are nonsense."""
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier

    from schoolhouse.graders.sense.score import feature_vector

    x = np.array([feature_vector(feats[r["id"]], names) for r in rows])
    y = np.array([r["label"] for r in rows])
    model = RandomForestClassifier(trees, min_samples_leaf=2, max_depth=8,
                                   class_weight="balanced", random_state=0)  # fmt: skip
    model.fit(x, y)
    out = []
    for estimator in model.estimators_:
        t = estimator.tree_
        value = t.value[:, 0, :]
        share = (value[:, 1] / value.sum(1)).round(4)
        out.append({"feature": t.feature.tolist(), "threshold": t.threshold.round(6).tolist(),
                    "left": t.children_left.tolist(), "right": t.children_right.tolist(),
                    "value": share.tolist()})  # fmt: skip
    return {"features": list(names), "trees": out, "model": f"random forest, {trees} trees"}


def out_of_fold(rows: list[dict], feats: dict, names, folds: int = 5) -> dict[str, float]:
    """Each row's combined score from weights fitted without its source text's group."""
    import zlib

    from schoolhouse.graders.sense.score import combine

    scores = {}
    fold = {r["id"]: zlib.crc32(group_of(r).encode()) % folds for r in rows}
    for k in range(folds):
        train = [r for r in rows if fold[r["id"]] != k]
        weights = fit(train, feats, names)
        for r in rows:
            if fold[r["id"]] == k:
                scores[r["id"]] = combine(feats[r["id"]], weights)[0]
    return scores


def table(rows: list[dict], scores: dict[str, dict[str, float]], rates: dict[str, float]) -> str:
    kinds = sorted({r["kind"] for r in rows})
    failures = sorted({r["failure"] for r in rows if r["label"] == 0})
    columns = ["all", *kinds, *failures, "1.5B own", "docs/s"]
    lines = ["| method | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for method, score in scores.items():
        cells = []
        for col in columns[:-2]:
            if col == "all":
                group = rows
            elif col in kinds:
                group = [r for r in rows if r["kind"] == col]
            else:
                failing = [r for r in rows if r["failure"] == col]
                its_kinds = {r["kind"] for r in failing}
                group = failing + [r for r in rows if r["label"] == 1 and r["kind"] in its_kinds]
            cells.append(_auc_cell(group, score))
        own = [r for r in rows if r["source"].startswith("teacher:") and "1.5B" in r["source"]
               and r["kind"] == "story"]  # fmt: skip
        cells.append(_auc_cell(own, score))
        rate = rates.get(method)
        cells.append("" if rate is None else f"{rate:.2f}")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    counts = ["rows"] + [str(len(rows))]
    counts += [str(sum(r["kind"] == k for r in rows)) for k in kinds]
    counts += [str(sum(r["failure"] == f for r in rows)) for f in failures]
    lines.append("| " + " | ".join(counts) + " | | |")
    return "\n".join(lines)


def _auc_cell(group: list[dict], score: dict[str, float]) -> str:
    pos = [score[r["id"]] for r in group if r["label"] == 1 and score.get(r["id"]) is not None]
    neg = [score[r["id"]] for r in group if r["label"] == 0 and score.get(r["id"]) is not None]
    value = auc(pos, neg)
    return "" if value is None else f"{value:.3f}"


def threshold_for(rows: list[dict], score: dict[str, float], keep: float = KEEP_SENSE) -> float:
    sensible = sorted(score[r["id"]] for r in rows if r["label"] == 1)
    return sensible[max(0, math.floor((1 - keep) * len(sensible)) - 1)] if sensible else 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--judge", default="embedded", help="teacher spec of the judge")
    parser.add_argument("--corruptions", type=int, default=2, help="corrupted copies per text")
    parser.add_argument("--cache", type=Path, default=ROOT / "out" / "bench-judge",
                        help="where the judge's readings are kept")  # fmt: skip
    parser.add_argument("--fit", action="store_true", help="write the fitted weights")
    args = parser.parse_args()

    from sense_data import labelled_rows

    from schoolhouse.graders.sense import FEATURES

    rows = labelled_rows(args.corruptions)
    feats, docs_s, name = read_all(rows, args.judge, args.cache)
    rows = [r for r in rows if feats[r["id"]].get("lp_mean") is not None]
    scores = {m: {r["id"]: feats[r["id"]].get(f) for r in rows} for m, f in METHODS.items()}
    scores["combined"] = out_of_fold(rows, feats, FEATURES)
    total = sum(feats[r["id"]]["prompt_tokens"] for r in rows)
    first = sum(feats[r["id"]]["prompt_tokens"] for r in rows) / 2.5  # ~ the whole-text prompt
    rates = {m: docs_s * total / first for m in ("rubric", "likelihood", "min_k")}
    rates |= {m: docs_s for m in ("shuffle_gap", "context_gain", "rubric_gap", "combined")}
    print(f"judge {name} ({args.judge}), {len(rows)} labelled rows, {docs_s:.2f} docs/s")
    print(table(rows, scores, rates))
    if args.fit:
        weights = fit(rows, feats, FEATURES)
        from schoolhouse.graders.sense.score import combine

        full = {r["id"]: combine(feats[r["id"]], weights)[0] for r in rows}
        weights["threshold"] = round(threshold_for(rows, scores["combined"]), 4)
        weights["fitted_on"] = f"bench/data/sense: {len(rows)} rows (bench/judge.py --fit)"
        weights["auc_out_of_fold"] = round(auc(
            [scores["combined"][r["id"]] for r in rows if r["label"] == 1],
            [scores["combined"][r["id"]] for r in rows if r["label"] == 0]), 4)  # fmt: skip
        weights["auc_in_sample"] = round(auc(
            [full[r["id"]] for r in rows if r["label"] == 1],
            [full[r["id"]] for r in rows if r["label"] == 0]), 4)  # fmt: skip
        path = ROOT / "schoolhouse" / "graders" / "sense" / "weights.json"
        table_ = json.loads(path.read_text()) if path.exists() else {}
        table_[name.split(" (")[0]] = weights
        path.write_text(json.dumps(table_, indent=1, sort_keys=True) + "\n")
        print(
            f"wrote {path.relative_to(ROOT)} [{name.split(' (')[0]}]: threshold "
            f"{weights['threshold']}, out-of-fold AUC {weights['auc_out_of_fold']}"
        )


if __name__ == "__main__":
    main()
