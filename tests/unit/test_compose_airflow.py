"""docker-compose.yml's Airflow services, read without Docker: who gets the Docker socket, where
secrets come from, what waits for what, which networks the containers share."""

from __future__ import annotations

import urllib.parse

import pytest
from compose_file import load_compose

from ml_pipeline.run_layout import STEPS

LONG_RUNNING = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                "airflow-triggerer")  # fmt: skip
SECRET_SETTINGS = ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET",
                   "AIRFLOW__API__SECRET_KEY", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")  # fmt: skip


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_compose()


@pytest.fixture(scope="module")
def airflow_services(compose) -> dict[str, dict]:
    return {name: s for name, s in compose["services"].items() if name.startswith("airflow-")}


def test_only_the_scheduler_gets_the_docker_socket(compose):
    with_socket = {
        name
        for name, service in compose["services"].items()
        for volume in service.get("volumes", [])
        if volume.split(":")[1] == "/var/run/docker.sock"
    }
    assert with_socket == {"airflow-scheduler"}
    scheduler = compose["services"]["airflow-scheduler"]
    assert "group_add" not in scheduler  # the entrypoint finds the socket's group itself
    assert scheduler["cap_drop"] == ["ALL"] and set(scheduler["cap_add"]) == {"SETUID", "SETGID"}


def test_secrets_come_from_the_secrets_volume_never_from_compose(airflow_services):
    for name, service in airflow_services.items():
        environment = service["environment"]
        for setting in SECRET_SETTINGS:
            assert setting not in environment, (name, setting)
            assert environment[f"{setting}_CMD"].startswith("cat /opt/airflow/secrets/")
        assert any(v.startswith("airflow-secrets:/opt/airflow/secrets") for v in service["volumes"])


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in LONG_RUNNING])
def test_secrets_are_read_only_where_nothing_writes_them(airflow_services, name):
    (secrets,) = [v for v in airflow_services[name]["volumes"] if v.startswith("airflow-secrets:")]
    assert secrets.endswith(":ro")


def test_the_admin_password_reaches_only_airflow_init(compose):
    with_password = {
        name for name, s in compose["services"].items()
        if "AIRFLOW_ADMIN_PASSWORD" in s.get("environment", {})
    }  # fmt: skip
    assert with_password == {"airflow-init"}
    assert compose["services"]["airflow-init"]["environment"]["AIRFLOW_ADMIN_PASSWORD"] == ""


def test_tasks_reach_the_execution_api_of_the_api_server(airflow_services):
    url = airflow_services["airflow-scheduler"]["environment"][
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL"
    ]
    parsed = urllib.parse.urlsplit(url)
    assert (parsed.hostname, parsed.port, parsed.path) == ("airflow-apiserver", 8080, "/execution/")


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in LONG_RUNNING])
def test_long_running_services_have_cheap_healthchecks(airflow_services, name):
    check = airflow_services[name]["healthcheck"]
    command = " ".join(check["test"])
    assert "curl" not in command  # the image has none
    if "airflow jobs check" in command:  # imports Airflow: seconds of CPU on 2 cores
        assert int(check["interval"].rstrip("s")) >= 30


def test_start_order(compose):
    def waits_for(service: str) -> dict[str, str]:
        return {k: v["condition"] for k, v in compose["services"][service]["depends_on"].items()}

    assert waits_for("postgres") == {"airflow-secrets": "service_completed_successfully"}
    assert waits_for("airflow-init") == {"postgres": "service_healthy"}
    for name in LONG_RUNNING:
        assert waits_for(name) == {
            "postgres": "service_healthy",
            "airflow-init": "service_completed_successfully",
        }


def test_step_containers_and_airflow_share_no_network(compose, airflow_services):
    for name, service in [*airflow_services.items(), ("postgres", compose["services"]["postgres"])]:
        assert set(service.get("networks", [])) <= {"airflow"}, name  # never the egress network
    for step in STEPS:
        assert "airflow" not in compose["services"][step].get("networks", [])


def test_the_ui_listens_on_this_machine_only_by_default(compose):
    assert compose["services"]["airflow-apiserver"]["ports"] == ["127.0.0.1:8080:8080"]


def test_the_airflow_image_builds_on_the_same_base_as_the_steps(airflow_services):
    for service in airflow_services.values():
        assert service["build"]["dockerfile"] == "images/airflow/Dockerfile"
        assert service["build"]["args"]["PYTHON_BASE_IMAGE"] == "python:3.12-slim"
        assert service["pull_policy"] == "build"
