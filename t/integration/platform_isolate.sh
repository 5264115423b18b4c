#!/bin/bash
# Platform channel: isolate, isolation.status and unisolate sent by the
# platform, only inside network namespaces this test creates: "host"
# (senseond, with the isolation_netns guard) and "platform" (the
# reference platform and a second service), joined by a veth pair.
# Asserts: the commands run through the dispatcher (audited with the
# analyst); once isolated the other service is unreachable while the
# platform channel keeps working (the result arrives, a restarted
# platform is reconnected to and its hello reports isolated: true);
# isolation.status says isolated; unisolate removes our table and the
# service answers again; hello before isolation reports isolated: false.
TAG=$$
PLATFORM_SAN="IP:10.78.1.2"
. "$top_srcdir/t/integration/lib.sh"
command -v ip >/dev/null || skip "needs ip (iproute2)"
command -v nft >/dev/null || skip "needs nft"
. "$top_srcdir/t/platform/lib.sh"

H=sn-pi-h-$TAG
P=sn-pi-p-$TAG
add_cleanup platform_down
. "$top_srcdir/t/integration/netns_lib.sh"
mkns "$H"; mkns "$P"
netns_guard "$H"
veth_link "$H" hp "$P" ph 10.78.1

PHOST=10.78.1.2
PPORT=8443
PLAT_WRAP=(ip netns exec "$P")
# another service next to the platform: isolation must cut it off
ip netns exec "$P" timeout -s KILL "$SENSOR_TIMEOUT" "$PY" -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.78.1.2", 9999)); s.listen(16); print("ready", flush=True)
while True:
    c, _ = s.accept(); c.sendall(b"ok\n"); c.close()
' > "$T/service.out" 2>&1 &
SERVER_PIDS+=($!)
wait_has "$T/service.out" ready || fail "the service did not say ready in $WAIT s: $(cat "$T/service.out")"
# service_answers: it answered within 1 s (a single try: the negative
# check "blocked" uses it, which a slow machine can only make pass)
service_answers() {
	ip netns exec "$H" "$PY" -c '
import socket, sys
try:
    s = socket.create_connection(("10.78.1.2", 9999), timeout=1); s.settimeout(1)
    sys.exit(0 if s.recv(3) == b"ok\n" else 1)
except OSError:
    sys.exit(1)'
}
# service_reachable: it answers, retried until $WAIT s
service_reachable() { poll "$WAIT" service_answers; }
service_reachable || fail "expected the service at 10.78.1.2:9999 reachable before isolation"
table_present() { ip netns exec "$H" nft list table inet senseon_isolation >/dev/null 2>&1; }

CONF=$T/etc/senseond.conf
sensor_config "process_source: false" "exec_source: false" "file_source: false" \
	"event_log: false" "isolation_netns: /run/netns/$H"
platform_conf >> "$CONF"
ip netns exec "$H" timeout -s KILL "$SENSOR_TIMEOUT" "$SENSEOND" -f -c "$CONF" \
	> "$T/stdout.jsonl" 2>> "$T/senseond.err" &
SENSOR_PID=$!
sensor_ready

cat > "$T/a1.jsonl" <<'JSON'
{"type":"session.start","session":"s1","analyst":"erin@example.com"}
{"type":"command","id":"st-0","session":"s1","cmd":"isolation.status"}
{"type":"command","id":"iso-1","session":"s1","cmd":"isolate","_after":"st-0"}
{"type":"command","id":"st-1","session":"s1","cmd":"isolation.status","_after":"iso-1"}
JSON
platform_up --actions "$T/a1.jsonl"
received "e['type'] == 'hello' and e['isolation'].get('isolated') is False and 'isolation.status' in e['capabilities']" >/dev/null ||
	fail "expected a hello reporting isolated: false; received: $(head -c 600 "$REC/received.jsonl")"
received "e['type'] == 'result' and e['id'] == 'st-0' and e['ok'] and e['result']['isolated'] is False" >/dev/null ||
	fail "expected isolation.status st-0 to say not isolated"
received "e['type'] == 'result' and e['id'] == 'iso-1' and e['ok']" >/dev/null ||
	fail "expected the isolate command's result through the isolated channel; received: $(tail -3 "$REC/received.jsonl")"
received "e['type'] == 'result' and e['id'] == 'st-1' and e['ok'] and e['result']['isolated'] is True and e['result']['table_present']" >/dev/null ||
	fail "expected isolation.status st-1 to say isolated with our table present; saw: $(grep st-1 "$REC/received.jsonl")"
table_present || fail "expected table inet senseon_isolation in $H after the platform's isolate"
! service_answers || fail "expected 10.78.1.2:9999 blocked while isolated, it answered"
audited "e['type'] == 'platform.command' and e['id'] == 'iso-1' and e['analyst'] == 'erin@example.com'" >/dev/null ||
	fail "expected the platform's isolate audited with the analyst"
audited "e['type'] == 'isolation.change' and e['action'] == 'isolate' and 'erin@example.com' in json.dumps(e)" >/dev/null ||
	fail "expected an isolation.change record naming erin@example.com"

# the platform restarts: the isolated sensor reconnects, says it is isolated
platform_down
cat > "$T/a2.jsonl" <<'JSON'
{"type":"session.start","session":"s2","analyst":"erin@example.com"}
{"type":"command","id":"uniso-1","session":"s2","cmd":"unisolate"}
{"type":"command","id":"st-2","session":"s2","cmd":"isolation.status","_after":"uniso-1"}
JSON
platform_up --actions "$T/a2.jsonl"
received "e['_conn'] == 1 and e['type'] == 'hello' and e['isolation'].get('isolated') is True" >/dev/null ||
	fail "expected the isolated sensor to reconnect to the restarted platform with isolated: true in hello"
received "e['type'] == 'result' and e['id'] == 'uniso-1' and e['ok']" >/dev/null ||
	fail "expected unisolate's result; received: $(tail -3 "$REC/received.jsonl")"
received "e['type'] == 'result' and e['id'] == 'st-2' and e['ok'] and e['result']['isolated'] is False" >/dev/null ||
	fail "expected isolation.status st-2 to say not isolated after unisolate"
! table_present || fail "expected our table gone after the platform's unisolate"
service_reachable || fail "expected 10.78.1.2:9999 reachable again after unisolate"
kill -0 "$DAEMON_PID" || fail "senseond died"
echo "PASS: platform_isolate"
