"""The model catalogue: the preprocessor, the four classifiers and their small search grids.

One place, so the train step and the quality benchmark build exactly the same estimators.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_curve
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from ml_pipeline.errors import InputError

MODELS = ("logistic_regression", "random_forest", "svm", "gradient_boosting")
DEFAULT_MODEL = "logistic_regression"
CV_FOLDS = 5
THRESHOLD_CV_REPEATS = 3

SEARCH_GRIDS = {
    "logistic_regression": {"C": [0.01, 0.1, 1.0, 10.0, 100.0]},
    "random_forest": {"max_features": ["sqrt", 0.5], "min_samples_leaf": [1, 3]},
    "svm": {"estimator__C": [0.3, 1.0, 3.0, 10.0], "estimator__gamma": ["scale", 0.01]},
    "gradient_boosting": {"learning_rate": [0.05, 0.1], "max_leaf_nodes": [15, 31]},
}


def make_preprocessor() -> Pipeline:
    """Median imputation then scaling; fitted on the train split only."""
    return Pipeline(
        [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
    ).set_output(transform="pandas")


def make_classifier(name: str, *, random_state: int) -> ClassifierMixin:
    if name == "logistic_regression":
        # Balanced class weights trade a little precision for recall on the minority
        # (malignant) class; C=0.3 won on 10 x 10 repeated CV (see BENCHMARKS.md).
        return LogisticRegression(C=0.3, class_weight="balanced", max_iter=2000)
    if name == "random_forest":
        return RandomForestClassifier(n_estimators=300, n_jobs=-1, random_state=random_state)
    if name == "svm":
        # Platt scaling fitted by cross-validation gives the probabilities a threshold needs.
        return CalibratedClassifierCV(SVC(C=1.0, kernel="rbf"), ensemble=False)
    if name == "gradient_boosting":
        return HistGradientBoostingClassifier(random_state=random_state)
    raise InputError(f"--model must be one of {', '.join(sorted(MODELS))}; got {name!r}")


def make_cv(random_state: int) -> StratifiedKFold:
    return StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=random_state)


def tune_threshold(pipeline, X, y, *, target_recall: float, random_state: int) -> float:
    """Median over repeated inner cross-validation: one 5-fold pass on a few hundred rows
    moves the threshold too much to trust."""
    from sklearn.model_selection import cross_val_predict

    thresholds = [
        threshold_for_recall(
            y,
            cross_val_predict(
                pipeline, X, y, cv=make_cv(random_state + repeat), method="predict_proba"
            )[:, 1],
            target_recall=target_recall,
        )
        for repeat in range(THRESHOLD_CV_REPEATS)
    ]
    return float(np.median(thresholds))


def threshold_for_recall(y_true, malignant_probability, *, target_recall: float) -> float:
    """The highest threshold whose recall still meets the target (the fewest false alarms),
    set halfway to the next lower score so that a case scored like the last one caught is
    still caught."""
    _, recall, thresholds = precision_recall_curve(y_true, malignant_probability)
    # recall[i] belongs to thresholds[i]; the last recall value (0) has no threshold.
    meets = np.flatnonzero(recall[:-1] >= target_recall)
    if meets.size == 0:
        return float(thresholds[0])
    chosen = meets[-1]
    lower = thresholds[chosen - 1] if chosen > 0 else 0.0
    return float((thresholds[chosen] + lower) / 2)
