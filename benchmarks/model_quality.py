"""Model quality the honest way: 10 x 10 repeated stratified cross-validation on WDBC.

Every fold refits the whole leak-free Pipeline with the train step's own code
(`train_model`) and scores it with the evaluate step's own code (`evaluate_model`),
malignant as positive. Prints a Markdown table for BENCHMARKS.md.

    python benchmarks/model_quality.py [--repeats 10] [--folds 10]
"""

from __future__ import annotations

import argparse
import platform
import time
from importlib import metadata
from pathlib import Path

import numpy as np
from sklearn.model_selection import RepeatedStratifiedKFold

from ml_pipeline.models import MODELS, make_preprocessor
from ml_pipeline.sources import load_source
from ml_pipeline.steps.evaluate import evaluate_model
from ml_pipeline.steps.train import train_model
from ml_pipeline.wdbc import FEATURES, LABEL

METRICS = ("accuracy", "precision", "recall", "f1_score", "roc_auc")
TARGET_RECALL = 0.97


def cross_validate(
    model: str, *, target_recall: float | None, folds: int, repeats: int, seed: int
) -> dict[str, tuple[float, float]]:
    frame, _ = load_source("builtin", download_to=Path("/nonexistent"))
    splitter = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
    scores = {name: [] for name in METRICS}
    for i, (train_idx, test_idx) in enumerate(splitter.split(frame, frame[LABEL])):
        train, test = frame.iloc[train_idx], frame.iloc[test_idx]
        preprocessor = make_preprocessor().fit(train[list(FEATURES)])
        pipeline, _ = train_model(
            raw_train=train,
            processed_train=preprocessor.transform(train[list(FEATURES)]),
            preprocessor=preprocessor,
            model=model,
            search=False,
            target_recall=target_recall,
            random_state=seed + i,
        )
        metrics, _ = evaluate_model(pipeline, test)
        for name in METRICS:
            scores[name].append(metrics[name])
    return {name: (float(np.mean(v)), float(np.std(v))) for name, v in scores.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = [(m, None) for m in MODELS] + [(m, TARGET_RECALL) for m in MODELS]
    print(
        f"{args.repeats} x {args.folds}-fold repeated stratified CV, seed {args.seed}; "
        f"mean (std) over {args.repeats * args.folds} folds; Python "
        f"{platform.python_version()}, "
        + ", ".join(f"{d} {metadata.version(d)}" for d in ("scikit-learn", "numpy", "pandas"))
    )
    print()
    print("| model | threshold | " + " | ".join(METRICS) + " | seconds |")
    print("|---|---|" + "---|" * (len(METRICS) + 1))
    for model, target in rows:
        started = time.perf_counter()
        result = cross_validate(
            model, target_recall=target, folds=args.folds, repeats=args.repeats, seed=args.seed
        )
        cells = " | ".join(f"{mean:.3f} ({std:.3f})" for mean, std in result.values())
        threshold = "0.5" if target is None else f"cv, recall >= {target}"
        print(
            f"| {model} | {threshold} | {cells} | {time.perf_counter() - started:.0f} |", flush=True
        )


if __name__ == "__main__":
    main()
