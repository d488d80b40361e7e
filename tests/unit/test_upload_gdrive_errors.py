"""Bad keys, configuration and permissions: each a one-line InputError saying what to change.

Key-file and configuration problems must be caught before any network call; the fake Google
server proves that nothing reached it.
"""

from __future__ import annotations

import json

import pytest

from ml_pipeline.errors import InputError
from ml_pipeline.upload_targets.gdrive import RetryPolicy, publish

FAST = RetryPolicy(max_attempts=3, initial_delay=0.001, max_delay=0.01)
USER = "alice@hospital.example"


@pytest.fixture
def run_files(tmp_path):
    (tmp_path / "metrics.json").write_text('{"recall": 0.97}\n')
    return [tmp_path / "metrics.json"]


def upload(fake, files, folder_id, **kw):
    kw = {"credentials_file": fake.key_file, "api_endpoint": fake.base_url, "retry": FAST, **kw}
    return publish(files=files, run_id="run-2024", folder_id=folder_id, **kw)


def _key(fake) -> dict:
    return json.loads(fake.key_file.read_text())


def test_other_4xx_fails_at_once(fake, run_files):
    fake.add_fault("files.list", status=400, reason="invalid")
    with pytest.raises(InputError, match=r"creating folder run-2024: Drive answered 400 invalid"):
        upload(fake, run_files, fake.add_folder())
    assert len(fake.ops("files.list")) == 1


@pytest.mark.parametrize(
    ("folder", "message"),
    [
        pytest.param(
            {"role": "none"},
            r"looking up folder (\S+): Drive answered 404 notFound: "
            r"folder \1 does not exist or is not shared with ml-pipeline-upload@",
            id="404-folder-not-shared",
        ),
        pytest.param(
            {"role": "reader"},
            r"creating folder run-2024: Drive answered 403 "
            r"insufficientFilePermissions: .* may not write to folder",
            id="403-no-write-access",
        ),
        pytest.param(
            {"shared_drive": False},
            r"uploading metrics\.json: Drive answered 403 "
            r"storageQuotaExceeded: service accounts have no storage quota of their own.* "
            r"Shared Drive and add .* as Content manager, or set DRIVE_IMPERSONATE",
            id="storage-quota-in-my-drive",
        ),
    ],
)
def test_permission_problems_say_what_to_fix(fake, run_files, folder, message):
    with pytest.raises(InputError, match=message) as err:
        upload(fake, run_files, fake.add_folder(**folder))
    assert "\n" not in str(err.value)


def test_unknown_folder_id_is_404(fake, run_files):
    with pytest.raises(InputError, match=r"folder 1NoSuchFolder does not exist or is not shared"):
        upload(fake, run_files, "1NoSuchFolder")


def test_impersonation_without_delegation_is_explained(fake, run_files):
    with pytest.raises(InputError, match=r"unauthorized_client.*domain-wide delegation is not"):
        upload(fake, run_files, fake.add_folder(), impersonate=USER)


@pytest.mark.parametrize(
    ("status", "reason", "message"),
    [
        pytest.param(403, "accessNotConfigured", r"Google Drive API is not enabled", id="api-off"),
        pytest.param(403, "insufficientPermissions", r"lacks the Drive scope", id="scope"),
        pytest.param(
            403,
            "domainPolicy",
            r"403 domainPolicy: fake fault: domainPolicy",
            id="other-403-passes-drive-text",
        ),
        pytest.param(401, "authError", r"Google rejected the access token", id="401"),
    ],
)
def test_other_refusals_are_explained(fake, run_files, status, reason, message):
    # times=3: google-auth refreshes the token and retries twice on a 401 by itself.
    fake.add_fault("files.get", status=status, reason=reason, times=3)
    with pytest.raises(InputError, match=r"^looking up folder \S+: Drive answered .*" + message):
        upload(fake, run_files, fake.add_folder())


@pytest.mark.parametrize(
    ("write", "message"),
    [
        pytest.param(None, r"does not exist; download a JSON key", id="missing"),
        pytest.param(lambda p, key: p.mkdir(), r"is a directory", id="directory"),
        pytest.param(
            lambda p, key: p.write_text('{"type": "service_acc'),
            r"is not valid JSON",
            id="truncated-json",
        ),
        pytest.param(
            lambda p, key: p.write_text(json.dumps({"type": "authorized_user"})),
            r"type 'service_account'; got type 'authorized_user'",
            id="user-credentials",
        ),
        pytest.param(
            lambda p, key: p.write_text(json.dumps({**key, "private_key": ""})),
            r"lacks private_key",
            id="no-private-key",
        ),
        pytest.param(
            lambda p, key: p.write_text(
                json.dumps({**key, "private_key": key["private_key"].replace("\n", "\n!", 3)})
            ),
            r"has a private_key that is not a valid PEM key",
            id="broken-private-key",
        ),
    ],
)
def test_bad_key_file_fails_before_any_network_call(fake, run_files, tmp_path, write, message):
    path = tmp_path / "credentials.json"
    if write:
        write(path, _key(fake))
    with pytest.raises(
        InputError, match=r"GOOGLE_APPLICATION_CREDENTIALS file .*" + message
    ) as err:
        upload(fake, run_files, fake.add_folder(), credentials_file=path)
    assert fake.requests == []
    assert "\n" not in str(err.value) and "PRIVATE KEY" not in str(err.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            {"api_endpoint": "http://127.0.0.1:1"},
            r"DRIVE_API_ENDPOINT must be an https",
            id="http-endpoint",
        ),
        pytest.param(
            {"env": "/nonexistent/ca.pem"},
            r"HTTPLIB2_CA_CERTS=.* is not a file",
            id="missing-ca-bundle",
        ),
        pytest.param(
            {"folder_id": "https://drive.google.com/drive/folders/1abc"},
            r"DRIVE_FOLDER_ID must be a Drive folder id",
            id="folder-url-not-id",
        ),
        pytest.param(
            {"files": ["missing.pkl"]},
            r"file to upload missing\.pkl does not exist",
            id="missing-local-file",
        ),
        pytest.param({"files": []}, r"no files to upload", id="no-files"),
    ],
)
def test_bad_configuration_fails_before_any_network_call(
    fake, run_files, monkeypatch, change, message
):
    if "env" in change:
        monkeypatch.setenv("HTTPLIB2_CA_CERTS", change.pop("env"))  # after trust_fake's
    kw = {"files": run_files, "folder_id": fake.add_folder(), **change}
    with pytest.raises(InputError, match=message):
        upload(fake, kw.pop("files"), kw.pop("folder_id"), **kw)
    assert fake.requests == []
