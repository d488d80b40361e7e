"""load_data: both file layouts, the split, and every kind of bad input in the issue's table."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import files_under, run_cli, write_uci, write_with_header
from ml_pipeline.wdbc import FEATURES, ID, LABEL


def _args(data_root: Path, source: str, *extra: str) -> list[str]:
    return ["--run-id", "r1", "--data-root", str(data_root), "--source", source, *extra]


def test_builtin_split_is_stratified_and_reproducible(data_root):
    assert run_cli("load_data", "--run-id", "a", "--data-root", str(data_root)) == 0
    assert run_cli("load_data", "--run-id", "b", "--data-root", str(data_root)) == 0
    run_a, run_b = data_root / "runs" / "a", data_root / "runs" / "b"
    for name in ("train.parquet", "test.parquet"):
        assert (run_a / "data" / name).read_bytes() == (run_b / "data" / name).read_bytes()
    train = pd.read_parquet(run_a / "data" / "train.parquet")
    test = pd.read_parquet(run_a / "data" / "test.parquet")
    assert (len(train), len(test)) == (455, 114)
    assert set(train[ID]).isdisjoint(set(test[ID]))
    share = (train[LABEL] == "M").mean(), (test[LABEL] == "M").mean()
    assert abs(share[0] - share[1]) < 0.01
    assert list(train.columns) == [ID, LABEL, *FEATURES]


@pytest.mark.parametrize("writer", [write_uci, write_with_header], ids=["uci-raw", "header"])
def test_file_layouts_give_the_same_rows(data_root, wdbc, writer):
    path = writer(wdbc, data_root / "input" / "wdbc.csv")
    assert run_cli("load_data", *_args(data_root, str(path))) == 0
    run = data_root / "runs" / "r1" / "data"
    rows = pd.concat(
        [pd.read_parquet(run / "train.parquet"), pd.read_parquet(run / "test.parquet")]
    )
    rows = rows.sort_values(ID).reset_index(drop=True)
    expected = wdbc.sort_values(ID).reset_index(drop=True)
    assert rows[ID].tolist() == expected[ID].tolist()
    np.testing.assert_allclose(rows[list(FEATURES)], expected[list(FEATURES)])


def test_kaggle_and_sklearn_spellings_and_trailing_comma(data_root, wdbc):
    kaggle = [f.replace("concave_points", "concave points") for f in FEATURES]
    frame = wdbc[[ID, LABEL, *FEATURES]].set_axis([ID, LABEL, *kaggle], axis=1)
    frame[""] = np.nan  # Kaggle's data.csv ends every line with a comma
    path = data_root / "input" / "kaggle.csv"
    frame.to_csv(path, index=False)
    assert run_cli("load_data", *_args(data_root, str(path))) == 0


def test_few_empty_cells_are_kept_for_imputation(data_root, wdbc):
    frame = wdbc.copy()
    frame.loc[[3, 10, 50], "radius_mean"] = np.nan
    path = write_with_header(frame, data_root / "input" / "gaps.csv")
    assert run_cli("load_data", *_args(data_root, str(path))) == 0
    run = data_root / "runs" / "r1" / "data"
    splits = [pd.read_parquet(run / n) for n in ("train.parquet", "test.parquet")]
    assert sum(int(s["radius_mean"].isna().sum()) for s in splits) == 3


def _drop_column(frame):
    return frame.drop(columns=["area_worst"])


def _extra_column(frame):
    return frame.assign(tumour_size=1.0)


def _text_value(frame):
    frame = frame.astype({"texture_mean": object})
    frame.loc[3, "texture_mean"] = "abc"
    return frame


def _mostly_empty(frame):
    frame = frame.copy()
    frame.loc[: int(len(frame) * 0.6), "smoothness_se"] = np.nan
    return frame


def _bad_label(frame):
    frame = frame.astype({LABEL: object})
    frame.loc[5, LABEL] = "X"
    return frame


def _duplicate_id(frame):
    frame = frame.copy()
    frame.loc[7, ID] = frame.loc[2, ID]
    return frame


def _single_class(frame):
    return frame[frame[LABEL] == "B"]


def _too_few_rows(frame):
    return pd.concat([frame[frame[LABEL] == "B"].head(3), frame[frame[LABEL] == "M"].head(1)])


def _infinite(frame):
    frame = frame.copy()
    frame.loc[4, "area_mean"] = np.inf
    return frame


def _frame_case(mutate, name="bad.csv"):
    def write(wdbc, directory):
        return write_with_header(mutate(wdbc).reset_index(drop=True), directory / name)

    return write


def _text_case(text, name="bad.csv"):
    def write(wdbc, directory):
        path = directory / name
        path.write_text(text(wdbc) if callable(text) else text)
        return path

    return write


def _header_line(wdbc):
    return ",".join([ID, LABEL, *FEATURES]) + "\n"


def _semicolons(wdbc):
    return wdbc.head(20).to_csv(sep=";", index=False)


def _short_uci_row(wdbc):
    lines = wdbc[[ID, LABEL, *FEATURES]].head(10).to_csv(header=False, index=False).splitlines()
    lines[4] = lines[4].rsplit(",", 1)[0]
    return "\n".join(lines) + "\n"


BAD_INPUTS = [
    pytest.param(lambda w, d: d / "absent.csv", "absent.csv: file not found", id="missing-file"),
    pytest.param(_text_case(""), "bad.csv: file is empty", id="empty-file"),
    pytest.param(_text_case(_header_line), "has a header but no data rows", id="header-only"),
    pytest.param(_text_case(_semicolons), "line 1 looks separated by ';'", id="wrong-delimiter"),
    pytest.param(
        _frame_case(_drop_column), "missing feature column(s): area_worst", id="missing-column"
    ),
    pytest.param(
        _frame_case(_extra_column), "unexpected column(s): tumour_size", id="extra-column"
    ),
    pytest.param(
        _frame_case(_text_value),
        "line 5: column 'texture_mean' must be a number; got 'abc'",
        id="non-numeric",
    ),
    pytest.param(_frame_case(_infinite), "line 6: column 'area_mean' is infinite", id="infinite"),
    pytest.param(
        _frame_case(_mostly_empty),
        "column 'smoothness_se' is mostly empty (342 of 569",
        id="mostly-empty-column",
    ),
    pytest.param(
        _frame_case(_bad_label),
        "line 7: column 'diagnosis' must be 'B' or 'M'; got 'X'",
        id="bad-diagnosis",
    ),
    pytest.param(
        _frame_case(_duplicate_id), "duplicate id '842302' on lines 4, 9", id="duplicate-id"
    ),
    pytest.param(
        _frame_case(_single_class), "only one class present ('B': 357)", id="single-class"
    ),
    pytest.param(
        _frame_case(_too_few_rows), "too few rows for a stratified split", id="too-few-rows"
    ),
    pytest.param(_text_case(_short_uci_row), "line 5 has 31 fields; line 1 has 32", id="short-row"),
]


@pytest.mark.parametrize(("make_source", "message"), BAD_INPUTS)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    data_root, wdbc, capsys, make_source, message
):
    source = make_source(wdbc, data_root / "input")
    assert run_cli("load_data", *_args(data_root, str(source))) == 2
    error_lines = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(error_lines) == 1 and error_lines[0].startswith("error: ")
    assert message in error_lines[0]
    run_dir = data_root / "runs" / "r1"
    assert not run_dir.exists() or files_under(run_dir) == set()


@pytest.fixture
def web_server(data_root, wdbc):
    """A real HTTP server on loopback serving one good file; everything else is a 404."""
    write_uci(wdbc, data_root / "input" / "wdbc.data")
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(  # noqa: E731
        *a, directory=str(data_root / "input")
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_url_source_is_downloaded_recorded_and_split(data_root, web_server):
    assert run_cli("load_data", *_args(data_root, f"{web_server}/wdbc.data")) == 0
    manifest = (data_root / "runs" / "r1" / "manifest.json").read_text()
    assert '"kind": "url"' in manifest and "/wdbc.data" in manifest


@pytest.mark.parametrize(
    ("path", "message"),
    [
        pytest.param("/nope.csv", "the server answered HTTP 404", id="http-404"),
        pytest.param(None, "cannot download", id="unreachable"),
    ],
)
def test_bad_url_exits_2(data_root, web_server, capsys, path, message):
    url = f"{web_server}{path}" if path else "http://127.0.0.1:9/wdbc.data"
    assert run_cli("load_data", *_args(data_root, url)) == 2
    err = capsys.readouterr().err
    assert f"error: --source {url}: {message}" in err
    assert files_under(data_root / "runs" / "r1") == set()
