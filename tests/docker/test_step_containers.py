"""The five steps in their containers, as Airflow runs them: no network, a non-root user, a
read-only root filesystem, and the shared directory at /shared."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from docker_support import STEPS, build_step_images, docker

pytestmark = pytest.mark.docker

# Not root: the host user when it is not root, else the images' own `pipeline` user.
UID = os.getuid() if os.getuid() != 0 else 10001
GID = os.getgid() if os.getuid() != 0 else 10001

OUTPUTS = {
    "load_data": ["data/train.parquet", "data/test.parquet"],
    "preprocess": [
        "processed/train.parquet",
        "processed/test.parquet",
        "processed/preprocessor.pkl",
    ],
    "train": ["models/model.pkl"],
    "evaluate": ["results/metrics.json", "results/confusion_matrix.png", "results/roc_curve.png"],
    "upload": ["results/upload_receipt.json", "published/metrics.json"],
}

# Writes a WDBC CSV (scikit-learn's bundled copy, its own column spelling) and one without
# `mean radius`, using the load_data image's Python: the host needs no numeric stack.
_MAKE_CSVS = """
from sklearn.datasets import load_breast_cancer
frame = load_breast_cancer(as_frame=True).frame
frame.insert(0, "diagnosis", frame.pop("target").map({0: "M", 1: "B"}))
frame.to_csv("/shared/input/wdbc.csv", index=False)
frame.drop(columns=["mean radius"]).to_csv("/shared/input/no_radius.csv", index=False)
"""


def run_step(images: dict[str, str], data_dir: Path, step: str, *args: str, entrypoint=None):
    command = [
        "run", "--rm", "--network", "none", "--user", f"{UID}:{GID}",
        "--read-only", "--tmpfs", "/tmp", "--volume", f"{data_dir}:/shared",
    ]  # fmt: skip
    if entrypoint:
        command += ["--entrypoint", entrypoint]
    return docker(*command, images[step], *args, timeout=600)


@pytest.fixture(scope="module")
def images() -> dict[str, str]:
    return build_step_images()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, images) -> Path:
    """A fresh shared directory owned by the containers' user, holding input/*.csv."""
    root = tmp_path_factory.mktemp("shared")
    (root / "input").mkdir()
    for path in (root, root / "input"):
        os.chown(path, UID, GID)
    result = run_step(images, root, "load_data", "-c", _MAKE_CSVS, entrypoint="python")
    assert result.returncode == 0, result.stderr
    return root


@pytest.fixture(scope="module")
def finished_run(images, data_dir) -> dict[str, object]:
    """Runs load_data -> ... -> upload for run `e2e`; returns each step's result."""
    results = {}
    for step in STEPS:
        extra = ("--source", "/shared/input/wdbc.csv") if step == "load_data" else ()
        results[step] = result = run_step(images, data_dir, step, "--run-id", "e2e", *extra)
        if result.returncode != 0:
            break
    return results


@pytest.mark.parametrize("step", [pytest.param(s, id=s) for s in STEPS])
def test_step_succeeds_and_writes_its_outputs(finished_run, data_dir, step):
    result = finished_run.get(step)
    assert result is not None, "an earlier step failed"
    assert result.returncode == 0, result.stderr
    run_dir = data_dir / "runs" / "e2e"
    for rel in OUTPUTS[step]:
        path = run_dir / rel
        assert path.is_file(), f"{step} did not write {rel}"
        assert path.stat().st_uid == UID, f"{rel} is owned by uid {path.stat().st_uid}"
    assert (run_dir / "manifest.json").is_file()


def copy_run(data_dir: Path, source: str, target: str) -> Path:
    """A copy of a finished run under another id (the manifest records relative paths)."""
    copy = data_dir / "runs" / target
    shutil.copytree(data_dir / "runs" / source, copy)
    for path in [copy, *copy.rglob("*")]:
        os.chown(path, UID, GID)
    return copy


def _finished_copy(data_dir: Path) -> str:
    return copy_run(data_dir, "e2e", "finished-copy").name


def _tampered_model(data_dir: Path) -> str:
    run = copy_run(data_dir, "e2e", "tampered")
    with (run / "models" / "model.pkl").open("ab") as model:
        model.write(b"\0")
    return run.name


@pytest.mark.parametrize(
    ("step", "prepare", "args", "expected"),
    [
        pytest.param(
            "load_data", None, ["--source", "/shared/input/no_radius.csv"], "radius_mean",
            id="load_data-csv-missing-a-column",
        ),
        pytest.param(
            "preprocess", None, [], "run step 'load_data'", id="preprocess-run-with-no-split"
        ),
        pytest.param(
            "train", None, ["--model", "perceptron"], "invalid choice", id="train-unknown-model"
        ),
        pytest.param(
            "evaluate", _tampered_model, [], "sha256", id="evaluate-model-changed-after-training"
        ),
        pytest.param(
            "upload", _finished_copy, ["--target", "gdrive"], "DRIVE_FOLDER_ID",
            id="upload-gdrive-without-folder",
        ),
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_one_error_line(
    images, data_dir, finished_run, step, prepare, args, expected
):
    run_id = prepare(data_dir) if prepare else f"bad-{step}"
    result = run_step(images, data_dir, step, "--run-id", run_id, *args)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert expected in errors[0]
    assert "Traceback" not in result.stderr
