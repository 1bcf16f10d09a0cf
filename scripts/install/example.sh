#!/usr/bin/env bash
# The example repository's tools: Go, ESLint, tsc, bc, and the Python
# packages its services use (see examples/mpac-smartpos/README.md).
set -euo pipefail
exec "$(dirname "$0")/../../examples/mpac-smartpos/scripts/install-tools.sh"
