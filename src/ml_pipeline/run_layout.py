"""The one place that knows where a run's files live under the data root."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ml_pipeline.errors import InputError

STEPS = ("load_data", "preprocess", "train", "evaluate", "upload")
DEFAULT_DATA_ROOT = "/shared"
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+-]{0,199}")


def check_run_id(run_id: str | None) -> str:
    """Airflow's run ids (``manual__2026-01-01T00:00:00+00:00``) pass; path tricks do not."""
    if not run_id:
        raise InputError("run id is missing: pass --run-id ID or set RUN_ID")
    if not _RUN_ID.fullmatch(run_id) or ".." in run_id:
        raise InputError(
            "run id must be 1-200 characters of letters, digits and . _ : + - "
            f"starting with a letter or digit; got {run_id!r}"
        )
    return run_id


@dataclass(frozen=True)
class RunLayout:
    data_root: Path
    run_id: str

    @property
    def run_dir(self) -> Path:
        return self.data_root / "runs" / self.run_id

    @property
    def manifest(self) -> Path:
        return self.run_dir / "manifest.json"

    @property
    def train_split(self) -> Path:
        return self.run_dir / "data" / "train.parquet"

    @property
    def test_split(self) -> Path:
        return self.run_dir / "data" / "test.parquet"

    @property
    def processed_train(self) -> Path:
        return self.run_dir / "processed" / "train.parquet"

    @property
    def processed_test(self) -> Path:
        return self.run_dir / "processed" / "test.parquet"

    @property
    def preprocessor(self) -> Path:
        return self.run_dir / "processed" / "preprocessor.pkl"

    @property
    def model(self) -> Path:
        return self.run_dir / "models" / "model.pkl"

    @property
    def metrics(self) -> Path:
        return self.run_dir / "results" / "metrics.json"

    @property
    def confusion_matrix_plot(self) -> Path:
        return self.run_dir / "results" / "confusion_matrix.png"

    @property
    def roc_curve_plot(self) -> Path:
        return self.run_dir / "results" / "roc_curve.png"

    @property
    def upload_receipt(self) -> Path:
        return self.run_dir / "results" / "upload_receipt.json"

    @property
    def published_dir(self) -> Path:
        return self.run_dir / "published"

    @property
    def download_dir(self) -> Path:
        return self.run_dir / "download"

    def relative(self, path: Path) -> str:
        """Paths in the manifest are relative to the run directory, so a run can be moved."""
        return path.relative_to(self.run_dir).as_posix()
