"""Reads a WDBC-shaped CSV and refuses anything that is not, saying where and why.

Two layouts: UCI's raw ``wdbc.data`` (no header: id, diagnosis, 30 features) and a CSV
with a header naming ``diagnosis`` and the 30 features (``id`` optional).
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ml_pipeline.errors import InputError
from ml_pipeline.wdbc import CLASSES, FEATURES, ID, LABEL, UCI_COLUMNS, canonical_name

log = logging.getLogger("load_data")
MOSTLY_EMPTY = 0.5
_OTHER_DELIMITERS = {";": "';'", "\t": "tab", "|": "'|'"}


def read_wdbc_csv(path: Path) -> pd.DataFrame:
    """Returns columns id, diagnosis and the 30 features, validated; missing cells stay NaN."""
    first_line = _first_line(path)
    fields = next(csv.reader([first_line]))
    raw_layout = len(fields) > 1 and fields[1].strip() in CLASSES and _is_number(fields[0])
    if raw_layout:
        if len(fields) != len(UCI_COLUMNS):
            raise InputError(
                f"{path}: line 1 has {len(fields)} fields; the UCI wdbc.data layout has "
                f"{len(UCI_COLUMNS)} (id, diagnosis, 30 features)"
            )
        frame = _parse(path, header=None, names=list(UCI_COLUMNS))
        first_data_line = 1
    else:
        frame = _parse(path, header=0, names=None)
        frame = _canonical_columns(path, frame)
        first_data_line = 2
    if frame.empty:
        raise InputError(f"{path}: has a header but no data rows")
    if ID not in frame.columns:
        lines = np.arange(first_data_line, first_data_line + len(frame))
        frame.insert(0, ID, pd.array(lines.astype(str), dtype="string"))
    frame = frame[[ID, LABEL, *FEATURES]]
    line_of = _line_numbers(first_data_line)
    _check_labels(path, frame, line_of)
    _check_features(path, frame, line_of)
    _check_ids(path, frame, line_of)
    return frame


def _line_numbers(first: int):
    return lambda positions: [int(p) + first for p in positions]


def _first_line(path: Path) -> str:
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file")
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as handle:
        first = handle.readline().rstrip("\r\n")
    if not first.strip():
        raise InputError(
            f"{path}: file is empty"
            if path.stat().st_size == 0
            else f"{path}: line 1 is blank; expected a header or a data row"
        )
    if "," not in first:
        found = [name for char, name in _OTHER_DELIMITERS.items() if char in first]
        detail = f"line 1 looks separated by {found[0]}" if found else "line 1 has no commas"
        raise InputError(f"{path}: expected comma-separated values; {detail}")
    return first


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse(path: Path, *, header, names) -> pd.DataFrame:
    try:
        return pd.read_csv(
            path,
            engine="pyarrow",
            header=header,
            names=names,
            encoding="utf-8",
            na_values=["", "NA", "NaN", "nan", "?"],
            keep_default_na=False,
            dtype={LABEL: "string", ID: "string"},
        )
    except (ValueError, OSError) as exc:
        raise InputError(_describe_parse_error(path, exc)) from exc


def _describe_parse_error(path: Path, exc: Exception) -> str:
    """pyarrow names no line; find the first row whose field count differs, cheaply, once."""
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as handle:
        rows = csv.reader(handle)
        width = len(next(rows, []))
        for line, row in enumerate(rows, start=2):
            if row and len(row) != width:
                return f"{path}: line {line} has {len(row)} fields; line 1 has {width}"
    return f"{path}: not a readable CSV ({str(exc).splitlines()[0]})"


def _canonical_columns(path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    renamed = {column: canonical_name(str(column)) for column in frame.columns}
    unnamed = [
        c for c, name in renamed.items() if name in ("", "unnamed") or name.startswith("unnamed:")
    ]
    for column in unnamed:  # Kaggle's copy ends every line with a comma
        if frame[column].notna().any():
            raise InputError(
                f"{path}: a column with no header name holds values; name it or drop it"
            )
        log.warning("%s: ignoring an empty column with no header name", path)
    frame = frame.drop(columns=unnamed).rename(columns=renamed)
    duplicated = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if duplicated:
        raise InputError(f"{path}: column names appear twice: {', '.join(duplicated)}")
    if LABEL not in frame.columns:
        raise InputError(
            f"{path}: no '{LABEL}' column in the header (line 1 starts "
            f"{', '.join(map(str, frame.columns[:3]))}, ...)"
        )
    missing = [f for f in FEATURES if f not in frame.columns]
    if missing:
        raise InputError(f"{path}: missing feature column(s): {', '.join(missing)}")
    extra = sorted(set(frame.columns) - {ID, LABEL, *FEATURES})
    if extra:
        raise InputError(
            f"{path}: unexpected column(s): {', '.join(extra)}; expected id, diagnosis and "
            "the 30 WDBC features"
        )
    return frame


def _check_labels(path: Path, frame: pd.DataFrame, line_of) -> None:
    labels = frame[LABEL].str.strip()
    bad = ~labels.isin(CLASSES).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{path}: line {line_of([first])[0]}: column '{LABEL}' must be 'B' or 'M'; got "
            f"{_shown(frame[LABEL].iloc[first])} ({int(bad.sum())} bad row(s) in all)"
        )
    frame[LABEL] = labels.astype("category").cat.set_categories(list(CLASSES))


def _check_features(path: Path, frame: pd.DataFrame, line_of) -> None:
    for column in FEATURES:
        values = frame[column]
        if not pd.api.types.is_numeric_dtype(values):
            numbers = pd.to_numeric(values, errors="coerce")
            bad = (numbers.isna() & values.notna()).to_numpy(dtype=bool)
            if bad.any():
                first = int(np.flatnonzero(bad)[0])
                raise InputError(
                    f"{path}: line {line_of([first])[0]}: column '{column}' must be a number; "
                    f"got {_shown(values.iloc[first])} ({int(bad.sum())} non-numeric value(s))"
                )
            frame[column] = numbers
        frame[column] = frame[column].astype("float64")
        infinite = np.isinf(frame[column].to_numpy())
        if infinite.any():
            first = int(np.flatnonzero(infinite)[0])
            raise InputError(f"{path}: line {line_of([first])[0]}: column '{column}' is infinite")
    missing = frame[list(FEATURES)].isna().sum()
    worst = missing.idxmax()
    if missing[worst] > MOSTLY_EMPTY * len(frame):
        raise InputError(
            f"{path}: column '{worst}' is mostly empty ({int(missing[worst])} of {len(frame)} "
            "values missing); refusing to impute it"
        )
    if missing.sum():
        log.warning(
            "%s: %d empty cell(s) in %d column(s) will be imputed with the train split's median",
            path,
            int(missing.sum()),
            int((missing > 0).sum()),
        )


def _check_ids(path: Path, frame: pd.DataFrame, line_of) -> None:
    ids = frame[ID]
    if ids.isna().any():
        first = int(np.flatnonzero(ids.isna().to_numpy())[0])
        raise InputError(f"{path}: line {line_of([first])[0]}: column '{ID}' is empty")
    duplicated = ids.duplicated(keep=False).to_numpy()
    if duplicated.any():
        positions = np.flatnonzero(duplicated)
        first_id = ids.iloc[positions[0]]
        same = np.flatnonzero((ids == first_id).to_numpy())
        raise InputError(
            f"{path}: duplicate {ID} {_shown(first_id)} on lines "
            f"{', '.join(map(str, line_of(same[:5])))} "
            f"({int(ids[duplicated].nunique())} duplicated id(s) in all)"
        )


def _shown(value) -> str:
    return "an empty cell" if pd.isna(value) or str(value).strip() == "" else repr(str(value))
