#!/usr/bin/env bash
# A short fuzzing run of every parser target, to catch panics early.
# Longer runs: SECONDS_PER_TARGET=600 scripts/fuzz-smoke.sh
set -euo pipefail
cd "$(dirname "$0")/.."
per_target=${SECONDS_PER_TARGET:-20}

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "error: cargo fuzz needs the nightly toolchain (rustup toolchain install nightly)" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet
fi

cd fuzz
for target in $(cargo +nightly fuzz list); do
  echo "-- fuzz $target for ${per_target}s"
  mkdir -p "corpus/$target"
  seeds=""; [ -d "seeds/$target" ] && seeds="seeds/$target"
  cargo +nightly fuzz run "$target" "corpus/$target" $seeds -- -max_total_time="$per_target" -max_len=4096 2>&1 | tail -n 3
done
