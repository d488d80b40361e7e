"""Writes an N-row WDBC-shaped CSV: real rows resampled with a little noise, unique ids.

Used by the scale benchmark; also handy to try the pipeline on a big file by hand:
    python benchmarks/make_wdbc_like.py 1000000 shared_volume/input/wdbc_1m.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ml_pipeline.sources import load_source
from ml_pipeline.wdbc import FEATURES, ID, LABEL


def make_rows(n_rows: int, *, seed: int = 0, noise: float = 0.02) -> pa.Table:
    """Noise is a share of each feature's standard deviation; values stay non-negative."""
    base, _ = load_source("builtin", download_to=Path("/nonexistent"))
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(base), size=n_rows)
    values = base[list(FEATURES)].to_numpy()
    rows = values[picks] + rng.normal(0, noise, (n_rows, len(FEATURES))) * values.std(axis=0)
    rows = np.abs(rows).round(6)
    columns = {
        ID: pa.array(np.arange(1, n_rows + 1)),
        LABEL: pa.array(base[LABEL].astype(str).to_numpy()[picks]),
    }
    columns.update({name: pa.array(rows[:, i]) for i, name in enumerate(FEATURES)})
    return pa.table(columns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int)
    parser.add_argument("output", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(make_rows(args.rows, seed=args.seed), args.output)
    print(args.output)


if __name__ == "__main__":
    main()
