"""The fake Google server (tests/fake_gdrive) as a service of the e2e stack, on the egress network,
and which networks the step containers joined (`step_networks`).

fake-gdrive.compose.yml defines the service; the stack test adds it with COMPOSE_FILE and gives
the stack the Drive settings below, as a user's .env would for the real Google. The fake writes
its CA and a throwaway service-account key into ./fake_gdrive; `install_key` puts them where the
upload task reads them, ./credentials (the credentials volume, /credentials in the container).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVICE = "fake-gdrive"
FOLDER_ID = "1E2eResultsFolder"
COMPOSE_FILE = "fake-gdrive.compose.yml"
STATE_DIR = "fake_gdrive"
IMAGE = "ml-pipeline-e2e/fake-gdrive"
# Inside the fake's container only: its state and stored bytes, over HTTPS with its own CA.
_GET = (
    "import ssl, sys, urllib.request as r; sys.stdout.buffer.write(r.urlopen("
    "'https://localhost:8443' + sys.argv[1], timeout=30, "
    "context=ssl.create_default_context(cafile='/fake/ca.pem')).read())"
)


def _pin(name: str) -> str:
    for line in (REPO / "requirements" / "dev.txt").read_text().splitlines():
        if line.lower().startswith(f"{name}=="):
            return line.strip()
    raise LookupError(f"requirements/dev.txt pins no {name}")


def prepare(root: Path, uid: int, gid: int) -> dict[str, str]:
    """Copies the service's files into the stack's directory; returns the stack's settings."""
    shutil.copy2(Path(__file__).with_name(COMPOSE_FILE), root / COMPOSE_FILE)
    shutil.copytree(
        REPO / "tests" / "fake_gdrive",
        root / "tests" / "fake_gdrive",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (root / STATE_DIR).mkdir()
    os.chown(root / STATE_DIR, uid, gid)  # the fake runs as the steps' user
    return {
        "COMPOSE_FILE": os.pathsep.join(("docker-compose.yml", COMPOSE_FILE)),
        "FAKE_GDRIVE_FOLDER": FOLDER_ID,
        "FAKE_GDRIVE_TRUSTME": _pin("trustme"),
        "DRIVE_FOLDER_ID": FOLDER_ID,
        "DRIVE_API_ENDPOINT": f"https://{SERVICE}:8443",
        "GOOGLE_APPLICATION_CREDENTIALS": "/credentials/credentials.json",
        "HTTPLIB2_CA_CERTS": "/credentials/ca.pem",
    }


def install_key(root: Path, uid: int, gid: int) -> str:
    """The fake's key and CA into ./credentials, the key readable by the steps' user only;
    returns the key's private_key, which must never show up in a log."""
    key, ca = root / "credentials" / "credentials.json", root / "credentials" / "ca.pem"
    shutil.copyfile(root / STATE_DIR / "credentials.json", key)
    shutil.copyfile(root / STATE_DIR / "ca.pem", ca)
    os.chown(key, uid, gid)
    key.chmod(0o600)
    ca.chmod(0o644)
    return json.loads(key.read_text())["private_key"]


class FakeDrive:
    """What the fake stored and saw, read inside its container (it publishes no port)."""

    def __init__(self, container: str, private_key: str):
        self.container, self.private_key = container, private_key

    def _get(self, path: str) -> bytes:
        return subprocess.run(
            ["docker", "exec", self.container, "/opt/venv/bin/python", "-c", _GET, path],
            capture_output=True, timeout=60, check=True,
        ).stdout  # fmt: skip

    def state(self) -> dict:
        return json.loads(self._get("/_fake/state"))

    def content(self, file_id: str) -> bytes:
        return self._get(f"/_fake/files/{file_id}/content")

    def networks(self) -> tuple[set[str], dict]:
        """The networks its container is on, and the ports it publishes on the host."""
        inspect = subprocess.run(
            ["docker", "inspect", self.container],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        [container] = json.loads(inspect.stdout)
        ports = container["HostConfig"]["PortBindings"] or {}
        return set(container["NetworkSettings"]["Networks"]), ports


@contextlib.contextmanager
def step_networks(version: str) -> Iterator[dict[str, set[str]]]:
    """The networks each step container of this stack joined while the block ran, by step, as
    the engine reported them (the containers themselves are removed when their task ends)."""
    events = subprocess.Popen(
        ["docker", "events", "--since", str(int(time.time()) - 1), "--format", "{{json .}}",
         "--filter", "type=container", "--filter", "event=start",
         "--filter", "type=network", "--filter", "event=connect"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    joined: dict[str, set[str]] = {}
    try:
        yield joined
    finally:
        events.terminate()
        lines = events.communicate(timeout=30)[0].splitlines()
    steps, connects = {}, []
    for event in map(json.loads, lines):
        actor = event["Actor"]
        if event["Type"] == "network":
            connects.append((actor["Attributes"]["container"], actor["Attributes"]["name"]))
        elif actor["Attributes"].get("image", "").endswith(f":{version}"):
            steps[actor["ID"]] = actor["Attributes"].get("org.ml-pipeline.step")
    for container, network in connects:
        if steps.get(container):
            joined.setdefault(steps[container], set()).add(network)
