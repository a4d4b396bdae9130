#!/usr/bin/env bash
# Start-up time and peak memory of the release server (issue 14).
#
# usage: benches/startup-memory.sh [DATABASE_URL]
#   no URL: the embedded sample (sqlite:data/sample.db, created on first use).
# environment: BIN (default target/release/fhir-facade), N requests per burst (default 640),
#   C concurrent requests (default 64), PORT (default 18182).
#
# Prints the time from exec to the first successful /metadata, the resident memory then, and
# for each of `Observation?_count=1000` and the same with two `_include`s: N requests, C at a
# time, their status codes, how long the burst took, and the server's peak resident memory
# during it (VmHWM, reset before the burst through /proc/PID/clear_refs; if the kernel refuses,
# the peak since start-up is printed and said so).
set -u
cd "$(dirname "$0")/.."
URL=${1:-}
BIN=${BIN:-target/release/fhir-facade}
N=${N:-640}
C=${C:-64}
PORT=${PORT:-18182}
BASE=http://127.0.0.1:$PORT/fhir
[ -x "$BIN" ] || { echo "no $BIN: cargo build --release" >&2; exit 1; }
ARGS=(serve --listen 127.0.0.1:$PORT --base-url "$BASE")
[ -n "$URL" ] && ARGS+=(--database-url "$URL")
LOG=$(mktemp /tmp/startup-memory.XXXXXX.log)

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
kb() { awk -v k="$1:" '$1 == k {print $2}' /proc/$PID/status; }
mb() { awk -v v="$1" 'BEGIN {printf "%.1f MB", v / 1024}'; }

T0=$(now_ms)
RUST_LOG=warn "$BIN" "${ARGS[@]}" >"$LOG" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null' EXIT
UP=
while kill -0 $PID 2>/dev/null; do
  if curl -sf -o /dev/null "$BASE/metadata"; then UP=$(now_ms); break; fi
  [ $(( $(now_ms) - T0 )) -gt 300000 ] && break
  sleep 0.01
done
if [ -z "$UP" ]; then
  echo "the server did not answer /metadata; its log ($LOG):" >&2
  tail -20 "$LOG" >&2
  exit 1
fi
echo "database: ${URL:-embedded sample (sqlite:data/sample.db)}"
echo "start-up (exec to first /metadata 200): $(( UP - T0 )) ms"
echo "after start-up: VmRSS $(mb "$(kb VmRSS)"), VmHWM $(mb "$(kb VmHWM)")"

burst() {
  local what=$1 url=$2 reset=reset
  curl -s -o /dev/null "$url"   # one request first: statements prepared, buffers sized
  echo 5 >/proc/$PID/clear_refs 2>/dev/null || reset="not reset: peak since start-up"
  local t=$(now_ms)
  local codes
  codes=$(seq 1 "$N" | xargs -P "$C" -I{} curl -s -o /dev/null -w "%{http_code}\n" "$url" \
    | sort | uniq -c | awk '{printf "%s%s×%s", sep, $2, $1; sep=", "}')
  local took=$(( $(now_ms) - t ))
  echo "$what: $N requests, $C at a time: status $codes in $took ms; peak VmHWM $(mb "$(kb VmHWM)") ($reset); VmRSS after $(mb "$(kb VmRSS)")"
}
burst "Observation?_count=1000" "$BASE/Observation?_count=1000"
burst "Observation?_count=1000&_include=Observation:patient&_include=Observation:encounter" \
  "$BASE/Observation?_count=1000&_include=Observation:patient&_include=Observation:encounter"
echo "one response: $(curl -s -o /dev/null -w "%{size_download} bytes in %{time_total} s" "$BASE/Observation?_count=1000&_include=Observation:patient&_include=Observation:encounter")"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
