#!/usr/bin/env bash
# Installs what the quality-gate tests (crates/gates, crates/cli/tests/coverage.rs
# and tests_report.rs) run for real: coverage.py and pytest, Go, and checks
# Node.js. Run as root on Debian 12 (bookworm). Idempotent: what is present is
# skipped, so a second run takes about a second.
#
#   coverage.py, pytest   pip (python3 -m pip)
#   Go                    Debian's golang-go
#   Node.js >= 20.11      must already be installed (its test runner's lcov
#                         reporter is what the tests use; Debian's nodejs 18
#                         does not have it)
set -euo pipefail

say() { echo "gates.sh: $*"; }
die() { echo "gates.sh: $*" >&2; exit 1; }

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

# Go
if ! command -v go >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || die "Go is missing; run as root to install golang-go"
  if ! apt-cache policy golang-go 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    say "apt-get update"
    apt_get update -q
  fi
  say "apt-get install golang-go"
  apt_get install -y -q golang-go
  changed=1
fi

# Python with coverage.py and pytest
if ! command -v python3 >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || die "python3 is missing; run as root to install it"
  apt-cache policy python3-pip 2>/dev/null | grep -q 'Candidate: [0-9]' || apt_get update -q
  say "apt-get install python3 python3-pip"
  apt_get install -y -q python3 python3-pip
  changed=1
fi
if ! python3 -c 'import coverage, pytest, sys; sys.exit(0 if int(coverage.__version__.split(".")[0]) >= 7 else 1)' >/dev/null 2>&1; then
  if ! python3 -m pip --version >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] || die "pip is missing; run as root to install python3-pip"
    apt-cache policy python3-pip 2>/dev/null | grep -q 'Candidate: [0-9]' || apt_get update -q
    say "apt-get install python3-pip"
    apt_get install -y -q python3-pip
  fi
  pip_flags=()
  # Debian's own python3 refuses system-wide pip installs (PEP 668).
  if python3 -c 'import os, sys, sysconfig; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else 1)'; then
    pip_flags+=(--break-system-packages)
  fi
  say "pip install coverage pytest"
  python3 -m pip install -q "${pip_flags[@]}" 'coverage>=7' pytest
  changed=1
fi

# Node.js: the tests use `node --test --experimental-test-coverage
# --test-reporter=lcov`, built in since 20.11 (and 21.2).
if ! command -v node >/dev/null 2>&1; then
  die "Node.js is missing: install Node.js 20.11 or later (NodeSource or nodejs.org); Debian 12's nodejs 18 lacks the lcov test reporter"
fi
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 11) ? 0 : 1)'; then
  die "Node.js $(node --version) is too old: the tests need 20.11 or later (the lcov test reporter)"
fi

if [ "$changed" -eq 0 ]; then
  say "all tools already installed"
else
  say "$(go version | awk '{print $3}'), coverage.py $(python3 -c 'import coverage; print(coverage.__version__)'), pytest $(python3 -m pytest --version 2>&1 | awk '{print $2}'), node $(node --version)"
fi
