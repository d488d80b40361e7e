"""The five step images as docker-compose.yml builds them: non-root, runnable, lean, no secrets."""

from __future__ import annotations

import json
import re

import pytest
from docker_support import ML_STEPS, REPO, STEPS, build_step_images, docker

pytestmark = pytest.mark.docker

CODE_DIR = "/opt/ml-pipeline/ml_pipeline"


@pytest.fixture(scope="module")
def images() -> dict[str, str]:
    return build_step_images()


def run_in(image: str, *command: str, entrypoint: str | None = None, user: str | None = None):
    """Runs a throwaway container with no network (as the image's own user unless `user`)."""
    args = ["run", "--rm", "--network", "none"]
    if user is not None:
        args += ["--user", user]
    if entrypoint is not None:
        args += ["--entrypoint", entrypoint]
    return docker(*args, image, *command, timeout=300)


def inspect(image: str) -> dict:
    result = docker("image", "inspect", image)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)[0]


@pytest.mark.parametrize("step", [pytest.param(s, id=s) for s in STEPS])
def test_runs_as_non_root(images, step):
    configured = inspect(images[step])["Config"]["User"]
    assert configured and configured.split(":")[0] not in ("0", "root")
    result = run_in(images[step], "-u", entrypoint="id")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() != "0"


@pytest.mark.parametrize("step", [pytest.param(s, id=s) for s in STEPS])
def test_help_exits_zero(images, step):
    result = run_in(images[step], "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {step} ")
    assert "--run-id" in result.stdout


@pytest.mark.parametrize(
    ("step", "env", "value"),
    [
        pytest.param(s, var, val, id=f"{s}-{var}")
        for s in STEPS
        for var, val in (
            ("PIPELINE_DATA_ROOT", "/shared"),
            ("PYTHONUNBUFFERED", "1"),
            ("PYTHONDONTWRITEBYTECODE", "1"),
            ("MPLBACKEND", "Agg"),
        )
    ],
)
def test_environment(images, step, env, value):
    variables = dict(e.split("=", 1) for e in inspect(images[step])["Config"]["Env"])
    assert variables.get(env) == value


@pytest.mark.parametrize("step", [pytest.param(s, id=s) for s in STEPS])
def test_metadata(images, step):
    config = inspect(images[step])["Config"]
    assert config["Entrypoint"] == ["python", "-m", f"ml_pipeline.steps.{step}"]
    # `python -m` puts the working directory on sys.path: never the shared (data) volume.
    assert config["WorkingDir"] and not config["WorkingDir"].startswith("/shared")
    labels = config["Labels"]
    assert labels["org.opencontainers.image.title"] == f"ml-pipeline/{step}"
    assert labels["org.opencontainers.image.version"] == images[step].rsplit(":", 1)[1]


@pytest.mark.parametrize(
    ("step", "lock"),
    [pytest.param(s, "ml.txt", id=s) for s in ML_STEPS]
    + [pytest.param("upload", "gdrive.txt", id="upload")],
)
def test_installs_exactly_the_lock_file(images, step, lock):
    def pins(text: str) -> set[str]:
        lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
        return {re.sub(r"[-_.]+", "-", line.lower()) for line in lines if line}

    result = run_in(images[step], "freeze", entrypoint="pip")
    assert result.returncode == 0, result.stderr
    assert pins(result.stdout) == pins((REPO / "requirements" / lock).read_text())


@pytest.mark.parametrize(
    "module", [pytest.param(m, id=m) for m in ("sklearn", "numpy", "pandas", "scipy", "pyarrow")]
)
def test_upload_image_has_no_numeric_stack(images, module):
    probe = f"import importlib.util as u, sys; sys.exit(u.find_spec({module!r}) is not None)"
    result = run_in(images["upload"], "-c", probe, entrypoint="python")
    assert result.returncode == 0, f"{module} is importable in the upload image"


def test_ml_images_share_their_numeric_stack(images):
    """One copy of numpy/pandas/scikit-learn on disk: the four images differ only in their last
    layer (the step's own module)."""
    layers = {s: inspect(images[s])["RootFS"]["Layers"] for s in ML_STEPS}
    shared = {tuple(ls[:-1]) for ls in layers.values()}
    assert len(shared) == 1, f"the ML images' lower layers differ: {layers}"
    assert len({ls[-1] for ls in layers.values()}) == len(ML_STEPS)
    # The heavy layer really is in the shared part: it is not in the upload image.
    upload_layers = set(inspect(images["upload"])["RootFS"]["Layers"])
    assert set(next(iter(shared))) - upload_layers, "no numeric-stack layer found in the prefix"


@pytest.mark.parametrize("step", [pytest.param(s, id=s) for s in STEPS])
def test_code_is_only_the_shared_modules_and_the_step(images, step):
    result = run_in(images[step], CODE_DIR, "-type", "f", entrypoint="find")
    assert result.returncode == 0, result.stderr
    files = {path.removeprefix(CODE_DIR + "/") for path in result.stdout.split()}
    assert all(f.endswith(".py") for f in files), files
    step_modules = {f for f in files if f.startswith("steps/")}
    assert step_modules == {"steps/__init__.py", f"steps/{step}.py"}
    has_targets = any(f.startswith("upload_targets/") for f in files)
    assert has_targets == (step == "upload")


@pytest.mark.parametrize("step", [pytest.param(s, id=s) for s in STEPS])
def test_holds_no_credentials_or_shared_data(images, step):
    """Nothing from credentials/, shared_volume/ or .env may reach an image (.dockerignore)."""
    result = run_in(
        images[step],
        "/", "-xdev",
        "(", "-path", "/proc", "-o", "-path", "/sys", ")", "-prune", "-o",
        "(",
        "-name", "credentials*.json", "-o", "-name", "credentials", "-o",
        "-name", "shared_volume", "-o", "-name", ".env", "-o",
        "-path", "/opt/ml-pipeline/*", "-not", "-name", "*.py", "-type", "f", "-o",
        "-path", "*/runs/*", "-name", "*.parquet",
        ")", "-print",
        entrypoint="find",
        user="0",  # root, to see into every directory
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == []


def test_upload_image_builds_the_drive_client_offline(images):
    """Only Drive v3's discovery document is kept in the image; it must be enough."""
    probe = (
        "from googleapiclient import discovery; "
        "d = discovery.build('drive', 'v3', developerKey='k', static_discovery=True); "
        "print(type(d.files()).__name__)"
    )
    result = run_in(images["upload"], "-c", probe, entrypoint="python")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Resource"
