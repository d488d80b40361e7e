"""dags/ml_pipeline_dag.py without Docker: it imports, it wires the steps in order, and every task
runs what docker-compose.yml builds, with the same user, mounts, network and environment."""

from __future__ import annotations

import copy
import itertools
import os
import sys
from unittest import mock

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.providers.docker.exceptions import DockerContainerFailedException
from airflow.providers.docker.operators.docker import DockerOperator
from airflow.sdk.exceptions import (
    AirflowFailException,
    AirflowTaskTimeout,
    ParamValidationError,
)
from compose_file import REPO, load_compose

from ml_pipeline.models import DEFAULT_MODEL, MODELS
from ml_pipeline.run_layout import STEPS
from ml_pipeline.upload_targets import TARGETS

DAG_ID = "ml_pipeline_dag"


@pytest.fixture(scope="module")
def compose() -> dict:
    """docker-compose.yml with every default, as compose reads it in an empty environment."""
    return load_compose()


def parse_dag(compose: dict):
    """The DAG as Airflow parses it, in the environment compose gives the scheduler (which runs
    the tasks; the DAG processor gets the same)."""
    scheduler = compose["services"]["airflow-scheduler"]
    with mock.patch.dict("os.environ", container_env(scheduler)):
        for name, value in scheduler["environment"].items():
            if value is None:  # unset for compose, so unset here whatever this shell has
                os.environ.pop(name, None)
        bag = DagBag(dag_folder=REPO / "dags")
    assert bag.import_errors == {}
    return bag.dags[DAG_ID]


@pytest.fixture(scope="module")
def dag(compose):
    return parse_dag(compose)


def container_env(service: dict) -> dict[str, str]:
    """A compose service's environment as its container gets it (a None value is left out)."""
    return {k: str(v) for k, v in service.get("environment", {}).items() if v is not None}


def render(dag, value, **params):
    """Renders a templated field for a run with these parameters (the others at default)."""
    resolved = copy.deepcopy(dag.params)
    for key, item in params.items():
        resolved[key] = item
    context = {"params": resolved.validate(), "run_id": "manual__2026-01-01T00:00:00+00:00"}
    task = dag.tasks[0]
    return task.render_template(value, context, jinja_env=dag.get_template_env())


def argv(dag, task_id: str, **params) -> list[str]:
    return DockerOperator.format_command(render(dag, dag.get_task(task_id).command, **params)) or []


def volume_mounts(compose, service: dict) -> list[dict]:
    """A service's short-syntax volumes as mounts; a named volume's source is its real name."""
    mounts = []
    for entry in service["volumes"]:
        source, target, *mode = entry.split(":")
        volume = compose["volumes"].get(source)
        if volume is not None:
            source = volume.get("name", source)
        else:
            source = str((REPO / source).resolve())
        mounts.append({"source": source, "target": target, "read_only": mode == ["ro"]})
    return mounts


def docker_mounts(dag, compose, task) -> list[dict]:
    """The task's volume mounts, a bind-device volume shown as the directory it binds."""
    devices = {
        v["name"]: str((REPO / v["driver_opts"]["device"]).resolve())
        for v in compose["volumes"].values()
        if v and v.get("driver_opts", {}).get("o") == "bind"
    }
    shared = compose["volumes"]["shared"]["name"]
    return [
        {
            "source": m["source"] if m["source"] == shared else devices[m["source"]],
            "target": m["target"],
            "read_only": bool(m.get("read_only")),
        }
        for m in task.mounts
        if m["type"] == "volume"
    ]


def test_the_dag_file_imports_cleanly(dag):
    assert dag.dag_id == DAG_ID
    assert dag.schedule is None  # triggered only


def test_tasks_run_in_pipeline_order(dag):
    assert [task.task_id for task in dag.topological_sort()] == list(STEPS)
    for upstream, downstream in itertools.pairwise(STEPS):
        assert dag.get_task(upstream).downstream_task_ids == {downstream}
    assert not dag.get_task(STEPS[-1]).downstream_task_ids


def test_dag_and_tasks_document_themselves(dag):
    assert dag.doc_md and "load_data" in dag.doc_md
    assert all(task.doc_md for task in dag.tasks)


@pytest.mark.parametrize("step", [pytest.param(s, id=s) for s in STEPS])
def test_task_runs_what_compose_builds(dag, compose, step):
    task, service = dag.get_task(step), compose["services"][step]
    assert task.image == service["image"]
    assert task.user == service["user"]
    assert docker_mounts(dag, compose, task) == volume_mounts(compose, service)
    assert [m["target"] for m in task.mounts if m["type"] == "tmpfs"] == service["tmpfs"]
    hardening = sys.modules[type(task).__module__].HARDENING  # what the DAG adds to the host config
    assert hardening["read_only"] == service.get("read_only", False)
    expected_env = {"RUN_ID": "manual__2026-01-01T00:00:00+00:00", **container_env(service)}
    assert render(dag, task.environment) == expected_env


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({}, id="defaults"),
        pytest.param(
            {
                "DRIVE_FOLDER_ID": "1ResultsFolder",
                "DRIVE_IMPERSONATE": "someone@example.org",
                "DRIVE_API_ENDPOINT": "https://drive.example.org",
                "GOOGLE_APPLICATION_CREDENTIALS": "/credentials/key.json",
                "HTTPLIB2_CA_CERTS": "/credentials/ca.pem",
            },
            id="drive-configured",
        ),
    ],
)
def test_upload_task_gets_the_drive_settings_compose_gives_upload(settings):
    """.env -> compose -> Airflow's environment -> the DAG: the same as `compose run upload`."""
    configured = load_compose(settings)
    dag = parse_dag(configured)
    expected = container_env(configured["services"]["upload"])
    rendered = render(dag, dag.get_task("upload").environment)
    assert rendered == {"RUN_ID": "manual__2026-01-01T00:00:00+00:00", **expected}
    assert rendered.get("HTTPLIB2_CA_CERTS") == settings.get("HTTPLIB2_CA_CERTS")


@pytest.mark.parametrize("step", [pytest.param(s, id=s) for s in STEPS])
def test_task_network_matches_compose(dag, compose, step):
    service = compose["services"][step]
    if "network_mode" in service:
        expected = service["network_mode"]
    else:
        (network,) = service["networks"]
        expected = compose["networks"][network]["name"]
    assert render(dag, dag.get_task(step).network_mode) == expected


def test_compose_creates_every_volume_and_network_the_dag_names(dag, compose):
    """Compose creates only what a service uses; for a missing volume name Docker would quietly
    make an empty one (credentials silently missing), for a missing network the task fails."""
    services = compose["services"].values()
    used_volumes = {v.split(":")[0] for s in services for v in s.get("volumes", [])}
    used_networks = {n for s in services for n in s.get("networks", [])}
    names = {v["name"]: key for key, v in compose["volumes"].items() if v and "name" in v}
    networks = {v["name"]: key for key, v in compose["networks"].items() if v and "name" in v}
    for task in dag.tasks:
        for mount in (m for m in task.mounts if m["type"] == "volume"):
            assert names[mount["source"]] in used_volumes, mount
    egress = render(dag, dag.get_task("upload").network_mode)
    assert networks[egress] in used_networks


@pytest.mark.parametrize(
    ("source", "has_network"),
    [
        pytest.param("builtin", False, id="builtin"),
        pytest.param("/shared/input/wdbc.csv", False, id="host-file"),
        pytest.param("https://example.org/wdbc.data", True, id="https-url"),
        pytest.param("http://example.org/wdbc.data", True, id="http-url"),
    ],
)
def test_load_data_gets_a_network_only_for_a_url(dag, compose, source, has_network):
    network = render(dag, dag.get_task("load_data").network_mode, source=source)
    assert network == (compose["networks"]["egress"]["name"] if has_network else "none")


@pytest.mark.parametrize(
    ("params", "task_id", "expected"),
    [
        pytest.param(
            {},
            "load_data",
            ["--source", "builtin", "--test-size", "0.2", "--random-state", "42"],
            id="load_data-defaults",
        ),
        pytest.param(
            {"source": "/shared/input/x.csv", "test_size": 0.3, "random_state": 7},
            "load_data",
            ["--source", "/shared/input/x.csv", "--test-size", "0.3", "--random-state", "7"],
            id="load_data-chosen",
        ),
        pytest.param(
            {}, "train", ["--model", DEFAULT_MODEL, "--random-state", "42"], id="train-defaults"
        ),
        pytest.param(
            {"model": "svm", "search": True, "target_recall": 0.97},
            "train",
            ["--model", "svm", "--random-state", "42", "--search", "--target-recall", "0.97"],
            id="train-search-and-recall",
        ),
        pytest.param({}, "preprocess", [], id="preprocess"),
        pytest.param({}, "evaluate", [], id="evaluate"),
        pytest.param({}, "upload", [], id="upload"),
    ],
)
def test_params_become_step_flags(dag, params, task_id, expected):
    assert argv(dag, task_id, **params) == expected


def test_param_choices_are_the_steps_choices(dag):
    assert dag.params.get_param("model").schema["enum"] == list(MODELS)
    assert dag.params["model"] == DEFAULT_MODEL
    assert dag.params.get_param("upload_target").schema["enum"] == list(TARGETS)
    assert dag.params["upload_target"] == "local"
    assert (dag.params["source"], dag.params["test_size"], dag.params["random_state"]) == (
        "builtin",
        0.2,
        42,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("test_size", 1.5, id="test_size-above-1"),
        pytest.param("test_size", 0, id="test_size-zero"),
        pytest.param("model", "xgboost", id="unknown-model"),
        pytest.param("upload_target", "s3", id="unknown-target"),
        pytest.param("target_recall", 1.2, id="recall-above-1"),
        pytest.param("random_state", -1, id="negative-seed"),
        pytest.param("source", "", id="empty-source"),
    ],
)
def test_trigger_form_rejects_bad_values(dag, name, value):
    with pytest.raises(ParamValidationError):
        render(dag, "{{ params }}", **{name: value})


@pytest.mark.parametrize("step", [pytest.param(s, id=s) for s in STEPS])
def test_task_settings(dag, step):
    task = dag.get_task(step)
    assert task.retries == 2 and task.retry_exponential_backoff > 0
    assert task.execution_timeout is not None
    assert task.mount_tmp_dir is False  # Airflow's own /tmp is not a host path
    assert task.auto_remove == "force"  # removed after success, failure and timeout alike
    assert task.api_version is None  # negotiated: never above what the engine speaks (1.41 here)


@pytest.fixture
def engine():
    """A stand-in for the Docker engine behind DockerOperator (the hook's API client)."""
    client = mock.MagicMock()
    client.images.return_value = [{"Id": "sha256:step"}]
    client.create_container.return_value = {"Id": "container-1"}
    client.attach.return_value = iter([b"error: x.csv: missing column texture_mean\n"])
    hook = mock.MagicMock(api_client=client, client_created=True)
    with mock.patch.object(DockerOperator, "hook", new_callable=mock.PropertyMock) as prop:
        prop.return_value = hook
        yield client


def run_task(dag, task_id: str):
    task = dag.get_task(task_id).prepare_for_execution()
    task.render_template_fields(
        {"params": dict(dag.params), "run_id": "r1"}, jinja_env=dag.get_template_env()
    )
    return task, lambda: task.execute(context={})


@pytest.mark.parametrize(
    ("status", "raised"),
    [
        pytest.param(2, AirflowFailException, id="bad-input-fails-without-retry"),
        pytest.param(1, DockerContainerFailedException, id="other-failure-is-retried"),
        pytest.param(137, DockerContainerFailedException, id="killed-is-retried"),
    ],
)
def test_failed_step_is_removed_and_bad_input_not_retried(dag, engine, status, raised):
    engine.wait.return_value = {"StatusCode": status, "Error": None}
    _, execute = run_task(dag, "load_data")
    with pytest.raises(raised) as caught:
        execute()
    engine.remove_container.assert_called_once_with("container-1", force=True)
    if status == 2:
        assert "missing column texture_mean" in str(caught.value)


def test_step_container_is_hardened_and_removed_after_success(dag, engine):
    engine.wait.return_value = {"StatusCode": 0, "Error": None}
    task, execute = run_task(dag, "train")
    execute()
    host_config = engine.create_host_config.call_args.kwargs
    assert host_config["read_only"] is True
    assert host_config["cap_drop"] == ["ALL"]
    assert host_config["security_opt"] == ["no-new-privileges"]
    assert host_config["network_mode"] == "none"
    assert engine.create_container.call_args.kwargs["user"] == task.user
    engine.remove_container.assert_called_once_with("container-1", force=True)


def test_a_timed_out_step_container_is_removed_while_running(dag, engine):
    def stream():
        yield b"training...\n"
        raise AirflowTaskTimeout("Timeout")  # what execution_timeout raises inside execute()

    engine.attach.return_value = stream()
    _, execute = run_task(dag, "train")
    with pytest.raises(AirflowTaskTimeout):
        execute()
    engine.remove_container.assert_called_once_with("container-1", force=True)


def test_killing_a_task_kills_and_removes_its_container(dag, engine):
    task, _ = run_task(dag, "train")
    task.container = {"Id": "container-1"}
    task.on_kill()  # what Airflow calls when the task is marked failed or times out
    engine.remove_container.assert_called_once_with("container-1", force=True)
