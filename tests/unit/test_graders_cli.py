import json

from click.testing import CliRunner

from schoolhouse.cli import main
from tests.unit.test_classifier import labeled_rows
from tests.unit.test_webfilter import WEB


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_train_eval_and_filter_from_the_command_line(tmp_path):
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps(r) + "\n" for r in labeled_rows()))
    clf = tmp_path / "clf"
    result = run("classifier", "train", "--annotations", labels, "--out", clf, "--features",
                 "hashing")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "binary at >= 3" in result.output and (clf / "classifier.json").is_file()
    result = run("classifier", "eval", clf, "--data", labels, "--out", tmp_path / "eval")
    assert result.exit_code == 0 and "confusion matrix" in result.output
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["recipe"] == "hashing+sgd"
    result = run("filter", WEB / "documents.jsonl", WEB / "bad.jsonl", "--out", tmp_path / "web",
                 "--heuristics", "--rules", "fineweb-strict", "--classifier", clf, "--dedup",
                 "exact,minhash", "--json-summary")  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["documents"] == 46 and summary["funnel"]["heuristics"] == 32
    assert summary["steps"] == ["heuristics", "classifier", "dedup"]
    result = run("filter", WEB / "bad.jsonl", "--out", tmp_path / "r", "--heuristics", "--rules",
                 "c5")  # fmt: skip
    assert result.exit_code == 2 and "'c5' is not one of" in result.output


def test_user_errors_are_one_line(tmp_path):
    bad = tmp_path / "labels.jsonl"
    bad.write_text('{"text": "a", "score": 1}\n{"text": "b", "score": 7}\n')
    cases = [
        (("classifier", "train", "--annotations", bad, "--out", tmp_path / "c", "--features",
          "hashing"), "labels.jsonl:2: score 7 is outside 0-5"),
        (("classifier", "eval", tmp_path / "nothing", "--data", bad), "no classifier.json"),
        (("annotate", tmp_path / "missing.jsonl", "--out", tmp_path / "a", "-n", "3"),
         "missing.jsonl: no such file or folder"),
        (("filter", WEB / "bad.jsonl", "--out", tmp_path / "f"), "no step to run"),
        (("filter", WEB / "bad.jsonl", "--out", tmp_path / "f", "--decontaminate", "mmlu"),
         "unknown benchmark 'mmlu'"),
    ]  # fmt: skip
    for args, message in cases:
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and result.output.startswith("error: "), result.output
        assert result.output.count("\n") == 1
    assert not any((tmp_path / name).exists() for name in ("a", "c", "f"))


def test_filter_onto_a_dangling_symlink_fails_in_one_line_before_any_work(tmp_path):
    out = tmp_path / "web"
    out.symlink_to(tmp_path / "gone")
    result = run("filter", WEB / "documents.jsonl", "--out", out, "--dedup", "exact")
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert result.output.startswith(f"error: {out} ") and "choose a new --out" in result.output
    assert out.is_symlink() and not (tmp_path / "gone").exists()
    assert not list(tmp_path.glob(".web.tmp-*"))
