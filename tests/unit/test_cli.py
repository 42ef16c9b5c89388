import json

import pytest
from click.testing import CliRunner

from schoolhouse.cli import main


def commands(group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name)
        if hasattr(command, "commands"):
            yield from commands(command, (*prefix, name))


@pytest.mark.parametrize("path", [(), *commands(main)])
def test_every_command_has_help(path):
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    lines = result.output.split("Options:")[0].strip().splitlines()
    assert len(lines) >= 3  # usage line, blank line, a description


def run(*args):
    return CliRunner().invoke(main, ["generate", "stories", *args])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-n", "0"], "-n: Input should be greater than 0 (got 0)"),
        (["-n", "-3"], "-n: Input should be greater than 0 (got -3)"),
        (["-n", "2", "--best-of", "0"], "--best-of: Input should be greater than or equal to 1"),
        (
            ["-n", "2", "--teacher", "/no/such/model"],
            "neither 'embedded', an http(s) URL, nor an existing model folder",
        ),
        (
            ["-n", "2", "--teacher", "http://127.0.0.1:9/v1"],
            "cannot reach the teacher at http://127.0.0.1:9/v1",
        ),
    ],
)
def test_bad_input_is_one_line_before_any_work(tmp_path, args, message):
    out = tmp_path / "out"
    result = run(*args, "--out", str(out))
    assert result.exit_code == 2
    assert message in result.output
    assert result.output.count("\n") == 1 and result.output.startswith("error: ")
    assert not out.exists()


def test_a_model_folder_without_config(tmp_path):
    (tmp_path / "model").mkdir()
    result = run("-n", "2", "--out", str(tmp_path / "out"), "--teacher", str(tmp_path / "model"))
    assert result.exit_code == 2 and "has no config.json" in result.output


def test_a_corrupt_vocabulary_is_named(tmp_path):
    vocab = tmp_path / "v.csv"
    vocab.write_text("word,pos\ndog,noun\ncat,nounz\n")
    result = run("-n", "2", "--out", str(tmp_path / "out"), "--vocabulary", str(vocab))
    assert result.exit_code == 2
    assert f"{vocab}:3: part of speech 'nounz'" in result.output


def test_a_foreign_output_folder_is_untouched(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    result = run("-n", "2", "--out", str(out))
    assert (
        result.exit_code == 2
        and "made by something other than schoolhouse, not `schoolhouse generate stories`"
        in result.output
    )
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize("kind", ["textbooks", "exercises"])
def test_a_bad_topics_file_is_named_by_file_and_line(tmp_path, kind):
    topics = tmp_path / "topics.txt"
    topics.write_text("Loops\nSets\nloops\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["generate", kind, "-n", "2", "--out", str(out), "--topics", str(topics)]
    )
    assert result.exit_code == 2 and not out.exists()
    assert f"error: {topics}:3: 'loops' already listed at {topics}:1" in result.output


def test_lesson_commands_resume_like_stories(tmp_path, monkeypatch):
    from schoolhouse.teacher import fake

    replies = fake.FakeTeacher(lambda r: "def f():\n    pass\n")
    monkeypatch.setattr("schoolhouse.teacher.TeacherSpec.open", lambda self, **kw: replies)
    out = tmp_path / "ex"
    args = ["generate", "exercises", "-n", "2", "--out", str(out), "--teacher", str(tmp_path)]
    (tmp_path / "config.json").write_text("{}")  # a model folder, as far as resolving goes
    result = CliRunner().invoke(main, [*args, "--no-progress", "--json-summary"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["kept"] == 0 and summary["rejected"] == {"no_docstring": 2}
    again = CliRunner().invoke(main, [*args, "--no-progress"])
    assert again.exit_code == 0 and "rejected no_docstring" in again.output
    assert len(replies.requests) == 2


def no_engine(monkeypatch):
    """Fail a test at once where the command would start a teacher engine or a vLLM server."""

    def refuse(*args, **kwargs):
        raise AssertionError("an engine started")

    monkeypatch.setattr("schoolhouse.teacher.TeacherSpec.open", refuse)
    monkeypatch.setattr("schoolhouse.teacher.serve.start_server", refuse)
    monkeypatch.setattr("schoolhouse.teacher.embedded.model_dir", refuse)
    monkeypatch.setattr("schoolhouse.pipeline.Teachers.get", refuse)


@pytest.mark.parametrize(
    ("web", "message"),
    [
        ("typo", "no such file or folder"),
        ("empty", "no file the web readers read in this folder"),
        ("notes.csv", "unknown format (expected a folder or one of .jsonl"),
        ("broken.parquet", "not a readable Parquet file ("),
    ],
)
def test_pipeline_checks_every_web_input_before_any_step(tmp_path, monkeypatch, web, message):
    no_engine(monkeypatch)
    good = tmp_path / "good.jsonl"
    good.write_text('{"text": "A page about gardens."}\n')
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.csv").write_text("text\nhello\n")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not a parquet file PAR1")
    out = tmp_path / "run"
    args = ["pipeline", "--out", str(out), "--web", str(good), "--web", str(tmp_path / web)]
    result = CliRunner().invoke(main, [*args, "--no-progress"])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1
    assert result.output.startswith(f"error: --web {tmp_path / web}: {message}")
    assert not out.exists()


def test_the_pipeline_flow_checks_web_inputs_before_prefect_starts(tmp_path, monkeypatch, capsys):
    import flows.pipeline

    def no_flow(**kw):
        raise AssertionError("the flow started")

    monkeypatch.setattr(flows.pipeline, "pipeline_flow", no_flow)
    with pytest.raises(SystemExit) as stop:
        flows.pipeline.main(["--out", str(tmp_path / "run"), "--web", str(tmp_path / "typo")])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: --web ") and "typo: no such" in err


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["sample", "RUN", "-n", "-1"], "'-n'"),
        (["sample", "RUN", "-n", "0"], "'-n'"),
        (["sample", "RUN", "--max-new-tokens", "-5"], "'--max-new-tokens'"),
        (["sample", "RUN", "--top-k", "-1"], "'--top-k'"),
        (["sample", "RUN", "--temperature", "-0.5"], "'--temperature'"),
        (["sample", "RUN", "--seed", "-1"], "'--seed'"),
        (["evaluate", "RUN", "--teacher", "none", "--val-windows", "0"], "'--val-windows'"),
        (["evaluate", "RUN", "--teacher", "none", "-n", "-2"], "'-n'"),
        (["evaluate", "RUN", "--teacher", "none", "--max-new-tokens", "0"], "'--max-new-tokens'"),
        (["teacher", "serve", "--teacher", "RUN", "--port", "70000"], "'--port'"),
        (["teacher", "serve", "--teacher", "RUN", "--kv-cache-gib", "0"], "'--kv-cache-gib'"),
    ],
)
def test_a_number_out_of_range_is_refused_naming_its_flag(tmp_path, monkeypatch, args, flag):
    no_engine(monkeypatch)
    args = [str(tmp_path / "run") if a == "RUN" else a for a in args]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    error = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(error) == 1 and error[0].startswith(f"Error: Invalid value for {flag}"), error


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["classifier", "train", "--features", "hashing", "--precision", "int8"],
            "--precision int8 applies to --features embedding only, not --features hashing",
        ),
        (
            ["classifier", "train", "--features", "static", "--precision", "int8"],
            "--precision int8 applies to --features embedding only, not --features static",
        ),
        (
            ["classifier", "train", "--features", "hashing", "--max-tokens", "128"],
            "--max-tokens applies to --features embedding and static, not --features hashing",
        ),
        (
            ["pretrain", "--data", "DATA", "--galore-rank", "8"],
            "--galore-rank applies to --optimizer",
        ),
        (["pretrain", "--data", "DATA", "--seed", "-1"], "--seed: Input should be greater than or"),
        (["classifier", "train", "--seed", "-1"], "--seed: Input should be greater than or equal"),
        (["pipeline", "--seed", "-1"], "--seed: Input should be greater than or equal to 0"),
    ],
)
def test_options_that_do_not_apply_are_refused_in_one_line(tmp_path, monkeypatch, args, message):
    no_engine(monkeypatch)
    data = tmp_path / "stories.jsonl"
    data.write_text('{"text": "Once upon a time."}\n')
    args = [str(data) if a == "DATA" else a for a in args]
    if args[0] == "classifier":
        args += ["--annotations", str(data)]
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and result.output.startswith("error: ")
    assert message in result.output
    assert not out.exists()


def test_a_corrupt_shard_is_named_by_report(tmp_path):
    folder = tmp_path / "web-edu"
    (folder / "data").mkdir(parents=True)
    (folder / "config.json").write_text('{"dedup": "exact"}')  # a filter output folder
    shard = folder / "data" / "part-00000.parquet"
    shard.write_bytes(b"PAR1 not a parquet file PAR1")
    out = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["report", str(folder), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1
    assert result.output.startswith(f"error: {shard}: not a readable Parquet file (")
    assert not out.exists()


def test_text_that_is_not_utf8_is_named_by_pretrain(tmp_path):
    data = tmp_path / "stories.jsonl"
    data.write_bytes(b'{"text": "Once upon a time."}\n{"text": "caf\xe9 au lait"}\n')
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["pretrain", "--data", str(data), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert (
        result.output
        == f"error: {data}:2: not UTF-8 text (invalid continuation byte at byte 13 of the line)\n"
    )
