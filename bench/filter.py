"""Quality-classifier scoring speed and F1 per recipe, and MinHash dedup speed and recall.

    python bench/filter.py [--labels PATH] [--docs 800] [--near 0.1] [--json]

One run, one set of documents: every recipe trains on the same 70 % and is scored on the same
30 %. Printed per recipe: binary F1 at score >= 3, macro F1 over the scores, and scoring speed
in documents per second on one core (torch and every estimator limited to one thread; the
embedding cache is emptied first, so features are computed, not looked up). The fastText-style
baseline is fastText's supervised classifier on word bigrams (DCLM's recipe) trained on the
same labels, if a `fasttext` module imports (`pip install fasttext-numpy2-wheel`: the `fasttext`
package itself has no wheel here); without it the hashing + SGD recipe holds that tier alone.

Labels: `--labels` takes any data with text and score columns (an annotations folder from
`schoolhouse annotate`). Without it, proxy labels by source, from installed Debian packages
(`apt-get install python3.11-doc debian-handbook fortunes`): Python tutorial, how-to and FAQ
pages 4, the Python library reference and the Debian handbook 3, Debian changelogs 1, fortunes
1, copyright files 0; pages are cut into documents of whole paragraphs (~2,500 characters).
Proxy labels measure how well a recipe separates sources, not educational judgement.

Dedup: the scored documents plus edited copies of `--near` of them (`--changes` words
replaced) go through `Deduplicator` (exact + MinHash); printed are documents/s, the recall on
the planted copies and the distinct documents wrongly dropped.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DOC = Path("/usr/share/doc")
PYDOC = DOC / "python3.11-doc" / "html"
SOURCES = {  # name: (score, files)
    "python-tutorial": (4, lambda: _html(PYDOC, ("tutorial/*.html", "howto/*.html", "faq/*.html"))),
    "python-library": (3, lambda: _html(PYDOC, ("library/*.html",))),
    "debian-handbook": (3, lambda: _html(DOC / "debian-handbook/html/en-US", ("*.html",))),
    "changelogs": (1, lambda: _files(DOC.glob("*/changelog.Debian.gz"))),
    "fortunes": (1, lambda: _fortunes(Path("/usr/share/games/fortunes"))),
    "copyright": (0, lambda: _files(DOC.glob("*/copyright"))),
}


def _html(root: Path, patterns) -> list[str]:
    from resiliparse.extract.html2text import extract_plain_text

    pages = []
    for pattern in patterns:
        for path in sorted(root.glob(pattern)):
            html = path.read_text(encoding="utf-8", errors="replace")
            pages.append(extract_plain_text(html, main_content=True, alt_texts=False))
    return pages


def _files(paths) -> list[str]:
    out = []
    for path in sorted(paths):
        data = path.read_bytes()
        data = gzip.decompress(data) if path.suffix == ".gz" else data
        out.append(data.decode("utf-8", errors="replace"))
    return out


def _fortunes(root: Path) -> list[str]:
    """Fortune files, one page of consecutive fortunes per ~2,500 characters."""
    texts = _files(p for p in root.glob("*") if p.is_file() and not p.suffix)
    return ["\n\n".join(t.split("\n%\n")) for t in texts]


def chunks(text: str, size: int = 2500) -> list[str]:
    """Whole paragraphs, about `size` characters per document."""
    out, current = [], ""
    for paragraph in re.split(r"\n\s*\n", text):
        if current and len(current) + len(paragraph) > size:
            out.append(current.strip())
            current = ""
        current += paragraph + "\n\n"
    if len(current.strip()) > size // 5:
        out.append(current.strip())
    return out


def proxy_corpus(docs: int, seed: int) -> list[tuple[str, float]]:
    rng = random.Random(seed)
    per_source = docs // len(SOURCES)
    rows = []
    for name, (score, load) in SOURCES.items():
        pieces = [c for text in load() for c in chunks(text) if len(c.split()) >= 50]
        if not pieces:
            sys.exit(f"no documents for {name}: apt-get install python3.11-doc debian-handbook "
                     "fortunes, or pass --labels")  # fmt: skip
        rows += [(t, score) for t in rng.sample(pieces, min(per_source, len(pieces)))]
    rng.shuffle(rows)
    return rows


def labeled_corpus(path: Path, docs: int, seed: int) -> list[tuple[str, float]]:
    from schoolhouse.classifier import read_labeled

    labeled = read_labeled([path])
    rows = list(zip(labeled.texts, labeled.scores, strict=True))
    random.Random(seed).shuffle(rows)
    return rows[:docs]


def one_core(clf, texts) -> float:
    """Documents/s scoring `texts` on one thread, features computed afresh."""
    import torch
    from threadpoolctl import threadpool_limits

    from schoolhouse.classifier.features import _CACHE

    _CACHE.clear()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            started = time.perf_counter()
            clf.score(texts)
            return len(texts) / (time.perf_counter() - started)
    finally:
        torch.set_num_threads(threads)


def recipes(train, test, threshold: int) -> list[dict]:
    import numpy as np

    from schoolhouse.classifier.features import make_features
    from schoolhouse.classifier.metrics import score_metrics
    from schoolhouse.classifier.model import Classifier, make_estimator

    y_train = np.array([s for _, s in train])
    y_test = np.array([s for _, s in test])
    texts_train, texts_test = [t for t, _ in train], [t for t, _ in test]
    results = []
    for features_name, estimator in (("embedding", "ridge"), ("embedding", "forest"),
                                      ("hashing", "sgd")):  # fmt: skip
        features = make_features(features_name)
        clf = Classifier(features, make_estimator(estimator, features), estimator, threshold)
        started = time.perf_counter()
        clf.fit(texts_train, y_train)
        fit_s = time.perf_counter() - started
        m = score_metrics(y_test, clf.score(texts_test), threshold)
        speed = one_core(clf, texts_test)
        results.append({"recipe": clf.recipe, "fit_s": fit_s, "docs_per_s_core": speed, **m})
        print(f"  {clf.recipe:<18} done", file=sys.stderr)
    results.append(fasttext_baseline(texts_train, y_train, texts_test, y_test, threshold))
    return results


def fasttext_baseline(texts_train, y_train, texts_test, y_test, threshold: int) -> dict:
    try:
        import fasttext
    except ImportError:
        return {"recipe": "fasttext (not installed: hashing+sgd holds this tier)"}
    import numpy as np

    from schoolhouse.classifier.metrics import score_metrics, to_class

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        for text, score in zip(texts_train, to_class(y_train), strict=True):
            f.write(f"__label__{score} {' '.join(text.split())}\n")
    started = time.perf_counter()
    model = fasttext.train_supervised(f.name, wordNgrams=2, epoch=25, lr=0.5, verbose=0, seed=0)
    fit_s = time.perf_counter() - started
    Path(f.name).unlink()
    lines = [" ".join(t.split()) for t in texts_test]
    started = time.perf_counter()
    labels, probs = model.predict(lines, k=-1)
    speed = len(lines) / (time.perf_counter() - started)
    scores = np.array([
        sum(p * int(label.removeprefix("__label__")) for label, p in zip(ls, ps, strict=True))
        for ls, ps in zip(labels, probs, strict=True)
    ])  # fmt: skip
    m = score_metrics(y_test, scores, threshold)
    return {"recipe": "fasttext bigrams", "fit_s": fit_s, "docs_per_s_core": speed, **m}


def dedup_bench(texts: list[str], near: float, changes: int, seed: int) -> dict:
    from schoolhouse.dedup import Deduplicator
    from schoolhouse.records import Document

    rng = random.Random(seed)
    docs = [Document(f"d{i}", t, "bench") for i, t in enumerate(texts)]
    planted = []
    for j, doc in enumerate(rng.sample(docs, int(len(docs) * near))):
        tokens = doc.text.split(" ")
        for k in rng.sample(range(len(tokens)), min(changes, len(tokens))):
            tokens[k] = rng.choice(["Debian", "kernel", "quickly", "module", "server", "often"])
        planted.append(Document(f"near{j}", " ".join(tokens), "bench"))
    dedup = Deduplicator()
    started = time.perf_counter()
    dropped = {d.id for d in docs + planted if not dedup.check(d).kept}
    seconds = time.perf_counter() - started
    caught = sum(p.id in dropped for p in planted)
    return {
        "documents": len(docs) + len(planted),
        "docs_per_s": (len(docs) + len(planted)) / seconds,
        "planted": len(planted),
        "recall": caught / len(planted) if planted else None,
        "distinct_dropped": sum(d.id in dropped for d in docs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=Path, help="text + score data (default: proxy labels)")
    parser.add_argument("--docs", type=int, default=800, help="documents in all")
    parser.add_argument("--threshold", type=int, default=3, help="keep score >= this")
    parser.add_argument("--near", type=float, default=0.1, help="share of planted near copies")
    parser.add_argument("--changes", type=int, default=3, help="words replaced per near copy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    rows = (
        labeled_corpus(args.labels, args.docs, args.seed)
        if args.labels
        else proxy_corpus(args.docs, args.seed)
    )
    cut = int(len(rows) * 0.7)
    train, test = rows[:cut], rows[cut:]
    print(f"{len(train)} training, {len(test)} scored documents", file=sys.stderr)
    results = recipes(train, test, args.threshold)
    dedup = dedup_bench([t for t, _ in test], args.near, args.changes, args.seed)
    if args.json:
        print(json.dumps({"recipes": results, "dedup": dedup}, default=str))
        return
    positives = sum(s >= args.threshold - 0.5 for _, s in test)
    print(f"\n{len(test)} scored documents ({positives} score >= {args.threshold}), "
          f"{len(train)} training; labels: {args.labels or 'proxy, by source'}")  # fmt: skip
    print(f"{'recipe':<20} {'F1@' + str(args.threshold):>7} {'macro-F1':>9} {'docs/s/core':>12}")
    for r in results:
        if "binary_f1" not in r:
            print(f"{r['recipe']}")
            continue
        print(f"{r['recipe']:<20} {r['binary_f1']:>7.3f} {r['macro_f1']:>9.3f} "
              f"{r['docs_per_s_core']:>12,.0f}")  # fmt: skip
    print(f"\nMinHash dedup (exact + 16x8 LSH): {dedup['documents']} documents, "
          f"{dedup['docs_per_s']:,.0f} docs/s, recall {dedup['recall']:.3f} on "
          f"{dedup['planted']} planted near copies ({args.changes} words changed), "
          f"{dedup['distinct_dropped']} distinct documents dropped")  # fmt: skip


if __name__ == "__main__":
    main()
