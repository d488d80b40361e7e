"""upload (local target): a faithful copy of the results, and a receipt in the manifest."""

from __future__ import annotations

import json

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


def test_upload_before_evaluate_names_the_missing_results(data_root, capsys):
    run_steps(data_root, "r1", "train")
    assert run_cli("upload", "--run-id", "r1", "--data-root", str(data_root)) == 2
    assert "results/metrics.json is missing; run step 'evaluate'" in capsys.readouterr().err
