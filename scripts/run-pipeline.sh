#!/usr/bin/env bash
# The main job in one command: build every image, start Airflow, run ml_pipeline_dag with its
# default parameters (or --conf), follow it task by task, print the metrics and where the
# artifacts are. Exits non-zero when the run fails. The stack keeps running for the UI.
#
#   scripts/run-pipeline.sh                                  # defaults
#   scripts/run-pipeline.sh --conf '{"model": "svm", "target_recall": 0.97}'
#
# On a fresh checkout it creates .env from .env.example (a generated password, the owner of
# ./shared_volume) and, when no registry answers, builds the offline base images first
# (scripts/offline-base.sh). Needs Docker with the compose plugin, and python3 >= 3.11.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
CONF='{}'
TIMEOUT=1800

log() { printf 'run-pipeline: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 2; }

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --conf) [ $# -ge 2 ] || die "--conf needs a JSON object"; CONF=$2; shift 2 ;;
    --timeout) [ $# -ge 2 ] || die "--timeout needs seconds"; TIMEOUT=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

command -v docker >/dev/null || die "docker is not installed (see scripts/install-docker.sh)"
docker compose version >/dev/null 2>&1 || die "the docker compose plugin is missing"
docker info >/dev/null 2>&1 || die "no Docker engine answers (is dockerd running?)"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
  || die "python3 >= 3.11 is needed on the host for scripts/airflow_client.py"

env_value() {  # the value compose will use: the environment first, else .env
  local name=$1
  if [ -n "${!name:-}" ]; then printf '%s' "${!name}"; return; fi
  [ -f .env ] && sed -n "s/^${name}=//p" .env | tail -n 1 | sed "s/^[\"']//; s/[\"']$//"
  return 0
}

create_env_file() {
  local uid gid password
  uid=$(stat -c %u shared_volume) gid=$(stat -c %g shared_volume)
  if [ "$uid" = 0 ]; then
    # A root-owned checkout: run the steps as the images' own non-root user instead of root.
    [ "$(id -u)" = 0 ] || die "shared_volume/ belongs to root; chown it to your user first"
    uid=10001 gid=10001
    chown -R "$uid:$gid" shared_volume
    log "shared_volume/ belonged to root: handed it to uid $uid, the steps' non-root user"
  fi
  password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
  (umask 077 && sed -e "s/^AIRFLOW_ADMIN_PASSWORD=.*/AIRFLOW_ADMIN_PASSWORD=$password/" \
      -e "s/^PIPELINE_UID=.*/PIPELINE_UID=$uid/" -e "s/^PIPELINE_GID=.*/PIPELINE_GID=$gid/" \
      .env.example > .env)
  log "created .env: login '$(env_value AIRFLOW_ADMIN_USER)', a generated password (read .env)"
}

offline_bases_if_needed() {
  [ -n "$(env_value PYTHON_BASE_IMAGE)" ] && return 0
  docker image inspect python:3.12-slim >/dev/null 2>&1 && return 0
  if docker pull -q python:3.12-slim >/dev/null 2>&1 && docker pull -q postgres:16 >/dev/null 2>&1
  then
    return 0
  fi
  log "no container registry answers: building the offline base images (scripts/offline-base.sh)"
  local lines
  lines=$(bash scripts/offline-base.sh) || die "scripts/offline-base.sh failed (see above)"
  printf '%s\n' "$lines" | grep -E '^(PYTHON_BASE_IMAGE|POSTGRES_IMAGE)=' >> .env
  log "added PYTHON_BASE_IMAGE and POSTGRES_IMAGE to .env"
}

[ -f .env ] || create_env_file
[ -n "$(env_value AIRFLOW_ADMIN_PASSWORD)" ] \
  || die "AIRFLOW_ADMIN_PASSWORD is empty in .env; set one of 12 or more characters"
offline_bases_if_needed

log "building the images and starting the stack (docker compose up --wait)"
started=$SECONDS
if ! docker compose up --build --detach --wait --wait-timeout 600; then
  docker compose ps --all >&2 || true
  docker compose logs --tail 5 airflow-init >&2 || true
  die "the stack did not become healthy (see above; docker compose logs <service>)"
fi
log "stack healthy after $((SECONDS - started)) s"

run_id_file=$(mktemp)
trap 'rm -f "$run_id_file"' EXIT
status=0
python3 scripts/airflow_client.py run ml_pipeline_dag --conf "$CONF" --timeout "$TIMEOUT" \
  --run-id-file "$run_id_file" || status=$?
run_id=$(cat "$run_id_file" 2>/dev/null || true)
[ -n "$run_id" ] || exit "$status"

run_dir="shared_volume/runs/$run_id"
if [ "$status" = 0 ]; then
  python3 - "$run_dir" <<'PY'
import json, sys
from pathlib import Path
run_dir = Path(sys.argv[1])
metrics = json.loads((run_dir / "results" / "metrics.json").read_text())
print(f"\nmetrics ({metrics.get('model')}, {metrics.get('n_test')} test rows):")
for name in ("accuracy", "precision", "recall", "f1_score", "roc_auc"):
    print(f"  {name:<10} {metrics[name]:.4f}")
print(f"\nartifacts in {run_dir.resolve()}/:")
for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
    print(f"  {path.relative_to(run_dir)}")
PY
fi
url="http://localhost:$(env_value AIRFLOW_UI_PORT || true)"
[ "$url" != "http://localhost:" ] || url=http://localhost:8080
user=$(env_value AIRFLOW_ADMIN_USER)
printf '\nAirflow UI: %s (user %s, password in .env). Stop: docker compose down\n' \
  "$url" "${user:-admin}" >&2
exit "$status"
