"""prefect.yaml against a real Prefect server and process worker on loopback: deploy, trigger the
stories deployment with a small n, and see the cron schedule create scheduled runs."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest

from schoolhouse.teacher.serve import free_port

pytestmark = [pytest.mark.engine, pytest.mark.prefect]
ROOT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).parent / "prefect")


@pytest.fixture(scope="module")
def prefect_env(tmp_path_factory):
    home = tmp_path_factory.mktemp("prefect-home")
    api = f"http://127.0.0.1:{free_port()}/api"
    env = dict(
        os.environ,
        PREFECT_HOME=str(home),
        PREFECT_API_URL=api,
        PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="2",
        PREFECT_UI_ENABLED="false",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        SCHOOLHOUSE_PROJECT_DIR=str(ROOT),
    )
    port = api.split(":")[2].split("/")[0]
    procs = []

    def start(*args, log):
        out = open(home / log, "wb")  # noqa: SIM115 (the child owns it)
        procs.append(
            subprocess.Popen(
                [PREFECT, *args],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    try:
        start("server", "start", "--host", "127.0.0.1", "--port", port, log="server.log")
        yield from _ready(api, env, home, start)
    finally:
        for proc in procs[::-1]:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def _ready(api, env, home, start):
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(1)
    else:
        pytest.fail("Prefect server did not start:\n" + (home / "server.log").read_text()[-3000:])
    subprocess.run(
        [PREFECT, "work-pool", "create", "schoolhouse", "--type", "process"],
        env=env,
        check=True,
        capture_output=True,
    )
    start("worker", "start", "--pool", "schoolhouse", log="worker.log")
    yield env


def prefect(env, *args, timeout=300):
    result = subprocess.run(
        [PREFECT, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_deploy_then_trigger_the_stories_deployment(prefect_env, teacher_server, tmp_path):
    prefect(prefect_env, "--no-prompt", "deploy", "--all")
    out = tmp_path / "stories"
    options = json.dumps({"max_tokens": 96, "min_words": 10})
    stdout = prefect(
        prefect_env,
        "deployment",
        "run",
        "generate/stories-nightly",
        "--param",
        "n=3",
        "--param",
        f"out={json.dumps(str(out))}",
        "--param",
        f"teacher={json.dumps(teacher_server)}",
        "--param",
        f"options={options}",
        "--start-in",
        "3 seconds",  # a scheduled run: the worker picks it up when it is due
        "--watch",
        "--watch-timeout",
        "240",
    )
    assert "Completed" in stdout
    rows = [r for f in out.glob("*/part-*.parquet") for r in pq.read_table(f).to_pylist()]
    assert sorted(r["index"] for r in rows) == [0, 1, 2]
    # the run went through the states a scheduled run should, in order
    api = prefect_env["PREFECT_API_URL"]
    deployment = httpx.get(f"{api}/deployments/name/generate/stories-nightly").json()
    query = {"flow_runs": {"deployment_id": {"any_": [deployment["id"]]},
                           "state": {"type": {"any_": ["COMPLETED"]}}}}  # fmt: skip
    [run] = httpx.post(f"{api}/flow_runs/filter", json=query).json()
    states = httpx.get(f"{api}/flow_run_states/", params={"flow_run_id": run["id"]}).json()
    states.sort(key=lambda s: s["timestamp"])
    seen = [s["type"] for s in states if s["type"] != "PENDING"]
    seen = [t for i, t in enumerate(seen) if i == 0 or seen[i - 1] != t]  # Scheduled, Late: one
    print("states of the triggered run:", " -> ".join(f"{s['name']} {s['timestamp'][11:19]}"
                                                        for s in states))  # fmt: skip
    assert seen == ["SCHEDULED", "RUNNING", "COMPLETED"], states


def test_the_cron_schedule_creates_scheduled_runs(prefect_env):
    prefect(prefect_env, "--no-prompt", "deploy", "--all")
    api = prefect_env["PREFECT_API_URL"]
    deployment = httpx.get(f"{api}/deployments/name/generate/stories-nightly").json()
    query = {
        "flow_runs": {
            "deployment_id": {"any_": [deployment["id"]]},
            "state": {"type": {"any_": ["SCHEDULED"]}},
        }
    }
    runs = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not runs:
        runs = httpx.post(f"{api}/flow_runs/filter", json=query).json()
        time.sleep(2)
    assert runs, "the scheduler created no scheduled run"
    assert all(r["expected_start_time"][11:16] == "02:00" for r in runs)  # cron "0 2 * * *" UTC
