#!/usr/bin/env bash
# Builds the base images the services' Dockerfiles start FROM, without
# pulling anything from a registry (none can be reached from the machines
# this example targets):
#
#   slipway-base/debian:bookworm   debootstrap --variant=minbase, then docker import
#   slipway-base/python:3.11       + Debian's python3 (3.11) and python3-venv, and this
#                                    machine's CA bundle for pip (see below)
#   slipway-base/go:1.23           + golang-go from bookworm-backports (1.23)
#   slipway-base/node:20           + this machine's Node.js 20 (node and npm, copied in:
#                                    NodeSource and nodejs.org are not reachable here)
#
# Debian packages come from deb.debian.org. Run as root (debootstrap).
# Idempotent: an image that exists is kept; --rebuild builds them all again.
#
#   scripts/build-base-images.sh [--rebuild]
set -euo pipefail

say() { echo "build-base-images.sh: $*"; }
die() { echo "build-base-images.sh: $*" >&2; exit 1; }

rebuild=0
[ "${1:-}" = "--rebuild" ] && rebuild=1
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

command -v docker >/dev/null || die "the docker CLI is missing"
docker info >/dev/null 2>&1 || die "no Docker Engine answers (docker info failed)"

have() { [ "$rebuild" -eq 0 ] && docker image inspect "$1" >/dev/null 2>&1; }

work=$(mktemp -d /var/tmp/slipway-base.XXXXXX)
trap 'rm -rf "$work"' EXIT

# The legacy builder is what every engine has; quiet unless it fails.
build() {
  local tag=$1 dir=$2 log="$work/build.log"
  if ! DOCKER_BUILDKIT=0 docker build --network host -t "$tag" "$dir" >"$log" 2>&1; then
    cat "$log" >&2
    die "building $tag failed"
  fi
  say "built $tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))"
}

if ! have slipway-base/debian:bookworm; then
  [ "$(id -u)" -eq 0 ] || die "debootstrap needs root"
  command -v debootstrap >/dev/null || die "debootstrap is missing (scripts/install/images.sh installs it)"
  say "debootstrap bookworm (minbase) from $mirror"
  rootfs="$work/rootfs"
  if ! debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
    tail -20 "$work/debootstrap.log" >&2
    die "debootstrap failed"
  fi
  cat >"$rootfs/etc/apt/sources.list" <<SRC
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $mirror bookworm-backports main
SRC
  # Smaller: no package cache, lists, docs or man pages in the image.
  chroot "$rootfs" apt-get clean
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* \
    "$rootfs"/var/log/*.log "$rootfs"/var/cache/debconf/*-old
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/01-slipway-base" <<'CFG'
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CFG
  tar -C "$rootfs" --numeric-owner -c . |
    docker import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      -c 'ENV LANG=C.UTF-8' -c 'CMD ["bash"]' - slipway-base/debian:bookworm >/dev/null
  say "imported slipway-base/debian:bookworm ($(docker image inspect -f '{{.Size}}' slipway-base/debian:bookworm | awk '{printf "%.0f MB", $1/1e6}'))"
fi

if ! have slipway-base/python:3.11; then
  mkdir -p "$work/python"
  # pip in a build fetches from the package index over HTTPS. Where the
  # network inspects TLS, only this machine's CA bundle (with the proxy's
  # CA) lets it through, so the image trusts what this machine trusts.
  bundle=${PIP_CERT:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}
  [ -f "$bundle" ] || die "no CA bundle at $bundle (set PIP_CERT or SSL_CERT_FILE)"
  cp "$bundle" "$work/python/ca-certificates.crt"
  cat >"$work/python/Dockerfile" <<'DF'
FROM slipway-base/debian:bookworm
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    PIP_DISABLE_PIP_VERSION_CHECK=1
CMD ["python3"]
DF
  build slipway-base/python:3.11 "$work/python"
fi

if ! have slipway-base/go:1.23; then
  mkdir -p "$work/go"
  cat >"$work/go/Dockerfile" <<'DF'
FROM slipway-base/debian:bookworm
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -t bookworm-backports golang-go \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
# Modules resolve without the network when a module needs none; CGO off
# makes static binaries for `FROM scratch`.
ENV GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
CMD ["go", "version"]
DF
  build slipway-base/go:1.23 "$work/go"
fi

if ! have slipway-base/node:20; then
  command -v node >/dev/null || die "slipway-base/node:20 copies this machine's Node.js 20, and there is none"
  version=$(node --version)
  case "$version" in
    v20.*) ;;
    *) die "slipway-base/node:20 copies this machine's Node.js, which is $version, not 20.x" ;;
  esac
  node_bin=$(readlink -f "$(command -v node)")
  npm_dir=$(readlink -f "$(dirname "$(readlink -f "$(command -v npm)")")/..")
  [ -f "$npm_dir/package.json" ] || die "npm's folder not found (from $(command -v npm))"
  mkdir -p "$work/node/usr/bin" "$work/node/usr/lib/node_modules"
  cp "$node_bin" "$work/node/usr/bin/node"
  cp -r "$npm_dir" "$work/node/usr/lib/node_modules/npm"
  cat >"$work/node/Dockerfile" <<'DF'
FROM slipway-base/debian:bookworm
COPY usr/ /usr/
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/bin/npx \
 && node --version && npm --version
ENV NODE_ENV=production
CMD ["node"]
DF
  build slipway-base/node:20 "$work/node"
fi

say "base images ready: $(docker image ls --format '{{.Repository}}:{{.Tag}}' 'slipway-base/*' | sort | tr '\n' ' ')"
