"""The fake Google server itself: it must refuse what Google refuses, or the upload tests prove
nothing. Also runs it standalone, the way the compose end-to-end test will.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

import httplib2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import crypt
from google.auth import jwt as google_jwt

from ml_pipeline.upload_targets.gdrive import RetryPolicy, publish
from tests.fake_gdrive import DRIVE_SCOPE, DriveError, FakeGoogle
from tests.fake_gdrive.drive import Caller, Store, parse_q
from tests.fake_gdrive.testing import trust_fake
from tests.fake_gdrive.tokens import JWT_GRANT

REPO = Path(__file__).resolve().parents[2]
GOOGLE_AUD = "https://oauth2.googleapis.com/token"


@pytest.fixture
def fake(tmp_path):
    with FakeGoogle(tmp_path / "fake") as server:
        yield server


def request(fake, method, path, *, token=None, body=b"", headers=None):
    """One raw HTTPS call to a fake (anything with base_url and ca_file)."""
    http = httplib2.Http(ca_certs=str(fake.ca_file))
    http.redirect_codes = http.redirect_codes - {308}
    headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
    resp, content = http.request(fake.base_url + path, method, body=body, headers=headers)
    return resp, (json.loads(content) if "json" in resp.get("content-type", "") else content)


def assertion(fake, pem=None, **claims) -> str:
    key = json.loads(fake.key_file.read_text())
    signer = crypt.RSASigner.from_string(pem or key["private_key"], key["private_key_id"])
    now = int(time.time())
    payload = {
        "iss": key["client_email"],
        "aud": GOOGLE_AUD,
        "scope": DRIVE_SCOPE,
        "iat": now,
        "exp": now + 3600,
        **claims,
    }
    return google_jwt.encode(signer, {k: v for k, v in payload.items() if v is not None}).decode()


def exchange(fake, jwt_assertion: str):
    form = urlencode({"grant_type": JWT_GRANT, "assertion": jwt_assertion})
    return request(
        fake,
        "POST",
        "/token",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def other_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.mark.parametrize(
    ("make", "status", "error"),
    [
        pytest.param(lambda f: assertion(f), 200, None, id="valid"),
        pytest.param(lambda f: assertion(f, pem=other_pem()), 400, "invalid_grant", id="other-key"),
        pytest.param(lambda f: assertion(f, iss="x@evil.example"), 400, "invalid_grant", id="iss"),
        pytest.param(
            lambda f: assertion(f, aud="https://evil.example/token"), 400, "invalid_grant", id="aud"
        ),
        pytest.param(
            lambda f: assertion(f, iat=1_000_000, exp=1_003_600), 400, "invalid_grant", id="expired"
        ),
        pytest.param(lambda f: assertion(f, scope=None), 400, "invalid_scope", id="no-scope"),
        pytest.param(
            lambda f: assertion(f, sub="bob@hospital.example"),
            401,
            "unauthorized_client",
            id="undelegated-sub",
        ),
        pytest.param(lambda f: "not.a-jwt", 400, "invalid_grant", id="garbage"),
    ],
)
def test_token_endpoint_checks_the_assertion(fake, make, status, error):
    resp, body = exchange(fake, make(fake))
    assert resp.status == status
    assert body.get("error") == error
    assert ("access_token" in body) == (status == 200)


@pytest.mark.parametrize(
    ("token", "scope", "status"),
    [
        pytest.param(None, None, 401, id="no-token"),
        pytest.param("ya29.made-up", None, 401, id="unknown-token"),
        pytest.param("issue", "https://www.googleapis.com/auth/drive.file", 403, id="narrow-scope"),
        pytest.param("issue", DRIVE_SCOPE, 200, id="drive-scope"),
    ],
)
def test_drive_calls_need_a_bearer_token_with_the_drive_scope(fake, token, scope, status):
    folder = fake.add_folder()
    if token == "issue":
        token = exchange(fake, assertion(fake, scope=scope))[1]["access_token"]
    resp, _ = request(fake, "GET", f"/drive/v3/files/{folder}?supportsAllDrives=true", token=token)
    assert resp.status == status


def test_shared_drive_items_need_the_all_drives_flags(fake):
    folder = fake.add_folder()
    token = exchange(fake, assertion(fake))[1]["access_token"]
    assert request(fake, "GET", f"/drive/v3/files/{folder}", token=token)[0].status == 404
    q = "q=name+%3D+%27ml-results%27&supportsAllDrives=true"
    assert request(fake, "GET", f"/drive/v3/files?{q}", token=token)[1]["files"] == []
    found = request(
        fake, "GET", f"/drive/v3/files?{q}&includeItemsFromAllDrives=true", token=token
    )[1]["files"]
    assert [f["id"] for f in found] == [folder]


def test_resumable_chunks_must_be_multiples_of_256_kib(fake):
    folder = fake.add_folder()
    token = exchange(fake, assertion(fake))[1]["access_token"]
    resp, _ = request(
        fake,
        "POST",
        "/upload/drive/v3/files?uploadType=resumable&supportsAllDrives=true",
        token=token,
        body=json.dumps({"name": "m.pkl", "parents": [folder]}),
        headers={"Content-Type": "application/json"},
    )
    session = resp["location"].removeprefix(fake.base_url)
    resp, body = request(
        fake,
        "PUT",
        session,
        token=token,
        body=b"x" * 100_000,
        headers={"Content-Range": "bytes 0-99999/300000"},
    )
    assert (resp.status, body["error"]["errors"][0]["reason"]) == (400, "badContent")


@pytest.mark.parametrize(
    ("q", "matches"),
    [
        pytest.param("name = 'it\\'s' and 'P' in parents and trashed = false", True, id="escaped"),
        pytest.param("name = 'it\\'s' and 'Q' in parents", False, id="other-parent"),
        pytest.param("mimeType != 'application/vnd.google-apps.folder'", True, id="not-folder"),
        pytest.param("trashed = true", False, id="trashed"),
    ],
)
def test_q_parser_matches_like_drive(q, matches):
    store = Store()
    parent = store.add_folder("P", folder_id="P")
    item = store.create(
        Caller("sa@x.iam.gserviceaccount.com"),
        {"name": "it's", "parents": [parent]},
        {"supportsAllDrives": "true"},
        b"data",
        "text/plain",
    )
    assert parse_q(q)(item) is matches


@pytest.mark.parametrize(
    "q",
    [
        pytest.param("name contains 'x'", id="contains"),
        pytest.param("name = 'x' and", id="dangling-and"),
        pytest.param("modifiedTime > '2020-01-01'", id="unsupported-field"),
        pytest.param("name = 'unterminated", id="unterminated-string"),
    ],
)
def test_q_parser_rejects_what_it_does_not_understand(q):
    with pytest.raises(DriveError) as err:
        parse_q(q)
    assert err.value.status == 400


def test_standalone_server_serves_a_real_upload(tmp_path, monkeypatch):
    state = tmp_path / "state"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fake_gdrive",
            "--state-dir",
            str(state),
            "--bind",
            "127.0.0.1",
            "--port",
            "0",
            "--folder",
            "1CliFolder",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().split()[4]
        trust_fake(monkeypatch, state / "ca.pem")
        (tmp_path / "metrics.json").write_text("{}\n")
        fake = SimpleNamespace(base_url=url, ca_file=state / "ca.pem")
        request(fake, "POST", "/_fake/faults", body=json.dumps({"op": "files.get", "status": 503}))
        receipt = publish(
            files=[tmp_path / "metrics.json"],
            run_id="r1",
            folder_id="1CliFolder",
            credentials_file=state / "credentials.json",
            api_endpoint=url,
            retry=RetryPolicy(initial_delay=0.001),
        )
        live = request(fake, "GET", "/_fake/state")[1]
        [entry] = receipt["files"]
        content = request(fake, "GET", f"/_fake/files/{entry['id']}/content")[1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert content == b"{}\n"
    on_disk = json.loads((state / "state.json").read_text())
    assert [r["status"] for r in on_disk["requests"] if r["op"] == "files.get"] == [503, 200]
    assert (
        {f["name"] for f in on_disk["files"]}
        == {f["name"] for f in live["files"]}
        == {"folder-1CliFolder", "r1", "metrics.json"}
    )
    private_key = json.loads((state / "credentials.json").read_text())["private_key"]
    assert private_key.splitlines()[1] not in json.dumps(on_disk)
