#!/bin/bash
# A sha256 blocklist cannot be dodged through the hash cache.  The attack,
# as an unprivileged user (nobody) who owns the binary: run a harmless
# binary once (the sensor hashes and caches it), rewrite it in place with
# the blocklisted bytes of the same size, set its mtime back with
# utimensat (touch -d), run it again.  Keyed on size and mtime alone, the
# cache returned the harmless digest and the blocklist never fired.  The
# key now holds ctime, which the owner cannot set: the second run alerts.
. "$top_srcdir/t/integration/lib.sh"

command -v setpriv > /dev/null || skip "needs setpriv (util-linux)"
W="$T/nobody"
mkdir -p "$W" && chown 65534:65534 "$W"
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
as_nobody() { "${NOBODY[@]}" "$@"; }
# two runnable binaries of the same size: sleep with one trailing byte
{ cat /usr/bin/sleep; printf 'A'; } > "$T/harmless"
{ cat /usr/bin/sleep; printf 'B'; } > "$T/blocked"
chmod 755 "$T/harmless" "$T/blocked"
bad=$(sha256sum "$T/blocked" | cut -d' ' -f1)
cat > "$T/policy.yaml" <<YAML
Blocklisted Binary:
  policy: program
  priority: High
  alertMessage: a blocklisted binary ran
  rules:
    - match sha256 == "$bad"
    - default ignore
YAML
sensor_config "file_source: false" "stdout_events: none"
cp "$T/policy.yaml" "$T/etc/policy.d/blocked.yaml"
sensor_start

# run_tool: run $W/tool as nobody; prints its pid once its exec event is in
run_tool() {
	"${NOBODY[@]}" "$W/tool" 0.5 &	# a simple command: $! is the tool's pid
	local pid=$!
	wait_event "e['type'] == 'exec' and e['process']['pid'] == $pid and e['process']['exe'] == '$W/tool'" 60 > /dev/null ||
		fail "no exec event for $W/tool (pid $pid)"
	wait "$pid" || fail "$W/tool (pid $pid) failed"
	echo "$pid"
}
alerts_for() {	# alerts_for PID: Blocklisted Binary alerts naming PID
	"$PY" "$top_srcdir/t/integration/jsonwait.py" --count "$T/log/alerts.jsonl" \
		"e['name'] == 'Blocklisted Binary' and e['process']['pid'] == $1" 0
}

# the legitimate use: the blocklisted binary itself alerts
as_nobody cp "$T/blocked" "$W/tool"
pid=$(run_tool)
"$PY" "$top_srcdir/t/integration/jsonwait.py" "$T/log/alerts.jsonl" \
	"e['name'] == 'Blocklisted Binary' and e['process']['pid'] == $pid" 60 > /dev/null ||
	fail "expected the blocklisted binary to alert (pid $pid)"

# the attack: a harmless binary, hashed and cached ...
as_nobody sh -c "cat '$T/harmless' > '$W/tool'"
# ... once it is older than the cache's racy window (a file changed within
# a timestamp tick is never cached, so the attack would not even start)
"$PY" -c 'import os, sys, time
t = os.stat(sys.argv[1]).st_ctime
while time.time() - t < 0.2: time.sleep(0.02)' "$W/tool"
mtime=$(stat -c %y "$W/tool")
pid=$(run_tool)
[ "$(alerts_for "$pid")" = 0 ] || fail "the harmless binary alerted"
# ... rewritten in place with the blocked bytes, mtime set back by its owner
as_nobody sh -c "cat '$T/blocked' > '$W/tool' && touch -d '$mtime' '$W/tool'"
[ "$(stat -c %y "$W/tool")" = "$mtime" ] || fail "touch -d did not restore the mtime"
pid=$(run_tool)
"$PY" "$top_srcdir/t/integration/jsonwait.py" "$T/log/alerts.jsonl" \
	"e['name'] == 'Blocklisted Binary' and e['process']['pid'] == $pid" 60 > /dev/null ||
	fail "the blocklisted bytes ran as nobody's rewritten binary (pid $pid) with its mtime set back, and no alert: the hash cache was fooled"
echo "PASS: a same-size rewrite with the mtime set back still alerts"
