"""train: one portable Pipeline, the four models, the search, and the recall threshold."""

from __future__ import annotations

import pickle

import pandas as pd
import pytest
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.pipeline import Pipeline

from conftest import run_cli, run_steps
from ml_pipeline.wdbc import FEATURES, LABEL


def _model(data_root, run_id="r1"):
    return pickle.loads((data_root / "runs" / run_id / "models" / "model.pkl").read_bytes())


@pytest.mark.parametrize(
    "model", ["logistic_regression", "random_forest", "svm", "gradient_boosting"]
)
def test_each_model_is_one_pipeline_predicting_from_raw_rows(data_root, model):
    run_steps(data_root, "r1", "train", train=["--model", model])
    pipeline = _model(data_root)
    assert isinstance(pipeline, Pipeline)
    assert [name for name, _ in pipeline.steps] == ["preprocess", "classifier"]
    raw = pd.read_parquet(data_root / "runs" / "r1" / "data" / "test.parquet")
    predicted = pipeline.predict(raw[list(FEATURES)])
    accuracy = (predicted == (raw[LABEL] == "M").astype(int)).mean()
    assert accuracy > 0.9


def test_target_recall_stores_a_lower_threshold_in_the_model(data_root):
    run_steps(data_root, "r1", "train", train=["--target-recall", "0.99"])
    classifier = _model(data_root)["classifier"]
    assert isinstance(classifier, FixedThresholdClassifier)
    assert 0 < classifier.threshold < 0.5
    run_cli("train", "--run-id", "r1", "--data-root", str(data_root))
    assert _model(data_root)["classifier"].threshold == 0.5


def test_search_records_the_chosen_parameters(data_root):
    run_steps(data_root, "r1", "train", train=["--search"])
    summary = pd.read_json(data_root / "runs" / "r1" / "manifest.json", typ="series")["steps"][
        "train"
    ]["summary"]
    assert summary["search_best_params"]["C"] in (0.01, 0.1, 1.0, 10.0, 100.0)
    assert 0.95 < summary["search_cv_roc_auc"] <= 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--model", "xgboost"],
            "argument --model: invalid choice: 'xgboost'",
            id="unknown-model",
        ),
        pytest.param(
            ["--target-recall", "1.5"], "must be in (0, 1); got 1.5", id="recall-out-of-range"
        ),
    ],
)
def test_bad_flags_exit_2_with_one_line(data_root, capsys, args, message):
    run_steps(data_root, "r1", "preprocess")
    assert run_cli("train", "--run-id", "r1", "--data-root", str(data_root), *args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: train: ") and message in err[-1]
    assert not (data_root / "runs" / "r1" / "models").exists()


def test_missing_preprocessor_is_named(data_root, capsys):
    run_steps(data_root, "r1", "preprocess")
    (data_root / "runs" / "r1" / "processed" / "preprocessor.pkl").unlink()
    assert run_cli("train", "--run-id", "r1", "--data-root", str(data_root)) == 2
    err = capsys.readouterr().err
    assert "processed/preprocessor.pkl is missing; run step 'preprocess'" in err
