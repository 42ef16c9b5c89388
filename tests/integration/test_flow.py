"""The generate flow (kind stories) under a real (temporary) Prefect server, with a real teacher."""

import pytest

pytestmark = [pytest.mark.engine, pytest.mark.prefect]


def test_flow_generates_through_the_real_server(teacher_server, tmp_path):
    from prefect.testing.utilities import prefect_test_harness

    from flows.generate import generate, generate_flow

    assert generate.retries == 3  # a dead teacher is retried, and the retry resumes
    out = tmp_path / "out"
    with prefect_test_harness(server_startup_timeout=90):
        state = generate_flow(
            kind="stories",
            n=3,
            out=str(out),
            seed=2,
            teacher=teacher_server,
            options={"max_tokens": 96, "min_words": 10},
            return_state=True,
        )
    assert state.is_completed(), state
    summary = state.result()
    assert summary["kept"] + sum(summary["rejected"].values()) == 3
    assert (out / "README.md").exists() and (out / "config.json").exists()
