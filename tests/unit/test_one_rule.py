"""One rule, written once (issue 33): every run folder's settings are checked by
`outdir.check_run`, and every teacher is started and closed by `teacher.opened`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from schoolhouse.datasets.folder import DatasetFolder, FolderError
from schoolhouse.datasets.outdir import WHERE, OutError, check_run, mark
from schoolhouse.datasets.records import REJECTED_STORY_SCHEMA, STORY_SCHEMA
from schoolhouse.teacher import Lent, TeacherSpec, opened
from schoolhouse.teacher.fake import FakeTeacher

ROOT = Path(__file__).resolve().parents[2]


def test_a_rerun_with_other_settings_is_refused_naming_every_flag_that_differs(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    saved = {"seed": 1, "vocab_size": 320, "template_sha": "ab", "kind": "stories", "lr": 0.1}
    now = saved | {"seed": 2, "vocab_size": 512, "template_sha": "cd"}
    with pytest.raises(OutError) as refused:
        check_run(out, "pretrain", now, saved)
    assert str(refused.value) == (
        f"{out} was made with other settings (--seed 1 there, 2 now, template_sha 'ab' there, "
        "'cd' now, --vocab-size 320 there, 512 now): rerun with the same settings to resume, "
        "or choose a new --out"
    )


def test_where_a_run_works_may_always_change_and_a_command_names_its_own_freedoms(tmp_path):
    saved = {"seed": 1, "seeds": 1} | {k: 1 for k in WHERE}
    now = {"seed": 1, "seeds": 3} | {k: 2 for k in WHERE}
    check_run(tmp_path, "experiment", now, saved, may_change=("seeds",))  # no error
    with pytest.raises(ValueError, match=r"^.* \(--seed 1 there, 2 now\): rerun with the same "
                                         r"settings to resume \(--seeds may change\), or"):  # fmt: skip
        check_run(tmp_path, "experiment", now | {"seed": 2}, saved, ("seeds",), ValueError)


def test_a_folder_without_settings_must_be_new_empty_or_the_commands_own(tmp_path):
    check_run(tmp_path / "new", "selftrain", {"seed": 0})
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(FolderError, match="made by something other than schoolhouse, not "
                                          "`schoolhouse selftrain`"):  # fmt: skip
        check_run(foreign, "selftrain", {"seed": 0}, error=FolderError)
    mark(foreign, "selftrain", {"seed": 0})
    check_run(foreign, "selftrain", {"seed": 0})  # its own folder, the same settings
    with pytest.raises(OutError, match=r"--seed 0 there, 1 now"):  # settings in its mark
        check_run(foreign, "selftrain", {"seed": 1})
    assert (foreign / "notes.txt").read_text() == "mine"


def test_a_dataset_folder_names_the_command_that_makes_its_job(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "x.txt").write_text("x")
    folder = DatasetFolder(out, STORY_SCHEMA, REJECTED_STORY_SCHEMA)
    with pytest.raises(FolderError, match="not `schoolhouse judge`"):
        folder.check({"kind": "judgements", "seed": 0})


def test_every_settings_check_goes_through_check_run():
    """No module compares a folder's saved settings by hand: each of the run folders' checks
    calls `check_run` (and the old hand-written messages are gone)."""
    sources = {p: p.read_text() for p in (ROOT / "schoolhouse").rglob("*.py")}
    callers = {p.relative_to(ROOT).as_posix() for p, s in sources.items() if "check_run(" in s}
    assert callers >= {
        "schoolhouse/datasets/folder.py", "schoolhouse/pipeline.py",
        "schoolhouse/experiment/run.py", "schoolhouse/selftrain/loop.py",
        "schoolhouse/student/train.py",
    }  # fmt: skip
    old = re.compile(r"there vs|different job's data|holds a pipeline run|holds an experiment|"
                     r"was run with")  # fmt: skip
    assert [p.name for p, s in sources.items() if old.search(s)] == []


def test_opened_starts_only_when_needed_checks_first_and_always_closes():
    made, closed = [], []

    class Tracked(FakeTeacher):
        def close(self):
            closed.append(self.name)

    def opener(spec, settings):
        made.append((spec.name, settings))
        return Tracked(name=spec.name)

    spec = TeacherSpec("folder", "/m", "m")
    with opened(spec, {"seed": 3}, needed=False, opener=opener) as none:
        assert none is None
    given = FakeTeacher(name="given")
    with opened(spec, given=given, opener=opener) as teacher:
        assert teacher is given
    assert made == [] and closed == []

    def refuse(teacher):
        raise RuntimeError("no steering processor")

    with (
        pytest.raises(RuntimeError, match="steering"),
        opened(spec, {"seed": 3}, opener=opener, check=refuse),
    ):
        pytest.fail("the work ran before the check")
    with pytest.raises(KeyError), opened(spec, {"seed": 3}, opener=opener):
        raise KeyError("the job failed")
    assert made == [("m", {"seed": 3})] * 2 and closed == ["m", "m"]


def test_a_lent_teacher_is_left_open_for_its_owner():
    closed = []

    class Owned(FakeTeacher):
        def close(self):
            closed.append(1)

    owned = Owned(["a story"], name="owned")
    with opened(TeacherSpec("folder", "/m", "m"), opener=lambda s, o: Lent(owned)) as lent:
        assert lent.name == "owned"
    assert closed == []


def test_only_the_teacher_package_and_the_ray_actor_start_an_engine():
    """`spec.open(...)` is called in `teacher.opened` (and inside a Ray actor, the opener the
    cluster hands in): every other place goes through `opened`."""
    start = re.compile(r"(spec|resolved|resolve_teacher\([^)]*\))\.open\(")
    found = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "schoolhouse").rglob("*.py")
                   if start.search(p.read_text()))  # fmt: skip
    assert found == ["schoolhouse/cluster/teacher.py", "schoolhouse/teacher/__init__.py"]
    flows = [p.name for p in (ROOT / "flows").glob("*.py") if start.search(p.read_text())]
    assert flows == []


def test_settings_saved_by_an_older_dataset_folder_still_resume(tmp_path):
    out = tmp_path / "old"
    (out / ".schoolhouse").mkdir(parents=True)
    job = {"kind": "stories", "seed": 0, "teacher": "t"}
    (out / ".schoolhouse" / "job.json").write_text(json.dumps(job))
    DatasetFolder(out, STORY_SCHEMA, REJECTED_STORY_SCHEMA).check(job)  # no error
