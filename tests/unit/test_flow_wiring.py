from flows.generate import generate, is_teacher_error
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
        "import sys, schoolhouse.lessons.generation, schoolhouse.cli, schoolhouse.teacher.http, filters,"
        " schoolhouse.student.config, schoolhouse.student.evaluate, schoolhouse.pipeline,"
        " schoolhouse.report, schoolhouse.cli.pipeline;"
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


def test_the_lesson_flow_retries_only_teacher_failures_and_runs_the_cli_functions(tmp_path):
    import pytest

    import flows.generate
    from schoolhouse.config import ExercisesConfig, TextbooksConfig
    from schoolhouse.jobs import JOBS, LESSON_KINDS
    from schoolhouse.lessons.exercises import ExercisesKind
    from schoolhouse.lessons.textbooks import TextbooksKind

    assert flows.generate.generate.retries == 3
    assert flows.generate.generate.retry_condition_fn is is_teacher_error
    tb = flows.generate.lesson_kind(TextbooksConfig(n=2, out=tmp_path / "t", min_tokens=7))
    assert isinstance(tb, TextbooksKind)
    assert [f.name for f in tb.verify_one.args[0]][:2] == ["truncated", "too_short"]
    assert tb.verify_one.args[0][1].min_tokens == 7
    ex = flows.generate.lesson_kind(ExercisesConfig(n=2, out=tmp_path / "e", timeout_s=3))
    assert isinstance(ex, ExercisesKind) and ex.timeout_s == 3
    assert [f.name for f in ex.verify_one.args[0]] == ["truncated", "contaminated"]
    # the flow's `kind` picks the job's config type; a kind JOBS has no lesson for is refused
    for kind in LESSON_KINDS:
        config = flows.generate.job_config(kind, {"max_tokens": 64}, n=2, out=tmp_path / kind)
        assert type(config) is JOBS[kind].config and config.max_tokens == 64
    with pytest.raises(ValueError, match="'filter' is not a lesson kind"):
        flows.generate.job_config("filter", None, n=2, out=tmp_path / "f")


def test_the_generate_flow_s_main_takes_each_lesson_command_s_options(monkeypatch, capsys):
    import pytest

    import flows.generate
    from schoolhouse.cli import main as cli
    from schoolhouse.jobs import LESSON_KINDS

    seen = []
    monkeypatch.setattr(flows.generate, "generate_flow", lambda **kw: seen.append(kw))
    for kind in LESSON_KINDS:
        with pytest.raises(SystemExit) as done:  # click's standalone mode exits 0 when done
            flows.generate.main([kind, "-n", "3", "--out", f"o/{kind}", "--max-tokens", "64"])
        assert done.value.code == 0
        kw = seen.pop()
        assert kw["kind"] == kind and kw["options"]["n"] == 3 and kw["options"]["max_tokens"] == 64
        flags = {p.name: p.opts for p in cli.commands["generate"].commands[kind].params}
        del flags["progress"], flags["json_summary"]  # the command's own, not the config's
        mine = {p.name: p.opts for p in flows.generate.lesson_command(kind).params}
        assert mine == flags
    with pytest.raises(SystemExit) as done:
        flows.generate.main(["stories", "-n", "0", "--out", "o"])
    assert done.value.code != 0 and "-n" in capsys.readouterr().err and not seen


def test_lesson_deployments_run_the_one_generate_flow_with_their_kind():
    import inspect
    from pathlib import Path

    import yaml

    from flows.generate import generate_flow, job_config
    from schoolhouse.jobs import LESSON_KINDS

    root = Path(__file__).resolve().parents[2]
    deployments = yaml.safe_load((root / "prefect.yaml").read_text())["deployments"]
    lessons = [d for d in deployments if d["entrypoint"].startswith("flows/generate")]
    assert {d["entrypoint"] for d in lessons} == {"flows/generate.py:generate_flow"}
    by_kind = {d["parameters"]["kind"]: d for d in lessons}
    assert sorted(by_kind) == sorted(LESSON_KINDS) and len(by_kind) == len(lessons)
    assert len({d["name"] for d in lessons}) == len(lessons)  # names are unique per flow
    for kind, teacher in (("textbooks", "embedded"), ("exercises", "embedded-coder")):
        deployment = by_kind[kind]
        assert "schedules" not in deployment and deployment["parameters"]["teacher"] == teacher
    assert by_kind["stories"]["schedules"] == [{"cron": "0 2 * * *", "timezone": "UTC"}]
    signature = inspect.signature(generate_flow.fn)
    required = {p for p, v in signature.parameters.items() if v.default is v.empty}
    for deployment in by_kind.values():
        params = dict(deployment["parameters"])
        assert required <= set(params) <= set(signature.parameters)
        module, flow_name = deployment["entrypoint"].split(":")
        assert (root / module).is_file() and flow_name == generate_flow.fn.__name__
        config = job_config(params.pop("kind"), params.pop("options", None), **params)
        assert config.n == deployment["parameters"]["n"]


def test_pipeline_flow_runs_each_step_as_a_task_and_retries_only_teacher_failures(tmp_path):
    from flows.pipeline import is_transient, step
    from schoolhouse.pipeline import Pipeline, PipelineConfig
    from schoolhouse.teacher import resolve_teacher
    from schoolhouse.teacher.fake import FakeTeacher
    from tests.conftest import story_for

    assert step.retries == 2
    assert is_transient(None, None, State(TeacherError("engine died")))
    assert not is_transient(None, None, State(ValueError("no kept rows to train on")))
    name = resolve_teacher("embedded").name
    config = PipelineConfig(out=tmp_path / "run", stories=3, best_of=1, textbooks=0)
    fake = FakeTeacher(lambda r: story_for(r.messages[0]["content"]), name=name)
    pipeline = Pipeline(config, log=lambda m: None, open_teacher=lambda spec: fake)
    assert step.fn(pipeline, "stories")["result"]["kept"] == 3
    assert step.fn(pipeline, "textbooks") == {"status": "skipped", "reason": "--textbooks 0"}
    assert len(fake.requests) == 3


def test_pretrain_and_publish_flow_mains_take_the_commands_options(monkeypatch, capsys):
    import pytest

    import flows.pretrain
    import flows.publish

    seen = {}
    monkeypatch.setattr(flows.pretrain, "pretrain_flow", lambda **kw: seen.update(pretrain=kw))
    monkeypatch.setattr(flows.publish, "publish_flow", lambda *a, **kw: seen.update(pub=(a, kw)))
    for main, argv in (
        (flows.pretrain.main, ["--data", "d", "--out", "r", "--steps", "3", "-n", "2"]),
        (flows.publish.main, ["out/s", "--repo", "a/b", "--private", "--retries", "1"]),
    ):
        with pytest.raises(SystemExit) as done:  # click's standalone mode exits 0 when done
            main(argv)
        assert done.value.code == 0
    kw = seen["pretrain"]
    assert kw["data"] == ["d"] and kw["out"] == "r" and kw["eval_prompts"] == 2
    assert kw["options"]["steps"] == 3 and kw["teacher"] == "embedded"
    args, kw = seen["pub"]
    assert args == ("out/s",) and kw["repo"] == "a/b" and kw["private"] and kw["retries"] == 1
    with pytest.raises(SystemExit) as done:
        flows.pretrain.main(["--data", "d", "--out", "r", "--steps", "0"])
    assert done.value.code != 0 and "--steps" in capsys.readouterr().err


def test_selftrain_flow_retries_crashes_not_stops_and_takes_the_commands_options(
    monkeypatch, tmp_path, capsys
):
    from pathlib import Path

    import pytest
    import yaml

    import flows.selftrain
    from flows.selftrain import is_transient, run_selftrain
    from schoolhouse.selftrain.loop import SelfTrainError

    assert run_selftrain.retries == 2
    assert is_transient(None, None, State(RuntimeError("engine died")))
    assert not is_transient(None, None, State(SelfTrainError("iteration 1: none passed")))
    assert not is_transient(None, None, State(ValueError("--samples: refused")))
    seen = {}
    monkeypatch.setattr(flows.selftrain, "selftrain_flow", lambda **kw: seen.update(kw))
    with pytest.raises(SystemExit) as done:
        flows.selftrain.main(["--kind", "stories", "--out", "r", "--samples", "8", "--cap", "3"])
    assert done.value.code == 0
    assert seen["kind"] == "stories" and seen["out"] == "r" and seen["teacher"] == "embedded"
    assert seen["options"]["samples"] == 8 and seen["options"]["cap"] == 3
    config = flows.selftrain.build(
        flows.selftrain.SelfTrainConfig, seen["options"], kind=seen["kind"], out=Path("r")
    )
    assert config.samples == 8 and config.iterations == 2 and config.eval == "none"
    root = Path(__file__).resolve().parents[2]
    deployments = yaml.safe_load((root / "prefect.yaml").read_text())["deployments"]
    (deployment,) = [d for d in deployments if d["entrypoint"].endswith(":selftrain_flow")]
    assert "schedules" not in deployment and deployment["parameters"]["kind"] == "exercises"
    # a rerun with other settings fails in one line naming the flag, before any flow run
    from schoolhouse.selftrain.loop import record_run

    record_run(config.model_copy(update={"out": tmp_path / "run"}))
    seen.clear()
    with pytest.raises(SystemExit) as done:
        flows.selftrain.main(
            ["--kind", "stories", "--out", str(tmp_path / "run"), "--samples", "8", "--cap", "1"]
        )
    assert done.value.code != 0 and "--cap" in capsys.readouterr().err and not seen


def test_the_cli_s_generate_commands_are_exactly_the_lesson_kinds_of_jobs(monkeypatch, tmp_path):
    import dataclasses

    from click.testing import CliRunner

    from schoolhouse import jobs
    from schoolhouse.cli import main
    from schoolhouse.config import GenerateConfig

    lessons = [name for name, job in jobs.JOBS.items() if issubclass(job.config, GenerateConfig)]
    assert lessons == list(jobs.LESSON_KINDS) == ["stories", "textbooks", "exercises"]
    commands = main.commands["generate"].commands
    assert sorted(commands) == sorted(lessons)
    calls = []

    def run(config, **options):
        calls.append((config, options))
        raise ValueError("the table's run")

    # a command that ran another job than the table's would find no teacher at this address
    # and fail on that, not on the table's run
    nowhere = "http://127.0.0.1:9/v1"
    for kind in lessons:
        job, command = jobs.JOBS[kind], commands[kind]
        assert command.help.split() == job.help.split()
        fields = {p.name for p in command.params} - {"progress", "json_summary"}
        assert fields == set(job.config.model_fields)
        assert [p.opts for p in command.params if p.name == "n"] == [["-n", "--n"]]
        # the command runs the job the table holds when it runs
        calls.clear()
        monkeypatch.setitem(jobs.JOBS, kind, dataclasses.replace(job, run=run))
        out = tmp_path / kind
        result = CliRunner().invoke(main, ["generate", kind, "-n", "2", "--out", str(out),
                                           "--teacher", nowhere, "--no-progress"])  # fmt: skip
        assert result.exit_code == 2 and result.output == "error: the table's run\n"
        [(config, options)] = calls
        assert type(config) is job.config and config.n == 2 and config.out == out
        assert config.teacher == nowhere and options == {"progress": False}
