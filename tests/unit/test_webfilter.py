import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from filters import apply_filters, web_filters
from schoolhouse.config import TrainClassifierConfig, WebFilterConfig
from schoolhouse.datasets.readers import ReadError
from schoolhouse.datasets.records import Document
from schoolhouse.graders.classifier import train_classifier
from schoolhouse.graders.judge import STAGE_SCHEMA
from schoolhouse.graders.webfilter import shards_of
from schoolhouse.jobs import filter_web
from tests.unit.test_classifier import labeled_rows

WEB = Path(__file__).resolve().parents[1] / "fixtures" / "web"
LEAK = (
    "Check if in given list of numbers, are any two numbers closer to each other than\n"
    "given threshold."
)  # HumanEval/0's docstring


def lines(name):
    return [json.loads(line) for line in (WEB / name).read_text().splitlines()]


@pytest.fixture(scope="module")
def web(tmp_path_factory) -> Path:
    """Real pages, bad pages, and planted copies: exact, near and contaminated."""
    root = tmp_path_factory.mktemp("web")
    good, bad = lines("documents.jsonl"), lines("bad.jsonl")
    for name, rows in (("a-good.jsonl", good[:10] + good[11:]), ("b-bad.jsonl", bad)):
        (root / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    page = good[3]["text"]
    tokens = good[5]["text"].split(" ")
    rng = random.Random(0)
    for i in rng.sample(range(len(tokens)), 3):
        tokens[i] = "module"
    planted = [
        {"id": "exact-copy", "text": page.upper()},
        {"id": "near-copy", "text": " ".join(tokens)},
        {"id": "leak", "text": good[10]["text"] + "\n\nThe exercise says: " + LEAK},
        {"id": "leak-dup", "text": good[9]["text"] + "\n\nThe exercise says: " + LEAK},
    ]
    (root / "c-planted.jsonl").write_text("".join(json.dumps(r) + "\n" for r in planted))
    (root / "pages").mkdir()
    for i in (7, 8):
        (root / "pages" / f"page{i}.txt").write_text(good[i]["text"])
    return root


@pytest.fixture(scope="module")
def classifier(tmp_path_factory) -> Path:
    labels = tmp_path_factory.mktemp("labels") / "labels.jsonl"
    labels.write_text("".join(json.dumps(r) + "\n" for r in labeled_rows()))
    out = labels.parent / "clf"
    config = TrainClassifierConfig(annotations=[labels], out=out, features="hashing", seed=1)
    train_classifier(config, log=str)
    return out


def rows(out, which="data"):
    return [
        r for f in sorted((out / which).glob("*.parquet")) for r in pq.read_table(f).to_pylist()
    ]


def run(tmp_path, web, classifier, name="out", **kw):
    config = WebFilterConfig(
        inputs=[web], out=tmp_path / name, heuristics=True, classifier=classifier,
        dedup="exact,minhash", decontaminate="humaneval", **kw,
    )  # fmt: skip
    return filter_web(config, log=str)


def test_every_step_drops_with_its_reason_in_order(tmp_path, web, classifier):
    summary = run(tmp_path, web, classifier, rules="fineweb-strict")  # drops every bad page
    out = tmp_path / "out"
    kept, rejected = rows(out), {r["id"]: r for r in rows(out, "rejected")}
    assert summary.documents == 31 + 14 + 4 + 2 == len(kept) + len(rejected)
    pipeline = web_filters("fineweb-strict")
    for doc in lines("bad.jsonl"):  # each bad page is dropped by the first rule it fails
        row = next(r for r in rejected.values() if r["text"] == doc["text"])
        reason = apply_filters(pipeline, Document("", doc["text"], ""))
        assert (row["step"], row["reason"]) == ("heuristics", reason) and reason
        assert row["edu_score"] is None  # never reached the classifier
    low = [r for r in rejected.values() if r["step"] == "classifier"]
    assert low and {r["reason"] for r in low} == {"low_edu_score"}
    assert all(r["edu_int_score"] < 3 for r in low)
    assert sum(r["id"].startswith("debian-handbook") for r in low) >= 12
    good = lines("documents.jsonl")
    assert rejected["exact-copy"]["reason"] == "exact_duplicate"
    assert rejected["exact-copy"]["duplicate_of"] == good[3]["id"]
    assert (rejected["near-copy"]["reason"], rejected["near-copy"]["duplicate_of"]) == (
        "near_duplicate", good[5]["id"]
    )  # fmt: skip
    leak = rejected["leak"]
    assert (leak["step"], leak["reason"]) == ("decontaminate", "contaminated")
    assert leak["contamination"] == "humaneval/HumanEval/0" and leak["edu_int_score"] >= 3
    # dedup comes first: a contaminated copy of a kept page is named a duplicate
    assert (rejected["leak-dup"]["reason"], rejected["leak-dup"]["duplicate_of"]) == (
        "near_duplicate", good[9]["id"]
    )  # fmt: skip
    assert all(r["edu_int_score"] >= 3 and r["edu_score"] is not None for r in kept)
    assert {r["id"] for r in kept} >= {good[3]["id"], good[5]["id"], good[9]["id"]}
    kept_ids = {r["id"] for r in kept}
    for i in (7, 8):  # the text files: copies of two pages, judged like them or as duplicates
        page = next(r for r in rejected.values() if r["source"].endswith(f"page{i}.txt"))
        original = good[i]["id"]
        expected = ("exact_duplicate", original) if original in kept_ids else (
            rejected[original]["reason"], None
        )  # fmt: skip
        assert (page["reason"], page["duplicate_of"]) == expected
    funnel = summary.funnel
    assert [s for s, _ in funnel] == ["input", "heuristics", "classifier", "dedup", "decontaminate"]
    assert funnel[0][1] == 51 and funnel[1][1] == 51 - 14 and funnel[-1][1] == len(kept)
    deduped = [r for r in rejected.values() if r["step"] == "dedup"]
    assert funnel[2][1] - funnel[3][1] == len(deduped) >= 4
    card = (out / "README.md").read_text()
    assert "| input | 51 | 100.0 % |" in card and f"| decontaminate | {len(kept)} |" in card
    exact = sum(r["reason"] == "exact_duplicate" for r in deduped)
    assert f"| dedup | `exact_duplicate` | {exact} |" in card and "`contaminated` | 1 |" in card
    assert "| heuristics | `c4_curly_brace` | 1 |" in card and "hashing+sgd" in card
    assert "**heuristics**: rule set `fineweb-strict`: fineweb with C4's code rules" in card
    config = json.loads((out / "config.json").read_text())
    assert (config["threshold"], config["rules"]) == (3, "fineweb-strict")
    assert not list(tmp_path.glob(".out.tmp-*"))


def test_workers_give_the_same_output(tmp_path, web, classifier):
    one = run(tmp_path, web, classifier, "one", workers=1)
    two = run(tmp_path, web, classifier, "two", workers=2)
    assert one.to_dict()["funnel"] == two.to_dict()["funnel"] and two.workers == 2
    for which in ("data", "rejected"):
        assert rows(tmp_path / "one", which) == rows(tmp_path / "two", which)


def test_only_named_steps_run(tmp_path, web):
    config = WebFilterConfig(inputs=[web], out=tmp_path / "out", dedup="exact")
    summary = filter_web(config, log=str)
    assert summary.steps == ["dedup"] and summary.rejected == {
        ("dedup", "exact_duplicate"): 3
    }  # the copy, 2 text files
    assert all(r["edu_score"] is None for r in rows(tmp_path / "out"))
    with pytest.raises(ValueError, match="no step to run"):
        filter_web(WebFilterConfig(inputs=[web], out=tmp_path / "none"), log=str)
    with pytest.raises(ValueError, match="already exists"):
        filter_web(config, log=str)
    with pytest.raises(ValueError, match="unknown dedup method 'fuzzy'"):
        WebFilterConfig(inputs=[web], out=tmp_path / "x", dedup="exact,fuzzy")


def test_a_failure_leaves_no_output_folder(tmp_path, web):
    broken = tmp_path / "in"
    broken.mkdir()
    (broken / "a.jsonl").write_text((web / "a-good.jsonl").read_text())
    (broken / "b.parquet").write_bytes(b"PAR1 not really")
    config = WebFilterConfig(inputs=[broken], out=tmp_path / "out", heuristics=True)
    with pytest.raises(ReadError, match="not a readable Parquet file"):
        filter_web(config, log=str)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.tmp-*"))


LINUX = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="workers die with their parent on Linux only"
)


def descendants(pid: int) -> dict[int, str]:
    """The live processes below `pid`, with their command lines, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, parent = stat.read_text().rsplit(")", 1)[1].split()[:2]
        except OSError:
            continue
        if state != "Z":
            children.setdefault(int(parent), []).append(int(stat.parent.name))
    found, todo = {}, [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = command_line(child)
            todo.append(child)
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def running(pid: int, command: str) -> bool:
    """`pid` is still the process that ran `command` and not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z" and command_line(pid) == command


@LINUX
def test_a_killed_filter_takes_its_workers_with_it(tmp_path):
    """The OOM killer's SIGKILL of the main process: no worker (~165 MB each) outlives it."""
    web = tmp_path / "web"
    web.mkdir()
    for i in range(100):  # ~6 s of judging with 2 workers: killed long before the end
        (web / f"part-{i:03d}.jsonl").write_text((WEB / "documents.jsonl").read_text())
    command = [sys.executable, "-m", "schoolhouse.cli", "filter", str(web), "--out",
               str(tmp_path / "out"), "--heuristics", "--workers", "2"]  # fmt: skip
    main = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 30
        while main.poll() is None and time.monotonic() < deadline:
            started = descendants(main.pid)
            workers = [c for c in started.values() if "spawn_main" in c]
            if len(workers) == 2 and list(tmp_path.glob(".out.tmp-*/.stage/*.parquet")):
                break  # both workers started, and shards are being judged
            time.sleep(0.05)
        else:
            pytest.fail(f"no two workers judging before the run ended: {started}")
        main.kill()
        main.wait()
        deadline = time.monotonic() + 5
        while (left := {p: c for p, c in started.items() if running(p, c)}) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.05)
        assert not left, f"outlived the killed run: {left}"
    finally:
        main.kill()
        for pid, command in started.items():
            if running(pid, command):
                os.kill(pid, signal.SIGKILL)


@LINUX
def test_a_worker_whose_parent_died_before_it_asked_kills_itself():
    """The race: the parent dies before the worker's prctl, so no signal would ever come."""
    gone = subprocess.Popen(["true"])
    gone.wait()
    code = "import sys\nfrom schoolhouse.graders.judge import die_with_parent\n" + (
        "die_with_parent(int(sys.argv[1]))\nprint('alive')"
    )
    for parent, returncode, out in ((os.getpid(), 0, "alive\n"), (gone.pid, -signal.SIGKILL, "")):
        ran = subprocess.run([sys.executable, "-c", code, str(parent)], capture_output=True,
                             text=True, timeout=60)  # fmt: skip
        assert (ran.returncode, ran.stdout) == (returncode, out), ran.stderr


def test_a_killed_runs_leftovers_are_not_read_as_input(tmp_path):
    """A later run over the folder that holds a killed run's hidden temp folder reads only the
    real input, not its staging or half-written shards."""
    real = tmp_path / "web"
    real.mkdir()
    (real / "pages.jsonl").write_text((WEB / "documents.jsonl").read_text())
    left = tmp_path / ".old.tmp-k1ll3d"
    staged = pa.Table.from_pylist(
        [{"id": f"staged-{i}", "text": f"A staged page number {i}."} for i in range(50)],
        schema=STAGE_SCHEMA,
    )
    for shard in (left / ".stage" / "shard-00000.parquet", left / "data" / "part-00000.parquet"):
        shard.parent.mkdir(parents=True)
        pq.write_table(staged, shard)
    config = WebFilterConfig(inputs=[tmp_path], out=tmp_path / "new", dedup="exact")
    summary = filter_web(config, log=str)
    assert summary.documents == len(lines("documents.jsonl"))
    assert {r["source"] for r in rows(tmp_path / "new")} == {str(real / "pages.jsonl")}


def test_text_files_are_batched_into_shards(tmp_path):
    for i in range(3):
        (tmp_path / f"{i}.txt").write_text("x")
    (tmp_path / "z.jsonl").write_text("{}")
    config = WebFilterConfig(inputs=[tmp_path], out=tmp_path / "out", dedup="exact")
    assert [len(s) for s in shards_of(config)] == [3, 1]


def test_a_graders_annotation_outranks_the_classifier_where_it_exists(tmp_path, web, classifier):
    run(tmp_path, web, classifier, "plain")
    kept = rows(tmp_path / "plain")
    low = [r for r in rows(tmp_path / "plain", "rejected") if r["reason"] == "low_edu_score"]
    assert kept and low and all(r["score_by"] == "classifier" for r in kept + low)
    up, down = low[0], kept[0]
    annotations = tmp_path / "annotations.jsonl"
    annotations.write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": down["id"], "text": down["text"], "score": 0, "score_expected": 0.4},
        {"id": up["id"], "text": up["text"], "score": 5, "score_expected": 4.6},
        {"id": "not-in-the-input", "text": "x", "score": 5, "score_expected": 5.0},
    ]))  # fmt: skip
    summary = run(tmp_path, web, classifier, "graded", annotations=[annotations])
    now = {r["id"]: r for r in rows(tmp_path / "graded")}
    dropped = {r["id"]: r for r in rows(tmp_path / "graded", "rejected")}
    assert now[up["id"]]["edu_score"] == 4.6 and now[up["id"]]["score_by"] == "grader"
    assert dropped[down["id"]]["reason"] == "low_edu_score"
    assert dropped[down["id"]]["edu_score"] == 0.4 and dropped[down["id"]]["score_by"] == "grader"
    assert summary.score_by["grader"] == 2 and summary.score_by["classifier"] >= len(kept) - 1
    assert "2 by the grader" in (tmp_path / "graded" / "README.md").read_text()

    with pytest.raises(ValueError, match="--annotations needs --classifier"):
        filter_web(WebFilterConfig(inputs=[web], out=tmp_path / "x", heuristics=True,
                                   annotations=[annotations]), log=str)  # fmt: skip
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "a", "text": "x", "score": 9}) + "\n")
    with pytest.raises(ValueError, match="bad.jsonl.*score"):
        run(tmp_path, web, classifier, "bad", annotations=[bad])
    assert not (tmp_path / "bad").exists() and not (tmp_path / "x").exists()
