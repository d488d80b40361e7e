"""Upload target `gdrive`: publish a run's files into a Google Drive folder, safely re-runnable.

Each run gets a sub-folder named after its run id inside DRIVE_FOLDER_ID. A file that already
exists there (same name, not trashed) is updated in place, so re-running a task never makes
duplicates. Every call passes supportsAllDrives, because the folder should live in a Shared
Drive: service accounts own no storage, so they cannot create files in a My Drive folder unless
they act as a user (domain-wide delegation, DRIVE_IMPERSONATE). Large files go up in resumable
chunks that survive dropped connections; each upload is checked against Drive's md5Checksum.
Scope choice and transport: see _gdrive_auth. Retry policy: see _gdrive_retry.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

from google.auth.exceptions import RefreshError
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaIoBaseUpload

from ml_pipeline.errors import InputError

from ._gdrive_auth import build_drive, drive_base_url, load_credentials
from ._gdrive_errors import drive_input_error, refresh_input_error
from ._gdrive_retry import DriveRetryError, RetryPolicy, call_with_retry

__all__ = ["DriveRetryError", "RetryPolicy", "publish"]

log = logging.getLogger("upload")
MIB = 1024 * 1024
UPLOAD_CHUNK_MULTIPLE = 256 * 1024  # Drive rejects other chunk sizes (except the last chunk)
FOLDER_MIME = "application/vnd.google-apps.folder"
ITEM_FIELDS = "id,name,mimeType,size,md5Checksum,webViewLink"
FOLDER_FIELDS = "id,name,mimeType,webViewLink,driveId,trashed"


@dataclass(frozen=True)
class _Local:
    path: Path
    name: str
    size: int
    md5: str
    mime: str


class _ChunkUpload(MediaIoBaseUpload):
    """Hands each chunk to httplib2 as bytes, never as a slice of the open file.

    httplib2 silently re-sends a request once when the connection drops before the answer; a
    stream slice is spent by then, so the re-send would announce a chunk's Content-Length and
    send nothing, hanging until the socket timeout. Bytes re-send intact (one chunk in memory).
    """

    def has_stream(self) -> bool:
        return False


def publish(
    *,
    files: list[Path],
    run_id: str,
    folder_id: str,
    credentials_file: Path,
    impersonate: str | None = None,
    api_endpoint: str | None = None,
    retry: RetryPolicy | None = None,
    resumable_threshold: int = 5 * MIB,
    chunk_size: int = 8 * MIB,
    timeout: float = 120.0,
) -> dict:
    """Uploads files into a sub-folder named run_id inside folder_id; returns the receipt dict.

    Bad input, configuration or permissions raise InputError (key files are checked before
    any network call); transient trouble that outlasts `retry` raises DriveRetryError.
    """
    if chunk_size <= 0 or chunk_size % UPLOAD_CHUNK_MULTIPLE:
        raise ValueError(f"chunk_size must be a positive multiple of 256 KiB; got {chunk_size}")
    local = _check_local_files(files)
    _check_ids(run_id=run_id, folder_id=folder_id)
    drive_base_url(api_endpoint)
    credentials = load_credentials(Path(credentials_file), impersonate)
    account = credentials.service_account_email
    who = f"{impersonate} (impersonated by {account})" if impersonate else account
    drive = _Drive(
        build_drive(credentials, api_endpoint, timeout),
        retry or RetryPolicy(),
        who=who,
        account=account,
        folder_id=folder_id,
    )
    parent = drive.target_folder()
    run_folder = drive.run_folder(parent, run_id)
    log.info("Drive folder %s/%s: id %s", parent.get("name"), run_id, run_folder["id"])
    entries = [drive.put(run_folder, f, f.size > resumable_threshold, chunk_size) for f in local]
    return {
        "target": "gdrive",
        "run_id": run_id,
        "folder": {
            "id": run_folder["id"],
            "name": run_folder.get("name", run_id),
            "link": run_folder.get("webViewLink"),
        },
        "files": entries,
    }


def _check_local_files(files: list[Path]) -> list[_Local]:
    if not files:
        raise InputError("no files to upload to Google Drive")
    seen: dict[str, Path] = {}
    local = []
    for path in map(Path, files):
        if not path.is_file():
            raise InputError(f"file to upload {path} does not exist or is not a regular file")
        if path.name in seen:
            raise InputError(
                f"files to upload must have distinct names; {seen[path.name]} and "
                f"{path} are both {path.name!r}"
            )
        seen[path.name] = path
        digest = hashlib.md5(usedforsecurity=False)
        with path.open("rb") as fh:
            for block in iter(lambda fh=fh: fh.read(MIB), b""):
                digest.update(block)
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        local.append(_Local(path, path.name, path.stat().st_size, digest.hexdigest(), mime))
    return local


def _check_ids(*, run_id: str, folder_id: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", folder_id or ""):
        raise InputError(
            "DRIVE_FOLDER_ID must be a Drive folder id (letters, digits, '-' and "
            f"'_': the last part of the folder's URL .../folders/<id>); got "
            f"{folder_id!r}"
        )
    if not run_id or not run_id.isprintable() or "/" in run_id:
        raise InputError(f"run id must be printable text without '/'; got {run_id!r}")


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


class _Drive:
    """The few Drive calls the target makes, each retried and translated into InputError."""

    def __init__(self, service, policy: RetryPolicy, *, who: str, account: str, folder_id: str):
        self.files, self.policy = service.files(), policy
        self.who, self.account, self.folder_id = who, account, folder_id
        self.drive_id: str | None = None

    def _fail(self, err: Exception, what: str) -> InputError:
        if isinstance(err, RefreshError):
            return refresh_input_error(err, self.who)
        return drive_input_error(
            err, what, who=self.who, account=self.account, folder_id=self.folder_id
        )

    def _call(self, fn, what: str):
        try:
            return call_with_retry(fn, what, self.policy)
        except (HttpError, RefreshError) as err:
            raise self._fail(err, what) from None

    def target_folder(self) -> dict:
        meta = self._call(
            lambda: self.files.get(
                fileId=self.folder_id,
                fields=FOLDER_FIELDS,
                supportsAllDrives=True,
            ).execute(num_retries=0),
            f"looking up folder {self.folder_id}",
        )
        if meta.get("mimeType") != FOLDER_MIME:
            raise InputError(
                f"DRIVE_FOLDER_ID {self.folder_id} is a file of type "
                f"{meta.get('mimeType')}, not a folder"
            )
        if meta.get("trashed"):
            raise InputError(f"DRIVE_FOLDER_ID {self.folder_id} is in the trash; restore it")
        self.drive_id = meta.get("driveId")
        return meta

    def _find(self, parent: dict, name: str, *, folder: bool) -> list[dict]:
        query = (
            f"name = '{_quote(name)}' and '{parent['id']}' in parents and mimeType "
            f"{'=' if folder else '!='} '{FOLDER_MIME}' and trashed = false"
        )
        scope = {"corpora": "drive", "driveId": self.drive_id} if self.drive_id else {}
        found = (
            self.files.list(
                q=query,
                fields=f"files({ITEM_FIELDS})",
                orderBy="createdTime",
                pageSize=10,
                supportsAllDrives=True,
                includeItemsFromAllDrives=True,
                **scope,
            )
            .execute(num_retries=0)
            .get("files", [])
        )
        if len(found) > 1:
            log.warning(
                "%d items named %s in Drive folder %s; using the oldest",
                len(found),
                name,
                parent["id"],
            )
        return found

    def run_folder(self, parent: dict, run_id: str) -> dict:
        def find_or_create() -> dict:
            # Looked up again on every attempt, so a retried create cannot duplicate the folder.
            found = self._find(parent, run_id, folder=True)
            if found:
                return found[0]
            body = {"name": run_id, "mimeType": FOLDER_MIME, "parents": [parent["id"]]}
            request = self.files.create(body=body, fields=ITEM_FIELDS, supportsAllDrives=True)
            return request.execute(num_retries=0)

        return self._call(find_or_create, f"creating folder {run_id}")

    def _request(self, run_folder: dict, f: _Local, media, existing: list[dict]):
        if existing:
            return self.files.update(
                fileId=existing[0]["id"],
                body={},
                media_body=media,
                fields=ITEM_FIELDS,
                supportsAllDrives=True,
            )
        return self.files.create(
            body={"name": f.name, "parents": [run_folder["id"]]},
            media_body=media,
            fields=ITEM_FIELDS,
            supportsAllDrives=True,
        )

    def _resumable(self, make_request, what: str) -> dict:
        """Sends chunks until Drive returns the file; restarts a session Drive has expired."""
        request, restarts, result = make_request(), 0, None
        while result is None:  # each chunk gets its own retry budget: progress resets it
            try:
                chunk = functools.partial(request.next_chunk, num_retries=0)
                _, result = call_with_retry(chunk, what, self.policy)
            except (HttpError, RefreshError) as err:
                status = getattr(getattr(err, "resp", None), "status", 0)
                if status not in (404, 410) or request.resumable_uri is None or restarts == 2:
                    raise self._fail(err, what) from None
                restarts += 1
                log.warning("%s: upload session expired (HTTP %d), starting over", what, status)
                request = make_request()
        return result

    def put(self, run_folder: dict, f: _Local, resumable: bool, chunk_size: int) -> dict:
        what, existing = f"uploading {f.name}", []

        def send(media) -> dict:
            # Looked up on every attempt, so a retried create cannot duplicate the file.
            existing[:] = self._find(run_folder, f.name, folder=False)
            return self._request(run_folder, f, media, existing).execute(num_retries=0)

        with f.path.open("rb") as fh:
            media = _ChunkUpload(fh, mimetype=f.mime, chunksize=chunk_size, resumable=resumable)
            if resumable:
                existing = self._call(lambda: self._find(run_folder, f.name, folder=False), what)
                result = self._resumable(
                    lambda: self._request(run_folder, f, media, existing), what
                )
            else:
                result = self._call(lambda: send(media), what)
        if result.get("md5Checksum") != f.md5:
            raise InputError(
                f"{f.name}: Drive reports md5 {result.get('md5Checksum') or 'none'} but the local "
                f"file has {f.md5}; the bytes were damaged in transit or the file changed while "
                "uploading; run the upload again to replace it"
            )
        log.info(
            "%s %s: %d bytes, Drive id %s",
            "updated" if existing else "uploaded",
            f.name,
            f.size,
            result["id"],
        )
        return {
            "name": f.name,
            "id": result["id"],
            "link": result.get("webViewLink"),
            "size": f.size,
            "md5": f.md5,
        }
