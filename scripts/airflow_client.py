"""A small client for Airflow 3's REST API: log in, trigger a DAG, follow it task by task.

Standard library only, so scripts/run-pipeline.sh runs it with any Python >= 3.11 on the host;
tests/e2e imports the same class. The login comes from the environment or .env (AIRFLOW_ADMIN_USER,
AIRFLOW_ADMIN_PASSWORD), never from the command line where `ps` would show it.

    python3 scripts/airflow_client.py run ml_pipeline_dag --conf '{"model": "svm"}'
    python3 scripts/airflow_client.py log ml_pipeline_dag <run id> load_data
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

TERMINAL_RUN_STATES = ("success", "failed")


class AirflowError(RuntimeError):
    """The API answered with an error, or did not answer in time."""


def _quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")  # run ids hold ':' and '+'


class AirflowClient:
    def __init__(self, base_url: str, username: str, password: str, *, timeout: float = 30):
        if not username or not password:
            raise AirflowError(
                "no login: set AIRFLOW_ADMIN_USER and AIRFLOW_ADMIN_PASSWORD (see .env.example)"
            )
        self.base_url = base_url.rstrip("/")
        self._login = {"username": username, "password": password}
        self._timeout = timeout
        self._token: str | None = None

    def _send(self, method: str, path: str, body=None, headers=None) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                **(headers or {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except (urllib.error.URLError, OSError) as exc:
            raise AirflowError(f"{method} {self.base_url}{path}: {exc}") from exc

    def _log_in(self) -> str:
        status, payload = self._send("POST", "/auth/token", self._login)
        if status in (401, 403):
            raise AirflowError(
                f"login refused for user {self._login['username']!r}: check "
                "AIRFLOW_ADMIN_USER / AIRFLOW_ADMIN_PASSWORD against .env"
            )
        if status >= 300:
            raise AirflowError(f"POST /auth/token: HTTP {status}: {payload[:300]!r}")
        return json.loads(payload)["access_token"]

    def request(self, method: str, path: str, body=None, *, query: dict | None = None):
        """Calls /api/v2<path> with a bearer token; logs in again once if the token expired."""
        path = "/api/v2" + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
        for attempt in (1, 2):
            self._token = self._token or self._log_in()
            status, payload = self._send(
                method, path, body, {"Authorization": f"Bearer {self._token}"}
            )
            if status == 401 and attempt == 1:
                self._token = None
                continue
            if status >= 300:
                raise AirflowError(f"{method} {path}: HTTP {status}: {payload[:500]!r}")
            return json.loads(payload) if payload else None
        raise AssertionError("unreachable")

    def wait_for_dag(self, dag_id: str, *, timeout: float = 120) -> dict:
        """Waits until the DAG processor has parsed the DAG; fails at once on an import error."""
        deadline = time.monotonic() + timeout
        while True:
            errors = self.request("GET", "/importErrors")["import_errors"]
            if errors:
                first = errors[0]
                raise AirflowError(f"{first['filename']} does not import: {first['stack_trace']}")
            try:
                return self.request("GET", f"/dags/{_quote(dag_id)}")
            except AirflowError as exc:
                if "HTTP 404" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(1)

    def unpause(self, dag_id: str) -> None:
        self.request("PATCH", f"/dags/{_quote(dag_id)}", {"is_paused": False})

    def trigger(self, dag_id: str, conf: dict | None = None, run_id: str | None = None) -> str:
        body = {"logical_date": None, "conf": conf or {}}
        if run_id:
            body["dag_run_id"] = run_id
        return self.request("POST", f"/dags/{_quote(dag_id)}/dagRuns", body)["dag_run_id"]

    def dag_run(self, dag_id: str, run_id: str) -> dict:
        return self.request("GET", f"/dags/{_quote(dag_id)}/dagRuns/{_quote(run_id)}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        path = f"/dags/{_quote(dag_id)}/dagRuns/{_quote(run_id)}/taskInstances"
        return self.request("GET", path)["task_instances"]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        """The task's log as text: one line per log event, the container's lines among them."""
        path = (
            f"/dags/{_quote(dag_id)}/dagRuns/{_quote(run_id)}/taskInstances/"
            f"{_quote(task_id)}/logs/{try_number}"
        )
        content = self.request("GET", path, query={"full_content": "true"})["content"]
        lines = []
        for entry in content:
            if not isinstance(entry, dict):
                lines.append(str(entry))
                continue
            lines.append(str(entry.get("event", "")))
            lines += [
                f"  {d.get('exc_type')}: {d.get('exc_value')}"
                for d in entry.get("error_detail") or ()
                if isinstance(d, dict)
            ]
        return "\n".join(lines)

    def follow(
        self,
        dag_id: str,
        run_id: str,
        *,
        timeout: float = 1800,
        poll: float = 1.0,
        report: Callable[[str], None] = print,
    ) -> dict:
        """Polls until the run ends, reporting each task's state changes; returns the run."""
        deadline = time.monotonic() + timeout
        seen: dict[str, tuple] = {}
        while True:
            for ti in sorted(
                self.task_instances(dag_id, run_id),
                key=lambda t: (t["start_date"] or "~", t["task_id"]),
            ):
                state = (ti["state"], ti["try_number"])
                if ti["state"] and seen.get(ti["task_id"]) != state:
                    seen[ti["task_id"]] = state
                    took = f" {ti['duration']:.1f} s" if ti.get("duration") else ""
                    tries = f" (try {ti['try_number']})" if ti["try_number"] > 1 else ""
                    report(f"  {ti['task_id']:<11} {ti['state']}{took}{tries}")
            run = self.dag_run(dag_id, run_id)
            if run["state"] in TERMINAL_RUN_STATES:
                return run
            if time.monotonic() > deadline:
                raise AirflowError(f"run {run_id} still {run['state']} after {timeout:.0f} s")
            time.sleep(poll)

    def first_error(self, dag_id: str, run_id: str) -> tuple[str, str] | None:
        """(task id, its last `error:` line or last log line) of the run's first failed task."""
        failed = [ti for ti in self.task_instances(dag_id, run_id) if ti["state"] == "failed"]
        if not failed:
            return None
        ti = min(failed, key=lambda t: t["start_date"] or "~")
        lines = self.task_log(dag_id, run_id, ti["task_id"], ti["try_number"]).splitlines()
        errors = [ln for ln in lines if ln.lstrip().startswith("error:")]
        return ti["task_id"], (errors or lines or [""])[-1].strip()


def read_env_file(path: str) -> dict[str, str]:
    """KEY=VALUE lines of a compose .env file; comments, blanks and quotes as compose reads them."""
    values = {}
    try:
        with open(path) as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        return values
    for line in lines:
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            else:
                value = value.split(" #", 1)[0].rstrip()
            values[key.strip()] = value
    return values


def client_from_env(url: str | None = None, env_file: str = ".env") -> AirflowClient:
    """The login and address from the environment, else from .env, as docker compose reads it."""
    settings = {**read_env_file(env_file), **os.environ}
    if not url:
        address = settings.get("AIRFLOW_UI_ADDRESS") or "localhost"
        address = "localhost" if address in ("0.0.0.0", "127.0.0.1") else address
        url = (
            settings.get("AIRFLOW_URL")
            or f"http://{address}:{settings.get('AIRFLOW_UI_PORT') or 8080}"
        )
    return AirflowClient(
        url,
        settings.get("AIRFLOW_ADMIN_USER", ""),
        settings.get("AIRFLOW_ADMIN_PASSWORD", ""),
    )


def _run(client: AirflowClient, args: argparse.Namespace) -> int:
    client.wait_for_dag(args.dag_id)
    client.unpause(args.dag_id)
    started = time.monotonic()
    run_id = client.trigger(args.dag_id, json.loads(args.conf), args.run_id)
    print(f"triggered {args.dag_id}, run {run_id}", flush=True)
    run = client.follow(
        args.dag_id, run_id, timeout=args.timeout, report=lambda line: print(line, flush=True)
    )
    print(f"run {run_id}: {run['state']} in {time.monotonic() - started:.1f} s", flush=True)
    if args.run_id_file:
        with open(args.run_id_file, "w") as handle:
            handle.write(run_id + "\n")
    if run["state"] != "success":
        failure = client.first_error(args.dag_id, run_id)
        if failure:
            print(f"error: task {failure[0]} failed: {failure[1]}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url",
        help="the API server (default: env AIRFLOW_URL, else "
        "http://localhost:AIRFLOW_UI_PORT from the environment or .env)",
    )
    parser.add_argument("--env-file", default=".env", help="compose's .env (default: ./.env)")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="trigger a DAG and follow it until it ends")
    run.add_argument("dag_id")
    run.add_argument("--conf", default="{}", help="the run's parameters as JSON (default: {})")
    run.add_argument("--run-id", help="the run id (default: Airflow's manual__<time>)")
    run.add_argument("--timeout", type=float, default=1800, help="seconds (default: 1800)")
    run.add_argument("--run-id-file", help="write the run id to this file")
    log = commands.add_parser("log", help="print one task's log")
    log.add_argument("dag_id")
    log.add_argument("run_id")
    log.add_argument("task_id")
    log.add_argument("--try-number", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        client = client_from_env(args.url, args.env_file)
        if args.command == "run":
            return _run(client, args)
        print(client.task_log(args.dag_id, args.run_id, args.task_id, args.try_number))
        return 0
    except (AirflowError, json.JSONDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, json.JSONDecodeError) else 1


if __name__ == "__main__":
    sys.exit(main())
