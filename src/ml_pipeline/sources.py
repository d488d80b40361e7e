"""Where load_data's rows come from: the bundled WDBC, a CSV file, or an http(s) URL."""

from __future__ import annotations

import hashlib
import logging
import shutil
import urllib.error
import urllib.request
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ml_pipeline.atomic import staged_outputs
from ml_pipeline.errors import InputError
from ml_pipeline.manifest import sha256_of
from ml_pipeline.wdbc import BENIGN, FEATURES, ID, LABEL, MALIGNANT
from ml_pipeline.wdbc_csv import read_wdbc_csv

BUILTIN = "builtin"
URL_TIMEOUT_S = 60
log = logging.getLogger("load_data")


def load_source(source: str, *, download_to: Path) -> tuple[pd.DataFrame, dict]:
    """Returns the validated rows and a record of exactly which bytes they came from."""
    if source == BUILTIN:
        return _builtin()
    if source.startswith(("http://", "https://")):
        path = _download(source, download_to)
        return read_wdbc_csv(path), {
            "kind": "url",
            "location": source,
            "sha256": sha256_of(path),
            "bytes": path.stat().st_size,
        }
    if "://" in source:
        raise InputError(f"--source: only http(s) URLs are supported; got {source!r}")
    path = Path(source)
    frame = read_wdbc_csv(path)
    return frame, {
        "kind": "file",
        "location": str(path),
        "sha256": sha256_of(path),
        "bytes": path.stat().st_size,
    }


def _builtin() -> tuple[pd.DataFrame, dict]:
    """scikit-learn's copy of WDBC: works offline; it has no ids, so rows are numbered."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    frame = pd.DataFrame(bunch.data, columns=list(FEATURES))
    # scikit-learn codes malignant as 0 and benign as 1.
    labels = np.where(bunch.target == 0, MALIGNANT, BENIGN)
    frame.insert(0, LABEL, pd.Categorical(labels, categories=[BENIGN, MALIGNANT]))
    frame.insert(0, ID, pd.array([str(i) for i in range(1, len(frame) + 1)], dtype="string"))
    data_file = resources.files("sklearn.datasets.data") / "breast_cancer.csv"
    digest = hashlib.sha256(data_file.read_bytes()).hexdigest()
    return frame, {
        "kind": BUILTIN,
        "location": "sklearn.datasets.load_breast_cancer",
        "sha256": digest,
    }


def _download(url: str, destination: Path) -> Path:
    log.info("downloading %s", url)
    request = urllib.request.Request(url, headers={"User-Agent": "ml-pipeline load_data"})
    try:
        with (
            urllib.request.urlopen(request, timeout=URL_TIMEOUT_S) as response,
            staged_outputs() as stage,
            stage.path(destination).open("wb") as handle,
        ):
            shutil.copyfileobj(response, handle, 1 << 20)
    except urllib.error.HTTPError as exc:
        raise InputError(
            f"--source {url}: the server answered HTTP {exc.code} {exc.reason}"
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise InputError(f"--source {url}: cannot download ({reason})") from exc
    return destination
