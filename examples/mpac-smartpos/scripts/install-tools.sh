#!/usr/bin/env bash
# Installs everything the mpac-smartpos example needs to lint, type-check and
# test its four services on a fresh Debian 12 (bookworm) machine. Run as root.
#
# Idempotent: every tool is checked first and only what is missing is
# installed, so a second run does nothing and returns within a second.
#
#   Go           golang-go from bookworm-backports (1.23), else bookworm (1.19)
#   ESLint       Debian's eslint package (no npm registry needed)
#   TypeScript   Debian's node-typescript package (tsc)
#   bc           used by the workflow's coverage checks
#   Python       fastapi uvicorn httpx pytest pytest-cov ruff mypy (pip)
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "install-tools.sh: run as root" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive

apt_pkgs=()
want_go=0
changed=0

command -v go >/dev/null 2>&1 || want_go=1
command -v eslint >/dev/null 2>&1 || apt_pkgs+=(eslint)
# Recommended by Debian's eslint and needed by its default (stylish) output.
for p in node-chalk node-text-table node-strip-ansi node-js-yaml; do
  dpkg -s "$p" >/dev/null 2>&1 || apt_pkgs+=("$p")
done
command -v tsc >/dev/null 2>&1 || apt_pkgs+=(node-typescript)
command -v bc >/dev/null 2>&1 || apt_pkgs+=(bc)
command -v node >/dev/null 2>&1 || apt_pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || apt_pkgs+=(npm)
command -v curl >/dev/null 2>&1 || apt_pkgs+=(curl)
command -v python3 >/dev/null 2>&1 || apt_pkgs+=(python3)
# `python3 -m venv` needs ensurepip (python3-venv on Debian); pip for the rest.
python3 -c 'import ensurepip' >/dev/null 2>&1 || apt_pkgs+=(python3-venv)
python3 -c 'import pip' >/dev/null 2>&1 || apt_pkgs+=(python3-pip)

BACKPORTS_LIST=/etc/apt/sources.list.d/bookworm-backports.sources

if [ "$want_go" -eq 1 ] || [ "${#apt_pkgs[@]}" -gt 0 ]; then
  changed=1
  if [ "$want_go" -eq 1 ] && ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    # bookworm itself only has Go 1.19; backports has 1.23.
    cat > "$BACKPORTS_LIST" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  fi
  apt-get update -qq
  if [ "${#apt_pkgs[@]}" -gt 0 ]; then
    echo "install-tools.sh: apt-get install ${apt_pkgs[*]}"
    apt-get install -y -qq "${apt_pkgs[@]}" >/dev/null
  fi
  if [ "$want_go" -eq 1 ]; then
    if apt-get install -y -qq -t bookworm-backports golang-go >/dev/null 2>&1; then
      echo "install-tools.sh: installed golang-go from bookworm-backports"
    else
      echo "install-tools.sh: bookworm-backports unavailable, installing bookworm's golang-go"
      apt-get install -y -qq golang-go >/dev/null
    fi
  fi
fi

# Debian's eslint finds its modules through Debian's nodejs, which searches
# /usr/share/nodejs. A Node.js from elsewhere (NodeSource, setup-node) does
# not, so give it a wrapper that sets NODE_PATH.
if ! eslint --version >/dev/null 2>&1 && [ -x /usr/bin/eslint ] && [ -d /usr/share/nodejs/eslint ]; then
  echo "install-tools.sh: writing /usr/local/bin/eslint (NODE_PATH wrapper for Debian's eslint)"
  cat > /usr/local/bin/eslint <<'WRAP'
#!/bin/sh
# Written by examples/mpac-smartpos/scripts/install-tools.sh: lets Debian's
# eslint run on a Node.js that does not search /usr/share/nodejs.
NODE_PATH="/usr/share/nodejs:/usr/lib/nodejs${NODE_PATH:+:$NODE_PATH}" exec /usr/bin/eslint "$@"
WRAP
  chmod 755 /usr/local/bin/eslint
  hash -r
  changed=1
fi

py_mods='fastapi uvicorn httpx pytest pytest_cov ruff mypy'
if ! python3 -c 'import importlib.util as u, sys; sys.exit(0 if all(u.find_spec(m) for m in sys.argv[1:]) else 1)' $py_mods >/dev/null 2>&1; then
  changed=1
  pip_flags=()
  # Debian's own python3 refuses system-wide pip installs (PEP 668).
  if python3 -c 'import os, sys, sysconfig; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else 1)'; then
    pip_flags+=(--break-system-packages)
  fi
  echo "install-tools.sh: pip install fastapi uvicorn httpx pytest pytest-cov ruff mypy"
  python3 -m pip install -q "${pip_flags[@]}" fastapi uvicorn httpx pytest pytest-cov ruff mypy
fi

if [ "$changed" -eq 0 ]; then
  echo "install-tools.sh: all tools already installed"
  exit 0
fi
echo "install-tools.sh: go $(go env GOVERSION), node $(node --version), tsc $(tsc --version | awk '{print $2}'), eslint $(eslint --version), $(python3 --version)"
