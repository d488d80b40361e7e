"""Step 4: score the trained model on the held-out test split; write metrics and figures."""

from __future__ import annotations

import argparse
import pickle
import sys
from collections.abc import Sequence

import pandas as pd

from ml_pipeline import manifest
from ml_pipeline.atomic import staged_outputs
from ml_pipeline.cli import StepResult, run_step, step_parser
from ml_pipeline.run_layout import RunLayout
from ml_pipeline.wdbc import BENIGN, CLASSES, FEATURES, LABEL, MALIGNANT, is_malignant

STEP = "evaluate"


def evaluate_model(model, test: pd.DataFrame) -> tuple[dict, dict]:
    """Malignant is the positive class for every figure; returns (metrics, roc curve)."""
    from sklearn import metrics as m

    y = is_malignant(test[LABEL])
    scores = model.predict_proba(test[list(FEATURES)])[:, 1]
    predicted = model.predict(test[list(FEATURES)])
    (tn, fp), (fn, tp) = m.confusion_matrix(y, predicted, labels=[0, 1]).tolist()
    fpr, tpr, _ = m.roc_curve(y, scores)
    result = {
        "positive_class": MALIGNANT,
        "threshold": float(getattr(model[-1], "threshold", 0.5)),
        "n_test": len(y),
        "support": {BENIGN: int((y == 0).sum()), MALIGNANT: int((y == 1).sum())},
        "accuracy": m.accuracy_score(y, predicted),
        "precision": m.precision_score(y, predicted, zero_division=0),
        "recall": m.recall_score(y, predicted, zero_division=0),
        "f1_score": m.f1_score(y, predicted, zero_division=0),
        "specificity": tn / (tn + fp) if tn + fp else 0.0,
        "balanced_accuracy": m.balanced_accuracy_score(y, predicted),
        "roc_auc": m.roc_auc_score(y, scores),
        "average_precision": m.average_precision_score(y, scores),
        "confusion_matrix": {
            "labels": list(CLASSES),
            "matrix": [[tn, fp], [fn, tp]],
            "true_negatives": tn,
            "false_positives": fp,
            "false_negatives": fn,
            "true_positives": tp,
        },
    }
    rounded = {k: round(float(v), 6) if isinstance(v, float) else v for k, v in result.items()}
    return rounded, {"fpr": fpr, "tpr": tpr}


def _body(args: argparse.Namespace, layout: RunLayout) -> StepResult:
    from ml_pipeline.plots import save_confusion_matrix, save_roc_curve

    # verify_inputs checks the model's SHA-256 against the manifest BEFORE it is unpickled.
    inputs = manifest.verify_inputs(layout, STEP, [layout.model, layout.test_split])
    model = pickle.loads(layout.model.read_bytes())
    model_name = manifest.load(layout)["steps"]["train"]["params"]["model"]
    metrics, roc = evaluate_model(model, pd.read_parquet(layout.test_split))
    metrics["model"] = model_name
    title = f"{model_name}, run {layout.run_id}"
    with staged_outputs() as stage:
        stage.write_json(layout.metrics, metrics)
        save_confusion_matrix(
            metrics["confusion_matrix"]["matrix"],
            stage.path(layout.confusion_matrix_plot),
            title=title,
        )
        save_roc_curve(
            roc["fpr"],
            roc["tpr"],
            metrics["roc_auc"],
            stage.path(layout.roc_curve_plot),
            title=title,
        )
    return StepResult(
        params={},
        inputs=inputs,
        outputs=[layout.metrics, layout.confusion_matrix_plot, layout.roc_curve_plot],
        versions=("numpy", "pandas", "scikit-learn", "matplotlib"),
        summary={k: metrics[k] for k in ("accuracy", "precision", "recall", "f1_score", "roc_auc")},
    )


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(STEP, step_parser(STEP, __doc__), _body, argv)


if __name__ == "__main__":
    sys.exit(main())
