"""The contract every step's command line keeps: flags, exit codes, errors, manifest entry."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ml_pipeline import manifest
from ml_pipeline.errors import InputError
from ml_pipeline.run_layout import DEFAULT_DATA_ROOT, RunLayout, check_run_id

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


@dataclass
class StepResult:
    """What a step reports for its manifest entry."""

    params: dict
    inputs: dict[str, str]
    outputs: list[Path]
    versions: tuple[str, ...] = ()
    summary: dict = field(default_factory=dict)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own prints usage over several lines
        raise InputError(f"{self.prog}: {message} (see --help)")


def fraction(text: str) -> float:
    """An argparse type for shares and rates: a number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1); got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1); got {text}")
    return value


def step_parser(step: str, description: str) -> argparse.ArgumentParser:
    parser = _Parser(prog=step, description=description)
    parser.add_argument(
        "--run-id",
        default=os.environ.get("RUN_ID"),
        help="the run to work on (default: env RUN_ID); files live in <data-root>/runs/<run-id>/",
    )
    parser.add_argument(
        "--data-root",
        type=Path,
        default=Path(os.environ.get("PIPELINE_DATA_ROOT") or DEFAULT_DATA_ROOT),
        help="the shared volume (default: env PIPELINE_DATA_ROOT, else /shared)",
    )
    return parser


def run_step(
    step: str,
    parser: argparse.ArgumentParser,
    body: Callable[[argparse.Namespace, RunLayout], StepResult],
    argv: Sequence[str] | None,
) -> int:
    """Runs a step body and maps every outcome to the documented exit codes."""
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
        force=True,
    )
    log = logging.getLogger(step)
    try:
        args = parser.parse_args(argv)
        layout = RunLayout(args.data_root, check_run_id(args.run_id))
        if not layout.data_root.is_dir():
            raise InputError(
                f"data root {layout.data_root} is not a directory; mount the shared volume "
                "there or pass --data-root"
            )
        if not os.access(layout.data_root, os.W_OK | os.X_OK):
            raise InputError(
                f"data root {layout.data_root} is not writable by uid {os.getuid()}; give that "
                "user the folder (./shared_volume on the host) or set PIPELINE_UID/PIPELINE_GID"
            )
        started, t0 = manifest.utc_now(), time.perf_counter()
        log.info("run %s: starting in %s", layout.run_id, layout.run_dir)
        result = body(args, layout)
        duration = round(time.perf_counter() - t0, 3)
        manifest.record_step(
            layout,
            step,
            {
                "params": result.params,
                "inputs": result.inputs,
                "outputs": manifest.output_hashes(layout, result.outputs),
                "versions": manifest.library_versions(*result.versions),
                "summary": result.summary,
                "started_at": started,
                "finished_at": manifest.utc_now(),
                "duration_s": duration,
            },
        )
        log.info("run %s: done in %.1f s", layout.run_id, duration)
        return EXIT_OK
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"error: {step} interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        traceback.print_exc()
        print(f"error: {step} failed unexpectedly: {exc!r}", file=sys.stderr)
        return EXIT_FAILED
