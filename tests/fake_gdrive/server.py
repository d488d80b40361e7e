"""The fake Google server: TLS, routing, bearer-token checks, fault injection and inspection.

One `FakeGoogle` serves the token endpoint and the Drive v3 calls the upload code makes, over
HTTPS with a certificate from a throwaway CA (google-api-python-client sends uploads to https://
whatever the endpoint's scheme). Everything it saw is kept for tests to assert on.
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import parse_qsl

from .drive import Caller, DriveError, Item, Store, select
from .keys import CLIENT_EMAIL, server_tls, service_public_key, write_key_file
from .tokens import TokenError, TokenIssuer
from .transport import TLSServer
from .uploads import Uploads

DRIVE_SCOPE = "https://www.googleapis.com/auth/drive"
_FAULT_TEXT = {
    429: "rateLimitExceeded",
    500: "internalError",
    502: "badGateway",
    503: "backendError",
    403: "rateLimitExceeded",
    400: "badRequest",
}


@dataclass
class Fault:
    """Misbehaviour for the next `times` requests of kind `op` ("*" = any Drive call)."""

    op: str
    status: int = 0  # answer this status (with `reason`) instead of doing the call
    reason: str = ""
    drop: bool = False  # close the connection without answering
    keep: float = 0.5  # for a dropped upload.chunk: share of the chunk stored before the drop
    times: int = 1
    after: int = 0  # let this many matching requests through first


class FakeGoogle:
    """Token endpoint + Drive v3 in memory; `with FakeGoogle(dir) as fake:` runs it in a thread."""

    def __init__(
        self,
        state_dir: Path,
        *,
        bind: str = "127.0.0.1",
        port: int = 0,
        public_host: str = "127.0.0.1",
        dump_state: bool = False,
    ):
        self.dump_state = dump_state  # rewrite state.json after each request (standalone use)
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.store, self.lock = Store(), threading.RLock()
        self.faults: list[Fault] = []
        self.requests: list[dict] = []
        self.ca_file = self.state_dir / "ca.pem"
        hosts = tuple(dict.fromkeys(("127.0.0.1", "localhost", public_host)))
        self._server = TLSServer((bind, port), self, server_tls(hosts, self.ca_file))
        self.base_url = f"https://{public_host}:{self._server.server_address[1]}"
        self.uploads = Uploads(self.store, self.base_url)
        key_id, public_key = service_public_key()
        self.tokens = TokenIssuer(self.base_url + "/token", {key_id: (CLIENT_EMAIL, public_key)})
        self.key_file = write_key_file(self.state_dir / "credentials.json", self.tokens.token_uri)
        self.client_email = CLIENT_EMAIL
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> FakeGoogle:
        # A short poll interval makes stop() quick (the default 0.5 s would dominate tests).
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeGoogle:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- what tests set up and read back ---------------------------------------------------
    def add_folder(self, name: str = "ml-results", **kw) -> str:
        with self.lock:
            return self.store.add_folder(name, **kw)

    def add_fault(self, op: str, **kw) -> None:
        with self.lock:
            self.faults.append(Fault(op, **kw))

    def corrupt_next_upload(self, times: int = 1) -> None:
        """The next uploads store one flipped bit, so Drive's md5Checksum differs."""
        with self.lock:
            self.uploads.corrupt += times

    def allow_delegation(self, user: str) -> None:
        with self.lock:
            self.tokens.delegation.add(user)

    def children(self, folder_id: str) -> list[Item]:
        with self.lock:
            items = self.store.items.values()
            return sorted(
                (i for i in items if folder_id in i.parents and not i.trashed),
                key=lambda i: i.created,
            )

    def ops(self, op: str) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["op"] == op]

    @property
    def sessions(self) -> dict[str, dict]:
        """Resumable upload sessions by id (an id is as secret as a token)."""
        return self.uploads.sessions

    @property
    def token_claims(self) -> list[dict]:
        return list(self.tokens.claims_seen)

    @property
    def issued_tokens(self) -> list[str]:
        return list(self.tokens.tokens)

    def state(self) -> dict:
        with self.lock:
            return {
                "files": self.store.snapshot(),
                "requests": list(self.requests),
                "token_claims": self.token_claims,
                "faults": [asdict(f) for f in self.faults],
            }

    # --- request handling ------------------------------------------------------------------
    def handle(self, method: str, path: str, query: dict, headers, body: bytes):
        """Returns (status, body, headers), or None to drop the connection."""
        if path.startswith("/_fake/"):
            return self._inspect(method, path, body)
        op = _classify(method, path, query, headers)
        with self.lock:
            entry = {
                "op": op,
                "method": method,
                "path": path,
                "query": dict(query),
                "content_range": headers.get("Content-Range"),
                "body_len": len(body),
            }
            self.requests.append(entry)
            fault = self._take_fault(op)
            try:
                reply = self._answer(op, method, path, query, headers, body, fault)
            except (DriveError, TokenError) as err:
                reply = (err.status, err.body(), {})
            entry["status"] = reply[0] if reply else "dropped"
            if self.dump_state:
                self.write_state()
            return reply

    def _take_fault(self, op: str) -> Fault | None:
        for fault in self.faults:
            if fault.op in (op, "*") and (op != "token" or fault.op == op) and fault.times:
                if fault.after:
                    fault.after -= 1
                    return None
                fault.times -= 1
                return fault
        return None

    def _answer(self, op, method, path, query, headers, body, fault: Fault | None):
        if fault and fault.status:
            reason = fault.reason or _FAULT_TEXT.get(fault.status, "error")
            domain = "usageLimits" if "Limit" in reason else "global"
            raise DriveError(fault.status, reason, f"fake fault: {reason}", domain)
        if fault and fault.drop and op != "upload.chunk":
            return None
        if op == "token":
            return 200, self.tokens.exchange(dict(parse_qsl(body.decode()))), {}
        grant = self.tokens.grant_for(headers.get("Authorization"))
        if grant is None:
            raise DriveError(401, "authError", "Request had invalid authentication credentials.")
        if DRIVE_SCOPE not in grant.scopes:
            raise DriveError(
                403, "insufficientPermissions", "Request had insufficient authentication scopes."
            )
        caller = Caller(grant.email, grant.subject)
        id_match = re.fullmatch(r"/(?:upload/)?drive/v3/files/([^/]+)", path)
        file_id = id_match.group(1) if id_match else None
        meta = json.loads(body) if body and "json" in headers.get("Content-Type", "") else {}
        fields = query.get("fields")
        if op == "files.get":
            return 200, select(self.store.lookup(caller, file_id, query).resource(), fields), {}
        if op == "files.list":
            inner = re.search(r"files\(([^)]*)\)", fields or "")
            found = self.store.list(caller, query)
            files = [select(i.resource(), inner.group(1) if inner else None) for i in found]
            return 200, {"kind": "drive#fileList", "incompleteSearch": False, "files": files}, {}
        if op == "files.create":
            return (
                200,
                select(self.store.create(caller, meta, query, None, None).resource(), fields),
                {},
            )
        if op == "files.update":
            return (
                200,
                select(self.store.update(caller, file_id, meta, query, None).resource(), fields),
                {},
            )
        if op in ("upload.create", "upload.update"):
            return self.uploads.start(caller, op, path, query, headers, body, meta, file_id)
        if op in ("upload.chunk", "upload.query"):
            return self.uploads.put(
                query, headers, body, fault.keep if fault and fault.drop else None
            )
        raise DriveError(404, "notFound", f"fake: no route for {method} {path}")

    def _inspect(self, method: str, path: str, body: bytes):
        if method == "GET" and path == "/_fake/state":
            return 200, self.state(), {}
        m = re.fullmatch(r"/_fake/files/([^/]+)/content", path)
        if method == "GET" and m and m.group(1) in self.store.items:
            return 200, self.store.items[m.group(1)].data or b"", {}
        if method == "POST" and path == "/_fake/faults":
            self.add_fault(**json.loads(body))
            return 200, {"faults": len(self.faults)}, {}
        return 404, {"error": "fake: unknown inspection path"}, {}

    def write_state(self) -> None:
        """Writes state() to state_dir/state.json atomically (for tests outside the process)."""
        tmp = self.state_dir / ".state.json.tmp"
        tmp.write_text(json.dumps(self.state(), indent=1))
        os.replace(tmp, self.state_dir / "state.json")


def _classify(method: str, path: str, query: dict, headers) -> str:
    if path == "/token" and method == "POST":
        return "token"
    if method == "PUT" and "upload_id" in query:
        return "upload.query" if "*" in (headers.get("Content-Range") or "*") else "upload.chunk"
    if path.startswith("/upload/drive/v3/files"):
        return "upload.create" if method == "POST" else "upload.update"
    routes = {
        ("GET", False): "files.list",
        ("POST", False): "files.create",
        ("GET", True): "files.get",
        ("PATCH", True): "files.update",
    }
    if path.startswith("/drive/v3/files"):
        return routes.get((method, path.startswith("/drive/v3/files/")), "unknown")
    return "unknown"
