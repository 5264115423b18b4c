#!/bin/bash
# The Sophos Linux Sensor documentation's wget policy, loaded unchanged from
# policy/examples/wget-blocklist.yaml: dry run reports "Would have taken
# responseAction: kill" and leaves wget running; with dryRun: false the same
# policy kills it.  wget talks only to a loopback listener the test starts,
# which accepts and never answers, so wget stays alive until acted on.
. "$top_srcdir/t/integration/lib.sh"

WGET=/usr/bin/wget
POLICY="$top_srcdir/policy/examples/wget-blocklist.yaml"
sensor_config "file_source: false"
if [ -x "$WGET" ]; then
	cp "$POLICY" "$T/etc/policy.d/wget.yaml"
else
	# no wget on this host: a harmless stand-in named wget in our own dir
	mkdir -p "$T/bin" && cp /usr/bin/sleep "$T/bin/wget"
	WGET="$T/bin/wget"
	sed "s|/usr/bin/wget|$WGET|" "$POLICY" > "$T/etc/policy.d/wget.yaml"
	note "wget is not installed: using a copy of sleep at $WGET"
fi

# A listener that accepts and stays silent.
"$PY" -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' > "$T/port" &
LISTENER=$!
add_cleanup "kill -KILL $LISTENER 2>/dev/null"
poll "$WAIT" test -s "$T/port" || fail "the loopback listener did not print its port in $WAIT s"
PORT=$(cat "$T/port")

# run_wget TAG: start wget as a child of this shell (so `wait` sees its
# status) and put its pid in $pid; it lives far longer than the test
# needs it (the test kills it), however slow the machine
run_wget() {
	if [ "$WGET" = /usr/bin/wget ]; then
		"$WGET" -q -t 1 -T 600 -O /dev/null "http://127.0.0.1:$PORT/$1" &
	else
		"$WGET" 600 &
	fi
	pid=$!
	add_cleanup "kill -KILL $pid 2>/dev/null"
}

alert_for() {	# alert_for PID RESULT
	"$PY" "$top_srcdir/t/integration/jsonwait.py" "$T/log/alerts.jsonl" \
		"e['name'] == 'Enforced Wget Blocklist' and e['process']['pid'] == $1 and e['process']['exe'] == '$WGET' and any(n.get('message_fields', {}).get('action_type') == 'kill' and n['message_fields']['action_result'] == '$2' for n in e['notifications'])" "$WAIT"
}

# --- dry run, as shipped ---
sensor_start
run_wget dry
out=$(alert_for "$pid" "dry run") || fail "expected a dry-run alert for wget pid $pid"
grep -q 'Would have taken responseAction: kill' <<<"$out" ||
	fail "expected 'Would have taken responseAction: kill' in the alert, saw: $out"
grep -q '"alertMessage": "Unauthorized execution of wget"' <<<"$out" ||
	fail "expected the policy's alertMessage in the alert, saw: $out"
# the alert is written after the response step, whose result it holds:
# "dry run" says that step is over and sent no signal
kill -0 "$pid" 2>/dev/null || fail "dry run must leave wget $pid running; it is gone"
kill -KILL "$pid"; wait "$pid" 2>/dev/null
note "dry run: alert raised, wget left running"

# --- live: the same policy with dryRun: false, applied with SIGHUP ---
sed -i 's/dryRun: true/dryRun: false/' "$T/etc/policy.d/wget.yaml"
sensor_signal HUP
wait_has "$T/senseond.err" 'policies reloaded' ||
	fail "expected the daemon to log 'policies reloaded' on SIGHUP, its log: $(tail -n 3 "$T/senseond.err")"
run_wget live
rc=0; wait "$pid" || rc=$?
[ "$rc" = 137 ] || fail "expected wget $pid killed by SIGKILL (status 137), saw status $rc"
alert_for "$pid" success >/dev/null || fail "expected an alert with action_result success for wget pid $pid"
note "live: wget killed, alert says success"

# --- a bad edit on reload keeps the running policy ---
printf 'Broken:\n  policy: program\n  rules:\n    - match programName === "x"\n' > "$T/etc/policy.d/zz-broken.yaml"
sensor_signal HUP
wait_has "$T/senseond.err" 'policies not reloaded'
grep -q "policies not reloaded.*zz-broken.yaml:4:" "$T/senseond.err" ||
	fail "expected 'policies not reloaded' naming zz-broken.yaml:4:COL; saw: $(tail -3 "$T/senseond.err")"
run_wget after-bad-reload
rc=0; wait "$pid" || rc=$?
[ "$rc" = 137 ] || fail "expected the running policy to still kill wget after a bad reload, saw status $rc"
note "bad reload: reported with file:line, running policy kept"
