#!/usr/bin/env bash
# The whole test suite, on a fresh machine or a used one. Installs what the
# tests need and is missing, then runs every test of every crate.
#
#   scripts/test.sh            # everything
#   scripts/test.sh --quick    # skip the fuzz smoke run
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

quick=0
[ "${1:-}" = "--quick" ] && quick=1

# The conformance data lives beside the repository (../shared/conformance).
export SLIPWAY_CONFORMANCE_DIR="${SLIPWAY_CONFORMANCE_DIR:-$root/../shared/conformance}"
if [ ! -d "$SLIPWAY_CONFORMANCE_DIR/expressions" ]; then
  echo "error: conformance data not found at $SLIPWAY_CONFORMANCE_DIR/expressions; set SLIPWAY_CONFORMANCE_DIR" >&2
  exit 1
fi

# Snapshot tests must match what is committed; never write new ones here.
export INSTA_UPDATE=no

# Each scripts/install/*.sh installs what one group of tests needs and is
# missing (idempotent: a second run takes about a second).
command -v git >/dev/null || { apt-get update -q && apt-get install -y -q git; }
for installer in scripts/install/*.sh; do
  [ -e "$installer" ] || continue
  echo "== $installer"
  bash "$installer"
done

echo "== cargo test (workspace)"
cargo test --workspace --locked 2>&1

if [ "$quick" = 0 ]; then
  echo "== fuzz smoke run"
  scripts/fuzz-smoke.sh
fi

echo "== benchmarks (quick pass, figures only)"
cargo bench -p slipway-workflow --bench plan --locked -- --quick
