#!/usr/bin/env bash
# Measures Bulk Data $export on a given database: resources exported per second and the
# server's peak RSS.
#
#   cargo build --release
#   tools/export-bench.sh 'postgres://postgres@127.0.0.1/mydb' Observation
#
# Arguments: the database URL, then the `_type` list (default: Observation). Environment:
# FHIR_FACADE_BIN (default target/release/fhir-facade), PORT (default 18089), MAPPING
# (default mapping.toml), PAGE_SIZE (default 1000). Starts the server with --export-dir in a
# temporary directory, kicks off `$export?_type=...`, polls every 0.2 s, and prints the
# resources written, the wall time from kick-off to manifest, the rate, the bytes written and
# the server's peak resident memory (VmHWM). The server and the files are removed at the end.
set -euo pipefail

url=${1:?usage: tools/export-bench.sh DATABASE_URL [TYPES]}
types=${2:-Observation}
bin=${FHIR_FACADE_BIN:-target/release/fhir-facade}
port=${PORT:-18089}
mapping=${MAPPING:-mapping.toml}
page=${PAGE_SIZE:-1000}
work=$(mktemp -d)
base="http://127.0.0.1:$port/fhir"

"$bin" serve --database-url "$url" --mapping "$mapping" --listen "127.0.0.1:$port" \
  --export-dir "$work/out" --export-page-size "$page" \
  --statement-timeout 60 --request-timeout 120 >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT

for _ in $(seq 1 300); do
  curl -sf "$base/metadata" >/dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.2
done
rss_start=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)

start=$(date +%s.%N)
status_url=$(curl -si -H 'Prefer: respond-async' "$base/\$export?_type=$types" \
  | tr -d '\r' | awk 'tolower($1) == "content-location:" {print $2}')
[ -n "$status_url" ] || { echo "kick-off refused"; exit 1; }
while :; do
  code=$(curl -s -o "$work/manifest.json" -w '%{http_code}' "$status_url")
  [ "$code" = 202 ] || break
  sleep 0.2
done
end=$(date +%s.%N)
[ "$code" = 200 ] || { echo "export failed ($code):"; cat "$work/manifest.json"; exit 1; }

count=$(jq '[.output[].count] | add // 0' "$work/manifest.json")
files=$(jq '.output | length' "$work/manifest.json")
bytes=$(du -sb "$work/out" | cut -f1)
peak=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
secs=$(echo "$end - $start" | bc -l)
printf 'types: %s\nresources: %s in %s files (%s MB)\ntime: %.2f s\nrate: %.0f resources/s\nRSS: %.0f MB at start, peak %.0f MB\n' \
  "$types" "$count" "$files" "$((bytes / 1000000))" "$secs" "$(echo "$count / $secs" | bc -l)" \
  "$(echo "$rss_start / 1024" | bc -l)" "$(echo "$peak / 1024" | bc -l)"
