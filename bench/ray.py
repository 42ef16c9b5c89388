"""The same filter job on this machine and on a Ray cluster: speed, overhead, the dedup
shuffle's size, and what N nodes would do, from costs measured in this one run.

    apt-get install python3.11-doc debian-handbook fortunes     # the real text (bench/filter.py)
    python bench/ray.py [--docs 6000] [--near 0.1] [--workers 2] [--classifier out/edu-clf]
    python bench/ray.py --address HOST:PORT                      # an existing cluster

Input: `--docs` documents of real text (the Python and Debian documentation, Debian changelogs
and copyright files, fortunes: bench/filter.py's proxy corpus) plus edited copies of `--near` of
them (4 words changed), shuffled and written as 12 JSONL shards. The job: heuristics
(`fineweb` rules), the classifier if given, exact + MinHash dedup, HumanEval decontamination.

Without `--address`, a one-node cluster is started for the run (`ray start --head` on loopback,
`--workers` CPUs) and stopped after. Both runs use `--workers` processes: local worker
processes, or Ray actors. Printed: documents/s of each, the Ray run's overhead ratio (local
docs/s over Ray docs/s), whether the kept ids are identical, the Ray run's per-stage costs, and
a scaling estimate.

The scaling model (Amdahl, with the stages of `cluster/webfilter.py`):

    T(N) = T0 + (J + F) / (N c) + B / (N BW) + R

    T0  fixed cost: actor start-up and scheduling; measured as the judge stage's wall time
        less its share of work, (judge_and_shuffle) - (J + F) / c
    J   worker CPU-seconds judging (heuristics, classifier, 13-gram lookup), measured
    F   worker CPU-seconds fingerprinting for dedup (MinHash), measured
    c   worker processes per node (--workers here)
    B   shuffle bytes (collision keys: 17 x 16 bytes per document reaching dedup), measured;
        BW an assumed 1 GB/s of network per node (this run moves them in shared memory)
    R   the driver's sequential stage: fetching each judged shard, dedup over the candidates
        only, writing Parquet; measured (resolve_and_write) and not divided by N

so the speed-up is bounded by (T0 + R) / T(1): past the N where (J + F) / (N c) falls below
T0 + R, more nodes buy nothing, and R grows with the corpus (every kept row passes the
driver). On 2 cores the measured Ray run cannot be faster than local; the estimate is what the
per-stage costs imply, not a measurement of a cluster.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# this file is named after the package it measures: its folder must not shadow `ray`
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))
NODES = (1, 2, 4, 8, 16, 64)
NETWORK_BPS = 1e9


def write_corpus(folder: Path, docs: int, near: float, seed: int, shards: int = 12) -> int:
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_filter", HERE / "filter.py")
    bench_filter = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_filter)
    texts = [t for t, _ in bench_filter.proxy_corpus(docs, seed)]
    originals, planted, _ = bench_filter.planted_documents(texts, near, 4, seed)
    rows = [{"id": d.id, "text": d.text} for d in originals + planted]
    random.Random(seed).shuffle(rows)
    folder.mkdir(parents=True)
    for s in range(shards):
        with open(folder / f"shard-{s:02d}.jsonl", "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows[s::shards])
    return len(rows)


def start_cluster(cpus: int) -> tuple[subprocess.Popen, str, str]:
    from schoolhouse.teacher.serve import free_port

    port, temp = free_port(), tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    ray = str(Path(sys.executable).with_name("ray"))
    proc = subprocess.Popen(
        [ray, "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port",
         str(port), "--num-cpus", str(cpus), "--include-dashboard", "false",
         "--disable-usage-stats", "--temp-dir", temp],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    address = f"127.0.0.1:{port}"
    while subprocess.run([ray, "status", "--address", address], capture_output=True).returncode:
        if proc.poll() is not None:
            sys.exit("ray start failed")
        time.sleep(1)
    return proc, address, temp


def stop_cluster(proc: subprocess.Popen, temp: str) -> None:
    import ray

    ray.shutdown()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    shutil.rmtree(temp, ignore_errors=True)


def kept_ids(folder: Path) -> list[str]:
    import pyarrow.parquet as pq

    return [i for f in sorted((folder / "data").glob("*.parquet"))
            for i in pq.read_table(f, columns=["id"]).column("id").to_pylist()]  # fmt: skip


def cost_model(ray: dict, workers: int) -> dict:
    """The model's terms, per document where they scale with the corpus."""
    stages, measured = ray["stage_s"], ray["documents"]
    work = (ray["judge_s"] + stages.get("fingerprint_cpu", 0.0)) / measured
    return {
        "fixed_s": max(0.0, stages["judge_and_shuffle"] - work * measured / workers),
        "worker_s_per_doc": work,
        "driver_s_per_doc": stages["resolve_and_write"] / measured,
        "shuffle_bytes_per_doc": ray["shuffle_bytes"] / measured,
    }


def estimate(model: dict, workers: int, documents: int) -> list[dict]:
    """T(N) for `documents` documents on N nodes of `workers` processes each."""

    def seconds(n: int) -> float:
        per_doc = (model["worker_s_per_doc"] / (n * workers) + model["driver_s_per_doc"]
                   + model["shuffle_bytes_per_doc"] / (n * NETWORK_BPS))  # fmt: skip
        return model["fixed_s"] + documents * per_doc

    return [{"nodes": n, "documents": documents, "seconds": seconds(n),
             "docs_per_s": documents / seconds(n), "speedup": seconds(1) / seconds(n)}
            for n in NODES]  # fmt: skip


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=6000, help="real documents before copies")
    parser.add_argument("--near", type=float, default=0.1, help="share given an edited copy")
    parser.add_argument("--workers", type=int, default=2, help="processes (local) or actors (Ray)")
    parser.add_argument("--classifier", type=Path, help="a `classifier train` folder to score with")
    parser.add_argument("--address", help="an existing cluster (else one is started)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--at",
        type=int,
        default=10_000_000,
        help="also estimate for a corpus of this many documents",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)

    from schoolhouse.config import WebFilterConfig
    from schoolhouse.jobs import filter_web

    work = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    try:
        documents = write_corpus(work / "web", args.docs, args.near, args.seed)
        settings = dict(inputs=[work / "web"], heuristics=True, dedup="exact,minhash",
                        decontaminate="humaneval", classifier=args.classifier,
                        workers=args.workers)  # fmt: skip
        quiet = lambda _: None  # noqa: E731
        results = {"documents": documents, "workers": args.workers}
        started = time.perf_counter()
        local = filter_web(WebFilterConfig(out=work / "local", **settings), log=quiet).to_dict()
        results["local"] = local | {"wall_s": time.perf_counter() - started}
        cluster = None
        if args.address:
            os.environ["RAY_ADDRESS"] = args.address
        else:
            cluster = start_cluster(args.workers)
            os.environ["RAY_ADDRESS"] = cluster[1]
        try:
            started = time.perf_counter()
            config = WebFilterConfig(out=work / "ray", runner="ray", **settings)
            on_ray = filter_web(config, log=quiet).to_dict()
            results["ray"] = on_ray | {"wall_s": time.perf_counter() - started}
        finally:
            if cluster:
                stop_cluster(cluster[0], cluster[2])
        results["identical_kept_ids"] = kept_ids(work / "ray") == kept_ids(work / "local")
        results["model"] = model = cost_model(results["ray"], args.workers)
        results["estimate"] = [estimate(model, args.workers, d) for d in (documents, args.at)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(results, args)
    return 0 if results["identical_kept_ids"] else 1


def report(results: dict, args) -> None:
    if args.json:
        print(json.dumps(results, indent=2))
        return
    local, ray = results["local"], results["ray"]
    n = results["documents"]
    local_rate, ray_rate = n / local["wall_s"], n / ray["wall_s"]
    steps = ["input", *ray["steps"]]
    dedup_docs = ray["funnel"][steps[steps.index("dedup") - 1]]  # what reached dedup
    print(f"{n} documents ({args.docs} real + copies), {results['workers']} workers, "
          f"classifier {'yes' if args.classifier else 'no'}")  # fmt: skip
    print(f"  local  {local['wall_s']:7.1f} s  {local_rate:8.1f} docs/s  kept {local['kept']}")
    print(f"  ray    {ray['wall_s']:7.1f} s  {ray_rate:8.1f} docs/s  kept {ray['kept']}")
    print(f"  overhead ratio (local docs/s / ray docs/s): {local_rate / ray_rate:.2f}")
    print(f"  kept ids identical: {results['identical_kept_ids']}")
    stages = ray["stage_s"]
    print(f"  ray stages: judge+shuffle {stages['judge_and_shuffle']:.1f} s wall "
          f"(judge {ray['judge_s']:.1f} + fingerprint {stages['fingerprint_cpu']:.1f} "
          f"worker-s), resolve+write {stages['resolve_and_write']:.1f} s on the driver")  # fmt: skip
    print(f"  shuffle: {ray['shuffle_bytes']:,} bytes, {ray['shuffle_bytes'] / dedup_docs:.0f} "
          f"per document reaching dedup; sequential pass saw {ray['dedup_candidates']} of "
          f"{dedup_docs} ({ray['dedup_candidates'] / dedup_docs:.1%})")  # fmt: skip
    here, there = results["estimate"]
    m = results["model"]
    print(
        f"  estimate at {args.workers} workers per node, {NETWORK_BPS / 1e9:.0f} GB/s network "
        f"(model: T0 {m['fixed_s']:.1f} s, {m['worker_s_per_doc'] * 1e3:.2f} worker-ms and "
        f"{m['driver_s_per_doc'] * 1e6:.0f} driver-us per document):"
    )
    print(f"    nodes  {n:>12,} documents        {there[0]['documents']:>12,} documents")
    for a, b in zip(here, there, strict=True):
        print(
            f"    {a['nodes']:5d}  {a['seconds']:9.1f} s  x{a['speedup']:5.1f}"
            f"        {b['seconds']:9.0f} s  x{b['speedup']:5.1f}  {b['docs_per_s']:9.0f} docs/s"
        )


if __name__ == "__main__":
    sys.exit(main())
