"""The package's shape, checked from its source: imports run one way.

Layers, bottom to top: `filters` (checks on records) and the core (`schoolhouse`: prompts,
teacher, lessons, graders, datasets, student) know nothing of each other's callers; the
composition layer (`schoolhouse.jobs`, which hands each job its checks, and the runners built on
it: `schoolhouse.pipeline`, the CLI) joins them; `flows/` wraps it for Prefect. Every import
counts, including the ones inside functions: a lazy import is still a dependency.

Inside the core: `prompt_files` (the files under `prompts/`) imports nothing of the package;
the graders, the student and the report read prompt files there, never through the lessons;
the teacher knows no job config, lesson or dataset; the configs know no grader or lesson; and
only the composition layer reaches the Ray cluster (`schoolhouse.cluster`).
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "schoolhouse"
# the modules allowed to import `filters`: where checks are handed to the core
COMPOSITION = {
    "schoolhouse.jobs",
    "schoolhouse.pipeline",
    "schoolhouse.experiment",
    "schoolhouse.cli",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(package: str = PACKAGE) -> dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every module `name` imports (absolute names), at any depth of its code."""
    is_package = path.name == "__init__.py"
    out = set()
    tree = ast.parse(path.read_text(), str(path))
    typing_only = {  # `if TYPE_CHECKING:` imports annotate; they never run
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
        for stmt in node.body
        for inner in ast.walk(stmt)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.add(target)
            for alias in node.names:  # `from . import x` / `from .pkg import submodule`
                if f"{target}.{alias.name}" in known:
                    out.add(f"{target}.{alias.name}")
    return out


def is_composition(name: str) -> bool:
    return any(name == c or name.startswith(c + ".") for c in COMPOSITION)


def graph() -> dict[str, set[str]]:
    """Each module's imports of the package, filters, Prefect and flows (a fresh copy each call)."""
    return {name: set(deps) for name, deps in _graph().items()}


@functools.cache
def _graph() -> dict[str, frozenset[str]]:
    found = modules()
    known = set(found)
    return {
        name: frozenset(i for i in imports(name, path, known) if i.split(".")[0] in (PACKAGE,
                                                                         "filters", "prefect", "flows"))
        for name, path in found.items()
    }  # fmt: skip


def test_the_scan_sees_imports_inside_functions_and_relative_ones(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("from .b import c\ndef f():\n    from filters import verifier\n    import os\n")
    found = imports("schoolhouse.sub.m", path, {"schoolhouse.sub.b.c"})
    assert found == {"schoolhouse.sub.b", "schoolhouse.sub.b.c", "filters", "os"}
    assert imports("schoolhouse.sub", path.rename(tmp_path / "__init__.py"), set()) >= {
        "schoolhouse.sub.b"
    }
    assert is_composition("schoolhouse.cli.student") and not is_composition(
        "schoolhouse.datasets.card"
    )


def test_the_core_never_imports_filters_prefect_or_flows():
    offenders = {
        name: sorted(i for i in deps if i.split(".")[0] in ("filters", "prefect", "flows"))
        for name, deps in graph().items()
        if not is_composition(name)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_core_never_imports_the_composition_layer():
    offenders = {
        name: sorted(i for i in deps if is_composition(i))
        for name, deps in graph().items()
        if not is_composition(name)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_flows_never_import_the_cli():
    """Flows build their command lines from the neutral `schoolhouse.options` and run jobs from
    `schoolhouse.jobs`; any `schoolhouse.cli` module loads the CLI's package, every command with
    it. The neutral module itself imports no command and no runner."""
    known = set(modules("flows")) | set(modules())

    def cli(name: str) -> bool:
        return name == "schoolhouse.cli" or name.startswith("schoolhouse.cli.")

    flows = modules("flows")
    assert "flows.generate" in flows and "flows.pretrain" in flows
    offenders = {
        name: sorted(i for i in imports(name, path, known) if cli(i))
        for name, path in flows.items()
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    neutral = imports("schoolhouse.options", ROOT / "schoolhouse/options.py", known)
    assert not [i for i in neutral if cli(i) or is_composition(i)]


def test_filters_never_import_the_core_s_jobs_configs_or_runners():
    allowed = {
        "schoolhouse.datasets.records",
        "schoolhouse.text",
        "schoolhouse.graders.decontaminate",
    }
    known = set(modules("filters")) | set(modules())
    used = {
        i
        for name, path in modules("filters").items()
        for i in imports(name, path, known)
        if i.startswith(PACKAGE)
    }
    assert used <= allowed, sorted(used - allowed)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in edges:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("package", [PACKAGE, "filters"])
def test_no_import_cycles(package):
    found = modules(package)
    known = set(found)
    edges = {}
    for name, path in found.items():
        # a package imports its parent's __init__ when it loads: that edge is not a choice
        parents = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        edges[name] = {i for i in imports(name, path, known) if i in known} - parents - {name}
    assert cycles(edges) == []


def within(name: str, *packages: str) -> bool:
    """`name` is one of `packages` or a module inside one."""
    return any(name == p or name.startswith(p + ".") for p in packages)


def breaches(edges: dict[str, set[str]], importer, imported) -> list[str]:
    """'<module> imports <dependency>' for each import the rule forbids: from a module `importer`
    picks, of a module `imported` picks."""
    return sorted(
        f"{name} imports {dep}"
        for name, deps in edges.items()
        if importer(name)
        for dep in deps
        if dep != name and imported(dep)
    )


def lessons_readers(edges: dict[str, set[str]]) -> list[str]:
    graders_student_report = ("schoolhouse.graders", "schoolhouse.student", "schoolhouse.report")
    return breaches(
        edges,
        lambda n: within(n, *graders_student_report),
        lambda d: within(d, "schoolhouse.lessons"),
    )


def cluster_users(edges: dict[str, set[str]]) -> list[str]:
    # the cluster package's own modules use each other; every other core module stays local
    def core(name: str) -> bool:
        return name == "schoolhouse.jobrun" or not (
            is_composition(name) or within(name, "schoolhouse.cluster")
        )

    return breaches(edges, core, lambda d: within(d, "schoolhouse.cluster"))


def teacher_leaks(edges: dict[str, set[str]]) -> list[str]:
    forbidden = ("schoolhouse.config", "schoolhouse.lessons", "schoolhouse.datasets")
    return breaches(
        edges, lambda n: within(n, "schoolhouse.teacher"), lambda d: within(d, *forbidden)
    )


def prompt_files_leaks(edges: dict[str, set[str]]) -> list[str]:
    return breaches(edges, lambda n: n == "schoolhouse.prompt_files", lambda d: within(d, PACKAGE))


def config_leaks(edges: dict[str, set[str]]) -> list[str]:
    forbidden = ("schoolhouse.graders", "schoolhouse.lessons")
    return breaches(
        edges, lambda n: within(n, "schoolhouse.config"), lambda d: within(d, *forbidden)
    )


def test_graders_student_and_report_never_import_the_lessons():
    bad = lessons_readers(graph())
    assert not bad, "read prompt files through schoolhouse.prompt_files: " + "; ".join(bad)


def test_the_job_skeleton_and_the_core_never_import_the_cluster():
    edges = graph()
    assert "schoolhouse.jobrun" in edges and "schoolhouse.cluster" in edges
    bad = cluster_users(edges)
    assert not bad, "only the composition layer reaches the Ray cluster: " + "; ".join(bad)


def test_the_teacher_imports_no_config_lessons_or_datasets():
    bad = teacher_leaks(graph())
    assert not bad, "the teacher takes a spec and requests, nothing more: " + "; ".join(bad)


def test_prompt_files_imports_nothing_else_of_the_package():
    edges = graph()
    assert "schoolhouse.prompt_files" in edges
    bad = prompt_files_leaks(edges)
    assert not bad, "schoolhouse.prompt_files stands alone: " + "; ".join(bad)


def test_the_configs_never_import_graders_or_lessons():
    edges = graph()
    assert any(within(name, "schoolhouse.config") for name in edges)
    bad = config_leaks(edges)
    assert not bad, "the configs check values without the code that uses them: " + "; ".join(bad)


@pytest.mark.parametrize(
    "rule, module, dependency",
    [
        (lessons_readers, "schoolhouse.graders.annotation", "schoolhouse.lessons.curriculum"),
        (lessons_readers, "schoolhouse.student.evaluate", "schoolhouse.lessons"),
        (lessons_readers, "schoolhouse.report.datasets", "schoolhouse.lessons.generation"),
        (cluster_users, "schoolhouse.jobrun", "schoolhouse.cluster.teacher"),
        (cluster_users, "schoolhouse.lessons.generation", "schoolhouse.cluster"),
        (teacher_leaks, "schoolhouse.teacher.engine", "schoolhouse.config"),
        (teacher_leaks, "schoolhouse.teacher", "schoolhouse.lessons.curriculum"),
        (teacher_leaks, "schoolhouse.teacher.http", "schoolhouse.datasets.records"),
        (prompt_files_leaks, "schoolhouse.prompt_files", "schoolhouse.text"),
        (config_leaks, "schoolhouse.config", "schoolhouse.graders.decontaminate"),
        (config_leaks, "schoolhouse.config", "schoolhouse.lessons.curriculum"),
    ],
)
def test_each_rule_names_a_planted_import(rule, module, dependency):
    edges = graph()
    assert rule(edges) == []
    edges[module] = edges[module] | {dependency}
    assert rule(edges) == [f"{module} imports {dependency}"]


def test_the_composition_layer_may_reach_the_cluster():
    edges = graph()
    assert any(within(d, "schoolhouse.cluster") for d in edges["schoolhouse.jobs"])
    assert cluster_users(edges) == []
