"""Quality-classifier scoring speed and F1 per recipe, and MinHash dedup speed and recall,
ours side by side with datatrove's.

    pip install --target /tmp/dt datatrove spacy          # optional: the datatrove column
    pip install --target /tmp/ft fasttext-numpy2-wheel    # optional: the fastText baseline
    python bench/filter.py --extra-path /tmp/dt:/tmp/ft [--labels PATH] [--docs 800] [--json]

Heuristics (`--heuristics`, alone): each rule's share of known-good documents (the Python and
Debian documentation below, scored >= 3) and of spam (`--spam`: the SpamAssassin corpus; and
tests/fixtures/web/bad.jsonl) that it drops, ours beside datatrove's (bench/heuristic_rules.py):

    python bench/filter.py --heuristics --extra-path /tmp/dt --spam package/data

One run, one set of documents: every recipe trains on the same 70 % and is scored on the same
30 %. Printed per recipe: binary F1 at score >= 3, macro F1 over the scores, and scoring speed
in documents per second on one core (torch, BLAS and the Rust tokenizers limited to one thread;
the embedding cache is emptied first, so features are computed, not looked up). Recipes: MiniLM
embeddings at 256 and 128 tokens, fp32 and int8 (dynamic quantization of the Linear layers),
with a ridge head (and a forest at 256/fp32); Model2Vec static embeddings + ridge; hashed word
1-2-grams + SGD logistic regression, ours and scikit-learn's HashingVectorizer. The
fastText-style baseline is fastText's supervised classifier on word bigrams, 25 epochs (DCLM's
recipe) on the same labels, if a `fasttext` module imports (the `fasttext` package itself has no
wheel here).

Labels: `--labels` takes any data with text and score columns (an annotations folder from
`schoolhouse annotate`). Without it, proxy labels by source, from installed Debian packages
(`apt-get install python3.11-doc debian-handbook fortunes`): Python tutorial, how-to and FAQ
pages 4, the Python library reference and the Debian handbook 3, Debian changelogs 1, fortunes
1, copyright files 0; pages are cut into documents of whole paragraphs (~2,500 characters).
Proxy labels measure how well a recipe separates sources, not educational judgement.

Dedup: the scored documents plus edited copies of `--near` of them (`--changes` words
replaced) go through `Deduplicator` (exact + MinHash, with and without the Jaccard check) and
through datatrove's four MinHash stages (signatures, buckets, clusters, filter; its defaults:
5-grams, 14 bands of 8) if `datatrove` imports. Printed: documents/s, recall on the planted
copies, and distinct documents dropped (a document whose normalized text repeats an earlier
one's exactly is a real duplicate in the source, not a distinct document).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # one core: no Rust thread pool
os.environ.setdefault("RAYON_NUM_THREADS", "1")

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
    from schoolhouse.graders.classifier import read_labeled

    labeled = read_labeled([path])
    rows = list(zip(labeled.texts, labeled.scores, strict=True))
    random.Random(seed).shuffle(rows)
    return rows[:docs]


def one_core(clf, texts) -> float:
    """Documents/s scoring `texts` on one thread, features computed afresh."""
    import torch
    from threadpoolctl import threadpool_limits

    from schoolhouse.graders.classifier.features import _CACHE

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


RECIPES = [  # (label, features, options, estimator)
    ("minilm-256 fp32 +ridge", "embedding", {"max_tokens": 256}, "ridge"),
    ("minilm-256 fp32 +forest", "embedding", {"max_tokens": 256}, "forest"),
    ("minilm-128 fp32 +ridge", "embedding", {"max_tokens": 128}, "ridge"),
    ("minilm-256 int8 +ridge", "embedding", {"max_tokens": 256, "precision": "int8"}, "ridge"),
    ("minilm-128 int8 +ridge", "embedding", {"max_tokens": 128, "precision": "int8"}, "ridge"),
    ("static +ridge", "static", {}, "ridge"),
    ("hashing +sgd", "hashing", {}, "sgd"),
]


class SklearnHashing:
    """scikit-learn's HashingVectorizer, the `hashing` recipe's features before they were ours."""

    name, dense = "sklearn-hashing", False

    def __init__(self):
        import numpy as np
        from sklearn.feature_extraction.text import HashingVectorizer

        self.vectorizer = HashingVectorizer(
            n_features=2**20, ngram_range=(1, 2), alternate_sign=False, norm="l2",
            token_pattern=r"(?u)\b\w+\b", dtype=np.float32,
        )  # fmt: skip

    def transform(self, texts):
        return self.vectorizer.transform(texts)


def recipes(train, test, threshold: int, only: str | None = None) -> list[dict]:
    import numpy as np

    from schoolhouse.graders.classifier.features import FeatureError, make_features
    from schoolhouse.graders.classifier.metrics import score_metrics
    from schoolhouse.graders.classifier.model import Classifier, make_estimator

    y_train = np.array([s for _, s in train])
    y_test = np.array([s for _, s in test])
    texts_train, texts_test = [t for t, _ in train], [t for t, _ in test]
    results = []
    specs = [(label, make_features, name, options, est) for label, name, options, est in RECIPES]
    specs.append(("sklearn-hashing +sgd", lambda *_: SklearnHashing(), None, None, "sgd"))
    for label, make, name, options, estimator in specs:
        if only and not any(word in label for word in only.split(",")):
            continue
        try:
            features = make(name, options)
            clf = Classifier(features, make_estimator(estimator, features), estimator, threshold)
            started = time.perf_counter()
            clf.fit(texts_train, y_train)
        except FeatureError as e:
            results.append({"recipe": f"{label} (skipped: {e})"})
            continue
        fit_s = time.perf_counter() - started
        m = score_metrics(y_test, clf.score(texts_test), threshold)
        speed = one_core(clf, texts_test)
        results.append({"recipe": label, "fit_s": fit_s, "docs_per_s_core": speed, **m})
        print(f"  {label:<24} done", file=sys.stderr)
    results.append(fasttext_baseline(texts_train, y_train, texts_test, y_test, threshold))
    return results


def fasttext_baseline(texts_train, y_train, texts_test, y_test, threshold: int) -> dict:
    try:
        import fasttext
    except ImportError:
        return {"recipe": "fasttext (skipped: no `fasttext` module; see --extra-path)"}
    import numpy as np

    from schoolhouse.graders.classifier.metrics import score_metrics, to_class

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        for text, score in zip(texts_train, to_class(y_train), strict=True):
            f.write(f"__label__{score} {' '.join(text.split())}\n")
    started = time.perf_counter()
    model = fasttext.train_supervised(f.name, wordNgrams=2, epoch=25, lr=0.5, verbose=0, seed=0)
    fit_s = time.perf_counter() - started
    Path(f.name).unlink()
    lines = [" ".join(t.split()) for t in texts_test]
    started = time.perf_counter()
    labels, probs = model.predict(lines, k=-1)  # fastText predicts on one thread
    speed = len(lines) / (time.perf_counter() - started)
    scores = np.array([
        sum(p * int(label.removeprefix("__label__")) for label, p in zip(ls, ps, strict=True))
        for ls, ps in zip(labels, probs, strict=True)
    ])  # fmt: skip
    m = score_metrics(y_test, scores, threshold)
    return {"recipe": "fasttext bigrams (baseline)", "fit_s": fit_s, "docs_per_s_core": speed, **m}


def planted_documents(texts: list[str], near: float, changes: int, seed: int):
    from schoolhouse.datasets.records import Document
    from schoolhouse.graders.dedup import normalize

    rng = random.Random(seed)
    docs = [Document(f"d{i}", t, "bench") for i, t in enumerate(texts)]
    planted = []
    for j, doc in enumerate(rng.sample(docs, int(len(docs) * near))):
        tokens = doc.text.split(" ")
        for k in rng.sample(range(len(tokens)), min(changes, len(tokens))):
            tokens[k] = rng.choice(["Debian", "kernel", "quickly", "module", "server", "often"])
        planted.append(Document(f"near{j}", " ".join(tokens), "bench"))
    seen, distinct = set(), set()
    for doc in docs:
        text = normalize(doc.text)
        if text not in seen:
            distinct.add(doc.id)
        seen.add(text)
    return docs, planted, distinct


def dedup_result(name, docs, planted, distinct, dropped, seconds) -> dict:
    caught = sum(p.id in dropped for p in planted)
    return {
        "method": name,
        "documents": len(docs) + len(planted),
        "docs_per_s": (len(docs) + len(planted)) / seconds,
        "planted": len(planted),
        "recall": caught / len(planted) if planted else None,
        "source_duplicates": len(docs) - len(distinct),
        "distinct_dropped": len(distinct & dropped),
    }


def dedup_bench(texts: list[str], near: float, changes: int, seed: int) -> list[dict]:
    from schoolhouse.graders.dedup import Deduplicator

    docs, planted, distinct = planted_documents(texts, near, changes, seed)
    results = []
    for name, min_jaccard in (("schoolhouse 16x8, J>=0.75 check", 0.75),
                              ("schoolhouse 16x8, no check", None)):  # fmt: skip
        dedup = Deduplicator(min_jaccard=min_jaccard)
        started = time.perf_counter()
        dropped = {d.id for d in docs + planted if not dedup.check(d).kept}
        seconds = time.perf_counter() - started
        results.append(dedup_result(name, docs, planted, distinct, dropped, seconds))
    results.append(datatrove_bench(docs, planted, distinct))
    return results


def datatrove_bench(docs, planted, distinct) -> dict:
    name = "datatrove 14x8"
    try:
        import xxhash
        from datatrove.data import Document
        from datatrove.pipeline.dedup import minhash as dt
        from datatrove.utils.hashes import xxhash as dt_xxhash
    except ImportError as e:
        return {"method": f"{name} (skipped: cannot import {e.name}; see --extra-path)"}
    # datatrove 0.10 hashes str, which xxhash 4 refuses: encode first
    dt_xxhash.xxhash64 = lambda data: xxhash.xxh64_intdigest(
        data.encode() if isinstance(data, str) else data
    )
    from loguru import logger

    logger.remove()  # datatrove logs every stage at INFO
    config = dt.MinhashConfig()
    records = [Document(text=d.text, id=d.id) for d in docs + planted]
    try:
        signature = dt.MinhashDedupSignature(output_folder="x", config=config)
    except ImportError as e:  # its English word tokenizer needs spacy
        return {"method": f"{name} (skipped: {e})"}
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        signature = dt.MinhashDedupSignature(output_folder=f"{folder}/sigs", config=config)
        signature.run(iter(records), rank=0, world_size=1)
        for bucket in range(config.num_buckets):
            dt.MinhashDedupBuckets(
                input_folder=f"{folder}/sigs", output_folder=f"{folder}/buckets", config=config
            ).run(rank=bucket, world_size=config.num_buckets)
        dt.MinhashDedupCluster(
            input_folder=f"{folder}/buckets", output_folder=f"{folder}/remove", config=config
        ).run()
        kept = dt.MinhashDedupFilter(input_folder=f"{folder}/remove").run(iter(records), rank=0)
        kept_ids = {d.id for d in kept}
        seconds = time.perf_counter() - started
    dropped = {d.id for d in records} - kept_ids
    return dedup_result(name, docs, planted, distinct, dropped, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=Path, help="text + score data (default: proxy labels)")
    parser.add_argument("--docs", type=int, default=800, help="in all (heuristics: per corpus)")
    parser.add_argument("--threshold", type=int, default=3, help="keep score >= this")
    parser.add_argument("--near", type=float, default=0.1, help="share of planted near copies")
    parser.add_argument("--changes", type=int, default=3, help="words replaced per near copy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--extra-path",
        default="",
        help="folders (colon-separated) appended to sys.path: scratch installs of datatrove "
        "and fasttext, kept out of the project's environment",
    )
    parser.add_argument("--only", help="comma-separated words: run only recipes naming one")
    parser.add_argument("--spam", type=Path, help="SpamAssassin corpus data/ folder (heuristics)")
    parser.add_argument(
        "--heuristics", action="store_true", help="run only the heuristics' drop rates"
    )
    args = parser.parse_args()
    sys.path += [p for p in args.extra_path.split(":") if p]
    if args.heuristics:
        from bench.heuristic_rules import run as heuristics

        labeled = args.labels and labeled_corpus(args.labels, 10**9, args.seed)
        good = [t for t, s in labeled or () if s >= args.threshold - 0.5] or None
        loads = {name: load for name, (_, load) in SOURCES.items()}
        result, text = heuristics(loads, chunks, args.spam, good, args.docs, args.seed)
        print(json.dumps(result, default=str) if args.json else text)
        return
    rows = (
        labeled_corpus(args.labels, args.docs, args.seed)
        if args.labels
        else proxy_corpus(args.docs, args.seed)
    )
    cut = int(len(rows) * 0.7)
    train, test = rows[:cut], rows[cut:]
    print(f"{len(train)} training, {len(test)} scored documents", file=sys.stderr)
    results = recipes(train, test, args.threshold, args.only)
    dedup = dedup_bench([t for t, _ in test], args.near, args.changes, args.seed)
    if args.json:
        print(json.dumps({"recipes": results, "dedup": dedup}, default=str))
        return
    positives = sum(s >= args.threshold - 0.5 for _, s in test)
    print(f"\n{len(test)} scored documents ({positives} score >= {args.threshold}), "
          f"{len(train)} training; labels: {args.labels or 'proxy, by source'}")  # fmt: skip
    print(f"{'recipe':<30} {'F1@' + str(args.threshold):>7} {'macro-F1':>9} {'docs/s/core':>12}")
    for r in results:
        if "binary_f1" not in r:
            print(f"{r['recipe']}")
            continue
        print(f"{r['recipe']:<30} {r['binary_f1']:>7.3f} {r['macro_f1']:>9.3f} "
              f"{r['docs_per_s_core']:>12,.1f}")  # fmt: skip
    first = next(d for d in dedup if "documents" in d)
    print(f"\nMinHash dedup: {first['documents']} documents, {first['planted']} planted near "
          f"copies ({args.changes} words changed), {first['source_duplicates']} exact "
          "duplicate(s) already in the source")  # fmt: skip
    print(f"{'method':<34} {'docs/s':>8} {'recall':>7} {'distinct dropped':>17}")
    for d in dedup:
        if "docs_per_s" not in d:
            print(d["method"])
            continue
        print(f"{d['method']:<34} {d['docs_per_s']:>8,.0f} {d['recall']:>7.3f} "
              f"{d['distinct_dropped']:>17}")  # fmt: skip


if __name__ == "__main__":
    main()
