"""Helpers for the container tests: the docker CLI, and the step images built once per session.

Not a conftest.py: a second conftest module would shadow `from conftest import ...` in tests/unit.
Each test module wraps build_step_images() in its own fixture; the build itself runs once.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ml_pipeline.run_layout import STEPS

REPO = Path(__file__).resolve().parents[2]
ML_STEPS = tuple(step for step in STEPS if step != "upload")
VERSION = os.environ.get("PIPELINE_VERSION", "0.1.0")
BUILD_TIMEOUT_S = 3600


def image_of(step: str) -> str:
    return f"ml-pipeline/{step}:{VERSION}"


def docker(*args: str, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess[str]:
    """Runs the docker CLI; the caller checks returncode (failures are often the point)."""
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )


def tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


def require_engine() -> None:
    """Skips the test when no engine answers (fails instead under CI=true)."""
    error = None
    if shutil.which("docker") is None:
        error = "the docker CLI is not installed"
    elif docker("info", timeout=60).returncode != 0:
        error = "no Docker engine answers"
    if error and os.environ.get("CI"):
        pytest.fail(f"{error}; run scripts/install-docker.sh")
    if error:
        pytest.skip(f"{error}; run scripts/install-docker.sh")


@functools.cache
def _compose_build() -> tuple[int, str]:
    result = subprocess.run(
        ["docker", "compose", "--progress", "plain", "build", *STEPS],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


def build_step_images() -> dict[str, str]:
    """`docker compose build` of the five step services, as a user runs it (so it honours
    PYTHON_BASE_IMAGE and PIPELINE_VERSION), once per session; returns {step: image tag}."""
    require_engine()
    returncode, output = _compose_build()
    if returncode != 0:
        hint = (
            ""
            if os.environ.get("PYTHON_BASE_IMAGE")
            else '\n(no registry? build the stand-in: eval "$(scripts/offline-base.sh | grep =)")'
        )
        pytest.fail(f"docker compose build failed ({returncode}):\n{tail(output)}{hint}")
    images = {step: image_of(step) for step in STEPS}
    missing = [i for i in images.values() if docker("image", "inspect", i).returncode != 0]
    assert not missing, f"docker compose build exited 0 but did not produce {missing}"
    return images
