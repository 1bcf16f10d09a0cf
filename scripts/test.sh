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
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# slipway-cli/ecr: the ECR login test (aws-sdk-ecr) runs too.
cargo test --workspace --locked --no-fail-fast --features slipway-cli/ecr 2>&1 | tee "$log"

echo "== the example's services: lint, type-check, tests with coverage, /health"
examples/mpac-smartpos/scripts/test-all.sh

if [ "$quick" = 0 ]; then
  # cargo fuzz needs nightly; the stable suite already runs the parsers on
  # thousands of mangled inputs (crates/*/tests/no_panic.rs).
  if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    echo "== fuzz smoke run"
    scripts/fuzz-smoke.sh
  else
    echo "== fuzz smoke run NOT run: no nightly toolchain here (scripts/fuzz-smoke.sh)"
  fi
fi

echo "== benchmarks (quick pass, figures only)"
cargo bench -p slipway-workflow --bench plan --locked -- --quick
cargo bench -p slipway-cli --bench run --locked -- --quick
cargo bench -p slipway-gates --bench parsers --locked -- --quick
cargo bench -p slipway-image --bench push --locked -- --quick
cargo bench -p slipway-router --bench proxy --locked -- --quick
cargo bench -p slipway-cli --bench rollback --locked -- --quick

# One closing line for the whole suite (cargo prints one per test binary).
passed=$(grep -oE '^test result: .* ([0-9]+) passed' "$log" | grep -oE '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -oE '[0-9]+ failed;' "$log" | awk '{s+=$1} END {print s+0}')
echo
echo "tests: $passed passed, $failed failed"
