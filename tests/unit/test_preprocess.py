"""preprocess: fitted on the train split only, applied to both, refuses a run with no split."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd

from conftest import run_cli, run_steps, write_with_header
from ml_pipeline.wdbc import FEATURES


def test_scaler_and_imputer_see_only_the_train_split(data_root, wdbc):
    frame = wdbc.copy()
    frame.loc[[1, 2, 3, 200, 300], "radius_mean"] = np.nan
    source = write_with_header(frame, data_root / "input" / "gaps.csv")
    run_steps(data_root, "r1", "preprocess", load_data=["--source", str(source)])
    run = data_root / "runs" / "r1"
    train = pd.read_parquet(run / "data" / "train.parquet")[list(FEATURES)]
    test = pd.read_parquet(run / "data" / "test.parquet")[list(FEATURES)]
    preprocessor = pickle.loads((run / "processed" / "preprocessor.pkl").read_bytes())
    np.testing.assert_allclose(preprocessor["impute"].statistics_, train.median().to_numpy())
    np.testing.assert_allclose(preprocessor["scale"].mean_, train.fillna(train.median()).mean())
    assert not np.allclose(preprocessor["scale"].mean_, pd.concat([train, test]).mean())
    processed = pd.read_parquet(run / "processed" / "train.parquet")[list(FEATURES)]
    np.testing.assert_allclose(processed.mean().to_numpy(), 0, atol=1e-9)
    processed_test = pd.read_parquet(run / "processed" / "test.parquet")
    assert processed_test[list(FEATURES)].notna().all().all()
    assert len(processed_test) == len(test)


def test_run_without_a_split_names_the_missing_file(data_root, capsys):
    assert run_cli("preprocess", "--run-id", "nothing", "--data-root", str(data_root)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: preprocess: expected input ")
    assert "runs/nothing/data/train.parquet is missing; run step 'load_data'" in err[-1]
