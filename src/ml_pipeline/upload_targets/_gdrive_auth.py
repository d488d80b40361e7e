"""Credentials and transport for the gdrive target: checked offline first, then one httplib2.

Scope: `https://www.googleapis.com/auth/drive`, the narrowest that works here. `drive.file`
only reaches files this app created or a user opened with it through the Drive Picker; the
target folder is created by a person and merely shared with the service account, so under
`drive.file` it is invisible (files.get answers 404 and nothing can be created in it).
`drive.metadata` cannot write content and `drive.appdata` is a hidden per-app folder. What the
broad scope could reach is instead bounded by sharing: a service account sees only what was
shared with it (one Shared Drive or folder). With domain-wide delegation it would see the
impersonated user's whole Drive, which is why the README recommends a Shared Drive first.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from ml_pipeline.errors import InputError

SCOPES = ("https://www.googleapis.com/auth/drive",)
_REQUIRED = ("client_email", "private_key", "token_uri")
_GET_KEY = "download a JSON key in Google Cloud Console > IAM & Admin > Service accounts > Keys"


def _read_key_info(path: Path) -> dict:
    where = f"GOOGLE_APPLICATION_CREDENTIALS file {path}"
    try:
        if path.stat().st_size > 64 * 1024:
            raise InputError(f"{where} is too large to be a service-account key; {_GET_KEY}")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            f"{where} does not exist; {_GET_KEY} and save it as ./credentials/credentials.json"
        ) from None
    except IsADirectoryError:
        raise InputError(f"{where} is a directory, not a JSON key file") from None
    except PermissionError:
        raise InputError(
            f"{where} is not readable by uid {os.getuid()}; make it readable by "
            "that user (the upload container does not run as root)"
        ) from None
    except UnicodeDecodeError:
        raise InputError(f"{where} is not a JSON service-account key; {_GET_KEY}") from None
    try:
        info = json.loads(text)
    except ValueError:
        # The parser's message can quote the file, so it is not passed on.
        raise InputError(f"{where} is not valid JSON; {_GET_KEY}") from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        kind = info.get("type") if isinstance(info, dict) else None
        shown = (
            repr(kind) if isinstance(kind, str) and re.fullmatch(r"[a-z_]{1,40}", kind) else "none"
        )
        raise InputError(
            f"{where} must be a key with type 'service_account'; got type {shown} "
            "(OAuth client and user credential files do not work here)"
        )
    missing = sorted(name for name in _REQUIRED if not info.get(name))
    if missing:
        raise InputError(f"{where} lacks {', '.join(missing)}; {_GET_KEY}")
    return info


def load_credentials(path: Path, impersonate: str | None):
    """Service-account credentials from a key file, every check done before any network call."""
    from google.oauth2 import service_account

    info = _read_key_info(Path(path))
    try:
        credentials = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
    except ValueError:
        raise InputError(
            f"GOOGLE_APPLICATION_CREDENTIALS file {path} has a private_key that "
            f"is not a valid PEM key; {_GET_KEY}"
        ) from None
    if impersonate:
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", impersonate):
            raise InputError(
                f"DRIVE_IMPERSONATE must be a user's email address; got {impersonate!r}"
            )
        credentials = credentials.with_subject(impersonate)
    return credentials


def drive_base_url(api_endpoint: str | None) -> str | None:
    """DRIVE_API_ENDPOINT (a root such as https://www.googleapis.com) -> the v3 base URL."""
    if not api_endpoint:
        return None
    url = api_endpoint.rstrip("/")
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        # The client sends uploads to https:// on the endpoint's host whatever its scheme.
        raise InputError(
            f"DRIVE_API_ENDPOINT must be an https:// URL such as "
            f"https://www.googleapis.com; got {api_endpoint!r}"
        )
    return (url if url.endswith("/drive/v3") else url + "/drive/v3") + "/"


def check_ca_bundle() -> None:
    """HTTPLIB2_CA_CERTS, if set, must name a file. Call it before Google's client is imported:
    httplib2 reads the variable at its import and then fails with a bare RuntimeError."""
    path = os.environ.get("HTTPLIB2_CA_CERTS")
    if path is not None and not os.path.isfile(path):
        raise InputError(
            f"HTTPLIB2_CA_CERTS={path!r} is not a file; point it at a PEM CA bundle or unset it"
        )


def build_drive(credentials, api_endpoint: str | None, timeout: float):
    """A Drive v3 client whose API calls and token requests share one httplib2 transport.

    The CA bundle comes from httplib2's own HTTPLIB2_CA_CERTS variable, read now rather than at
    httplib2's import, so a test CA set by the caller is honoured.
    """
    check_ca_bundle()
    import google_auth_httplib2
    import httplib2
    from googleapiclient import discovery

    http = httplib2.Http(ca_certs=httplib2.certs.where(), timeout=timeout)
    # Drive answers 308 to mean "resume incomplete", not "permanent redirect".
    http.redirect_codes = http.redirect_codes - {308}
    authed = google_auth_httplib2.AuthorizedHttp(credentials, http=http)
    base = drive_base_url(api_endpoint)
    options = {"api_endpoint": base} if base else None
    return discovery.build(
        "drive",
        "v3",
        http=authed,
        client_options=options,
        cache_discovery=False,
        static_discovery=True,
    )
