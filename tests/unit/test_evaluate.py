"""evaluate: honest metrics on the test split, figures, a model checked before unpickling."""

from __future__ import annotations

import json
import struct

from conftest import run_cli, run_steps


def test_metrics_and_figures(data_root):
    run_steps(data_root, "r1", "evaluate")
    results = data_root / "runs" / "r1" / "results"
    metrics = json.loads((results / "metrics.json").read_text())
    for key in ("accuracy", "precision", "recall", "f1_score", "roc_auc"):
        assert 0.9 < metrics[key] <= 1, key
    matrix = metrics["confusion_matrix"]["matrix"]
    assert sum(map(sum, matrix)) == metrics["n_test"] == 114
    assert metrics["support"] == {
        "B": matrix[0][0] + matrix[0][1],
        "M": matrix[1][0] + matrix[1][1],
    }
    assert metrics["positive_class"] == "M"
    for name in ("confusion_matrix.png", "roc_curve.png"):
        header = (results / name).read_bytes()[:24]
        assert header[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", header[16:24])
        assert width > 300 and height > 300


def test_tampered_model_is_refused_before_unpickling(data_root, capsys, tmp_path):
    run_steps(data_root, "r1", "train")
    marker = tmp_path / "unpickled"
    # A pickle that would create a file when loaded: evaluate must never load it.
    payload = b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR."
    (data_root / "runs" / "r1" / "models" / "model.pkl").write_bytes(payload)
    assert run_cli("evaluate", "--run-id", "r1", "--data-root", str(data_root)) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: evaluate: input ") and "models/model.pkl has sha256" in err
    assert "refusing to use it" in err
    assert not marker.exists()
    assert not (data_root / "runs" / "r1" / "results").exists()
