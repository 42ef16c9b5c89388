"""`--runner ray` on a real Ray cluster: a head started with `ray start` on loopback, once per
session, as a user starts one; jobs reach it through RAY_ADDRESS."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from schoolhouse.teacher.serve import free_port

pytestmark = pytest.mark.ray
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "web"
RAY = Path(sys.executable).with_name("ray")


@pytest.fixture(scope="session")
def ray_cluster():
    """A one-node cluster (2 CPUs, 400 MB object store) in its own temp folder; yields its
    address, set as RAY_ADDRESS for the session."""
    port = free_port()
    # Ray's socket paths must stay short: not pytest's deep tmp_path
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    proc = subprocess.Popen(
        [str(RAY), "start", "--head", "--block", "--node-ip-address", "127.0.0.1",
         "--port", str(port), "--num-cpus", "2", "--object-store-memory", "400000000",
         "--include-dashboard", "false", "--disable-usage-stats", "--temp-dir", temp],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while subprocess.run([str(RAY), "status", "--address", address],
                         capture_output=True).returncode != 0:  # fmt: skip
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"ray start failed:\n{proc.stdout.read()[-3000:]}")
        time.sleep(1)
    before = os.environ.get("RAY_ADDRESS")
    os.environ["RAY_ADDRESS"] = address
    yield address
    import ray

    ray.shutdown()
    if before is None:
        os.environ.pop("RAY_ADDRESS", None)
    else:
        os.environ["RAY_ADDRESS"] = before
    proc.send_signal(signal.SIGTERM)  # `ray start --block` stops the node's processes
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    shutil.rmtree(temp, ignore_errors=True)


def rows(folder: Path, which: str) -> list[dict]:
    return [
        r for f in sorted((folder / which).glob("*.parquet")) for r in pq.read_table(f).to_pylist()
    ]


def planted(tmp_path: Path) -> list[Path]:
    """The fixture pages, plus a second file of duplicates of them: exact copies in another
    case and spacing, near copies with a few words changed, each in another shard than its
    original, so only the cross-shard shuffle can find them."""
    docs = [json.loads(line) for line in (FIXTURES / "documents.jsonl").read_text().splitlines()]
    copies = []
    for i, doc in enumerate(docs[:12]):
        text = doc["text"]
        if i % 2:
            text = "  " + text.upper().replace(". ", " .  ")
        else:
            words = text.split()
            words[len(words) // 2] = "zebra"
            text = " ".join(words + ["Thanks", "for", "reading."])
        copies.append({"id": f"copy-{i}", "text": text})
    extra = tmp_path / "copies.jsonl"
    extra.write_text("".join(json.dumps(c) + "\n" for c in copies))
    broken = tmp_path / "broken.jsonl"  # unreadable lines, counted and skipped on a worker too
    broken.write_bytes(b'{"id": "x", "text": \n\x00\x01 not json\n')
    return [FIXTURES / "documents.jsonl", FIXTURES / "near_duplicates.jsonl",
            FIXTURES / "bad.jsonl", broken, extra]  # fmt: skip


def test_filter_on_ray_keeps_what_the_local_run_keeps(ray_cluster, tmp_path):
    from schoolhouse.config import WebFilterConfig
    from schoolhouse.jobs import filter_web

    inputs = planted(tmp_path)
    settings = dict(inputs=inputs, heuristics=True, dedup="exact,minhash",
                    decontaminate="humaneval", shard_size=7)  # fmt: skip
    local = filter_web(WebFilterConfig(out=tmp_path / "local", **settings), log=lambda _: None)
    on_ray = filter_web(
        WebFilterConfig(out=tmp_path / "ray", runner="ray", workers=2, **settings),
        log=lambda _: None,
    )
    for which in ("data", "rejected"):
        assert rows(tmp_path / "ray", which) == rows(tmp_path / "local", which), which
    dropped = {r["id"]: r for r in rows(tmp_path / "ray", "rejected") if r["step"] == "dedup"}
    copies = [i for i in dropped if i.startswith("copy-")]
    assert len(copies) >= 10, dropped.keys()  # the planted copies, found across shards
    assert {dropped[i]["reason"] for i in copies} == {"exact_duplicate", "near_duplicate"}
    assert on_ray.kept == local.kept and on_ray.funnel == local.funnel
    assert on_ray.unreadable == local.unreadable and sum(local.unreadable.values()) == 2
    summary = on_ray.to_dict()
    assert summary["runner"] == "ray"
    # the sequential pass saw the candidates only, and every dropped copy was one
    assert len(dropped) <= summary["dedup_candidates"] < local.funnel[1][1]
    assert summary["shuffle_bytes"] >= 16 * 17 * summary["dedup_candidates"]


def test_a_missing_cluster_is_one_line_naming_ray_address(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    args = [str(FIXTURES / "documents.jsonl"), "--out", str(tmp_path / "o"), "--dedup", "exact",
            "--runner", "ray"]  # fmt: skip
    for address in (None, f"127.0.0.1:{free_port()}"):
        run_env = env if address is None else env | {"RAY_ADDRESS": address}
        done = subprocess.run([sys.executable, "-m", "schoolhouse.cli", "filter", *args],
                              capture_output=True, text=True, env=run_env, timeout=60)  # fmt: skip
        assert done.returncode != 0
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "RAY_ADDRESS" in lines[0] and "ray start --head" in lines[0]
    assert not (tmp_path / "o").exists()


class DiesOnce:
    """A teacher spec whose teacher kills its own Ray worker process (as an OOM kill or a lost
    node would) after `after` completions, the first time only (a marker file remembers)."""

    kind = "fake"

    def __init__(self, marker: Path, after: int):
        self.marker, self.after = marker, after

    def open(self, **options):
        from schoolhouse.teacher.fake import FakeTeacher

        marker, after = self.marker, self.after

        class Teacher(FakeTeacher):
            def generate(self, requests):
                for i, completion in enumerate(super().generate(requests)):
                    if i == after and not marker.exists():
                        marker.write_text("died")
                        os._exit(1)
                    yield completion

        return Teacher(lambda r: f"reply to {r.id}", name="fake")


def test_a_teacher_actor_that_dies_is_restarted_and_no_request_is_answered_twice(
    ray_cluster, tmp_path
):
    import cloudpickle

    from schoolhouse.cluster.teacher import RayTeacher
    from schoolhouse.teacher import Request

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/
    teacher = RayTeacher(DiesOnce(tmp_path / "died", after=5), {}, actors=1)
    try:
        requests = [Request(f"{i}:0", ({"role": "user", "content": str(i)},)) for i in range(40)]
        answered = [c.request_id for c in teacher.generate(requests)]
    finally:
        teacher.close()
    assert (tmp_path / "died").exists()  # it did die
    assert sorted(answered) == sorted(r.id for r in requests)  # each once, none lost


@pytest.mark.prefect
def test_flow_tasks_run_on_the_cluster(ray_cluster, tmp_path):
    """`--runner ray` hands the flow's tasks to prefect-ray: they run in Ray worker processes
    of the cluster, and the filter flow's output is the local run's."""
    from prefect import flow, task
    from prefect.testing.utilities import prefect_test_harness

    from flows import filter_web
    from flows.options import on_runner

    @task
    def where() -> dict:
        import ray

        context = ray.get_runtime_context()
        return {"pid": os.getpid(), "worker": context.worker.mode, "node": context.get_node_id()}

    @flow
    def probe() -> list[dict]:
        return [where.submit().result() for _ in range(2)]

    inputs = [str(p) for p in planted(tmp_path)]
    with prefect_test_harness(server_startup_timeout=90):
        ran = on_runner(probe, "ray")()
        for out, runner in (("ray", ["--runner", "ray", "--workers", "2"]), ("local", [])):
            with pytest.raises(SystemExit) as exit:  # click's standalone mode
                filter_web.main([*inputs, "--out", str(tmp_path / out), "--heuristics",
                                 "--dedup", "exact,minhash", *runner])  # fmt: skip
            assert exit.value.code == 0
    import ray

    assert all(r["worker"] == ray.WORKER_MODE and r["pid"] != os.getpid() for r in ran), ran
    for which in ("data", "rejected"):
        assert rows(tmp_path / "ray", which) == rows(tmp_path / "local", which)


@pytest.mark.engine
@pytest.mark.slow
def test_generation_in_a_ray_actor_resumes_after_the_driver_is_killed(ray_cluster, tmp_path):
    """The real embedded engine inside a Ray actor; the driver is SIGKILLed after some rows;
    the same command finishes the job with no duplicate and asks only for what was missing."""
    out = tmp_path / "stories"
    args = [sys.executable, "-m", "schoolhouse.cli", "generate", "stories", "-n", "16", "--out",
            str(out), "--runner", "ray", "--kv-cache-gib", "1", "--no-progress", "--json-summary"]  # fmt: skip
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    driver = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 420
    journal_rows = 0
    while journal_rows < 3:
        assert driver.poll() is None, driver.stderr.read().decode()[-3000:]
        assert time.monotonic() < deadline, "no row written in time"
        time.sleep(0.5)
        journal_rows = sum(len(p.read_text().splitlines())
                           for p in (out / ".schoolhouse").glob("journal-*.jsonl"))  # fmt: skip
    driver.kill()  # SIGKILL: no cleanup runs
    driver.wait()
    assert journal_rows < 16, "the kill came too late to interrupt anything"

    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    ids = [r["id"] for which in ("data", "rejected") for r in rows(out, which)]
    indices = sorted(r["index"] for which in ("data", "rejected") for r in rows(out, which))
    assert len(ids) == len(set(ids)) == 16 and indices == list(range(16))
    assert summary["skipped_already_done"] >= journal_rows
    assert summary["written_this_run"] == 16 - summary["skipped_already_done"]
