"""Runs the fake Google server standalone, e.g. as a compose service for the end-to-end test.

    python -m tests.fake_gdrive --state-dir /fake --port 8443 --public-host fake-gdrive \\
        --folder 1FakeResultsFolder

It writes into --state-dir: ca.pem (trust it with HTTPLIB2_CA_CERTS), credentials.json (a
service-account key whose token_uri points here) and state.json (what it stores and saw,
written at start and after every request). Over HTTPS, GET /_fake/state answers the same,
GET /_fake/files/<id>/content returns a file's bytes, and POST /_fake/faults with a Fault as
JSON (e.g. {"op": "files.list", "status": 429}) injects a fault.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from pathlib import Path

if not __package__:  # run as a script: python tests/fake_gdrive
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fake_gdrive.server import FakeGoogle

KINDS = ("shared", "mydrive", "reader", "hidden")


def _folder(spec: str) -> tuple[str, str, str | None]:
    folder_id, _, rest = spec.partition(":")
    kind, _, owner = rest.partition(":")
    if not folder_id or (kind or "shared") not in KINDS:
        raise argparse.ArgumentTypeError(f"expected ID[:{'|'.join(KINDS)}[:OWNER]]; got {spec!r}")
    return folder_id, kind or "shared", owner or None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fake_gdrive",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--bind", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument(
        "--public-host",
        default="127.0.0.1",
        help="host name clients use (goes into the certificate and token_uri)",
    )
    parser.add_argument(
        "--folder",
        type=_folder,
        action="append",
        default=[],
        help="seed a folder: ID[:shared|mydrive|reader|hidden[:OWNER]] "
        "(shared = in a Shared Drive, the account is Content manager)",
    )
    parser.add_argument(
        "--delegate", action="append", default=[], help="a user the service account may impersonate"
    )
    args = parser.parse_args(argv)

    fake = FakeGoogle(
        args.state_dir,
        bind=args.bind,
        port=args.port,
        public_host=args.public_host,
        dump_state=True,
    )
    for folder_id, kind, owner in args.folder:
        role = {"reader": "reader", "hidden": "none", "mydrive": "writer"}.get(kind, "writer")
        fake.add_folder(
            f"folder-{folder_id}",
            folder_id=folder_id,
            role=role,
            owner=owner,
            shared_drive=kind != "mydrive",
        )
    for user in args.delegate:
        fake.allow_delegation(user)
    fake.write_state()  # exists from the start: a compose healthcheck can wait for it
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(
        f"fake Google listening on {fake.base_url} (CA {fake.ca_file}, key {fake.key_file})",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt, SystemExit):  # Ctrl-C, docker stop
        fake.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
