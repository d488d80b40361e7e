"""The contract every step keeps: flags, exit codes, the manifest, isolation and re-runs."""

from __future__ import annotations

import hashlib
import json

import pytest

from conftest import STEP_ORDER, files_under, run_cli, run_steps

EXPECTED_FILES = {
    "manifest.json",
    "data/train.parquet",
    "data/test.parquet",
    "processed/train.parquet",
    "processed/test.parquet",
    "processed/preprocessor.pkl",
    "models/model.pkl",
    "results/metrics.json",
    "results/confusion_matrix.png",
    "results/roc_curve.png",
    "results/upload_receipt.json",
    *(
        f"published/{n}"
        for n in (
            "metrics.json",
            "model.pkl",
            "manifest.json",
            "confusion_matrix.png",
            "roc_curve.png",
        )
    ),
}


def _digests(run_dir):
    return {
        name: hashlib.sha256((run_dir / name).read_bytes()).hexdigest()
        for name in files_under(run_dir)
    }


@pytest.mark.parametrize("step", STEP_ORDER)
def test_help_exits_0(step, capsys):
    assert run_cli(step, "--help") == 0
    assert "--run-id" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            [], "error: run id is missing: pass --run-id ID or set RUN_ID", id="no-run-id"
        ),
        pytest.param(["--run-id", "../escape"], "error: run id must be", id="path-in-run-id"),
        pytest.param(
            ["--run-id", "r1", "--test-size", "1.5"],
            "error: load_data: argument --test-size: must be in (0, 1); got 1.5",
            id="test-size",
        ),
        pytest.param(
            ["--run-id", "r1", "--test-size", "abc"],
            "error: load_data: argument --test-size: must be a number in (0, 1); got 'abc'",
            id="test-size-not-a-number",
        ),
    ],
)
def test_usage_errors_exit_2_with_one_line(data_root, capsys, monkeypatch, args, message):
    monkeypatch.delenv("RUN_ID", raising=False)
    assert run_cli("load_data", "--data-root", str(data_root), *args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(message)


def test_run_id_and_data_root_come_from_the_environment(data_root, monkeypatch):
    monkeypatch.setenv("RUN_ID", "from-env")
    monkeypatch.setenv("PIPELINE_DATA_ROOT", str(data_root))
    assert run_cli("load_data") == 0
    assert (data_root / "runs" / "from-env" / "data" / "train.parquet").is_file()


def test_missing_data_root_is_named(tmp_path, capsys):
    assert run_cli("load_data", "--run-id", "r1", "--data-root", str(tmp_path / "nope")) == 2
    assert "nope is not a directory; mount the shared volume" in capsys.readouterr().err


def test_unexpected_failure_exits_1(data_root, capsys):
    (data_root / "runs" / "r1").mkdir(parents=True)
    (data_root / "runs" / "r1" / "data").write_text("a file where a folder belongs")
    assert run_cli("load_data", "--run-id", "r1", "--data-root", str(data_root)) == 1
    assert (
        capsys.readouterr()
        .err.strip()
        .splitlines()[-1]
        .startswith("error: load_data failed unexpectedly")
    )


def test_full_run_writes_exactly_the_documented_files_and_a_complete_manifest(data_root):
    run_steps(data_root, "r1", "upload")
    run_dir = data_root / "runs" / "r1"
    assert files_under(run_dir) == EXPECTED_FILES
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert list(manifest["steps"]) == list(STEP_ORDER)
    for step, entry in manifest["steps"].items():
        assert {"params", "inputs", "outputs", "versions", "started_at", "finished_at"} <= set(
            entry
        ), step
        assert entry["versions"]["python"], step
        for name, digest in entry["outputs"].items():
            assert hashlib.sha256((run_dir / name).read_bytes()).hexdigest() == digest, name
    assert (
        manifest["steps"]["train"]["inputs"]["processed/preprocessor.pkl"]
        == manifest["steps"]["preprocess"]["outputs"]["processed/preprocessor.pkl"]
    )
    published = json.loads((run_dir / "published" / "manifest.json").read_text())
    assert list(published["steps"]) == list(STEP_ORDER[:-1])


def test_same_inputs_same_outputs_and_runs_do_not_touch_each_other(data_root):
    run_steps(data_root, "a", "upload")
    first = _digests(data_root / "runs" / "a")
    run_steps(data_root, "b", "upload", train=["--model", "random_forest"])
    assert _digests(data_root / "runs" / "a") == first
    run_steps(data_root, "a", "upload")
    again = _digests(data_root / "runs" / "a")
    varying = {"manifest.json", "published/manifest.json", "results/upload_receipt.json"}
    assert {k: v for k, v in again.items() if k not in varying} == {
        k: v for k, v in first.items() if k not in varying
    }
    assert first["models/model.pkl"] != _digests(data_root / "runs" / "b")["models/model.pkl"]


def test_rerunning_an_early_step_invalidates_later_outputs(data_root, capsys):
    run_steps(data_root, "r1", "train")
    run_steps(data_root, "r1", "load_data", load_data=["--random-state", "7"])
    manifest = json.loads((data_root / "runs" / "r1" / "manifest.json").read_text())
    assert list(manifest["steps"]) == ["load_data"]
    assert run_cli("evaluate", "--run-id", "r1", "--data-root", str(data_root)) == 2
    assert "models/model.pkl is not recorded in" in capsys.readouterr().err
