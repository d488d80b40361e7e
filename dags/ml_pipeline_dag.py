"""
# ml_pipeline_dag

Trains and publishes a breast-cancer (WDBC) diagnostic model in five steps, each in its own
container: **load_data → preprocess → train → evaluate → upload**.

**Trigger it** with the ▶ button: the form offers the parameters below with their choices.

- `source` (default `builtin`): scikit-learn's bundled WDBC (works offline), a CSV dropped
  into `./shared_volume/input/` as `/shared/input/<file>.csv`, or an `http(s)://` URL.
- `test_size` (`0.2`): share of rows held out for the test split, in (0, 1).
- `random_state` (`42`): seed of the split, the model and the folds.
- `model` (`logistic_regression`): or `random_forest`, `svm`, `gradient_boosting`.
- `search` (off): a small cross-validated hyper-parameter search.
- `target_recall` (empty): choose the decision threshold so that recall for malignant
  reaches this value.
- `upload_target` (`local`): `local` (a copy in the run directory's `published/`) or `gdrive`.

**Find the results** in `./shared_volume/runs/<run id>/` on the host: `results/metrics.json`,
the plots, `models/model.pkl` and `manifest.json` (what each step read, wrote and with which
versions). Each run has its own directory, named after Airflow's run id.

**Networks.** Steps run with networking off, so patient data cannot leave the host, except
`upload` (the egress network, to reach Google Drive) and `load_data` when `source` is an
`http(s)://` URL (it must download the file; a file on the host never gets a network).

**Failures.** A step that rejects its input (exit code 2, one `error:` line in its log) fails at
once; any other failure is retried twice with a growing delay. Marking a task failed in the UI,
or its timeout, kills and removes its container; a finished one is always removed.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta

from airflow.providers.docker.exceptions import DockerContainerFailedException
from airflow.providers.docker.operators.docker import DockerOperator
from airflow.sdk import DAG, Param
from airflow.sdk.exceptions import AirflowFailException
from docker.errors import APIError
from jinja2 import StrictUndefined


def _setting(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise RuntimeError(
            f"{name} is not set; docker-compose.yml sets it for the Airflow services"
        )
    return value


# Deployment settings, read once: .env -> docker-compose.yml -> this process's environment.
PIPELINE_VERSION = _setting("PIPELINE_VERSION")
SHARED_VOLUME = _setting("PIPELINE_VOLUME")
CREDENTIALS_VOLUME = _setting("PIPELINE_CREDENTIALS_VOLUME")
EGRESS_NETWORK = _setting("PIPELINE_EGRESS_NETWORK")
STEP_USER = f"{_setting('PIPELINE_UID')}:{_setting('PIPELINE_GID')}"
DRIVE_SETTINGS = {
    name: os.environ.get(name, "")
    for name in ("DRIVE_FOLDER_ID", "DRIVE_IMPERSONATE", "DRIVE_API_ENDPOINT")
}
DRIVE_SETTINGS["GOOGLE_APPLICATION_CREDENTIALS"] = (
    os.environ.get("GOOGLE_APPLICATION_CREDENTIALS") or "/credentials/credentials.json"
)
# Passed only when set, as `docker compose run upload` does: httplib2 takes any value, even an
# empty one, as the CA bundle's path.
if "HTTPLIB2_CA_CERTS" in os.environ:
    DRIVE_SETTINGS["HTTPLIB2_CA_CERTS"] = os.environ["HTTPLIB2_CA_CERTS"]

MODELS = ("logistic_regression", "random_forest", "svm", "gradient_boosting")
UPLOAD_TARGETS = ("local", "gdrive")
NO_NETWORK = "none"
EXIT_BAD_INPUT = 2

SHARED_MOUNT = {"source": SHARED_VOLUME, "target": "/shared", "type": "volume"}
TMP_MOUNT = {"source": None, "target": "/tmp", "type": "tmpfs"}
CREDENTIALS_MOUNT = {
    "source": CREDENTIALS_VOLUME,
    "target": "/credentials",
    "type": "volume",
    "read_only": True,
}
# What DockerOperator 4.6.1 cannot express through its arguments, added to each host config:
# the same read-only root filesystem as the compose services, no capabilities, no setuid.
HARDENING = {"read_only": True, "cap_drop": ["ALL"], "security_opt": ["no-new-privileges"]}

# load_data needs a network only to download an http(s) source (see the DAG's notes).
LOAD_DATA_NETWORK = (
    "{{ '" + EGRESS_NETWORK + "' if params.source.startswith(('http://', 'https://')) "
    "else '" + NO_NETWORK + "' }}"
)
# train's optional flags: a list literal, which DockerOperator turns back into argv.
TRAIN_COMMAND = (
    "{{ ['--model', params.model, '--random-state', params.random_state | string]"
    " + (['--search'] if params.search else [])"
    " + (['--target-recall', params.target_recall | string]"
    " if params.target_recall is not none else []) }}"
)


class StepOperator(DockerOperator):
    """DockerOperator for one pipeline step: a per-run network, hardening, no retry on bad input."""

    template_fields = (*DockerOperator.template_fields, "network_mode")

    def execute(self, context):
        cli = self.cli
        create_host_config = cli.create_host_config
        cli.create_host_config = lambda **kwargs: create_host_config(**kwargs, **HARDENING)
        try:
            return super().execute(context)
        except DockerContainerFailedException as exc:
            match = re.search(r"'StatusCode': (\d+)", str(exc))  # 4.6.1: "...failed: {result!r}"
            if match and int(match.group(1)) == EXIT_BAD_INPUT:
                lines = [str(line).strip() for line in exc.logs or []]
                error = next((ln for ln in reversed(lines) if ln.startswith("error:")), "")
                raise AirflowFailException(
                    f"{self.task_id} rejected its input (exit code 2), not retrying: {error}"
                ) from exc
            raise
        finally:
            cli.create_host_config = create_host_config

    def on_kill(self) -> None:
        """Marked failed in the UI, or timed out: kill and remove the container at once.

        The provider's `docker stop` waits 10 s for a container that ignores SIGTERM (Python as
        PID 1 does), but Airflow kills this process 5 s after asking it to stop, which left the
        container behind. Steps write atomically, so a killed step leaves nothing half-written.
        """
        if self.container is None or not self.hook.client_created:
            return
        self.log.info("Killing and removing container %s", self.container["Id"][:12])
        try:
            self.cli.remove_container(self.container["Id"], force=True)
        except APIError as exc:
            self.log.info("Container already gone: %s", exc)


def step(
    task_id: str,
    doc_md: str,
    *,
    timeout: timedelta,
    command: list[str] | str | None = None,
    environment: dict[str, str] | None = None,
    network: str = NO_NETWORK,
    extra_mounts: tuple[dict, ...] = (),
) -> StepOperator:
    """One pipeline step: its image, the shared volume at /shared, this run's RUN_ID."""
    return StepOperator(
        task_id=task_id,
        doc_md=doc_md,
        image=f"ml-pipeline/{task_id}:{PIPELINE_VERSION}",
        command=command,
        environment={"RUN_ID": "{{ run_id }}", **(environment or {})},
        user=STEP_USER,
        network_mode=network,
        mounts=[SHARED_MOUNT, TMP_MOUNT, *extra_mounts],
        mount_tmp_dir=False,  # Airflow runs in a container: its /tmp is no host path to bind
        # 4.6.1 removes the container after success and failure alike; "force" also removes one
        # still running when execute() is interrupted (timeout), where "success" fails with 409.
        auto_remove="force",
        do_xcom_push=False,
        labels={"org.ml-pipeline.dag": "ml_pipeline_dag", "org.ml-pipeline.step": task_id},
        execution_timeout=timeout,
    )


with DAG(
    dag_id="ml_pipeline_dag",
    description="load_data -> preprocess -> train -> evaluate -> upload, one container each",
    doc_md=__doc__,
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    is_paused_upon_creation=False,  # no schedule: unpaused only means "can be triggered"
    template_undefined=StrictUndefined,
    tags=["ml-pipeline"],
    default_args={
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=5),
    },
    params={
        "source": Param(
            "builtin",
            type="string",
            minLength=1,
            title="Data source",
            description="builtin, /shared/input/<file>.csv (a file dropped into "
            "./shared_volume/input/), or an http(s) URL (load_data then gets a network)",
        ),
        "test_size": Param(
            0.2,
            type="number",
            exclusiveMinimum=0,
            exclusiveMaximum=1,
            title="Test size",
            description="share of rows held out for the test split",
        ),
        "random_state": Param(
            42,
            type="integer",
            minimum=0,
            title="Random state",
            description="seed of the split, the model and the cross-validation folds",
        ),
        "model": Param(
            "logistic_regression",
            type="string",
            enum=list(MODELS),
            title="Model",
            description="the classifier to train",
        ),
        "search": Param(
            False,
            type="boolean",
            title="Hyper-parameter search",
            description="a small cross-validated search over the model's main settings",
        ),
        "target_recall": Param(
            None,
            type=["null", "number"],
            exclusiveMinimum=0,
            exclusiveMaximum=1,
            title="Target recall",
            description="empty: decision threshold 0.5; else the threshold is chosen by inner "
            "cross-validation so that recall for malignant reaches this value",
        ),
        "upload_target": Param(
            "local",
            type="string",
            enum=list(UPLOAD_TARGETS),
            title="Upload target",
            description="local: the run directory's published/; gdrive: the Drive folder "
            "configured in .env",
        ),
    },
) as dag:
    load_data = step(
        "load_data",
        "Reads `source`, validates it, and splits it (stratified) into `data/train.parquet` "
        "and `data/test.parquet`. No network, unless `source` is an http(s) URL.",
        command=[
            "--source",
            "{{ params.source }}",
            "--test-size",
            "{{ params.test_size }}",
            "--random-state",
            "{{ params.random_state }}",
        ],
        network=LOAD_DATA_NETWORK,
        timeout=timedelta(minutes=20),
    )
    preprocess = step(
        "preprocess",
        "Fits imputation and scaling on the training split only, applies them to both splits: "
        "`processed/`. No network.",
        timeout=timedelta(minutes=20),
    )
    train = step(
        "train",
        "Trains `model` (optionally with `search` and `target_recall`) and saves one "
        "scikit-learn Pipeline as `models/model.pkl`. No network.",
        command=TRAIN_COMMAND,
        timeout=timedelta(minutes=60),
    )
    evaluate = step(
        "evaluate",
        "Scores the model on the held-out test split: `results/metrics.json` and the "
        "confusion-matrix and ROC-curve plots. No network.",
        timeout=timedelta(minutes=20),
    )
    upload = step(
        "upload",
        "Publishes metrics, model, plots and manifest to `upload_target`. The only step with "
        "a network; it sees `./credentials` read-only.",
        environment={"UPLOAD_TARGET": "{{ params.upload_target }}", **DRIVE_SETTINGS},
        network=EGRESS_NETWORK,
        extra_mounts=(CREDENTIALS_MOUNT,),
        timeout=timedelta(minutes=20),
    )

    load_data >> preprocess >> train >> evaluate >> upload
