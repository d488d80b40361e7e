"""The default target: copy the run's results to a publish folder on the shared volume."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from ml_pipeline.atomic import staged_outputs


def publish(*, files: list[Path], run_id: str, destination: Path) -> dict:
    """Copies all files or none; re-running overwrites the same names."""
    entries = []
    with staged_outputs() as stage:
        for source in files:
            target = destination / source.name
            shutil.copyfile(source, stage.path(target))
            entries.append(_describe(source, target))
    return {"target": "local", "run_id": run_id, "folder": str(destination), "files": entries}


def _describe(source: Path, target: Path) -> dict:
    md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with source.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            md5.update(block)
            sha256.update(block)
    return {
        "name": source.name,
        "location": str(target),
        "size": source.stat().st_size,
        "md5": md5.hexdigest(),
        "sha256": sha256.hexdigest(),
    }
