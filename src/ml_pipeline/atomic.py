"""All-or-nothing writes: a step's outputs appear together, or not at all."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _temp_beside(final: Path) -> Path:
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    return Path(name)


class StagedOutputs:
    """Hands out temp paths beside each final path; renames them all only on success."""

    def __init__(self) -> None:
        self._pending: dict[Path, Path] = {}

    def path(self, final: Path) -> Path:
        if final not in self._pending:
            self._pending[final] = _temp_beside(final)
        return self._pending[final]

    def write_bytes(self, final: Path, data: bytes) -> None:
        self.path(final).write_bytes(data)

    def write_json(self, final: Path, obj: object, *, sort_keys: bool = True) -> None:
        self.write_bytes(final, dumps_json(obj, sort_keys=sort_keys))

    def _commit(self) -> list[Path]:
        for final, temp in self._pending.items():
            os.chmod(temp, 0o644)
            os.replace(temp, final)
        return list(self._pending)

    def _discard(self) -> None:
        for temp in self._pending.values():
            temp.unlink(missing_ok=True)


@contextmanager
def staged_outputs() -> Iterator[StagedOutputs]:
    stage = StagedOutputs()
    try:
        yield stage
    except BaseException:
        stage._discard()
        raise
    stage._commit()


def dumps_json(obj: object, *, sort_keys: bool = True) -> bytes:
    """Stable JSON (sorted keys unless the order means something) for byte-identical re-runs."""
    return (json.dumps(obj, indent=2, sort_keys=sort_keys, allow_nan=False) + "\n").encode()


def write_json_atomic(final: Path, obj: object, *, sort_keys: bool = True) -> None:
    with staged_outputs() as stage:
        stage.write_json(final, obj, sort_keys=sort_keys)
