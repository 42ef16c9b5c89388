"""No Docker engine runs here: lint the Dockerfiles and validate the compose file offline."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOCKER = Path(__file__).resolve().parents[2] / "docker"
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = shutil.which(name, path=str(BIN)) or shutil.which(name)
    assert path, f"{name} is installed by the dev extra"
    return path


@pytest.mark.parametrize("dockerfile", sorted(p.name for p in DOCKER.glob("*Dockerfile")))
def test_dockerfiles_pass_hadolint(dockerfile):
    result = subprocess.run(
        [tool("hadolint"), str(DOCKER / dockerfile)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("profiles", [[], ["gpu"], ["cpu"], ["ray"]])
def test_compose_file_is_valid_under_each_profile(profiles):
    flags = [f for p in profiles for f in ("--profile", p)]
    cmd = [
        tool("docker-compose"),
        "-f",
        str(DOCKER / "compose.yaml"),
        *flags,
        "config",
        "--services",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    services = set(result.stdout.split())
    assert {"postgres", "prefect-server", "worker"} <= services
    assert ("teacher-gpu" in services) == ("gpu" in profiles)
    assert ("teacher-cpu" in services) == ("cpu" in profiles)
    assert ("ray-head" in services) == ("ray-worker" in services) == ("ray" in profiles)


def test_ray_profile_is_a_cluster_on_the_worker_data_volume():
    import yaml

    services = yaml.safe_load((DOCKER / "compose.yaml").read_text())["services"]
    head, node, worker = services["ray-head"], services["ray-worker"], services["worker"]
    for service in (head, node):
        assert service["profiles"] == ["ray"]
        assert service["build"] == worker["build"]  # the worker's image: same python and ray
        assert "data:/data" in service["volumes"] and "data:/data" in worker["volumes"]
        assert service["shm_size"]  # the object store lives in /dev/shm
    assert head["command"][:3] == ["ray", "start", "--head"]
    assert head["ports"] == ["127.0.0.1:8265:8265"]
    assert "ray-head:6379" in head["healthcheck"]["test"]
    assert node["command"][:4] == ["ray", "start", "--address", "ray-head:6379"]
    assert node["depends_on"]["ray-head"]["condition"] == "service_healthy"
    assert "container_name" not in node and "ports" not in node  # --scale ray-worker=N
    assert worker["environment"]["RAY_ADDRESS"] == "${RAY_ADDRESS:-}"


def test_dockerfiles_copy_every_package_the_distribution_ships():
    import tomllib

    found = tomllib.loads((DOCKER.parent / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]["find"]["include"]  # patterns: "schoolhouse*" ships schoolhouse and its subpackages
    tops = {p.rstrip("*").split(".")[0] for p in found}
    assert tops == {"schoolhouse", "filters", "flows", "prompts"}
    for dockerfile in DOCKER.glob("*Dockerfile"):
        text = dockerfile.read_text()
        assert all(f"COPY {top} ./{top}" in text for top in tops), dockerfile.name
