#!/usr/bin/env bash
# Installs what the image tests (crates/image, crates/cli/tests/image*.rs,
# registry.rs, ecr.rs and the example's build-and-push job) run for real.
# Run as root on Debian 12 (bookworm). Idempotent: what is present is
# skipped, so a second run takes about a second.
#
#   docker-registry   Debian's registry (distribution 2.8): `slipway registry up`
#   skopeo            the independent client the tests check pushes with
#   htpasswd          apache2-utils: credentials for the auth tests
#   debootstrap       builds the example's base images without pulling any
#   moto_server       moto[server] from PyPI: a local AWS for the ECR login test
#   openssl           signs the tokens of the token-auth test
#
# A Docker Engine must already answer on /var/run/docker.sock (or
# DOCKER_HOST=unix://...); this script checks it and does not install one.
set -euo pipefail

say() { echo "images.sh: $*"; }
die() { echo "images.sh: $*" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive

# apt-get, waiting (up to 10 minutes) while another process holds the dpkg
# or apt lists lock instead of failing.
apt_get() {
  local tries=0 out
  while true; do
    if out=$(apt-get -o DPkg::Lock::Timeout=600 "$@" 2>&1); then
      return 0
    fi
    if grep -qiE 'could not get lock|unable to acquire|is another process using it' <<<"$out" && [ "$tries" -lt 120 ]; then
      tries=$((tries + 1))
      [ "$tries" -eq 1 ] && say "waiting for another package manager to finish"
      sleep 5
      continue
    fi
    echo "$out" >&2
    return 1
  done
}

changed=0
pkgs=()
[ -x /usr/bin/docker-registry ] || pkgs+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || pkgs+=(skopeo)
command -v htpasswd >/dev/null 2>&1 || pkgs+=(apache2-utils)
command -v debootstrap >/dev/null 2>&1 || pkgs+=(debootstrap)
command -v openssl >/dev/null 2>&1 || pkgs+=(openssl)
command -v python3 >/dev/null 2>&1 || pkgs+=(python3 python3-pip)

if [ "${#pkgs[@]}" -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || die "missing ${pkgs[*]}; run as root to install them"
  if ! apt-cache policy "${pkgs[0]}" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    say "apt-get update"
    apt_get update -q
  fi
  say "apt-get install ${pkgs[*]}"
  # The package's own service is not wanted: slipway starts registries
  # itself, with its own configuration and port (policy-rc.d 101 = do not
  # start services from maintainer scripts).
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod +x "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt_get install -y -q --no-install-recommends "${pkgs[@]}"
  changed=1
fi

# The packaged service, if an init system started it anyway, holds port
# 5000, the port `slipway registry up` uses by default.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  if systemctl is-enabled docker-registry >/dev/null 2>&1; then
    say "disabling the packaged docker-registry service (slipway runs its own)"
    systemctl disable --now docker-registry >/dev/null 2>&1 || true
  fi
fi

# moto's server (a local AWS) for the ECR login path.
if ! command -v moto_server >/dev/null 2>&1 || ! python3 -c 'import moto, flask' >/dev/null 2>&1; then
  pip_flags=()
  if python3 -c 'import os, sys, sysconfig; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else 1)'; then
    pip_flags+=(--break-system-packages)
  fi
  if ! python3 -m pip --version >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] || die "pip is missing; run as root to install python3-pip"
    apt_get install -y -q python3-pip
  fi
  say "pip install moto[server]"
  python3 -m pip install -q "${pip_flags[@]}" 'moto[server]>=5'
  changed=1
fi
command -v moto_server >/dev/null 2>&1 || die "moto_server is not on PATH after pip install moto[server]"

# The Docker Engine the builds use.
sock="${DOCKER_HOST:-unix:///var/run/docker.sock}"
sock="${sock#unix://}"
[ -S "$sock" ] || die "no Docker Engine socket at $sock: the image tests need a running Docker Engine"

if [ "$changed" -eq 0 ]; then
  say "all tools already installed"
else
  say "docker-registry $(/usr/bin/docker-registry --version 2>/dev/null | awk '{print $3}'), $(skopeo --version), moto $(python3 -c 'import moto; print(moto.__version__)')"
fi
