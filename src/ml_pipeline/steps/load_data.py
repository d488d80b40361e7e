"""Step 1: read the source, validate it, and make a stratified train/test split."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence

import pandas as pd

from ml_pipeline.cli import StepResult, fraction, run_step, step_parser
from ml_pipeline.errors import InputError
from ml_pipeline.run_layout import RunLayout
from ml_pipeline.sources import BUILTIN, load_source
from ml_pipeline.wdbc import CLASSES, LABEL

STEP = "load_data"


def split_data(
    frame: pd.DataFrame, *, test_size: float, random_state: int, origin: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified by diagnosis so both splits keep the malignant share."""
    from sklearn.model_selection import train_test_split

    counts = frame[LABEL].value_counts()
    present = {c: int(counts.get(c, 0)) for c in CLASSES}
    if min(present.values()) == 0:
        only = ", ".join(f"'{c}': {n}" for c, n in present.items() if n)
        raise InputError(f"{origin}: only one class present ({only}); need both 'B' and 'M'")
    n_test = math.ceil(test_size * len(frame))
    n_train = len(frame) - n_test
    if min(present.values()) < 2 or min(n_test, n_train) < len(CLASSES):
        raise InputError(
            f"{origin}: too few rows for a stratified split with --test-size {test_size}: "
            f"{len(frame)} rows ({', '.join(f'{c}: {n}' for c, n in present.items())}); "
            "need at least 2 of each class in each split"
        )
    train, test = train_test_split(
        frame, test_size=test_size, random_state=random_state, stratify=frame[LABEL]
    )
    return train.reset_index(drop=True), test.reset_index(drop=True)


def _body(args: argparse.Namespace, layout: RunLayout) -> StepResult:
    from ml_pipeline.atomic import staged_outputs

    frame, source = load_source(args.source, download_to=layout.download_dir / "source.csv")
    train, test = split_data(
        frame, test_size=args.test_size, random_state=args.random_state, origin=args.source
    )
    with staged_outputs() as stage:
        train.to_parquet(stage.path(layout.train_split), index=False)
        test.to_parquet(stage.path(layout.test_split), index=False)
    return StepResult(
        params={
            "source": args.source,
            "test_size": args.test_size,
            "random_state": args.random_state,
        },
        inputs={"source": source},
        outputs=[layout.train_split, layout.test_split],
        versions=("numpy", "pandas", "pyarrow", "scikit-learn"),
        summary={
            "rows": len(frame),
            "train_rows": len(train),
            "test_rows": len(test),
            "malignant_share": round(float((frame[LABEL] == "M").mean()), 4),
            "missing_cells": int(frame.isna().sum().sum()),
        },
    )


def build_parser() -> argparse.ArgumentParser:
    parser = step_parser(STEP, __doc__)
    parser.add_argument(
        "--source",
        default=BUILTIN,
        help="'builtin' (scikit-learn's bundled WDBC, works offline), a CSV path such as "
        "/shared/input/wdbc.csv, or an http(s) URL (default: builtin)",
    )
    parser.add_argument(
        "--test-size",
        type=fraction,
        default=0.2,
        help="share of rows held out for evaluation (default: 0.2)",
    )
    parser.add_argument(
        "--random-state", type=int, default=42, help="seed of the split (default: 42)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(STEP, build_parser(), _body, argv)


if __name__ == "__main__":
    sys.exit(main())
