"""Google's refusals, translated into one-line InputErrors that say what to change.

Only server-sent text and ids appear in them: never key material, tokens or upload session URLs.
"""

from __future__ import annotations

from ml_pipeline.errors import InputError

from ._gdrive_retry import http_error_parts

# 403 reasons that mean "this identity may not write here" (other 403s pass Drive's text on).
_NO_ACCESS = frozenset({"", "forbidden", "insufficientFilePermissions", "appNotAuthorizedToFile"})


def drive_input_error(err, what: str, *, who: str, account: str, folder_id: str) -> InputError:
    """Drive refused for a reason a retry cannot fix: say which, and what to change."""
    status, reason, message = http_error_parts(err)
    head = f"{what}: Drive answered {status} {reason}".rstrip()
    if reason == "storageQuotaExceeded" and who != account:
        return InputError(f"{head}: the Drive of {who} is full; free space or use a Shared Drive")
    if reason == "storageQuotaExceeded":
        return InputError(
            f"{head}: service accounts have no storage quota of their own, so they cannot "
            f"own files in a My Drive folder. Fix: put the folder in a Shared Drive and add "
            f"{account} to it as Content manager, or set DRIVE_IMPERSONATE to a user "
            f"of your Workspace domain (domain-wide delegation) so that user owns the files"
        )
    if status == 404:
        return InputError(
            f"{head}: folder {folder_id} does not exist or is not shared with "
            f"{who}; check DRIVE_FOLDER_ID (the last part of the folder's URL) and add "
            f"the account to the Shared Drive"
        )
    if reason in ("accessNotConfigured", "SERVICE_DISABLED"):
        return InputError(
            f"{head}: the Google Drive API is not enabled in the service "
            "account's Cloud project; enable it (APIs & Services > Library)"
        )
    if reason == "insufficientPermissions":
        return InputError(
            f"{head}: the token for {who} lacks the Drive scope "
            "https://www.googleapis.com/auth/drive (with DRIVE_IMPERSONATE, authorize that "
            "scope for the account's client id in domain-wide delegation)"
        )
    if status == 401:
        return InputError(f"{head}: Google rejected the access token for {who}; check the key")
    if status == 403 and reason in _NO_ACCESS:
        return InputError(
            f"{head}: {who} may not write to folder {folder_id}; add it to the "
            f"Shared Drive as Content manager (or share the folder with it as Editor)"
        )
    return InputError(f"{head}: {message or 'no details'}")


def refresh_input_error(exc: BaseException, who: str) -> InputError:
    """Google refused to issue a token: wrong, revoked or undelegated key."""
    data = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
    error, detail = str(data.get("error", "refused")), str(data.get("error_description", ""))
    hint = "the key may be deleted or revoked, or the clock is off; create a new key"
    if error == "unauthorized_client":
        hint = (
            "domain-wide delegation is not set up for this service account's client id "
            "with the scope https://www.googleapis.com/auth/drive (Admin console > Security "
            "> API controls > Domain-wide delegation), or unset DRIVE_IMPERSONATE"
        )
    return InputError(
        f"Google refused a token for {who} ({error}: {' '.join(detail.split())[:200]}): {hint}"
    )
