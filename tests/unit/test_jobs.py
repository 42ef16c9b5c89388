"""The job table: each job's config type, its core run and the checks handed to it."""

import pytest

from schoolhouse import jobs
from schoolhouse.config import (
    AnnotateConfig,
    ExercisesConfig,
    HumanEvalConfig,
    JudgeConfig,
    SelfTrainConfig,
    StoriesConfig,
    TextbooksConfig,
    WebFilterConfig,
)
from schoolhouse.graders import webfilter
from schoolhouse.sandbox import isolation
from tests.unit.test_webfilter import WEB


def test_each_lesson_config_gets_its_own_checks(tmp_path):
    names = {
        StoriesConfig: ["truncated", "length", "not_english_prose", "degenerate_repetition",
                        "run_on", "stutter", "not_prose", "meta_text", "not_for_children",
                        "missing_required_word"],
        # the code check where a sandbox runs (`jobs.code_check` warns and leaves it out elsewhere)
        TextbooksConfig: ["truncated", "too_short", "degenerate_repetition", "contaminated",
                          *(["code_fails"] if isolation() == "bwrap" else [])],
        ExercisesConfig: ["truncated", "contaminated"],
    }  # fmt: skip
    for config_type, expected in names.items():
        verify = jobs.checks_for(config_type(n=1, out=tmp_path / config_type.__name__))
        assert [f.name for f in verify.args[0]] == expected
    with pytest.raises(TypeError, match="AnnotateConfig"):
        jobs.checks_for(AnnotateConfig(inputs=[WEB], out=tmp_path / "a", n=1))


def test_the_table_names_every_job_with_its_config():
    assert {name: job.config for name, job in jobs.JOBS.items()} == {
        "stories": StoriesConfig,
        "textbooks": TextbooksConfig,
        "exercises": ExercisesConfig,
        "filter": WebFilterConfig,
        "annotate": AnnotateConfig,
        "judge": JudgeConfig,
        "humaneval": HumanEvalConfig,
        "selftrain": SelfTrainConfig,
    }
    assert {name: job.run for name, job in jobs.JOBS.items()} == {
        "stories": jobs.generate,
        "textbooks": jobs.generate,
        "exercises": jobs.generate,
        "filter": jobs.filter_web,
        "annotate": jobs.annotate,
        "judge": jobs.judge,
        "humaneval": jobs.humaneval,
        "selftrain": jobs.selftrain,
    }
    assert all(name == job.name for name, job in jobs.JOBS.items())
    assert jobs.LESSON_KINDS == ("stories", "textbooks", "exercises")


def test_the_core_filter_refuses_heuristics_it_was_not_handed(tmp_path):
    config = WebFilterConfig(
        inputs=[WEB / "documents.jsonl"], out=tmp_path / "out", heuristics=True
    )
    with pytest.raises(ValueError, match="schoolhouse.jobs.filter_web"):
        webfilter.filter_web(config, None)
    wrong = jobs.web_rules("gopher")  # another set than --rules names
    with pytest.raises(ValueError, match="'fineweb'"):
        webfilter.filter_web(config, wrong)
    assert not config.out.exists()
    summary = jobs.filter_web(config, log=lambda m: None)
    assert summary.kept > 0 and "fineweb" in (config.out / "README.md").read_text()


def test_web_rules_are_the_named_set_and_pickle_to_workers():
    import pickle

    rules = jobs.web_rules("fineweb-strict")
    again = pickle.loads(pickle.dumps(rules))
    assert again.name == "fineweb-strict" and "curly" in again.about
    page = type("Doc", (), {"text": "x = {1: 2}\n" * 3})()
    assert again.check(page) == rules.check(page)
