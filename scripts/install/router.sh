#!/usr/bin/env bash
# Installs what the router benchmark (cargo bench -p slipway-router --bench
# proxy) compares against. Run as root on Debian 12 (bookworm). Idempotent:
# what is present is skipped, so a second run takes about a second.
#
#   nginx   the reference proxy, configured by the bench with the same
#           weighted upstreams as slipway's router
#   wrk     the HTTP load generator the bench runs against each
#
# The router's tests need neither: they start their own upstreams and load.
set -euo pipefail

say() { echo "router.sh: $*"; }
die() { echo "router.sh: $*" >&2; exit 1; }

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

pkgs=()
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || pkgs+=(nginx)
command -v wrk >/dev/null 2>&1 || pkgs+=(wrk)

if [ "${#pkgs[@]}" -eq 0 ]; then
  say "all tools already installed"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "missing ${pkgs[*]}; run as root to install them"
if ! apt-cache policy "${pkgs[0]}" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  say "apt-get update"
  apt_get update -q
fi
say "apt-get install ${pkgs[*]}"
# The package's own service is not wanted: the bench starts nginx itself
# with its own configuration and ports (policy-rc.d 101 = do not start
# services from maintainer scripts), and port 80 stays free.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt_get install -y -q --no-install-recommends "${pkgs[@]}"

if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  if systemctl is-enabled nginx >/dev/null 2>&1; then
    say "disabling the packaged nginx service (the bench runs its own)"
    systemctl disable --now nginx >/dev/null 2>&1 || true
  fi
fi

say "$(/usr/sbin/nginx -v 2>&1), $(wrk -v 2>&1 | head -n 1)"
