"""The run's manifest: what each step read, wrote, with which parameters and versions.

It is also the chain of custody: a step trusts an input file only if its SHA-256 matches
what the step that wrote it recorded here.
"""

from __future__ import annotations

import hashlib
import json
import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from ml_pipeline import __version__
from ml_pipeline.atomic import write_json_atomic
from ml_pipeline.errors import InputError
from ml_pipeline.run_layout import STEPS, RunLayout


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions(*distributions: str) -> dict[str, str]:
    versions = {"python": platform.python_version(), "ml-pipeline": __version__}
    for name in distributions:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def load(layout: RunLayout) -> dict:
    if not layout.manifest.exists():
        return {"run_id": layout.run_id, "steps": {}}
    try:
        return json.loads(layout.manifest.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{layout.manifest}: not a readable manifest ({exc})") from exc


def record_step(layout: RunLayout, step: str, entry: dict) -> None:
    """Adds the step's entry and drops the later steps' ones: their outputs are now stale."""
    manifest = load(layout)
    kept = STEPS[: STEPS.index(step)]
    steps = {name: e for name, e in manifest.get("steps", {}).items() if name in kept}
    steps[step] = entry
    ordered = {
        "run_id": layout.run_id,
        "pipeline_version": __version__,
        "steps": {name: steps[name] for name in STEPS if name in steps},
    }
    write_json_atomic(layout.manifest, ordered, sort_keys=False)


def verify_inputs(layout: RunLayout, step: str, paths: list[Path]) -> dict[str, str]:
    """Refuses missing inputs and inputs whose bytes differ from what their writer recorded."""
    recorded = {}
    for name, entry in load(layout).get("steps", {}).items():
        for rel, digest in entry.get("outputs", {}).items():
            recorded[rel] = (name, digest)
    hashes = {}
    for path in paths:
        rel = layout.relative(path)
        if not path.is_file():
            writer = recorded.get(rel, (_writer_of(rel), None))[0]
            raise InputError(
                f"{step}: expected input {path} is missing; run step '{writer}' for run "
                f"'{layout.run_id}' first"
            )
        if rel not in recorded:
            raise InputError(
                f"{step}: input {path} is not recorded in {layout.manifest}; "
                "re-run the step that writes it"
            )
        digest = sha256_of(path)
        writer, expected = recorded[rel]
        if digest != expected:
            raise InputError(
                f"{step}: input {path} has sha256 {digest[:12]}..., but step '{writer}' "
                f"recorded {expected[:12]}... in {layout.manifest}; refusing to use it"
            )
        hashes[rel] = digest
    return hashes


def _writer_of(rel: str) -> str:
    return {
        "data": "load_data",
        "processed": "preprocess",
        "models": "train",
        "results": "evaluate",
    }.get(rel.split("/", 1)[0], "an earlier step")


def output_hashes(layout: RunLayout, paths: list[Path]) -> dict[str, str]:
    return {layout.relative(p): sha256_of(p) for p in paths}
