#!/usr/bin/env bash
# Memory under a burst of worst-case pages (issue 11): RSS idle, warm, peak and after
# N requests (default 640), 64 at a time, of Observation?_count=1000 with two _includes on
# the embedded sample. usage: benches/memory.sh target/release/fhir-facade [N]
set -u
BIN=$1; N=${2:-640}
PORT=18181
cd "$(dirname "$0")/.."
RUST_LOG=warn $BIN serve --listen 127.0.0.1:$PORT --base-url http://127.0.0.1:$PORT/fhir >/tmp/rss-server.log 2>&1 &
PID=$!
for i in $(seq 1 100); do curl -sf http://127.0.0.1:$PORT/fhir/metadata >/dev/null && break; sleep 0.3; done
rss() { awk '/VmRSS/{print $2/1024 " MB"}' /proc/$PID/status; }
echo "idle: $(rss)"
URL="http://127.0.0.1:$PORT/fhir/Observation?_count=1000&_include=Observation:patient&_include=Observation:encounter"
curl -s -o /dev/null "$URL"; curl -s -o /dev/null "$URL"
echo "warm (2 requests): $(rss)"
PEAK=0
( while kill -0 $PID 2>/dev/null; do v=$(awk '/VmRSS/{print $2}' /proc/$PID/status); [ "$v" -gt "$PEAK" ] && PEAK=$v && echo $PEAK > /tmp/rss-peak; sleep 0.05; done ) &
MON=$!
seq 1 $N | xargs -P 64 -I{} curl -s -o /dev/null -w "%{http_code}\n" "$URL" | sort | uniq -c
echo "peak: $(( $(cat /tmp/rss-peak) / 1024 )) MB"
sleep 3
echo "after 3s: $(rss)"
sleep 12
echo "after 15s: $(rss)"
curl -s -o /tmp/rss-one.json -w "one response: %{size_download} bytes %{time_total}s\n" "$URL"
kill $MON; kill $PID; wait 2>/dev/null
