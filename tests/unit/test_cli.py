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
    assert result.exit_code == 2 and "holds no schoolhouse job" in result.output
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
