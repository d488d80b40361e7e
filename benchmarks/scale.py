"""Seconds and peak memory of each step on WDBC-shaped files of 1e4, 1e5 and 1e6 rows.

Each step runs as its own process, exactly as its container's entrypoint runs it
(`python -m ml_pipeline.steps.<step>`), and its peak RSS comes from wait4().
With --docker each step runs in its image instead, as `docker run` with no network and a
hard 2 GiB memory limit (no swap): a step that needed more would be killed, so passing is
the memory check, and the seconds include starting and removing the container.

    python benchmarks/scale.py [--rows 10000 100000 1000000] [--workdir /tmp/scale] [--docker]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

STEPS = ("load_data", "preprocess", "train", "evaluate", "upload")
LIMIT_S, LIMIT_MIB = 120, 2048
VERSION = os.environ.get("PIPELINE_VERSION", "0.1.0")


def run_step(step: str, args: list[str], *, docker_root: Path | None) -> tuple[float, float]:
    command = [sys.executable, "-m", f"ml_pipeline.steps.{step}", *args]
    if docker_root is not None:
        command = [
            "docker", "run", "--rm", "--network", "none", "--user", "10001:10001",
            f"--memory={LIMIT_MIB}m", f"--memory-swap={LIMIT_MIB}m",
            "-v", f"{docker_root}:/shared", f"ml-pipeline/{step}:{VERSION}", *args,
        ]  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{step} failed:\n{stderr.decode()[-2000:]}")
    return seconds, (0.0 if docker_root else usage.ru_maxrss / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/ml-pipeline-scale"))
    parser.add_argument("--docker", action="store_true", help="run the steps' images")
    args = parser.parse_args()
    print("| rows | " + " | ".join(STEPS) + " | total s | worst peak MiB |")
    print("|---|" + "---|" * (len(STEPS) + 2))
    failed = False
    for rows in args.rows:
        root = args.workdir / f"rows-{rows}"
        shutil.rmtree(root, ignore_errors=True)
        source = root / "input" / "wdbc.csv"
        source.parent.mkdir(parents=True)
        # In a child process: this one stays small, so a fork never inflates a step's peak RSS.
        maker = Path(__file__).with_name("make_wdbc_like.py")
        subprocess.run(
            [sys.executable, str(maker), str(rows), str(source)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        if args.docker:
            for path in (root, source.parent, source):
                os.chown(path, 10001, 10001)
        cells, total, worst = [], 0.0, 0.0
        for step in STEPS:
            data_root = Path("/shared") if args.docker else root
            extra = (
                ["--source", str(data_root / "input" / "wdbc.csv")] if step == "load_data" else []
            )
            seconds, mib = run_step(
                step,
                ["--run-id", "bench", "--data-root", str(data_root), *extra],
                docker_root=root if args.docker else None,
            )
            cells.append(f"{seconds:.1f} s" + ("" if args.docker else f" / {mib:.0f} MiB"))
            total, worst = total + seconds, max(worst, mib)
        failed |= total > LIMIT_S or worst > LIMIT_MIB
        peak = f"< {LIMIT_MIB} (limit held)" if args.docker else f"{worst:.0f}"
        print(f"| {rows:,} | " + " | ".join(cells) + f" | {total:.1f} | {peak} |", flush=True)
        shutil.rmtree(root, ignore_errors=True)
    if failed:
        raise SystemExit(f"over the target: {LIMIT_S} s end to end, {LIMIT_MIB} MiB per step")


if __name__ == "__main__":
    main()
