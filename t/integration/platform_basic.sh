#!/bin/bash
# Platform channel, end to end with the reference platform over loopback
# mTLS: hello; an analyst session kills a process through the dispatcher
# (audited with the analyst's name); the same command id resent by a
# restarted platform is not run again (the stored result comes back);
# a malformed frame gets an error, the connection is reset and the daemon
# lives; Active Response off refuses commands (audited); a server from
# another CA, an expired server certificate and a wrong pin are refused
# and audited as platform.tls_refused.
. "$top_srcdir/t/integration/lib.sh"
. "$top_srcdir/t/platform/lib.sh"

sleep 300 &
VICTIM=$!
add_cleanup "kill -KILL $VICTIM 2>/dev/null"
cat > "$T/actions.jsonl" <<JSON
{"type":"session.start","session":"s1","analyst":"alice@example.com"}
{"type":"command","id":"kill-1","session":"s1","cmd":"process.kill","pid":$VICTIM,"signal":"KILL"}
JSON

sensor_config "file_source: false" "exec_source: false" "process_source: false"
platform_conf >> "$T/etc/senseond.conf"
platform_up --actions "$T/actions.jsonl"
sensor_start

out=$(received "e['type'] == 'hello' and e['protocol'] == 1 and 'process.kill' in e['capabilities']") ||
	fail "expected a hello with protocol 1 and process.kill among the capabilities"
received "e['type'] == 'result' and e['id'] == 'kill-1' and e['ok'] and 'oid' in e" >/dev/null ||
	fail "expected an ok result for kill-1; received: $(tail -3 "$REC/received.jsonl")"
wait_gone "$VICTIM" || fail "expected PID $VICTIM killed by the platform's command, $WAIT s later it lives"
audited "e['type'] == 'process.kill' and e['pid'] == $VICTIM and e['peer']['analyst'] == 'alice@example.com' and e['peer']['via'] == 'platform'" >/dev/null ||
	fail "expected a process.kill audit record naming alice@example.com"

# a restarted platform queued the same action again: not run twice
platform_down
platform_up --actions "$T/actions.jsonl"
received "e['_conn'] == 1 and e['type'] == 'result' and e['id'] == 'kill-1' and e['result'].get('repeat')" >/dev/null ||
	fail "expected the stored result with repeat: true after the platform resent kill-1"
n=$("$PY" "$top_srcdir/t/integration/jsonwait.py" --count "$T/log/audit.jsonl" "e['type'] == 'process.kill'" 0)
[ "$n" = 1 ] || fail "expected kill-1 executed once (1 process.kill record), saw $n"

# malformed frame: an error back, the connection reset, the daemon alive
platform_down
platform_up --malformed 'this is not json'
received "e['_conn'] == 1 and e['type'] == 'error' and 'malformed' in e['error']" >/dev/null ||
	fail "expected an error frame about the malformed frame"
received "e['_conn'] == 2 and e['type'] == 'hello'" >/dev/null ||
	fail "expected the sensor to reconnect after the reset"
kill -0 "$DAEMON_PID" || fail "senseond died on a malformed frame"

# bad server certificates: refused before anything is sent, and audited
# (a fresh daemon each time: its backoff starts again at 1 s)
for bad in other-server:"unable to get local issuer" expired-server:"expired"; do
	why=${bad#*:} bad=${bad%%:*}
	sensor_stop
	platform_down
	rm -f "$REC/received.jsonl"
	platform_up --cert "$PKI/$bad.pem" --key "$PKI/$bad-key.pem"
	sensor_start
	audited "e['type'] == 'platform.tls_refused' and '$why' in e['reason']" >/dev/null ||
		fail "expected platform.tls_refused naming '$why' for a server with $bad.pem"
	# the refusal is audited when the handshake failed, before any byte
	# could be sent: nothing reached the platform
	[ ! -s "$REC/received.jsonl" ] || fail "expected nothing sent to a server with $bad.pem, saw: $(head -c 300 "$REC/received.jsonl")"
done
sensor_stop

# a wrong pin; and Active Response off (restart with a new configuration)
pinned_config() {	# pinned_config PIN
	rm -f "$T/etc/senseond.conf"
	sensor_config "file_source: false" "exec_source: false" "process_source: false" \
		"active_response: false" "platform_pins:" "  - \"$1\""
	platform_conf >> "$T/etc/senseond.conf"
}
platform_down
rm -f "$REC/received.jsonl"
pinned_config "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
platform_up
sensor_start
audited "e['type'] == 'platform.tls_refused' and 'pin' in e['reason']" >/dev/null ||
	fail "expected platform.tls_refused for a key that matches no pin"
sensor_stop
platform_down
pinned_config "$(cat "$PKI/server.pin")"
cat > "$T/actions2.jsonl" <<JSON
{"type":"session.start","session":"s2","analyst":"bob@example.com"}
{"type":"command","id":"kill-2","session":"s2","cmd":"process.kill","pid":1,"signal":"TERM"}
JSON
platform_up --actions "$T/actions2.jsonl"
sensor_start
received "e['type'] == 'result' and e['id'] == 'kill-2' and not e['ok'] and e['result'].get('refused') and 'active response is disabled' in e['error']" >/dev/null ||
	fail "expected kill-2 refused because active response is off (with the right pin); received: $(tail -3 "$REC/received.jsonl")"
audited "e['type'] == 'platform.command.refused' and e['id'] == 'kill-2' and e['analyst'] == 'bob@example.com'" >/dev/null ||
	fail "expected the refusal audited with the analyst"
echo "PASS: platform_basic"
