#!/usr/bin/env bash
# The whole test suite, from a fresh clone on a machine with Docker:
#   scripts/test.sh            # lint, unit tests, image tests, the Airflow stack end to end
#   scripts/test.sh -m "not docker and not stack"   # extra arguments go to pytest
# Offline (no registry)? Build stand-in bases first: export $(scripts/offline-base.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "test.sh: creating .venv" >&2
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
  -r requirements/ml.txt -r requirements/gdrive.txt -r requirements/dev.txt \
  -c images/airflow/constraints.txt
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .

if ! docker info >/dev/null 2>&1; then
  echo "test.sh: no Docker engine answers; start one (CI: scripts/install-docker.sh)" >&2
  exit 1
fi

.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"
