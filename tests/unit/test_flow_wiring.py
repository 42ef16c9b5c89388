from flows.generate_stories import generate, is_teacher_error
from schoolhouse.teacher import TeacherError


class State:
    def __init__(self, data):
        self.data = data


def test_only_teacher_failures_are_retried():
    assert generate.retries == 3
    assert is_teacher_error(None, None, State(TeacherError("server gone")))
    assert not is_teacher_error(None, None, State(ValueError("bad config")))


def test_core_never_imports_prefect():
    import subprocess
    import sys

    code = (
        "import sys, schoolhouse.generation, schoolhouse.cli, schoolhouse.teacher.http, filters,"
        " schoolhouse.student.config, schoolhouse.student.evaluate;"
        "bad = [m for m in ('prefect', 'torch', 'vllm') if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_publish_flow_retries_uploads():
    from flows.publish import upload

    assert upload.retries == 2


def test_pretrain_flow_retries_crashes_but_not_bad_input_or_nan():
    from flows.pretrain import is_transient, train
    from schoolhouse.student.train import TrainingStopped

    assert train.retries == 2
    assert is_transient(None, None, State(RuntimeError("killed by the OOM killer")))
    assert not is_transient(None, None, State(ValueError("no text column")))
    assert not is_transient(None, None, State(TrainingStopped("loss became nan")))


def test_pretrain_flow_runs_the_same_functions_as_the_cli(tmp_path, monkeypatch):
    from flows.pretrain import grade, train
    from schoolhouse.student.config import PretrainConfig
    from tests.toy_stories import write_stories

    monkeypatch.setenv("SCHOOLHOUSE_CACHE", str(tmp_path / "cache"))
    data = write_stories(tmp_path / "s.jsonl", 200)
    cfg = PretrainConfig(data=[data], out=tmp_path / "run", steps=6, seq_len=32, batch_size=4,
                         vocab_size=300)  # fmt: skip
    summary = train.fn(cfg)
    assert summary["steps"] == 6 and summary["val_loss"] < summary["val_loss_start"]
    result = grade.fn(str(tmp_path / "run"), "none", 0)
    assert result["gpt_eval"] is None and result["perplexity"] > 1
