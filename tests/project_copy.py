"""A throwaway copy of the repository's build inputs, for tests that run compose on it.

Compose projects in tests work on a copy so that they never touch the checkout's own
./shared_volume, ./credentials or volumes; each test then picks its own names.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUILD_INPUTS = ("requirements", "src", "images")


def copy_build_inputs(root: Path, *, uid: int, gid: int, extra: tuple[str, ...] = ()) -> Path:
    """Copies what `docker compose build` needs (plus `extra` folders) into root, with an empty
    ./shared_volume/input and ./credentials; the shared folder belongs to uid:gid."""
    for name in ("docker-compose.yml", ".dockerignore"):
        shutil.copy2(REPO / name, root / name)
    for name in (*BUILD_INPUTS, *extra):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "shared_volume" / "input").mkdir(parents=True)
    (root / "credentials").mkdir()
    for path in (root / "shared_volume", root / "shared_volume" / "input"):
        os.chown(path, uid, gid)
    return root
