"""The whole stack, as a user runs it: `docker compose up` on locally built images, then
ml_pipeline_dag triggered through Airflow's REST API with a token for the configured user.

The stack runs from a copy of the repository's build inputs under its own project, volume,
network, image tag and port, so it touches neither the checkout's ./shared_volume nor a stack
that is already running; `docker compose down -v` removes it at the end. It is configured for
Google Drive as a user would be, but against the fake Google server running as a service on the
egress network (fake_gdrive_service.py); `local` stays the runs' default upload target.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import fake_gdrive_service
import pytest
from fake_gdrive_service import FakeDrive, step_networks
from project_copy import copy_build_inputs

from ml_pipeline.run_layout import STEPS
from ml_pipeline.wdbc import FEATURES

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
from airflow_client import AirflowClient  # noqa: E402

pytestmark = pytest.mark.stack

DAG_ID = "ml_pipeline_dag"
UID = os.getuid() if os.getuid() != 0 else 10001  # root: the steps' own non-root user
GID = os.getgid() if os.getuid() != 0 else 10001
UP_TIMEOUT_S = 1800  # the first build of every image from nothing


@dataclass
class Stack:
    root: Path
    env: dict[str, str]
    client: AirflowClient
    timings: dict[str, float] = field(default_factory=dict)

    def run_dir(self, run_id: str) -> Path:
        return self.root / "shared_volume" / "runs" / run_id

    def run(self, run_id: str, **params) -> dict:
        """Triggers the DAG and waits for the run to end; returns the run."""
        self.client.trigger(DAG_ID, params, run_id=run_id)
        return self.client.follow(DAG_ID, run_id, timeout=900, report=lambda _: None)

    def tasks(self, run_id: str) -> dict[str, dict]:
        return {ti["task_id"]: ti for ti in self.client.task_instances(DAG_ID, run_id)}


def compose(stack_root: Path, env: dict[str, str], *args: str, timeout: float = 600):
    env_file = ["--env-file", str(REPO / ".env")] if (REPO / ".env").is_file() else []
    return subprocess.run(
        ["docker", "compose", "--progress", "quiet", *env_file, *args],
        cwd=stack_root,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def require_engine() -> None:
    ok = (
        shutil.which("docker")
        and subprocess.run(
            ["docker", "info"], capture_output=True, timeout=60, check=False
        ).returncode
        == 0
    )
    if not ok:
        message = "no Docker engine answers; run scripts/install-docker.sh"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    require_engine()
    root = copy_build_inputs(tmp_path_factory.mktemp("stack"), uid=UID, gid=GID, extra=("dags",))
    drive_settings = fake_gdrive_service.prepare(root, UID, GID)
    suffix = uuid.uuid4().hex[:8]
    env = {
        "COMPOSE_PROJECT_NAME": f"ml-pipeline-e2e-{suffix}",
        "PIPELINE_VERSION": f"0.1.0-e2e-{suffix}",
        "PIPELINE_VOLUME": f"ml_pipeline_e2e_{suffix}",
        "PIPELINE_CREDENTIALS_VOLUME": f"ml_pipeline_e2e_credentials_{suffix}",
        "PIPELINE_EGRESS_NETWORK": f"ml_pipeline_e2e_egress_{suffix}",
        "PIPELINE_UID": str(UID),
        "PIPELINE_GID": str(GID),
        "AIRFLOW_ADMIN_USER": "e2e-admin",
        "AIRFLOW_ADMIN_PASSWORD": secrets.token_urlsafe(18),
        "AIRFLOW_UI_PORT": str(free_port()),
        **drive_settings,
    }
    client = AirflowClient(
        f"http://localhost:{env['AIRFLOW_UI_PORT']}",
        env["AIRFLOW_ADMIN_USER"],
        env["AIRFLOW_ADMIN_PASSWORD"],
    )
    stack = Stack(root, env, client)
    try:
        started = time.monotonic()
        up = compose(root, env, "up", "--build", "--detach", "--wait", timeout=UP_TIMEOUT_S)
        stack.timings["up_with_build_s"] = time.monotonic() - started
        if up.returncode != 0:
            logs = compose(root, env, "logs", "--tail", "30").stdout
            pytest.fail(f"docker compose up failed:\n{up.stderr[-3000:]}\n{logs[-5000:]}")
        client.wait_for_dag(DAG_ID)
        client.unpause(DAG_ID)
        yield stack
    finally:
        print(f"\nstack timings: {json.dumps(stack.timings, indent=1)}")
        compose(root, env, "down", "--volumes", "--remove-orphans", timeout=300)
        images = [f"ml-pipeline/{name}:{env['PIPELINE_VERSION']}" for name in (*STEPS, "airflow")]
        images.append(f"{fake_gdrive_service.IMAGE}:{env['PIPELINE_VERSION']}")
        subprocess.run(["docker", "image", "rm", *images], capture_output=True, check=False)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_run_dir(run_dir: Path, run_id: str) -> dict:
    """Every step in the manifest, every output it lists on disk with that hash, nothing else
    in the run directory: the run holds only its own files."""
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["run_id"] == run_id
    assert list(manifest["steps"]) == list(STEPS)
    outputs = {
        name: digest for s in manifest["steps"].values() for name, digest in s["outputs"].items()
    }
    on_disk = {p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file()}
    assert on_disk == {*outputs, "manifest.json"}
    for name, digest in outputs.items():
        assert sha256(run_dir / name) == digest, name
    for path in (run_dir, run_dir / "models" / "model.pkl"):
        assert (path.stat().st_uid, path.stat().st_gid) == (UID, GID)  # the host user's files
    return manifest


def check_no_step_container_left(stack: Stack) -> None:
    volume = stack.env["PIPELINE_VOLUME"]
    left = subprocess.run(
        ["docker", "ps", "--all", "--quiet", "--filter", f"volume={volume}"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert left == []


@pytest.fixture(scope="module")
def fake_drive(stack) -> FakeDrive:
    """The fake Google service, with its key and CA where the upload task reads them."""
    ps = compose(stack.root, stack.env, "ps", "--quiet", fake_gdrive_service.SERVICE)
    assert ps.stdout.strip(), f"the fake Google service is not running: {ps.stderr}"
    key = fake_gdrive_service.install_key(stack.root, UID, GID)
    return FakeDrive(ps.stdout.strip(), key)


def test_the_login_and_generated_secrets_stay_out_of_the_logs(stack):
    logs = compose(stack.root, stack.env, "logs", "--no-color").stdout
    assert stack.env["AIRFLOW_ADMIN_PASSWORD"] not in logs
    assert "Password for user" not in logs  # SimpleAuthManager never had to invent one
    fernet = compose(stack.root, stack.env, "exec", "-T", "airflow-apiserver",
                     "cat", "/opt/airflow/secrets/fernet_key").stdout.strip()  # fmt: skip
    assert len(fernet) == 44 and fernet not in logs


def test_default_run_succeeds_with_every_output(stack):
    run_id = "e2e-default"
    started = time.monotonic()
    run = stack.run(run_id)
    stack.timings["trigger_to_success_s"] = time.monotonic() - started
    tasks = stack.tasks(run_id)
    stack.timings.update({f"task_{t}_s": tasks[t]["duration"] for t in STEPS})
    assert run["state"] == "success", {t: ti["state"] for t, ti in tasks.items()}

    manifest = check_run_dir(stack.run_dir(run_id), run_id)
    assert manifest["steps"]["train"]["params"]["model"] == "logistic_regression"
    metrics = json.loads((stack.run_dir(run_id) / "results" / "metrics.json").read_text())
    for name, floor in {"accuracy": 0.9, "precision": 0.9, "recall": 0.85, "f1_score": 0.9,
                        "roc_auc": 0.95}.items():  # fmt: skip
        assert floor <= metrics[name] <= 1, (name, metrics[name])
    check_no_step_container_left(stack)


def test_bad_source_fails_at_load_data_and_nothing_after_it_runs(stack, wdbc):
    csv = stack.root / "shared_volume" / "input" / "missing_column.csv"
    wdbc[[c for c in wdbc.columns if c != FEATURES[1]]].to_csv(csv, index=False)  # no texture
    run_id = "e2e-bad-source"
    run = stack.run(run_id, source="/shared/input/missing_column.csv")

    assert run["state"] == "failed"
    tasks = stack.tasks(run_id)
    assert tasks["load_data"]["state"] == "failed"
    assert tasks["load_data"]["try_number"] == 1  # bad input: no retry
    assert {step: tasks[step]["state"] for step in STEPS[1:]} == dict.fromkeys(
        STEPS[1:], "upstream_failed"
    )
    log = stack.client.task_log(DAG_ID, run_id, "load_data")
    errors = [line for line in log.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and FEATURES[1] in errors[0], log[-2000:]
    for later in ("data", "processed", "models", "results", "published"):  # nothing written
        assert not (stack.run_dir(run_id) / later).exists(), later
    check_no_step_container_left(stack)


def test_two_runs_at_once_keep_their_files_apart(stack):
    models = {"e2e-concurrent-rf": "random_forest", "e2e-concurrent-svm": "svm"}
    for run_id, model in models.items():
        stack.client.trigger(DAG_ID, {"model": model}, run_id=run_id)
    with ThreadPoolExecutor(len(models)) as pool:
        runs = dict(zip(models, pool.map(
            lambda r: stack.client.follow(DAG_ID, r, timeout=900, report=lambda _: None), models
        ), strict=True))  # fmt: skip

    for run_id, model in models.items():
        assert runs[run_id]["state"] == "success", stack.tasks(run_id)
        manifest = check_run_dir(stack.run_dir(run_id), run_id)
        assert manifest["steps"]["train"]["params"]["model"] == model
        metrics = json.loads((stack.run_dir(run_id) / "results" / "metrics.json").read_text())
        assert metrics["model"] == model
    first, second = (runs[r] for r in models)
    assert first["start_date"] < second["end_date"] and second["start_date"] < first["end_date"]
    check_no_step_container_left(stack)


def test_gdrive_run_publishes_to_the_fake_over_the_egress_network_only(stack, fake_drive):
    run_id = "e2e-gdrive"
    started = time.monotonic()
    with step_networks(stack.env["PIPELINE_VERSION"]) as joined:
        run = stack.run(run_id, upload_target="gdrive")
    stack.timings["gdrive_trigger_to_success_s"] = time.monotonic() - started
    assert run["state"] == "success", stack.client.first_error(DAG_ID, run_id)

    run_dir = stack.run_dir(run_id)
    manifest = check_run_dir(run_dir, run_id)
    sent = manifest["steps"]["upload"]["inputs"]  # path -> sha256 of what was uploaded
    paths = {Path(rel).name: rel for rel in sent}
    receipt = json.loads((run_dir / "results" / "upload_receipt.json").read_text())
    assert receipt["target"] == "gdrive"
    assert (
        sorted(f["name"] for f in receipt["files"])
        == sorted(paths)
        == sorted(
            ["metrics.json", "model.pkl", "manifest.json", "confusion_matrix.png", "roc_curve.png"]
        )
    )

    state = fake_drive.state()
    assert state["token_claims"] and all(r["status"] == 200 for r in state["requests"])
    [folder] = [f for f in state["files"] if f["parents"] == [fake_gdrive_service.FOLDER_ID]]
    assert (folder["name"], folder["id"]) == (run_id, receipt["folder"]["id"])
    stored = {f["name"]: f for f in state["files"] if f["parents"] == [folder["id"]]}
    assert sorted(stored) == sorted(paths)
    for entry in receipt["files"]:
        name, item = entry["name"], stored[entry["name"]]
        data = fake_drive.content(item["id"])
        assert item["id"] == entry["id"], name
        assert hashlib.md5(data).hexdigest() == item["md5Checksum"] == entry["md5"], name
        assert len(data) == int(item["size"]) == entry["size"], name
        assert hashlib.sha256(data).hexdigest() == sent[paths[name]], name
        if name != "manifest.json":  # the manifest went up as it stood before this step
            assert data == (run_dir / paths[name]).read_bytes(), name
    published_manifest = json.loads(fake_drive.content(stored["manifest.json"]["id"]))
    assert list(published_manifest["steps"]) == list(STEPS[:-1])

    key_lines = [line for line in fake_drive.private_key.splitlines() if "PRIVATE KEY" not in line]
    logs = {step: stack.client.task_log(DAG_ID, run_id, step) for step in STEPS}
    logs["compose"] = compose(stack.root, stack.env, "logs", "--no-color").stdout
    assert "uploaded model.pkl" in logs["upload"], logs["upload"][-2000:]
    for where, log in logs.items():
        assert not [line for line in key_lines if line in log], f"key material in {where} log"

    egress = stack.env["PIPELINE_EGRESS_NETWORK"]
    assert joined == {"upload": {egress}, **{step: {"none"} for step in STEPS[:-1]}}
    assert fake_drive.networks() == ({egress}, {})  # reachable over the egress network only
    check_no_step_container_left(stack)
