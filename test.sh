#!/usr/bin/env bash
# Runs every FlowWatch test from a clean clone: installs what the tests need when missing, builds, tests,
# checks the README quick start, and ends with one line "N passed, N failed, N skipped".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"
results="$root/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

command -v dotnet >/dev/null || { echo "test.sh: the .NET SDK (dotnet) is required" >&2; exit 1; }

# Installs a Debian package when its program is missing (as root, or through sudo).
ensure_package() {
  local program=$1 package=$2
  if command -v "$program" >/dev/null || [[ -x "/usr/sbin/$program" ]]; then return; fi
  echo "installing $package"
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$package" >/dev/null
}

# The browser tests drive Debian's chromium through Playwright; Playwright's own browser download is not used.
ensure_package chromium chromium

echo "== ClickHouse server for the aggregate tests (a user process on loopback)"
ensure_package clickhouse-server clickhouse-server
clickhouse_dir="$root/artifacts/clickhouse"
rm -rf "$clickhouse_dir"
trap 'deploy/clickhouse/local-server.sh stop "$clickhouse_dir" || true' EXIT
clickhouse_port=$(PATH="$PATH:/usr/sbin" deploy/clickhouse/local-server.sh start "$clickhouse_dir")
export FLOWWATCH_TEST_CLICKHOUSE="Host=127.0.0.1;Port=$clickhouse_port"
echo "ClickHouse at 127.0.0.1:$clickhouse_port"
export PATH="$PATH:/usr/sbin"   # tests start servers of their own too

echo "== build"
dotnet build FlowWatch.slnx -c Release -nologo -v quiet -clp:NoSummary

echo "== tests"
status=0
dotnet test FlowWatch.slnx -c Release --no-build -nologo \
  --logger "trx" --logger "console;verbosity=minimal" --results-directory "$results" || status=$?

echo "== quick start (README): demo for 5 seconds"
if ! ./flowwatch demo --seconds 5 --duckdb "$root/artifacts/demo.duckdb" > "$root/artifacts/demo.txt"; then
  echo "demo failed" >&2
  status=1
fi
tail -n 20 "$root/artifacts/demo.txt"

echo "== quick start (README): replay of samples/"
quick="$root/artifacts/quick-start"
mkdir -p "$quick"
if ./flowwatch replay --reference samples/reference.json --events samples/events.jsonl \
     --alerts "$quick/alerts.jsonl" --dead-letters "$quick/dead-letters.jsonl" > "$quick/summary.txt"; then
  cat "$quick/summary.txt"
  if [[ ! -s "$quick/alerts.jsonl" ]]; then echo "quick start produced no alerts" >&2; status=1; fi
else
  echo "quick start failed" >&2
  status=1
fi

# One closing line over every test project, read from the TRX files.
python3 - "$results" <<'PY' || true
import sys, glob, xml.etree.ElementTree as ET
passed = failed = skipped = 0
for path in glob.glob(sys.argv[1] + "/**/*.trx", recursive=True):
    counters = ET.parse(path).getroot().find(".//{*}Counters")
    if counters is None:
        continue
    passed += int(counters.get("passed", 0))
    failed += int(counters.get("failed", 0)) + int(counters.get("error", 0)) + int(counters.get("timeout", 0))
    skipped += int(counters.get("notExecuted", 0))
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
