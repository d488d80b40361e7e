"""The evaluate step's two figures, rendered headless and reproducibly."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from ml_pipeline.wdbc import CLASSES

_PNG_METADATA = {"Software": None}  # no version stamp: same inputs, same bytes


def save_confusion_matrix(matrix, path: Path, *, title: str) -> None:
    figure, axes = plt.subplots(figsize=(4.5, 4))
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes)
    names = ["benign (B)", "malignant (M)"]
    axes.set(
        xticks=range(len(CLASSES)),
        yticks=range(len(CLASSES)),
        xticklabels=names,
        yticklabels=names,
        xlabel="predicted",
        ylabel="true",
        title=title,
    )
    threshold = max(max(row) for row in matrix) / 2
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            axes.text(
                j,
                i,
                str(value),
                ha="center",
                va="center",
                color="white" if value > threshold else "black",
            )
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=100, metadata=_PNG_METADATA)
    plt.close(figure)


def save_roc_curve(
    false_positive_rate, true_positive_rate, roc_auc: float, path: Path, *, title: str
) -> None:
    figure, axes = plt.subplots(figsize=(4.5, 4))
    axes.plot(false_positive_rate, true_positive_rate, label=f"ROC (AUC = {roc_auc:.3f})")
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    axes.set(
        xlabel="false positive rate",
        ylabel="true positive rate (recall, malignant)",
        title=title,
        xlim=(0, 1),
        ylim=(0, 1.02),
    )
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=100, metadata=_PNG_METADATA)
    plt.close(figure)
