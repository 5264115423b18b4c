#!/bin/bash
# Platform channel trust: only platform_ca (and the pins) is trusted.
#  - a platform whose certificate comes from a CA that is in the daemon's
#    default OpenSSL store (SSL_CERT_FILE / SSL_CERT_DIR, as a corporate
#    TLS-inspection CA or a public CA would be) is refused, and the
#    script it queued never runs;
#  - a certificate from platform_ca but for another host name is refused;
#  - the real platform, in the same environment, is accepted and its
#    script runs.
. "$top_srcdir/t/integration/lib.sh"
. "$top_srcdir/t/platform/lib.sh"

PYRUNNER="$top_builddir/senseon-pyrunner"
[ -x "$PYRUNNER" ] || skip "senseon-pyrunner not built"
W="$T/work"
mkdir -p "$W/certdir"
# the attacker's CA as the whole default store of the daemon's process
cp "$PKI/other-ca.pem" "$W/certdir/"
openssl rehash "$W/certdir" 2>/dev/null || c_rehash "$W/certdir" >/dev/null 2>&1 || true
"$PY" - "$W" > "$T/actions.jsonl" <<'PY'
import json, sys
w = sys.argv[1]
print(json.dumps({"type": "session.start", "session": "s1", "analyst": "mallory@example.com"}))
print(json.dumps({"type": "command", "id": "run-root", "session": "s1", "cmd": "script.run",
                  "name": "own.py", "timeout": 20,
                  "code": f"open('{w}/owned', 'w').write('root was here')\n"}))
PY

sensor_config "pyrunner_path: $PYRUNNER" "file_source: false" "exec_source: false" \
	"process_source: false"
platform_conf >> "$T/etc/senseond.conf"
export SSL_CERT_FILE="$PKI/other-ca.pem" SSL_CERT_DIR="$W/certdir"

for bad in other-server:"unable to get local issuer" wrongname-server:"mismatch"; do
	why=${bad#*:} bad=${bad%%:*}
	rm -f "$REC/received.jsonl" "$W/owned"
	platform_up --actions "$T/actions.jsonl" --cert "$PKI/$bad.pem" --key "$PKI/$bad-key.pem"
	sensor_start
	audited "e['type'] == 'platform.tls_refused' and '$why' in e['reason']" >/dev/null ||
		fail "expected platform.tls_refused naming '$why' for a server with $bad.pem; audit: $(grep tls_refused "$T/log/audit.jsonl" | tail -2)"
	# the refusal is audited before any byte is sent: nothing reached it
	[ ! -s "$REC/received.jsonl" ] ||
		fail "expected nothing sent to a server with $bad.pem, saw: $(head -c 300 "$REC/received.jsonl")"
	[ ! -e "$W/owned" ] || fail "a platform with $bad.pem ran a script as root"
	sensor_stop
	platform_down
done

# the legitimate platform, same environment: accepted, its script runs
rm -f "$REC/received.jsonl"
platform_up --actions "$T/actions.jsonl"
sensor_start
received "e['type'] == 'result' and e['id'] == 'run-root' and e['ok']" >/dev/null ||
	fail "expected the real platform's script to run; received: $(tail -3 "$REC/received.jsonl" 2>/dev/null)"
[ "$(cat "$W/owned" 2>/dev/null)" = "root was here" ] ||
	fail "expected the real platform's script to write $W/owned"
echo "PASS: only platform_ca is trusted (default store and host name refused), the real platform works"
