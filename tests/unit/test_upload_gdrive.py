"""The gdrive upload target against the fake Google server, with the real Google client libraries.

Everything runs in-process over TLS on 127.0.0.1; retries sleep for milliseconds.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random

import pytest

from ml_pipeline.errors import InputError
from ml_pipeline.upload_targets._gdrive_retry import DriveRetryError, RetryPolicy
from ml_pipeline.upload_targets.gdrive import publish
from tests.fake_gdrive import DRIVE_SCOPE

KIB = 1024
FAST = RetryPolicy(max_attempts=5, initial_delay=0.001, max_delay=0.01, max_elapsed=10)
USER = "alice@hospital.example"


@pytest.fixture
def run_files(tmp_path):
    """metrics.json and the plot go up as multipart; model.pkl in 5 resumable 256 KiB chunks."""
    rng = random.Random(4)
    contents = {
        "metrics.json": b'{"recall": 0.97}\n',
        "model.pkl": rng.randbytes(1_300_000),
        "roc_curve.png": b"\x89PNG\r\n\x1a\n" + rng.randbytes(3000),
    }
    (tmp_path / "run").mkdir()
    for name, data in contents.items():
        (tmp_path / "run" / name).write_bytes(data)
    return [tmp_path / "run" / name for name in contents]


def upload(fake, files, folder_id, **kw):
    options = {
        "credentials_file": fake.key_file,
        "api_endpoint": fake.base_url,
        "retry": FAST,
        "resumable_threshold": 512 * KIB,
        "chunk_size": 256 * KIB,
        **kw,
    }
    return publish(files=files, run_id="run-2024", folder_id=folder_id, **options)


def stored(fake, folder_id) -> dict[str, bytes]:
    """Bytes of every file in the (single) run folder inside folder_id, by name."""
    [run_folder] = fake.children(folder_id)
    return {item.name: item.data for item in fake.children(run_folder.id)}


def local(files) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in files}


def test_clean_upload_stores_the_same_bytes_and_md5(fake, run_files):
    folder = fake.add_folder()
    receipt = upload(fake, run_files, folder)

    assert json.loads(json.dumps(receipt)) == receipt
    assert (receipt["target"], receipt["run_id"]) == ("gdrive", "run-2024")
    [run_folder] = fake.children(folder)
    assert receipt["folder"] == {
        "id": run_folder.id,
        "name": "run-2024",
        "link": f"https://drive.google.com/drive/folders/{run_folder.id}",
    }
    assert stored(fake, folder) == local(run_files)
    for entry, path in zip(receipt["files"], run_files, strict=True):
        remote = fake.store.items[entry["id"]].resource()
        assert entry["md5"] == remote["md5Checksum"] == hashlib.md5(path.read_bytes()).hexdigest()
        assert (entry["name"], entry["size"], entry["link"]) == (
            path.name,
            path.stat().st_size,
            remote["webViewLink"],
        )
    kinds = [r["query"]["uploadType"] for r in fake.ops("upload.create")]
    assert sorted(kinds) == ["multipart", "multipart", "resumable"]
    assert len(fake.ops("upload.chunk")) == 5
    drive_calls = [r for r in fake.requests if r["op"] != "token"]
    assert all(r["query"].get("supportsAllDrives") == "true" for r in drive_calls)
    assert all(r["query"]["includeItemsFromAllDrives"] == "true" for r in fake.ops("files.list"))
    assert [claims["scope"] for claims in fake.token_claims] == [DRIVE_SCOPE]


def test_rerun_updates_files_in_place(fake, run_files):
    folder = fake.add_folder()
    first = upload(fake, run_files, folder)
    run_files[0].write_bytes(b'{"recall": 0.99}\n')
    before = len(fake.requests)
    second = upload(fake, run_files, folder)

    assert [(e["name"], e["id"]) for e in second["files"]] == [
        (e["name"], e["id"]) for e in first["files"]
    ]
    assert second["folder"] == first["folder"]
    assert len(fake.children(folder)) == 1
    assert stored(fake, folder) == local(run_files)
    rerun_ops = [r["op"] for r in fake.requests[before:]]
    assert rerun_ops.count("upload.update") == 3
    assert "upload.create" not in rerun_ops and "files.create" not in rerun_ops


@pytest.mark.parametrize(
    ("op", "fault"),
    [
        pytest.param("files.list", {"status": 429}, id="429-on-list"),
        pytest.param("upload.create", {"status": 500, "times": 2}, id="500-on-multipart-upload"),
        pytest.param(
            "files.get", {"status": 403, "reason": "rateLimitExceeded"}, id="403-rateLimitExceeded"
        ),
        pytest.param(
            "files.create",
            {"status": 403, "reason": "userRateLimitExceeded"},
            id="403-userRateLimitExceeded",
        ),
        pytest.param("upload.create", {"status": 502, "after": 1}, id="502-starting-resumable"),
        pytest.param("upload.chunk", {"status": 503, "after": 2}, id="503-mid-resumable"),
        pytest.param("files.list", {"drop": True, "times": 2}, id="dropped-connection"),
    ],
)
def test_transient_failures_are_retried_to_success(fake, run_files, caplog, op, fault):
    folder = fake.add_folder()
    fake.add_fault(op, **fault)
    upload(fake, run_files, folder)

    assert stored(fake, folder) == local(run_files)
    statuses = [r["status"] for r in fake.ops(op)]
    assert statuses.count(fault.get("status", "dropped")) == fault.get("times", 1)
    assert "retry 1/4" in caplog.text


def test_dropped_chunk_resumes_from_the_offset_drive_reports(fake, run_files):
    folder = fake.add_folder()
    # Dropped twice, because httplib2 silently re-sends once; half of each try arrives.
    fake.add_fault("upload.chunk", drop=True, keep=0.5, times=2, after=1)
    upload(fake, run_files, folder)

    [query] = fake.ops("upload.query")
    assert query["content_range"] == f"bytes */{1_300_000}"
    after_query = fake.requests[fake.requests.index(query) + 1 :]
    resumed = next(r for r in after_query if r["op"] == "upload.chunk")
    assert resumed["content_range"].startswith(f"bytes {256 * KIB + 128 * KIB}-")
    assert stored(fake, folder) == local(run_files)


def test_expired_upload_session_starts_the_file_over(fake, run_files, caplog):
    folder = fake.add_folder()
    fake.add_fault("upload.chunk", status=404, reason="notFound", after=2)
    upload(fake, run_files, folder)

    kinds = [r["query"]["uploadType"] for r in fake.ops("upload.create")]
    assert kinds.count("resumable") == 2
    assert "uploading model.pkl: upload session expired (HTTP 404), starting over" in caplog.text
    assert stored(fake, folder) == local(run_files)


def test_md5_mismatch_fails(fake, run_files):
    folder = fake.add_folder()
    fake.corrupt_next_upload()
    with pytest.raises(
        InputError,
        match=r"^metrics\.json: Drive reports md5 [0-9a-f]{32} but the "
        r"local file has [0-9a-f]{32}; .* run the upload again",
    ):
        upload(fake, run_files, folder)


@pytest.mark.parametrize(
    "policy",
    [
        pytest.param(RetryPolicy(max_attempts=3, initial_delay=0.001), id="max-attempts"),
        pytest.param(
            RetryPolicy(max_attempts=99, initial_delay=0.05, max_elapsed=0.2), id="max-elapsed"
        ),
    ],
)
def test_persistent_outage_gives_up_within_bounds(fake, run_files, policy):
    fake.add_fault("files.get", status=503, times=1000)
    with pytest.raises(DriveRetryError, match=r"looking up folder .*HTTP 503 backendError"):
        upload(fake, run_files, fake.add_folder(), retry=policy)
    assert 2 <= len(fake.ops("files.get")) <= 5


def test_backoff_doubles_with_jitter_up_to_the_cap(fake, run_files):
    sleeps: list[float] = []
    policy = RetryPolicy(
        max_attempts=6, initial_delay=1, max_delay=4, sleep=sleeps.append, rand=lambda: 0.0
    )
    fake.add_fault("files.get", status=429, times=5)
    upload(fake, run_files, fake.add_folder(), retry=policy)
    assert sleeps == [0.5, 1, 2, 2, 2]


def test_impersonation_sends_sub_and_can_write_to_my_drive(fake, run_files):
    fake.allow_delegation(USER)
    folder = fake.add_folder(shared_drive=False, role="none", owner=USER)
    upload(fake, run_files, folder, impersonate=USER)

    [claims] = fake.token_claims
    assert (claims["sub"], claims["iss"], claims["scope"]) == (USER, fake.client_email, DRIVE_SCOPE)
    assert stored(fake, folder) == local(run_files)


def _key(fake) -> dict:
    return json.loads(fake.key_file.read_text())


def test_secrets_never_reach_logs_or_messages(fake, run_files, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    folder = fake.add_folder()
    fake.add_fault("files.list", status=429)
    fake.add_fault("upload.chunk", drop=True, times=2, after=1)
    upload(fake, run_files, folder)
    fake.corrupt_next_upload()
    with pytest.raises(InputError) as err:
        upload(fake, run_files, folder)

    key_lines = [line for line in _key(fake)["private_key"].splitlines() if "-----" not in line]
    secrets = key_lines + fake.issued_tokens + list(fake.sessions)
    assert len(fake.issued_tokens) == 2 and fake.sessions
    out = capsys.readouterr()
    seen = caplog.text + out.out + out.err + str(err.value)
    assert "uploaded model.pkl: 1300000 bytes, Drive id" in caplog.text
    assert [s for s in secrets if s in seen] == []
