# shellcheck shell=bash
# Helpers for the platform channel's integration tests, on top of
# t/integration/lib.sh: a test PKI, the reference platform on a fixed
# loopback port (so it can be restarted), and waits on what it received.
PKI="$T/pki"
# PLATFORM_SAN: more subjectAltName entries for the platform's certificate
# (e.g. IP:10.78.1.2 for a platform in a network namespace)
bash "$top_srcdir/t/platform/mkcerts.sh" "$PKI" "${PLATFORM_SAN:-}" ||
	fail "could not make the test PKI with openssl"
"$PY" -c 'import websockets' 2>/dev/null || skip "needs python3-websockets"
PPORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PHOST=127.0.0.1
PLAT_WRAP=()	# e.g. (ip netns exec NS): where the platform runs
PLAT_PID=
REC="$T/platform"

# platform_up [refplatform args...]: start it with the good server cert
# unless --cert/--key are given; waits until it listens.
platform_up() {
	local certargs=(--cert "$PKI/server.pem" --key "$PKI/server-key.pem")
	case " $* " in *" --cert "*) certargs=() ;; esac
	mkdir -p "$REC"
	: > "$T/platform.out"
	"${PLAT_WRAP[@]+"${PLAT_WRAP[@]}"}" "$PY" "$top_srcdir/t/platform/refplatform.py" \
		--dir "$REC" --host "$PHOST" --port "$PPORT" \
		--ca "$PKI/ca.pem" "${certargs[@]}" "$@" > "$T/platform.out" 2>&1 &
	PLAT_PID=$!
	add_cleanup "kill -KILL $PLAT_PID 2>/dev/null"
	poll "$WAIT" _listening_or_gone ||
		fail "refplatform (pid $PLAT_PID) did not print 'listening' in $WAIT s; its output: $(tail -n 5 "$T/platform.out")"
	grep -q listening "$T/platform.out" || { cat "$T/platform.out" >&2; fail "refplatform exited"; }
}
_listening_or_gone() { grep -q listening "$T/platform.out" || gone "$PLAT_PID"; }

platform_down() {
	[ -n "$PLAT_PID" ] || return 0
	kill -TERM "$PLAT_PID" 2>/dev/null || true
	wait "$PLAT_PID" 2>/dev/null || true
	PLAT_PID=
}

# the sensor's configuration lines for the channel
platform_conf() {
	printf '%s\n' "platform_url: wss://$PHOST:$PPORT/sensor" \
		"platform_ca: $PKI/ca.pem" "platform_cert: $PKI/client.pem" \
		"platform_key: $PKI/client-key.pem"
}

# received PYEXPR [SECONDS]: wait until the platform received a frame e
# (SECONDS: lib.sh's $WAIT unless given)
received() {
	"$PY" "$top_srcdir/t/integration/jsonwait.py" "$REC/received.jsonl" "$1" "${2:-$WAIT}"
}
count_received() {
	"$PY" "$top_srcdir/t/integration/jsonwait.py" --count "$REC/received.jsonl" "$1" 0
}
# outbox FIELD: the daemon's platform.outbox.FIELD from senseonctl status
outbox() {
	"$SENSEONCTL" -c "$T/etc/senseond.conf" --json status 2>/dev/null | "$PY" -c 'import json,sys
print(json.loads(sys.stdin.read())["platform"]["outbox"][sys.argv[1]])' "$1"
}
# run_alertme N: run $T/bin/alertme (a copy of sleep that a test policy
# matches) N times, 100 at a time, and wait for them all: our own
# children only, never the daemon's `timeout`
run_alertme() {
	local i pids=()
	for ((i = 0; i < $1; i++)); do
		"$T/bin/alertme" 0.2 &
		pids+=($!)
		[ ${#pids[@]} = 100 ] && { wait "${pids[@]}"; pids=(); }
	done
	[ ${#pids[@]} = 0 ] || wait "${pids[@]}"
}
# audited PYEXPR [SECONDS]: wait for an audit record (SECONDS: $WAIT)
audited() {
	"$PY" "$top_srcdir/t/integration/jsonwait.py" "$T/log/audit.jsonl" "$1" "${2:-$WAIT}"
}
