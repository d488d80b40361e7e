#!/usr/bin/env bash
# Builds local stand-ins for python:3.12-slim and postgres:16 on a host with no container registry:
#   debootstrap (Debian bookworm, minbase) -> docker import -> images/offline/*.Dockerfile.
#
# Usage:  eval "$(scripts/offline-base.sh | grep =)"   # or: scripts/offline-base.sh >> .env
# Stdout ends with exactly two lines, PYTHON_BASE_IMAGE=<image> and POSTGRES_IMAGE=<image>;
# all logs go to stderr. Needs root (debootstrap), a Docker engine and HTTP access to the Debian
# mirror. Idempotent: an image whose label holds the hash of its current recipe is kept, and the
# debootstrap root filesystem is cached as a tarball under OFFLINE_CACHE_DIR, so a re-run takes
# seconds. The Python stand-in (and only it) trusts the host's CA bundle so that pip works
# through a TLS-intercepting proxy.
#
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian), OFFLINE_CACHE_DIR (default
# /var/cache/ml-pipeline-offline), HOST_CA_BUNDLE (default /etc/ssl/certs/ca-certificates.crt),
# OFFLINE_REBUILD=1 to rebuild all three images even when their recipe is unchanged.
set -euo pipefail

SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE_DIR=${OFFLINE_CACHE_DIR:-/var/cache/ml-pipeline-offline}
CA_BUNDLE=${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RECIPES=$REPO_ROOT/images/offline

DEBIAN_IMAGE=ml-pipeline-offline/debian:${SUITE}-minbase
PYTHON_IMAGE=ml-pipeline-offline/python:3.11-${SUITE}
POSTGRES_IMAGE=ml-pipeline-offline/postgres:15-${SUITE}
HASH_LABEL=org.ml-pipeline.offline.recipe-sha256

log() { printf 'offline-base: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

sha256_of() { cat "$@" | sha256sum | cut -c1-64; }

# The recipe of the root filesystem; bump the trailing version to force a new debootstrap.
base_recipe() {
  printf 'debootstrap --variant=minbase %s %s\n' "$SUITE" "$MIRROR"
  printf 'sources: %s %s %s-updates; %s-security\n' "$MIRROR" "$SUITE" "$SUITE" "$SUITE"
  printf 'slim: dpkg path-exclude doc/man/info/locale; policy-rc.d\n'
  printf 'recipe-version: 2\n'
}

# Prints the recipe hash stored on an image, or nothing when the image does not exist.
image_hash() {
  docker image inspect -f "{{ index .Config.Labels \"$HASH_LABEL\" }}" "$1" 2>/dev/null || true
}

is_current() {  # image hash
  [ "${OFFLINE_REBUILD:-0}" != 1 ] && [ "$(image_hash "$1")" = "$2" ]
}

make_rootfs_tarball() {  # tarball
  local tarball=$1 rootfs
  command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] \
    || die "debootstrap is not installed (apt-get install debootstrap, or run scripts/install-docker.sh)"
  [ "$(id -u)" = 0 ] || die "debootstrap needs root; run this script as root"
  mkdir -p "$CACHE_DIR/debs"
  rootfs=$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$rootfs'" EXIT
  log "debootstrap --variant=minbase $SUITE $MIRROR (a few minutes the first time)"
  PATH=$PATH:/usr/sbin:/sbin debootstrap --variant=minbase --cache-dir="$CACHE_DIR/debs" \
    "$SUITE" "$rootfs" "$MIRROR" >&2 \
    || die "debootstrap failed (see the output above); is $MIRROR reachable?"
  cat > "$rootfs/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb ${MIRROR%/debian}/debian-security $SUITE-security main
EOF
  # Like Debian's official images: no downloaded lists or packages, no dpkg prompts, no services.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb \
         "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/*
  printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"
  chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
  # Like Debian's -slim images: no docs (licences kept), man pages or translations, now or later.
  printf 'path-exclude /usr/share/%s/*\n' doc man groff info lintian linda locale \
    > "$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim"
  printf 'path-include /usr/share/doc/*/copyright\n' >> "$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim"
  find "$rootfs/usr/share/doc" -mindepth 1 -not -type d -not -name copyright -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$rootfs"/usr/share/{man,groff,info,lintian,linda,locale}/*
  rm -f "$CACHE_DIR/$SUITE"-minbase-*.tar   # tarballs of older recipes
  tar --numeric-owner --xattrs -C "$rootfs" \
      --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
      -cf "$tarball.part" .
  mv "$tarball.part" "$tarball"
  rm -rf "$rootfs"
  trap - EXIT
}

build_debian_image() {  # hash
  local hash=$1 tarball="$CACHE_DIR/$SUITE-minbase-${1:0:12}.tar"
  if is_current "$DEBIAN_IMAGE" "$hash"; then
    log "$DEBIAN_IMAGE is up to date"
    return 0
  fi
  [ -s "$tarball" ] || make_rootfs_tarball "$tarball"
  log "docker import $tarball -> $DEBIAN_IMAGE"
  docker import \
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change 'CMD ["bash"]' \
    --change "LABEL $HASH_LABEL=$hash" \
    "$tarball" "$DEBIAN_IMAGE" >/dev/null
}

build_from_recipe() {  # image hash dockerfile [extra context files...]
  local image=$1 hash=$2 dockerfile=$3 ctx
  shift 3
  if is_current "$image" "$hash"; then
    log "$image is up to date"
    return 0
  fi
  ctx=$(mktemp -d)
  cp "$dockerfile" "$ctx/Dockerfile"
  [ "$#" -eq 0 ] || cp "$@" "$ctx/"
  log "building $image from ${dockerfile#"$REPO_ROOT"/}"
  if ! docker build --build-arg "DEBIAN_BASE_IMAGE=$DEBIAN_IMAGE" \
      --label "$HASH_LABEL=$hash" -t "$image" "$ctx" >&2; then
    rm -rf "$ctx"
    die "building $image failed (see the output above)"
  fi
  rm -rf "$ctx"
}

main() {
  local start=$SECONDS base_hash py_hash pg_hash ca_ctx
  docker info >/dev/null 2>&1 || die "no Docker engine answers (run scripts/install-docker.sh)"
  [ -s "$CA_BUNDLE" ] || die "host CA bundle $CA_BUNDLE is missing or empty (set HOST_CA_BUNDLE)"
  mkdir -p "$CACHE_DIR"

  base_hash=$(base_recipe | sha256sum | cut -c1-64)
  py_hash=$(printf '%s\n' "$base_hash" | sha256_of - "$RECIPES/python.Dockerfile" "$CA_BUNDLE")
  pg_hash=$(printf '%s\n' "$base_hash" \
    | sha256_of - "$RECIPES/postgres.Dockerfile" "$RECIPES/postgres-entrypoint.sh")

  if is_current "$PYTHON_IMAGE" "$py_hash" && is_current "$POSTGRES_IMAGE" "$pg_hash"; then
    log "$PYTHON_IMAGE and $POSTGRES_IMAGE are up to date"
  else
    build_debian_image "$base_hash"
  fi
  ca_ctx=$(mktemp -d)
  cp "$CA_BUNDLE" "$ca_ctx/host-ca-bundle.crt"
  build_from_recipe "$PYTHON_IMAGE" "$py_hash" "$RECIPES/python.Dockerfile" \
    "$ca_ctx/host-ca-bundle.crt"
  rm -rf "$ca_ctx"
  build_from_recipe "$POSTGRES_IMAGE" "$pg_hash" "$RECIPES/postgres.Dockerfile" \
    "$RECIPES/postgres-entrypoint.sh"
  log "done in $((SECONDS - start))s"

  printf 'PYTHON_BASE_IMAGE=%s\n' "$PYTHON_IMAGE"
  printf 'POSTGRES_IMAGE=%s\n' "$POSTGRES_IMAGE"
}

main "$@"
