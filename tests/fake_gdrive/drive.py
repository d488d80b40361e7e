"""In-memory Drive v3: the files the fake stores, who may see them, and the `q` it understands.

Access follows Google's rules closely enough to fail the way Drive fails: an item the caller
cannot see is a 404 (Drive hides existence), a reader who writes gets 403
insufficientFilePermissions, a service account creating content in a My Drive folder gets 403
storageQuotaExceeded, and Shared Drive items are invisible without supportsAllDrives /
includeItemsFromAllDrives.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import secrets
from dataclasses import dataclass, field

FOLDER = "application/vnd.google-apps.folder"
CHUNK_MULTIPLE = 256 * 1024
QUOTA_MESSAGE = (
    "Service Accounts do not have storage quota. Leverage shared drives "
    "(https://developers.google.com/workspace/drive/api/guides/about-shareddrives), "
    "or use OAuth delegation (http://support.google.com/a/answer/7281227) instead."
)
_DEFAULT_FIELDS = ("kind", "id", "name", "mimeType")


class DriveError(Exception):
    """An error answer in Google's JSON shape."""

    def __init__(self, status: int, reason: str, message: str, domain: str = "global"):
        super().__init__(message)
        self.status, self.reason, self.message, self.domain = status, reason, message, domain

    def body(self) -> dict:
        error = {"message": self.message, "domain": self.domain, "reason": self.reason}
        return {"error": {"code": self.status, "message": self.message, "errors": [error]}}


@dataclass
class Item:
    id: str
    name: str
    mime_type: str
    parents: list[str]
    drive_id: str | None
    created: int
    data: bytes | None = None
    trashed: bool = False
    role: str | None = None  # seeded roots only: the service account's role there
    owner: str | None = None  # seeded My Drive roots only: the user who owns the folder

    def resource(self) -> dict:
        folder = self.mime_type == FOLDER
        res = {
            "kind": "drive#file",
            "id": self.id,
            "name": self.name,
            "mimeType": self.mime_type,
            "parents": list(self.parents),
            "trashed": self.trashed,
            "webViewLink": f"https://drive.google.com/drive/folders/{self.id}"
            if folder
            else f"https://drive.google.com/file/d/{self.id}/view?usp=drivesdk",
        }
        if self.drive_id:
            res["driveId"] = self.drive_id
        if not folder:
            res["size"] = str(len(self.data or b""))
            res["md5Checksum"] = hashlib.md5(self.data or b"", usedforsecurity=False).hexdigest()
        return res


@dataclass(frozen=True)
class Caller:
    email: str
    subject: str | None = None  # the impersonated user, with domain-wide delegation


def select(resource: dict, fields: str | None) -> dict:
    """Keeps the top-level fields a `fields=` parameter asks for (Drive's default otherwise)."""
    if fields == "*":
        return resource
    wanted = [f.strip() for f in fields.split(",")] if fields else _DEFAULT_FIELDS
    return {k: v for k, v in resource.items() if k in wanted}


_TOKEN = re.compile(r"\s*(?:('(?:[^'\\]|\\.)*')|(!=|=)|([A-Za-z]+))")


def parse_q(q: str):
    """Parses the `and`-joined clauses the upload code sends into a predicate over items."""
    tokens, pos = [], 0
    while pos < len(q.rstrip()):
        m = _TOKEN.match(q, pos)
        if not m:
            raise DriveError(400, "invalid", f"Invalid Value: q near {q[pos : pos + 20]!r}")
        quoted, op, word = m.groups()
        if quoted:
            tokens.append(("str", re.sub(r"\\(.)", r"\1", quoted[1:-1])))
        else:
            tokens.append(("op", op) if op else ("word", word))
        pos = m.end()
    checks = [_clause(clause, q) for clause in _split_and(tokens)]
    return lambda item: all(check(item) for check in checks)


def _split_and(tokens: list) -> list[list]:
    clauses = [
        list(group)
        for key, group in itertools.groupby(tokens, lambda t: t == ("word", "and"))
        if not key
    ]
    if len(clauses) != tokens.count(("word", "and")) + 1:
        raise DriveError(400, "invalid", "Invalid Value: empty clause in q")
    return clauses


def _clause(clause: list, q: str):
    kinds = [kind for kind, _ in clause]
    values = [value for _, value in clause]
    if kinds == ["str", "word", "word"] and values[1:] == ["in", "parents"]:
        return lambda item: values[0] in item.parents
    if kinds[:2] == ["word", "op"] and len(clause) == 3:
        name, op, value = values
        attr = {"name": "name", "mimeType": "mime_type"}.get(name)
        if attr and kinds[2] == "str":
            return lambda item: (getattr(item, attr) == value) == (op == "=")
        if name == "trashed" and op == "=" and value in ("true", "false"):
            return lambda item: item.trashed == (value == "true")
    raise DriveError(400, "invalid", f"Invalid Value: unsupported clause in q {q!r}")


@dataclass
class Store:
    """Items by id, plus the resumable sessions under way."""

    items: dict[str, Item] = field(default_factory=dict)
    counter: itertools.count = field(default_factory=itertools.count)

    def add_folder(
        self,
        name: str,
        *,
        shared_drive: bool = True,
        role: str = "writer",
        owner: str | None = None,
        folder_id: str | None = None,
    ) -> str:
        folder_id = folder_id or "1" + secrets.token_urlsafe(24)
        drive_id = "0A" + secrets.token_urlsafe(12) if shared_drive else None
        self.items[folder_id] = Item(
            folder_id, name, FOLDER, [], drive_id, next(self.counter), role=role, owner=owner
        )
        return folder_id

    def _role(self, caller: Caller, item: Item) -> str:
        root = item
        while root.parents and root.parents[0] in self.items:
            root = self.items[root.parents[0]]
        if caller.subject and root.owner == caller.subject:
            return "writer"
        return root.role or "none"

    def _visible(self, caller: Caller, item: Item, all_drives: bool) -> bool:
        return self._role(caller, item) != "none" and (all_drives or not item.drive_id)

    def lookup(self, caller: Caller, file_id: str, params: dict, *, write: bool = False) -> Item:
        item = self.items.get(file_id)
        if item is None or not self._visible(caller, item, _true(params, "supportsAllDrives")):
            raise DriveError(404, "notFound", f"File not found: {file_id}.")
        if write and self._role(caller, item) != "writer":
            raise DriveError(
                403,
                "insufficientFilePermissions",
                f"The user does not have sufficient permissions for file {file_id}.",
            )
        return item

    def list(self, caller: Caller, params: dict) -> list[Item]:
        all_drives = _true(params, "includeItemsFromAllDrives")
        if params.get("corpora") == "drive" and not (params.get("driveId") and all_drives):
            raise DriveError(
                400, "invalid", "corpora=drive needs driveId and includeItemsFromAllDrives=true"
            )
        if all_drives and not _true(params, "supportsAllDrives"):
            raise DriveError(
                403,
                "teamDrivesSupportRequired",
                "includeItemsFromAllDrives needs supportsAllDrives=true",
            )
        match = parse_q(params.get("q", ""))
        found = [
            i for i in self.items.values() if self._visible(caller, i, all_drives) and match(i)
        ]
        if params.get("corpora") == "drive":
            found = [i for i in found if i.drive_id == params["driveId"]]
        return sorted(found, key=lambda i: i.created)

    def check_create(self, caller: Caller, meta: dict, params: dict, has_content: bool) -> Item:
        """Validates a create (or a resumable session that will create) and returns the parent."""
        parents = meta.get("parents") or []
        if len(parents) != 1:
            raise DriveError(400, "invalid", "fake: exactly one parent is required")
        parent = self.lookup(caller, parents[0], params, write=True)
        if parent.mime_type != FOLDER:
            raise DriveError(400, "invalid", f"The parent {parent.id} is not a folder.")
        if has_content and not parent.drive_id and caller.subject is None:
            raise DriveError(403, "storageQuotaExceeded", QUOTA_MESSAGE, "usageLimits")
        return parent

    def create(
        self, caller: Caller, meta: dict, params: dict, data: bytes | None, mime: str | None
    ) -> Item:
        mime_type = meta.get("mimeType") or mime or "application/octet-stream"
        parent = self.check_create(caller, meta, params, mime_type != FOLDER)
        file_id = "1" + secrets.token_urlsafe(24)
        item = Item(
            file_id,
            meta.get("name") or "Untitled",
            mime_type,
            [parent.id],
            parent.drive_id,
            next(self.counter),
            data=None if mime_type == FOLDER else data,
        )
        self.items[file_id] = item
        return item

    def update(
        self, caller: Caller, file_id: str, meta: dict, params: dict, data: bytes | None
    ) -> Item:
        item = self.lookup(caller, file_id, params, write=True)
        item.name = meta.get("name") or item.name
        if data is not None:
            item.data = data
        return item

    def snapshot(self) -> list[dict]:
        return [item.resource() for item in sorted(self.items.values(), key=lambda i: i.created)]


def _true(params: dict, name: str) -> bool:
    return params.get(name) == "true"
