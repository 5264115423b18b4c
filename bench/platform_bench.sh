#!/bin/bash
# platform_bench: the platform channel over loopback mutual TLS, against
# the reference platform (t/platform/refplatform.py):
#  1. file.upload of a SIZE_MB file (default 1024: the 1 GiB case) in MB/s,
#     from the platform's hello to data.end (sha256 of the whole file
#     checked), next to `openssl s_server`/`s_client` moving the same
#     bytes with the same certificates (also mutual TLS);
#  2. file.download of the same size to the sensor (sha256 checked before
#     the rename) in MB/s;
#  3. alert delivery rate: ALERTS alerts raised while the platform is down
#     (the outbox on disk, group-committed), then the platform comes back:
#     alerts/s from hello to the last alert received; and the number of
#     outbox flushes the alerts cost.
# Needs root and a built tree:
#   top_builddir=build-platform2 bench/platform_bench.sh [SIZE_MB] [ALERTS]
set -eu
top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
top_builddir=$(cd "${top_builddir:-$top_srcdir}" && pwd)
SIZE_MB=${1:-1024}
ALERTS=${2:-5000}
. "$top_srcdir/t/integration/lib.sh"
. "$top_srcdir/t/platform/lib.sh"
SENSOR_TIMEOUT=900
W="$T/work"
mkdir -p "$W" "$T/bin"
FILE="$W/data.bin"
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom > "$FILE"
SHA=$(sha256sum "$FILE" | cut -d' ' -f1)
BYTES=$(stat -c %s "$FILE")
echo "# $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $SIZE_MB MiB in $T ($(df -T "$T" | awk 'NR==2 {print $2}'))"

# span EXPR_FROM EXPR_TO: seconds between two received frames
span() {
	"$PY" - "$REC/received.jsonl" "$1" "$2" <<'PY'
import json, sys
rec = [json.loads(l) for l in open(sys.argv[1])]
t0 = next(e["_t"] for e in rec if eval(sys.argv[2]))
t1 = next(e["_t"] for e in rec if eval(sys.argv[3]))
print("%.3f" % (t1 - t0))
PY
}
mbs() { awk -v b="$BYTES" -v s="$1" 'BEGIN { printf "%.1f", b / 1048576 / s }'; }

# --- openssl s_server / s_client, the same bytes, mutual TLS ---
OPORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# s_server and s_client end a session when their stdin ends, and s_client
# may drop its last buffer then: both read fifos we hold open, and the
# clock stops when the server side has written every byte out.
mkfifo "$W/sin" "$W/cin"
openssl s_server -accept "127.0.0.1:$OPORT" -cert "$PKI/server.pem" -key "$PKI/server-key.pem" \
	-CAfile "$PKI/ca.pem" -Verify 1 -naccept 1 -quiet < "$W/sin" 2> "$W/s_server.err" |
	head -c "$BYTES" > "$W/s_server.out" &
SPIPE=$!
exec 4> "$W/sin"
sleep 0.5
openssl s_client -connect "127.0.0.1:$OPORT" -cert "$PKI/client.pem" -key "$PKI/client-key.pem" \
	-CAfile "$PKI/ca.pem" -quiet < "$W/cin" > /dev/null 2> "$W/s_client.err" &
CPID=$!
add_cleanup "kill -KILL $CPID 2>/dev/null"
exec 3> "$W/cin"
t0=$(date +%s.%N)
cat "$FILE" >&3
while [ "$(stat -c %s "$W/s_server.out")" -lt "$BYTES" ]; do
	kill -0 "$SPIPE" 2>/dev/null || break
	sleep 0.01
done
t1=$(date +%s.%N)
exec 3>&- 4>&-
got=$(stat -c %s "$W/s_server.out")
[ "$got" = "$BYTES" ] || fail "openssl s_server received $got bytes, expected $BYTES: $(tail -3 "$W/s_server.err")"
os=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
rm -f "$W/s_server.out"
echo "openssl s_client -> s_server: $BYTES bytes in $os s: $(mbs "$os") MB/s"

# --- the sensor's upload and download ---
sensor_config "file_source: false" "exec_source: false" "event_log: false" \
	"stdout_events: none" "outbox_max_bytes: 268435456"
platform_conf >> "$T/etc/senseond.conf"
cat > "$T/policy.yaml" <<YAML
Bench Alert:
  policy: program
  priority: Low
  alertMessage: bench
  rules:
    - match programName == "$T/bin/alertme"
    - default ignore
YAML
cp "$T/policy.yaml" "$T/etc/policy.d/bench.yaml"
cat > "$T/a.jsonl" <<JSON
{"type":"session.start","session":"s1","analyst":"bench@example.com"}
{"type":"command","id":"up","session":"s1","cmd":"file.upload","path":"$FILE"}
JSON
platform_up --actions "$T/a.jsonl"
sensor_start
received "e['type'] == 'result' and e['id'] == 'up'" 600 > "$W/r" || fail "no upload result"
grep -q "$SHA" "$W/r" || fail "upload: sha256 mismatch: $(cat "$W/r")"
[ "$(sha256sum "$REC/data/up" | cut -d' ' -f1)" = "$SHA" ] || fail "upload: the platform's copy differs"
us=$(span "e['type'] == 'hello'" "e['type'] == 'data.end' and e['id'] == 'up'")
echo "senseond file.upload -> platform: $BYTES bytes in $us s: $(mbs "$us") MB/s (sha256 matches)"
rm -f "$REC/data/up"

platform_down
: > "$REC/received.jsonl"
cat > "$T/a.jsonl" <<JSON
{"type":"session.start","session":"s1","analyst":"bench@example.com"}
{"type":"command","id":"down","session":"s1","cmd":"file.download","path":"$W/got.bin","size":$BYTES,"sha256":"$SHA","_push":"$FILE"}
JSON
platform_up --actions "$T/a.jsonl"
received "e['type'] == 'result' and e['id'] == 'down'" 600 > "$W/r" || fail "no download result"
grep -q '"ok": true' "$W/r" || fail "download failed: $(cat "$W/r")"
ds=$(span "e['type'] == 'hello'" "e['type'] == 'result' and e['id'] == 'down'")
echo "platform file.download -> senseond: $BYTES bytes in $ds s: $(mbs "$ds") MB/s (sha256 checked, fsync, rename)"
rm -f "$W/got.bin" "$FILE"

# --- alert delivery from the on-disk outbox ---
platform_down
: > "$REC/received.jsonl"
cp /usr/bin/sleep "$T/bin/alertme"
c0=$(outbox commits)
run_alertme "$ALERTS"
for _ in $(seq 600); do
	p=$(outbox pending)
	[ "$p" -ge "$ALERTS" ] && break
	sleep 0.1
done
[ "$p" -ge "$ALERTS" ] || note "only $p of $ALERTS alerts reached the outbox (the sensor missed execs)"
c1=$(outbox commits)
platform_up
for _ in $(seq 600); do
	n=$(count_received "e['type'] == 'alert'")
	[ "$n" -ge "$p" ] && break
	sleep 0.1
done
as=$("$PY" - "$REC/received.jsonl" <<'PY'
import json, sys
rec = [json.loads(l) for l in open(sys.argv[1])]
t0 = next(e["_t"] for e in rec if e["type"] == "hello")
print("%.3f" % (max(e["_t"] for e in rec if e["type"] == "alert") - t0))
PY
)
echo "alert delivery from the outbox: $n alerts in $as s: $(awk -v n="$n" -v s="$as" 'BEGIN { printf "%.0f", n / s }') alerts/s; $((c1 - c0)) outbox flushes for $p alerts"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
