"""Step 3: train the chosen classifier and save ONE Pipeline that predicts from raw rows."""

from __future__ import annotations

import argparse
import logging
import pickle
import sys
from collections.abc import Sequence

import pandas as pd

from ml_pipeline import manifest
from ml_pipeline.atomic import staged_outputs
from ml_pipeline.cli import StepResult, fraction, run_step, step_parser
from ml_pipeline.errors import InputError
from ml_pipeline.models import (
    CV_FOLDS,
    DEFAULT_MODEL,
    MODELS,
    SEARCH_GRIDS,
    THRESHOLD_CV_REPEATS,
    make_classifier,
    make_cv,
    tune_threshold,
)
from ml_pipeline.run_layout import RunLayout
from ml_pipeline.wdbc import FEATURES, LABEL, is_malignant

STEP = "train"
log = logging.getLogger(STEP)


def train_model(
    *,
    raw_train: pd.DataFrame,
    processed_train: pd.DataFrame,
    preprocessor,
    model: str,
    search: bool,
    target_recall: float | None,
    random_state: int,
):
    """Cross-validation (search, threshold) refits the whole Pipeline per fold on raw rows,
    so no fold's scaler has seen its validation rows; the final fit reuses the preprocessor
    that the preprocess step fitted on the full train split."""
    from sklearn.base import clone
    from sklearn.model_selection import FixedThresholdClassifier, GridSearchCV
    from sklearn.pipeline import Pipeline

    y = is_malignant(raw_train[LABEL])
    _check_enough_rows(y, needs_cv=search or target_recall is not None)
    classifier = make_classifier(model, random_state=random_state)
    summary: dict = {"train_rows": len(y)}
    cv_pipeline = Pipeline([("preprocess", clone(preprocessor)), ("classifier", classifier)])
    if search:
        grid = {f"classifier__{k}": v for k, v in SEARCH_GRIDS[model].items()}
        searcher = GridSearchCV(cv_pipeline, grid, scoring="roc_auc", cv=make_cv(random_state))
        searcher.fit(raw_train[list(FEATURES)], y)
        best = {k.removeprefix("classifier__"): v for k, v in searcher.best_params_.items()}
        classifier.set_params(**best)
        summary.update(search_best_params=best, search_cv_roc_auc=round(searcher.best_score_, 4))
        log.info("search: best %s (cv roc_auc %.4f)", best, searcher.best_score_)
    threshold = 0.5
    if target_recall is not None:
        threshold = tune_threshold(
            cv_pipeline.set_params(classifier=clone(classifier)),
            raw_train[list(FEATURES)],
            y,
            target_recall=target_recall,
            random_state=random_state,
        )
        summary.update(threshold_from_cv=round(threshold, 6))
        log.info(
            "threshold %.4f meets recall %.3f on %d x %d-fold cv",
            threshold,
            target_recall,
            THRESHOLD_CV_REPEATS,
            CV_FOLDS,
        )
    final = FixedThresholdClassifier(
        classifier, threshold=threshold, response_method="predict_proba"
    )
    final.fit(processed_train[list(FEATURES)], y)
    summary["threshold"] = threshold
    return Pipeline([("preprocess", preprocessor), ("classifier", final)]), summary


def _check_enough_rows(y: pd.Series, *, needs_cv: bool) -> None:
    counts = y.value_counts()
    smallest = int(counts.min()) if len(counts) == 2 else 0
    needed = CV_FOLDS if needs_cv else 1
    if smallest < needed:
        raise InputError(
            f"train split has {smallest} row(s) of its smaller class; need at least {needed}"
            + (
                f" for {CV_FOLDS}-fold cross-validation (--search / --target-recall)"
                if needs_cv
                else ""
            )
        )


def _body(args: argparse.Namespace, layout: RunLayout) -> StepResult:
    inputs = manifest.verify_inputs(
        layout, STEP, [layout.train_split, layout.processed_train, layout.preprocessor]
    )
    preprocessor = pickle.loads(layout.preprocessor.read_bytes())
    pipeline, summary = train_model(
        raw_train=pd.read_parquet(layout.train_split),
        processed_train=pd.read_parquet(layout.processed_train),
        preprocessor=preprocessor,
        model=args.model,
        search=args.search,
        target_recall=args.target_recall,
        random_state=args.random_state,
    )
    with staged_outputs() as stage:
        stage.write_bytes(layout.model, pickle.dumps(pipeline, protocol=5))
    return StepResult(
        params={
            "model": args.model,
            "search": args.search,
            "target_recall": args.target_recall,
            "random_state": args.random_state,
        },
        inputs=inputs,
        outputs=[layout.model],
        versions=("numpy", "pandas", "scikit-learn"),
        summary=summary,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = step_parser(STEP, __doc__)
    parser.add_argument(
        "--model",
        choices=MODELS,
        default=DEFAULT_MODEL,
        help=f"the classifier (default: {DEFAULT_MODEL})",
    )
    parser.add_argument(
        "--search",
        action="store_true",
        help=f"small {CV_FOLDS}-fold cross-validated hyper-parameter search",
    )
    parser.add_argument(
        "--target-recall",
        type=fraction,
        default=None,
        metavar="R",
        help="choose the decision threshold by inner cross-validation so that "
        "recall for malignant reaches R (default: threshold 0.5)",
    )
    parser.add_argument(
        "--random-state",
        type=int,
        default=42,
        help="seed of the classifier and the folds (default: 42)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(STEP, build_parser(), _body, argv)


if __name__ == "__main__":
    sys.exit(main())
