"""The WDBC data's schema: the 30 features in UCI order, the label, and their spellings."""

from __future__ import annotations

import re

MEASURES = (
    "radius",
    "texture",
    "perimeter",
    "area",
    "smoothness",
    "compactness",
    "concavity",
    "concave_points",
    "symmetry",
    "fractal_dimension",
)
STATISTICS = ("mean", "se", "worst")
FEATURES = tuple(f"{measure}_{stat}" for stat in STATISTICS for measure in MEASURES)
ID, LABEL = "id", "diagnosis"
MALIGNANT, BENIGN = "M", "B"
CLASSES = (BENIGN, MALIGNANT)  # sorted; malignant is the positive class everywhere
UCI_COLUMNS = (ID, LABEL, *FEATURES)


def canonical_name(header: str) -> str:
    """Maps the spellings in circulation to ours.

    UCI/Kaggle: ``concave points_mean``; scikit-learn: ``mean concave points``,
    ``radius error``, ``worst area``. Ours: ``concave_points_mean``, ``radius_se``.
    """
    name = re.sub(r"\s+", " ", header.strip().lower())
    if name.startswith("mean "):
        name = f"{name[5:]}_mean"
    elif name.startswith("worst "):
        name = f"{name[6:]}_worst"
    elif name.endswith(" error"):
        name = f"{name[:-6]}_se"
    return name.replace(" ", "_")


def is_malignant(labels) -> object:
    """1 for malignant, 0 for benign: the target every model and metric uses."""
    return (labels == MALIGNANT).astype("int8")
