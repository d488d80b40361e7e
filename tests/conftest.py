"""Fixtures shared by the unit tests: real WDBC rows written in the layouts users have."""

from __future__ import annotations

import importlib
from pathlib import Path

import pandas as pd
import pytest

from ml_pipeline.sources import load_source
from ml_pipeline.wdbc import FEATURES, ID, LABEL

pytest_plugins = ["tests.fake_gdrive.testing"]

STEP_ORDER = ("load_data", "preprocess", "train", "evaluate", "upload")


@pytest.fixture(scope="session")
def wdbc() -> pd.DataFrame:
    frame, _ = load_source("builtin", download_to=Path("/nonexistent"))
    frame[ID] = [str(842300 + i) for i in range(len(frame))]
    return frame


def write_uci(frame: pd.DataFrame, path: Path) -> Path:
    """UCI's raw wdbc.data: no header; id, diagnosis, then the 30 features."""
    frame[[ID, LABEL, *FEATURES]].to_csv(path, header=False, index=False)
    return path


def write_with_header(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def run_cli(step: str, *args: str) -> int:
    module = importlib.import_module(f"ml_pipeline.steps.{step}")
    return module.main(list(args))


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    root = tmp_path / "shared"
    (root / "input").mkdir(parents=True)
    return root


def run_steps(data_root: Path, run_id: str, upto: str, **extra: list[str]) -> None:
    """Runs the steps in order up to and including `upto`; each must succeed."""
    for step in STEP_ORDER[: STEP_ORDER.index(upto) + 1]:
        args = ["--run-id", run_id, "--data-root", str(data_root), *extra.get(step, [])]
        assert run_cli(step, *args) == 0, f"{step} failed"


def files_under(directory: Path) -> set[str]:
    return {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()}
