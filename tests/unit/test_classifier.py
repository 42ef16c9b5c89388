import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from schoolhouse.config import TrainClassifierConfig
from schoolhouse.graders.classifier import (
    Classifier,
    LabelError,
    evaluate_classifier,
    train_classifier,
)
from schoolhouse.graders.classifier.features import make_features
from schoolhouse.graders.classifier.metrics import score_metrics, to_class

WEB = Path(__file__).resolve().parents[1] / "fixtures" / "web"


def label(doc: dict) -> int:
    """Proxy labels by source: Python how-tos 4, its FAQ 3, the Debian handbook 2, spam and
    other pages the web filters drop 0 or 1."""
    doc_id = doc.get("id", "")
    if doc_id.startswith("python3.11-doc/howto"):
        return 4
    if doc_id.startswith("python3.11-doc"):
        return 3
    if doc_id.startswith("debian-handbook"):
        return 2
    return 0 if "spam" in doc.get("source", "") else 1


def labeled_rows() -> list[dict]:
    rows = []
    for name in ("documents.jsonl", "bad.jsonl"):
        for i, line in enumerate((WEB / name).read_text().splitlines()):
            doc = json.loads(line)
            rows.append(
                {"id": doc.get("id", f"{name}:{i}"), "text": doc["text"], "score": label(doc)}
            )
    return rows


@pytest.fixture(scope="module")
def labels(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("labels") / "labels.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in labeled_rows()))
    return path


def train(tmp_path, labels, name, **kw):
    config = TrainClassifierConfig(annotations=[labels], out=tmp_path / name, test_size=0.3, **kw)
    return config, train_classifier(config, log=lambda m: None)


def good_and_bad():
    rows = labeled_rows()
    return [r["text"] for r in rows if r["score"] >= 3], [r["text"] for r in rows if r["score"] < 2]


def check_round_trip(config, meta, labels, tmp_path):
    folder = config.out
    assert {p.name for p in folder.iterdir()} == {
        "model.joblib", "classifier.json", "report.md", "pr_curve.png", ".schoolhouse"
    }  # fmt: skip
    assert not list(folder.parent.glob(f".{folder.name}.tmp-*"))
    saved = json.loads((folder / "classifier.json").read_text())
    assert saved["recipe"] == meta["recipe"] and saved["threshold"] == 3
    assert saved["training_data"]["documents"] == 46 and saved["training_data"]["held_out"] == 14
    assert len(saved["training_data"]["sha256"]) == 64 and saved["sklearn_version"]
    assert saved["label_source"].startswith("the `score` column")
    m = saved["metrics"]
    assert m["documents"] == 14 and len(m["confusion_matrix"]) == 6
    assert sum(map(sum, m["confusion_matrix"])) == 14
    assert 0 <= m["macro_f1"] <= 1 and 0 <= m["binary_f1"] <= 1
    assert (folder / "pr_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert "Held-out metrics" in (folder / "report.md").read_text()
    clf = Classifier.load(folder)
    good, bad = good_and_bad()
    scores_good, scores_bad = clf.score(good), clf.score(bad)
    assert scores_good.mean() > scores_bad.mean() + 1  # it learned something real
    assert ((scores_good >= 0) & (scores_good <= 5)).all()
    result = evaluate_classifier(folder, [labels], out=tmp_path / f"eval-{folder.name}", log=str)
    assert result["metrics"]["documents"] == 46
    assert result["metrics"]["binary_f1"] >= 0.8  # mostly its own training data
    saved_eval = json.loads((tmp_path / f"eval-{folder.name}" / "metrics.json").read_text())
    assert saved_eval["metrics"] == result["metrics"] and saved_eval["recipe"] == meta["recipe"]


def test_hashing_sgd_round_trip(tmp_path, labels):
    config, meta = train(tmp_path, labels, "hashing", features="hashing")
    assert meta["recipe"] == "hashing+sgd"
    check_round_trip(config, meta, labels, tmp_path)


def test_static_ridge_round_trip_records_its_embedder(tmp_path, labels):
    config, meta = train(tmp_path, labels, "static", features="static", max_tokens=400)
    assert meta["recipe"] == "static+ridge" and meta["features"]["max_tokens"] == 400
    assert meta["features"]["package"].startswith("tokenlearn-static-model==")
    assert meta["estimator"]["params"]["alpha"] == 0.1
    check_round_trip(config, meta, labels, tmp_path)
    assert Classifier.load(config.out).features.max_tokens == 400


def test_static_features_match_the_packaged_encoder():
    # tokenlearn-static-model's own (Rust) encoder, read 512 tokens a text: same vectors
    from static_model import get_embeddings

    texts = [r["text"] for r in labeled_rows()[:4]] + ["", "a"]
    ours = make_features("static").transform(texts)
    theirs = np.array(get_embeddings(texts[:4] + ["a"]))
    assert ours.shape == (6, 64) and not ours[4].any()
    assert np.allclose(ours[[0, 1, 2, 3, 5]], theirs, atol=1e-5)


def test_features_are_rebuilt_from_what_a_model_folder_saved():
    int8 = make_features("embedding", {"max_tokens": 128, "precision": "int8"})
    assert (int8.max_tokens, int8.precision) == (128, "int8")
    assert int8.describe()["precision"] == "int8"  # reads no weights
    hashing = make_features("hashing")
    again = make_features("hashing", hashing.describe())
    texts = [r["text"] for r in labeled_rows()[:5]] + ["", "a b a b"]
    a, b = hashing.transform(texts), again.transform(texts)
    assert (a != b).nnz == 0 and a.shape == (7, 2**20)
    assert np.allclose(np.asarray(a.multiply(a).sum(axis=1)).ravel(), [1, 1, 1, 1, 1, 0, 1])
    assert sorted(a[6].data * 13**0.5) == pytest.approx([1, 2, 2, 2])  # a, b, ab twice; ba once
    with pytest.raises(ValueError, match="HashingVectorizer"):
        make_features("hashing", {"name": "hashing", "ngrams": [1, 2], "n_features": 2**20})
    # a model saved with version 2 (regex words) keeps its columns; new ones split on spaces
    old = make_features("hashing", hashing.describe() | {"version": 2})
    assert old.describe()["version"] == 2 and hashing.describe()["version"] == 3
    punctuated = ["Hello, world. Hello world"]
    assert old.transform(punctuated).nnz == 4  # hello, world; "hello world", "world hello"
    assert (
        hashing.transform(punctuated).nnz == 7
    )  # 4 tokens ("hello," and "hello" differ), 3 bigrams
    with pytest.raises(ValueError, match="unknown precision"):
        make_features("embedding", {"precision": "fp8"})


def test_embedding_ridge_and_forest_round_trip(tmp_path, labels):
    config, meta = train(tmp_path, labels, "ridge", features="embedding")
    assert meta["recipe"] == "embedding+ridge"
    assert meta["features"]["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    check_round_trip(config, meta, labels, tmp_path)
    config, meta = train(tmp_path, labels, "forest", features="embedding", estimator="forest")
    assert meta["recipe"] == "embedding+forest"
    check_round_trip(config, meta, labels, tmp_path)


def test_annotation_folders_train_and_name_their_teacher(tmp_path):
    rows = labeled_rows()
    folder = tmp_path / "annotations"
    (folder / "data").mkdir(parents=True)
    table = pa.Table.from_pylist([r | {"teacher": "SmolLM2", "rationale": "r"} for r in rows])
    pq.write_table(table, folder / "data" / "part-00000.parquet")
    config, meta = train(tmp_path, folder, "clf", features="hashing", estimator="ridge")
    assert meta["label_source"] == "teacher: SmolLM2" and meta["recipe"] == "hashing+ridge"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"text": "a page"}, r"bad\.jsonl:3: no 'score' column"),
        ({"text": "a page", "score": 7}, r"bad\.jsonl:3: score 7 is outside 0-5"),
        ({"text": "a page", "score": -1}, r"bad\.jsonl:3: score -1 is outside 0-5"),
        ({"text": "a page", "score": "high"}, r"bad\.jsonl:3: score 'high' is not a number"),
        ({"text": "a page", "score": None}, r"bad\.jsonl:3: score None is not a number"),
    ],
)
def test_bad_labels_name_file_and_row(tmp_path, row, message):
    path = tmp_path / "bad.jsonl"
    good = {"text": "fine", "score": 3}
    path.write_text("\n".join(json.dumps(r) for r in (good, good, row)) + "\n")
    config = TrainClassifierConfig(annotations=[path], out=tmp_path / "clf", features="hashing")
    with pytest.raises(LabelError, match=message):
        train_classifier(config, log=str)
    assert not (tmp_path / "clf").exists()


def test_bad_labels_in_parquet_name_the_row(tmp_path):
    path = tmp_path / "labels.parquet"
    pq.write_table(pa.table({"text": ["a", "b", "c"], "score": [1.0, 2.5, 5.5]}), path)
    config = TrainClassifierConfig(annotations=[path], out=tmp_path / "clf", features="hashing")
    with pytest.raises(LabelError, match=r"labels\.parquet row 2: score 5\.5 is outside 0-5"):
        train_classifier(config, log=str)


def test_one_sided_labels_and_bad_pairings_fail_before_training(tmp_path, labels):
    path = tmp_path / "all-good.jsonl"
    path.write_text(
        "".join(json.dumps({"text": f"page {i}", "score": 4}) + "\n" for i in range(12))
    )
    config = TrainClassifierConfig(annotations=[path], out=tmp_path / "clf", features="hashing")
    with pytest.raises(LabelError, match="both sides of the threshold"):
        train_classifier(config, log=str)
    config = TrainClassifierConfig(
        annotations=[labels], out=tmp_path / "clf", features="hashing", estimator="forest"
    )
    with pytest.raises(ValueError, match="forest needs dense features"):
        train_classifier(config, log=str)


def test_metrics_round_half_up_and_count_per_class():
    m = score_metrics([0, 1, 3, 4, 5], [0.2, 2.5, 2.49, 3.5, 5.0], threshold=3)
    assert to_class([2.5, 2.49, -1, 7]).tolist() == [3, 2, 0, 5]
    assert m["confusion_matrix"][1][3] == 1 and m["confusion_matrix"][3][2] == 1
    assert (m["precision"], m["recall"]) == (2 / 3, 2 / 3)
    assert np.isclose(m["accuracy"], 0.6)
