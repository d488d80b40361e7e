"""Media uploads as Drive takes them: multipart, simple, and resumable sessions with 308s.

A resumable session answers each non-final chunk with 308 and `Range: bytes=0-N` (what it has
kept), a status query (`Content-Range: bytes */TOTAL`) the same way, and the final chunk with
the file resource. Its `Location` carries the fake's own https URL, as Google's does.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlencode

from .drive import CHUNK_MULTIPLE, Caller, DriveError, Store, select

_RANGE = re.compile(r"bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)")


@dataclass
class Uploads:
    store: Store
    base_url: str
    sessions: dict[str, dict] = field(default_factory=dict)
    corrupt: int = 0  # the next uploads store one flipped bit

    def start(
        self,
        caller: Caller,
        op: str,
        path: str,
        query: dict,
        headers,
        body: bytes,
        meta: dict,
        file_id: str | None,
    ):
        """POST/PATCH on /upload/...: a whole multipart or simple upload, or a new session."""
        kind = query.get("uploadType")
        if kind == "resumable":
            if op == "upload.create":
                self.store.check_create(caller, meta, query, has_content=True)
            else:
                self.store.lookup(caller, file_id, query, write=True)
            sid = secrets.token_urlsafe(16)
            self.sessions[sid] = {
                "caller": caller,
                "op": op,
                "file_id": file_id,
                "meta": meta,
                "query": query,
                "data": bytearray(),
                "result": None,
                "mime": headers.get("X-Upload-Content-Type"),
            }
            location = f"{self.base_url}{path}?{urlencode({**query, 'upload_id': sid})}"
            return 200, b"", {"Location": location}
        if kind == "multipart":
            meta, mime, data = parse_multipart(headers.get("Content-Type", ""), body)
        elif kind == "media":
            mime, data = headers.get("Content-Type"), body
        else:
            raise DriveError(400, "invalid", f"fake: unsupported uploadType {kind!r}")
        return 200, self._finish(caller, op, file_id, meta, query, bytes(data), mime), {}

    def _finish(self, caller, op, file_id, meta, query, data: bytes, mime) -> dict:
        if self.corrupt:
            self.corrupt -= 1
            data = data[:-1] + bytes([data[-1] ^ 1]) if data else b"\x00"
        if op == "upload.create":
            item = self.store.create(caller, meta, query, data, mime)
        else:
            item = self.store.update(caller, file_id, meta, query, data)
        return select(item.resource(), query.get("fields"))

    def put(self, query: dict, headers, body: bytes, drop_keep: float | None):
        """PUT on a session URL: a chunk or a status query. drop_keep: keep that share of the
        chunk, then answer nothing (None), like a connection lost mid-transfer."""
        session = self.sessions.get(query.get("upload_id", ""))
        if session is None:
            raise DriveError(404, "notFound", "fake: no such upload session")
        data: bytearray = session["data"]
        if session["result"] is not None:
            return 200, session["result"], {}
        m = _RANGE.fullmatch(headers.get("Content-Range") or "bytes */0")
        if m is None:
            raise DriveError(400, "badContent", "Failed to parse Content-Range header.")
        start, end, total = m.groups()
        if start is not None:
            start, end = int(start), int(end)
            final = total != "*" and end + 1 == int(total)
            if start > len(data) or end - start + 1 != len(body):
                raise DriveError(400, "badContent", "fake: Content-Range does not match")
            if not final and len(body) % CHUNK_MULTIPLE:
                raise DriveError(400, "badContent", "fake: chunk is not a multiple of 256 KiB")
            del data[start:]  # a re-sent range replaces what was kept of it
            if drop_keep is not None:
                data += body[: int(len(body) * drop_keep)]
                return None
            data += body
            if final:
                s = session
                s["result"] = self._finish(
                    s["caller"],
                    s["op"],
                    s["file_id"],
                    s["meta"],
                    s["query"],
                    bytes(data),
                    s["mime"],
                )
                return 200, s["result"], {}
        return 308, b"", ({"Range": f"bytes=0-{len(data) - 1}"} if data else {})


def parse_multipart(content_type: str, body: bytes) -> tuple[dict, str | None, bytes]:
    """Splits the client's multipart/related body into (metadata, media type, media bytes)."""
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if m is None:
        raise DriveError(400, "badContent", "fake: multipart without boundary")
    parts = []
    for part in body.split(b"--" + m.group(1).encode())[1:-1]:
        nl = b"\r\n" if part.startswith(b"\r\n") else b"\n"
        head, _, content = part[len(nl) :].partition(nl + nl)
        head_lines = head.decode().split(nl.decode())
        part_headers = {k.lower(): v for k, _, v in (h.partition(": ") for h in head_lines)}
        parts.append((part_headers, content.removesuffix(nl)))
    if len(parts) != 2:
        raise DriveError(400, "badContent", "fake: multipart needs metadata and media parts")
    return json.loads(parts[0][1]), parts[1][0].get("content-type"), parts[1][1]
