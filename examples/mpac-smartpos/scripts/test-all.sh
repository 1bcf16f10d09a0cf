#!/usr/bin/env bash
# Runs the four test jobs of .github/workflows/ci-cd.yml on this machine,
# step by step, with the commands the workflow's `run:` steps use (this script
# checks that every command line below still appears in the workflow). A job
# stops at its first failing step, as on GitHub; the other jobs still run.
# Then each service is started once and its /health endpoint is checked.
#
#   scripts/test-all.sh        one line per step, the output of failed steps
#   VERBOSE=1 scripts/test-all.sh    all output
#
# Exits non-zero if any step fails. Tools: scripts/install-tools.sh.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORKFLOW="$ROOT/.github/workflows/ci-cd.yml"
VERBOSE=${VERBOSE:-0}
LOGS=$(mktemp -d)
trap 'rm -rf "$LOGS"' EXIT

failed_jobs=()
job=""
job_failed=0
step_no=0

for tool in python3 go gofmt node npm eslint tsc bc curl; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "test-all.sh: $tool is missing; run scripts/install-tools.sh as root" >&2
    exit 2
  fi
done

begin_job() {
  job=$1
  job_failed=0
  echo
  echo "== $job"
}

end_job() {
  if [ "$job_failed" -ne 0 ]; then
    failed_jobs+=("$job")
  fi
}

# step NAME DIR SCRIPT: runs SCRIPT in DIR with GitHub's default shell
# (bash -eo pipefail), unless an earlier step of the job failed.
step() {
  local name=$1 dir=$2 script=$3
  step_no=$((step_no + 1))
  local log="$LOGS/$step_no.log"
  if [ "$job_failed" -ne 0 ]; then
    printf '   skip  %s\n' "$name"
    return
  fi
  # The same commands as the workflow: each line must appear there.
  local line
  while IFS= read -r line; do
    line="${line#"${line%%[![:space:]]*}"}"
    [ -z "$line" ] && continue
    if ! grep -qF -- "$line" "$WORKFLOW"; then
      printf '   FAIL  %s: `%s` is not in ci-cd.yml any more\n' "$name" "$line"
      job_failed=1
      return
    fi
  done <<<"$script"
  local start=$SECONDS rc
  if [ "$VERBOSE" = 1 ]; then
    (cd "$ROOT/$dir" && bash --noprofile --norc -eo pipefail -c "$script") 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
  else
    (cd "$ROOT/$dir" && bash --noprofile --norc -eo pipefail -c "$script") >"$log" 2>&1
    rc=$?
  fi
  if [ "$rc" -eq 0 ]; then
    printf '   ok    %s (%ds)\n' "$name" $((SECONDS - start))
  else
    printf '   FAIL  %s (exit %d)\n' "$name" "$rc"
    [ "$VERBOSE" = 1 ] || sed 's/^/         | /' "$log"
    job_failed=1
  fi
  cp "$log" "$LOGS/last.log"
}

# The last line of the previous step's output that matches a pattern.
last_match() {
  grep -E "$1" "$LOGS/last.log" 2>/dev/null | tail -1
}

coverage=()

# ---------------------------------------------------------------- svc-portal
begin_job "test-svc-portal"
D=mpac-smartpos/svc-portal
step "Install dependencies" $D '
python3 -m venv .venv
source .venv/bin/activate
pip install -e ".[dev]"
'
step "Lint with ruff" $D '
source .venv/bin/activate
ruff check .
'
step "Type check with mypy" $D '
source .venv/bin/activate
mypy app/
'
step "Run unit tests" $D '
source .venv/bin/activate
pytest tests/unit --cov=app --cov-report=xml --cov-report=term
'
step "Check coverage" $D '
source .venv/bin/activate
coverage report --fail-under=80
'
[ "$job_failed" -eq 0 ] && coverage+=("svc-portal    $(last_match '^TOTAL' | awk '{print $NF}')")
end_job

# ---------------------------------------------------------- Go services
GO_COVERAGE_CHECK='
go tool cover -func=coverage.out
COVERAGE=$(go tool cover -func=coverage.out | grep total | awk '"'"'{print $3}'"'"' | sed '"'"'s/%//'"'"')
if (( $(echo "$COVERAGE < 80" | bc -l) )); then
  echo "Coverage $COVERAGE% is below 80%"
  exit 1
fi
'
GO_LINT='
gofmt -l . | tee /dev/stderr | (! read)
go vet ./...
'

begin_job "test-svc-smarttab"
D=mpac-smartpos/svc-smarttab
step "Install dependencies" $D 'go mod download'
step "Lint with golangci-lint" $D "$GO_LINT"
step "Run unit tests" $D 'go test -v -coverprofile=coverage.out ./...'
step "Check coverage" $D "$GO_COVERAGE_CHECK"
[ "$job_failed" -eq 0 ] && coverage+=("svc-smarttab  $(last_match '^total:' | awk '{print $NF}')")
end_job

begin_job "test-mpac-pgw"
D=mpac-pgw
step "Install dependencies" $D 'go mod download'
step "Lint" $D "$GO_LINT"
step "Run unit tests" $D 'go test -v -coverprofile=coverage.out ./...'
step "Check coverage" $D "$GO_COVERAGE_CHECK"
[ "$job_failed" -eq 0 ] && coverage+=("mpac-pgw      $(last_match '^total:' | awk '{print $NF}')")
end_job

# -------------------------------------------------------------- frontend
begin_job "test-frontend"
D=mpac-frontend
step "Install dependencies" $D 'npm ci --no-audit --no-fund'
step "Lint with ESLint" $D 'npm run lint'
step "Type check with TypeScript" $D 'npm run check-types'
step "Run unit tests" $D 'npm test'
[ "$job_failed" -eq 0 ] && coverage+=("mpac-frontend $(last_match '^total \(src/\)' | awk '{print $NF}') (lines)")
step "Build check" $D 'npm run build'
end_job

# ------------------------------------------------- smoke: start, /health, stop
begin_job "smoke: start each service, GET /health, stop"
BIN="$LOGS/bin"
mkdir -p "$BIN"
# smoke NAME DIR PORT COMMAND...: starts COMMAND in DIR with PORT set and
# waits up to 15 s for /health to answer 200.
smoke() {
  local name=$1 dir=$2 port=$3
  shift 3
  local log="$LOGS/smoke-$name.log"
  (cd "$ROOT/$dir" && PORT=$port exec "$@") >"$log" 2>&1 &
  local pid=$! body="" i
  for i in $(seq 1 150); do
    if body=$(curl -fsS "http://127.0.0.1:$port/health" 2>/dev/null); then
      break
    fi
    body=""
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  if [ -n "$body" ]; then
    printf '   ok    %-14s :%s/health %s\n' "$name" "$port" "$body"
  else
    printf '   FAIL  %-14s :%s/health did not answer\n' "$name" "$port"
    sed 's/^/         | /' "$log"
    job_failed=1
  fi
}
if [ "${#failed_jobs[@]}" -eq 0 ]; then
  # Ports 10000 above the services' own, so a running copy does not clash.
  if (cd "$ROOT/mpac-smartpos/svc-smarttab" && go build -o "$BIN/svc-smarttab" .) &&
    (cd "$ROOT/mpac-pgw" && go build -o "$BIN/mpac-pgw" .); then
    smoke svc-portal mpac-smartpos/svc-portal 18002 .venv/bin/svc-portal
    smoke svc-smarttab mpac-smartpos/svc-smarttab 18003 "$BIN/svc-smarttab"
    smoke mpac-pgw mpac-pgw 18004 "$BIN/mpac-pgw"
    smoke mpac-frontend mpac-frontend 13000 node dist/src/server.js
  else
    echo "   FAIL  go build"
    job_failed=1
  fi
else
  echo "   skip  (a test job failed)"
fi
end_job

echo
echo "== coverage"
for c in "${coverage[@]}"; do
  echo "   $c"
done
echo
if [ "${#failed_jobs[@]}" -gt 0 ]; then
  echo "FAILED: ${failed_jobs[*]}"
  exit 1
fi
echo "all jobs passed"
