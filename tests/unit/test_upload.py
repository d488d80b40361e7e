"""upload (local target): a faithful copy of the results, and a receipt in the manifest."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import run_cli, run_steps


def test_local_target_copies_results_and_writes_a_receipt(data_root):
    run_steps(data_root, "r1", "upload")
    run_dir = data_root / "runs" / "r1"
    receipt = json.loads((run_dir / "results" / "upload_receipt.json").read_text())
    assert receipt["target"] == "local"
    names = {f["name"] for f in receipt["files"]}
    assert names == {
        "metrics.json",
        "model.pkl",
        "manifest.json",
        "confusion_matrix.png",
        "roc_curve.png",
    }
    for name in names - {"manifest.json"}:
        source = next(run_dir.glob(f"*/{name}"))
        assert (run_dir / "published" / name).read_bytes() == source.read_bytes()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert "results/upload_receipt.json" in manifest["steps"]["upload"]["outputs"]


def test_gdrive_without_a_folder_is_a_clear_error(data_root, capsys, monkeypatch):
    monkeypatch.delenv("DRIVE_FOLDER_ID", raising=False)
    run_steps(data_root, "r1", "evaluate")
    assert (
        run_cli("upload", "--run-id", "r1", "--data-root", str(data_root), "--target", "gdrive")
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (
        "error: --target gdrive needs a folder: set DRIVE_FOLDER_ID or pass --drive-folder-id"
    )


def test_gdrive_with_a_missing_ca_bundle_is_a_clear_error(data_root):
    """In a fresh interpreter: httplib2 reads HTTPLIB2_CA_CERTS when it is first imported."""
    run_steps(data_root, "r1", "evaluate")
    env = {**os.environ, "HTTPLIB2_CA_CERTS": "/nonexistent/ca.pem", "DRIVE_FOLDER_ID": "1abc"}
    result = subprocess.run(
        [sys.executable, "-m", "ml_pipeline.steps.upload", "--run-id", "r1",
         "--data-root", str(data_root), "--target", "gdrive"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "error: HTTPLIB2_CA_CERTS='/nonexistent/ca.pem' is not a file; "
        "point it at a PEM CA bundle or unset it"
    )


def test_upload_before_evaluate_names_the_missing_results(data_root, capsys):
    run_steps(data_root, "r1", "train")
    assert run_cli("upload", "--run-id", "r1", "--data-root", str(data_root)) == 2
    assert "results/metrics.json is missing; run step 'evaluate'" in capsys.readouterr().err
