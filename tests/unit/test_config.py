"""The configs say each thing once: a shared field is declared by one part (`config/base.py`
and the parts beside the jobs), and a job redeclares it only where it needs another default,
type or input, as listed here."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

import schoolhouse.config as config
from schoolhouse.config import (
    ExercisesConfig,
    PipelineConfig,
    TrainClassifierConfig,
    WebFilterConfig,
)
from schoolhouse.experiment.run import ExperimentConfig
from schoolhouse.student.config import GPT_EVAL_PROMPTS, EvaluateConfig

PACKAGE = Path(config.__file__).parent

# each shared field, and the parts that declare it (one per meaning)
OWNERS = {
    "seed": {"Seeded"},
    "runner": {"Runner"},
    "actors": {"TeacherRunner"},
    "kv_cache_gib": {"EngineSettings"},
    "concurrency": {"HttpSettings"},
    "teacher": {"TeacherChoice"},
    "shard_size": {"Sharded"},
    "license": {"DatasetOutput"},
    "inputs": {"Documents"},
    "max_bytes": {"Documents"},
    "timeout_s": {"Sandboxed"},
    "workers": {"Sandboxed"},
    "unsafe_no_sandbox": {"Sandboxed"},
    "judge": {"SenseJudge"},
    "min_words": {"StoryLength"},
    "max_words": {"StoryLength"},
    # an educational score to count as educational (training) and to be kept (filtering)
    "threshold": {"EducationalThreshold", "KeepThreshold"},
}
# where a job needs another default, type or input than the part's: (config, field) -> why
OVERRIDES = {
    ("ExercisesConfig", "teacher"): "exercises are code: the coder model writes them",
    ("HumanEvalConfig", "teacher"): "HumanEval is code: the coder model is benchmarked",
    ("SelfTrainConfig", "teacher"): "None: the base model follows --kind",
    ("GenerateConfig", "license"): "the synthetic datasets are apache-2.0",
    ("WebFilterConfig", "shard_size"): "web text is kept by the ten thousand",
    ("JudgeConfig", "inputs"): "the judge reads dataset folders' kept rows, with their kind",
}
# the same name with another meaning: (config, field) -> what it is there
OTHER_MEANINGS = {
    ("JudgeConfig", "judge"): "the judge model itself, not the sense check of a writer",
    ("WebFilterConfig", "workers"): "processes for heuristics and scoring, not sandboxes",
    ("ExperimentConfig", "workers"): "processes for heuristics and scoring, not sandboxes",
}


def config_classes() -> list[type[BaseModel]]:
    """Every config and part the package (and the experiment) defines."""
    found, todo = [], [config.Part]
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("schoolhouse.") and cls not in found:
            found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def own_fields(cls: type) -> set[str]:
    return set(vars(cls).get("__annotations__", {})) & set(cls.model_fields)


def field_facts(cls: type[BaseModel], name: str) -> tuple:
    info = cls.model_fields[name]
    return (
        info.annotation,
        info.default,
        info.default_factory,
        repr(info.metadata),
        info.description,
    )


def problems(classes: list[type[BaseModel]]) -> list[str]:
    """Each shared field declared outside its owning parts, unless it is a listed override (and
    then it must differ from what it overrides) or another meaning."""
    out = []
    for cls in classes:
        for name in sorted(own_fields(cls) & set(OWNERS)):
            key = (cls.__name__, name)
            if cls.__name__ in OWNERS[name] or key in OTHER_MEANINGS:
                continue
            if key not in OVERRIDES:
                out.append(f"{cls.__name__}.{name} is declared again (owner: {OWNERS[name]})")
                continue
            parent = next(b for b in cls.__mro__[1:] if name in getattr(b, "model_fields", {}))
            if field_facts(parent, name) == field_facts(cls, name):
                out.append(f"{cls.__name__}.{name} overrides {parent.__name__}'s with the same")
    for key in OVERRIDES.keys() | OTHER_MEANINGS.keys():
        declared = any(c.__name__ == key[0] and key[1] in own_fields(c) for c in classes)
        if not declared:
            out.append(f"{key[0]}.{key[1]} is listed but no longer declared there")
    return out


def test_each_shared_field_is_declared_once():
    classes = config_classes()
    names = {c.__name__ for c in classes}
    assert {"StoriesConfig", "JudgeConfig", "PipelineConfig", "ExperimentConfig"} <= names
    assert {o for owners in OWNERS.values() for o in owners} <= names
    assert problems(classes) == []


def test_the_check_finds_a_field_said_twice():
    class Restated(config.Seeded):  # the owner's own field, restated word for word
        seed: int = config.Seeded.model_fields["seed"]

    class Again(config.TeacherRunner):
        kv_cache_gib: float = 4

    found = problems([*config_classes(), Restated, Again])
    assert found == [
        "Restated.seed is declared again (owner: {'Seeded'})",
        "Again.kv_cache_gib is declared again (owner: {'EngineSettings'})",
    ]
    found = problems([c for c in config_classes() if c is not ExercisesConfig])
    assert found == ["ExercisesConfig.teacher is listed but no longer declared there"]


def test_an_override_that_changes_nothing_is_refused():
    class SameTeacher(config.TeacherChoice):
        teacher: str = config.TeacherChoice.model_fields["teacher"]

    SameTeacher.__name__ = "ExercisesConfig"  # as if ExercisesConfig restated the part's field
    found = problems([c for c in config_classes() if c is not ExercisesConfig] + [SameTeacher])
    assert found == ["ExercisesConfig.teacher overrides TeacherChoice's with the same"]


def test_every_config_forbids_unknown_fields():
    for cls in config_classes():
        assert cls.model_config.get("extra") == "forbid", cls.__name__
    assert EvaluateConfig.model_config.get("extra") == "forbid"


def test_the_two_thresholds():
    """Filtering at 0 keeps every document, scored; training at 0 would call every document
    educational, so a classifier's threshold (and the pipeline's, which trains one) starts at 1."""
    web = {"inputs": [Path("web.jsonl")], "out": Path("out")}
    assert WebFilterConfig(**web, threshold=0).threshold == 0
    assert ExperimentConfig(out=Path("o"), web=[Path("w")], threshold=0).threshold == 0
    with pytest.raises(ValidationError, match="threshold"):
        TrainClassifierConfig(annotations=[Path("a")], out=Path("m"), threshold=0)
    with pytest.raises(ValidationError, match="threshold"):
        PipelineConfig(threshold=0)
    given = {
        WebFilterConfig: web,
        ExperimentConfig: {"out": Path("o"), "web": [Path("w")]},
        TrainClassifierConfig: {"annotations": [Path("a")], "out": Path("m")},
        PipelineConfig: {},
    }
    for cls, values in given.items():
        assert cls(**values).threshold == 3
        with pytest.raises(ValidationError, match="threshold"):
            cls(**values, threshold=6)


def test_one_gpt_eval_prompt_count():
    import flows.pretrain
    from schoolhouse.cli.student import evaluate_cmd

    assert GPT_EVAL_PROMPTS == 10  # the pipeline's and `make demo`'s count
    assert EvaluateConfig(run=Path("r")).n == GPT_EVAL_PROMPTS
    assert PipelineConfig().eval_prompts == GPT_EVAL_PROMPTS
    assert ExperimentConfig(out=Path("o"), web=[Path("w")]).eval_prompts == GPT_EVAL_PROMPTS
    flow = inspect.signature(flows.pretrain.pretrain_flow.fn).parameters
    assert flow["eval_prompts"].default == GPT_EVAL_PROMPTS
    n = next(p for p in evaluate_cmd.params if p.name == "n")
    assert n.default == GPT_EVAL_PROMPTS and n.opts[0] == "-n"


def test_evaluate_takes_its_options_from_its_config():
    from schoolhouse.cli.student import evaluate_cmd

    options = {p.name: p for p in evaluate_cmd.params if p.name != "run"}
    fields = {k: f for k, f in EvaluateConfig.model_fields.items() if k != "run"}
    assert set(options) == set(fields) == {
        "teacher", "n", "max_new_tokens", "temperature", "seed", "val_windows",
    }  # fmt: skip
    for name, field in fields.items():
        assert options[name].default == field.default, name
        assert options[name].help == field.description, name


def test_the_package_init_only_re_exports():
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    for i, node in enumerate(tree.body):
        docstring = i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        exports = isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == [
            "__all__"
        ]
        assert docstring or exports or isinstance(node, ast.ImportFrom), ast.unparse(node)
    public = {
        name
        for path in PACKAGE.glob("*.py")
        if path.name != "__init__.py"
        for node in ast.parse(path.read_text()).body
        for name in (
            [node.name]
            if isinstance(node, ast.ClassDef)
            else [ast.unparse(t) for t in node.targets]
            if isinstance(node, ast.Assign)
            else []
        )  # fmt: skip
        if not name.startswith("_")
    }
    assert public == set(config.__all__)
    for name in config.__all__:
        assert getattr(config, name) is not None


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_each_config_module_is_under_400_lines(path):
    assert len(path.read_text().splitlines()) < 400


def test_evaluate_runs_with_its_config_and_opens_no_grader_for_no_prompts(monkeypatch):
    from schoolhouse.student import evaluate as student_evaluate

    seen = {}

    def evaluate(run, teacher, n, **options):
        seen.update(run=run, teacher=teacher, n=n, **options)
        return {}

    def resolve(spec):
        raise AssertionError(f"a grader was opened: {spec}")

    monkeypatch.setattr(student_evaluate, "evaluate", evaluate)
    monkeypatch.setattr("schoolhouse.teacher.resolve_teacher", resolve)
    student_evaluate.evaluate_run(EvaluateConfig(run=Path("r"), n=0, seed=3))
    assert seen == {"run": Path("r"), "teacher": None, "n": 0, "val_windows": 256,
                    "max_new_tokens": 200, "temperature": 0.8, "seed": 3}  # fmt: skip
    with pytest.raises(AssertionError, match="a grader was opened: embedded"):
        student_evaluate.evaluate_run(EvaluateConfig(run=Path("r")))
