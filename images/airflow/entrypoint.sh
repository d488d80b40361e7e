#!/usr/bin/env bash
# Entrypoint of every Airflow service in docker-compose.yml.
#
#   secrets     (service airflow-secrets) create the stack's secrets once, in the secrets volume:
#               fernet_key, jwt_secret, api_secret_key, db_password; rewrite sql_alchemy_conn.
#   init        (service airflow-init) check the login settings, write the password file the
#               API server reads, migrate the metadata database.
#   api-server  copy that password file where SimpleAuthManager may write, then start the server.
#   <other>     `airflow <other> ...` (scheduler, dag-processor, triggerer, jobs check, ...).
#
# Secrets never reach a log line or the image: services read them from the secrets volume through
# Airflow's AIRFLOW__<SECTION>__<KEY>_CMD settings (see docker-compose.yml).
#
# The service that runs tasks (the scheduler) needs the host's Docker socket, whose group differs
# from host to host. That service alone starts as root: this script reads the socket's group, then
# drops to the airflow user with that group added (no capabilities, no_new_privs) before anything
# else runs. Every other service starts as the airflow user.
set -euo pipefail

SECRETS_DIR=${AIRFLOW_SECRETS_DIR:-/opt/airflow/secrets}
DOCKER_SOCKET=${DOCKER_SOCKET:-/var/run/docker.sock}
AIRFLOW_UID=${AIRFLOW_UID:-50000}

die() { printf 'error: %s\n' "$*" >&2; exit 1; }
log() { printf 'airflow-entrypoint: %s\n' "$*" >&2; }

drop_root() {
  [ -S "$DOCKER_SOCKET" ] \
    || die "started as root but $DOCKER_SOCKET is not a socket; only the scheduler runs as root, with the Docker socket mounted"
  local gid
  gid=$(stat -c %g "$DOCKER_SOCKET")
  log "joining group $gid of $DOCKER_SOCKET and dropping to uid $AIRFLOW_UID"
  exec setpriv --reuid="$AIRFLOW_UID" --regid=0 --groups="$gid" --inh-caps=-all \
    --no-new-privs -- "$0" "$@"
}

check_docker_access() {
  [ -S "$DOCKER_SOCKET" ] || return 0
  [ -r "$DOCKER_SOCKET" ] && [ -w "$DOCKER_SOCKET" ] && return 0
  die "uid $(id -u) cannot use $DOCKER_SOCKET (group $(stat -c %g "$DOCKER_SOCKET")); start this service as root (user: \"0:0\") so the entrypoint can join that group"
}

# Secret files hold no trailing newline: Airflow's *_CMD settings take a command's output as is.
write_file() {  # path value: atomic (rename), mode 0600 under the caller's umask 077
  printf '%s' "$2" > "$1.tmp"
  mv "$1.tmp" "$1"
}

new_secret() {  # name command...: creates $SECRETS_DIR/name from the command's output, once
  local name=$1 path="$SECRETS_DIR/$1"
  shift
  [ -s "$path" ] && return 0
  write_file "$path" "$("$@")"
  log "generated $name"
}

random_token() { python -c 'import secrets; print(secrets.token_urlsafe(32))'; }
fernet_key() { python -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'; }

make_secrets() {
  [ -d "$SECRETS_DIR" ] && [ -w "$SECRETS_DIR" ] \
    || die "$SECRETS_DIR is not a writable directory; mount the airflow-secrets volume there"
  umask 077
  new_secret fernet_key fernet_key
  new_secret jwt_secret random_token
  new_secret api_secret_key random_token
  new_secret db_password random_token
  # The URL follows the current settings; only the password is kept from the first start.
  local url
  url="postgresql+psycopg2://${POSTGRES_USER:-airflow}:$(cat "$SECRETS_DIR/db_password")@${POSTGRES_HOST:-postgres}/${POSTGRES_DB:-airflow}"
  write_file "$SECRETS_DIR/sql_alchemy_conn" "$url"
  log "secrets ready in $SECRETS_DIR"
}

write_password_file() {
  local user=${AIRFLOW_ADMIN_USER:-} password=${AIRFLOW_ADMIN_PASSWORD:-}
  [ -n "$user" ] || die "AIRFLOW_ADMIN_USER is empty; set it in .env (see .env.example)"
  [[ "$user" =~ ^[A-Za-z0-9._-]+$ ]] \
    || die "AIRFLOW_ADMIN_USER must be letters, digits, '.', '_' or '-'; got '$user'"
  [ -n "$password" ] \
    || die "AIRFLOW_ADMIN_PASSWORD is not set; put a password of 12 or more characters in .env (cp .env.example .env), or run scripts/run-pipeline.sh, which generates one there"
  [ "${#password}" -ge 12 ] \
    || die "AIRFLOW_ADMIN_PASSWORD must have at least 12 characters; got ${#password}"
  umask 077
  AIRFLOW_ADMIN_USER=$user AIRFLOW_ADMIN_PASSWORD=$password python -c '
import json, os, sys
json.dump({os.environ["AIRFLOW_ADMIN_USER"]: os.environ["AIRFLOW_ADMIN_PASSWORD"]}, sys.stdout)
' > "$SECRETS_DIR/passwords.json.tmp"
  mv "$SECRETS_DIR/passwords.json.tmp" "$SECRETS_DIR/passwords.json"
  log "login ready for user '$user'"
}

if [ "$(id -u)" = 0 ]; then
  drop_root "$@"
fi

case "${1:-}" in
  secrets)
    make_secrets
    ;;
  init)
    write_password_file
    unset AIRFLOW_ADMIN_PASSWORD
    exec airflow db migrate
    ;;
  api-server)
    # SimpleAuthManager opens its password file for writing; the secrets volume is read-only here.
    target=${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:?must be set for the api-server}
    [ -s "$SECRETS_DIR/passwords.json" ] \
      || die "$SECRETS_DIR/passwords.json is missing; airflow-init writes it (docker compose up runs it first)"
    (umask 077 && cp "$SECRETS_DIR/passwords.json" "$target")
    exec airflow "$@"
    ;;
  scheduler)
    check_docker_access
    exec airflow "$@"
    ;;
  *)
    exec airflow "$@"
    ;;
esac
