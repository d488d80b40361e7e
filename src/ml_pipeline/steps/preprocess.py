"""Step 2: fit imputation and scaling on the train split only, and apply them to both splits."""

from __future__ import annotations

import argparse
import pickle
import sys
from collections.abc import Sequence

import pandas as pd

from ml_pipeline import manifest
from ml_pipeline.atomic import staged_outputs
from ml_pipeline.cli import StepResult, run_step, step_parser
from ml_pipeline.errors import InputError
from ml_pipeline.run_layout import RunLayout
from ml_pipeline.wdbc import FEATURES, ID, LABEL

STEP = "preprocess"


def fit_preprocessor(train: pd.DataFrame, *, origin: str):
    """Fitting on the test split would leak it into the model; only train is seen here."""
    from ml_pipeline.models import make_preprocessor

    empty = [c for c in FEATURES if train[c].isna().all()]
    if empty:
        raise InputError(f"{origin}: no value in the train split for: {', '.join(empty)}")
    return make_preprocessor().fit(train[list(FEATURES)])


def transform_split(preprocessor, split: pd.DataFrame) -> pd.DataFrame:
    features = preprocessor.transform(split[list(FEATURES)])
    return pd.concat([split[[ID, LABEL]], features], axis=1)


def _empty_cells(split: pd.DataFrame) -> int:
    return int(split[list(FEATURES)].isna().sum().sum())


def _body(args: argparse.Namespace, layout: RunLayout) -> StepResult:
    inputs = manifest.verify_inputs(layout, STEP, [layout.train_split, layout.test_split])
    train = pd.read_parquet(layout.train_split)
    preprocessor = fit_preprocessor(train, origin=str(layout.train_split))
    imputed = {"imputed_cells_train": _empty_cells(train)}
    with staged_outputs() as stage:
        transform_split(preprocessor, train).to_parquet(
            stage.path(layout.processed_train), index=False
        )
        del train  # one split in memory at a time keeps a million-row run well under 2 GiB
        test = pd.read_parquet(layout.test_split)
        imputed["imputed_cells_test"] = _empty_cells(test)
        transform_split(preprocessor, test).to_parquet(
            stage.path(layout.processed_test), index=False
        )
        stage.write_bytes(layout.preprocessor, pickle.dumps(preprocessor, protocol=5))
    return StepResult(
        params={"imputer": "median", "scaler": "standard"},
        inputs=inputs,
        outputs=[layout.processed_train, layout.processed_test, layout.preprocessor],
        versions=("numpy", "pandas", "pyarrow", "scikit-learn"),
        summary=imputed,
    )


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(STEP, step_parser(STEP, __doc__), _body, argv)


if __name__ == "__main__":
    sys.exit(main())
