#!/bin/bash
# audit_daemon: the daemon's audit trail, end to end.
#  - senseond records sensor.start; a kill policy on a test binary kills it
#    and LOG_DIR/audit.jsonl holds the response.action record (pid, result)
#  - SIGHUP records config.reload and policy.reload; a logrotate-style
#    rename + SIGHUP continues the chain in a new file (audit.rotated)
#  - `senseonctl audit verify` passes over the live files, and
#    `senseonctl audit` prints every record
#  - on copies: an edited record, a deleted record and two swapped records
#    each make verify exit 3 naming file:line and seq
#  - SIGTERM records sensor.stop and the chain still verifies
#  - a torn last line (crash mid-write) makes verify exit 3; the next start
#    recovers it (audit.recovered) and verify passes with a note
. "${top_srcdir:-$(dirname "$0")/../..}/t/integration/lib.sh"

[ -x "$SENSEOND" ] || skip "senseond not built"
[ -x "$SENSEONCTL" ] || skip "senseonctl not built"

W="$T/work"
mkdir -p "$W/bin"
cp /bin/sleep "$W/bin/audit-victim"
AUDIT="$T/log/audit.jsonl"
ctl() { "$SENSEONCTL" -c "$T/etc/senseond.conf" "$@"; }

# wait_audit PYEXPR [FILE] [SECONDS]: first record e of FILE satisfying
# PYEXPR (unlike jsonwait.py, it steps over a torn line: the test makes one)
wait_audit() {
	"$PY" - "${2:-$AUDIT}" "$1" "${3:-$WAIT}" <<'PYEOF'
import json, sys, time
path, expr, secs = sys.argv[1], compile(sys.argv[2], "<expr>", "eval"), float(sys.argv[3])
deadline = time.monotonic() + secs
while True:
    try:
        lines = open(path, "rb").read().split(b"\n")[:-1]
    except FileNotFoundError:
        lines = []
    for raw in lines:
        try:
            e = json.loads(raw)
            if eval(expr, {}, {"e": e}):
                print(json.dumps(e))
                sys.exit(0)
        except (ValueError, KeyError, TypeError):
            pass
    if time.monotonic() > deadline:
        sys.exit("waited %s s for a record of %s matching: %s; saw %d lines, the last: %s"
                 % (sys.argv[3], path, sys.argv[2], len(lines),
                    b" | ".join(lines[-3:]).decode("utf-8", "replace")[:1200]))
    time.sleep(0.1)
PYEOF
}

sensor_config "exec_source: true" "file_source: false"
cat > "$T/etc/policy.d/audit.yaml" <<YAML
Audit Kill Test:
  policy: program
  priority: High
  alertMessage: audit-victim ran
  responseActions:
    - kill
  rules:
    - match programName == "$W/bin/audit-victim"
    - default ignore
YAML
sensor_start

wait_audit "e['type'] == 'sensor.start' and e['pid'] == $DAEMON_PID" >/dev/null ||
	fail "expected a sensor.start record for pid $DAEMON_PID in $AUDIT, saw: $(cat "$AUDIT" 2>/dev/null | head -c 600)"

# the hash of each record also goes to the log (journald/syslog as a service)
h=$(head -n 1 "$AUDIT" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["hash"])')
wait_has "$T/senseond.err" "audit record 1 sensor.start $h" ||
	fail "expected senseond to log \"audit record 1 sensor.start $h\", saw: $(grep 'audit record' "$T/senseond.err" | head -n 3)"

# --- a response action is audited ---
"$W/bin/audit-victim" 30 &
victim=$!
add_cleanup "kill -KILL $victim 2>/dev/null"
rc=0; wait "$victim" || rc=$?
[ "$rc" = 137 ] || fail "expected audit-victim killed by SIGKILL (status 137), saw status $rc"
rec=$(wait_audit "e['type'] == 'response.action' and e.get('pid') == $victim") ||
	fail "expected a response.action record for pid $victim, saw: $(grep -c . "$AUDIT") records, none for it"
echo "$rec" | "$PY" -c '
import json, sys
r = json.loads(sys.stdin.read())
want = {"policy": "Audit Kill Test", "action": "kill", "result": "success"}
bad = {k: r.get(k) for k, v in want.items() if r.get(k) != v}
if bad or not r.get("alert") or not r.get("exe", "").endswith("/audit-victim"):
    sys.exit("expected %s, an alert uuid and exe .../audit-victim; saw %s" % (want, r))
' || fail "response.action record is wrong"

# --- reload and logrotate ---
sensor_signal HUP
wait_audit "e['type'] == 'config.reload' and e['ok']" >/dev/null ||
	fail "expected a config.reload record after SIGHUP"
wait_audit "e['type'] == 'policy.reload' and e['ok'] and e['policies'] == 1" >/dev/null ||
	fail "expected a policy.reload record with 1 policy after SIGHUP"
"$SENSEONCTL" -c "$T/etc/senseond.conf" audit --follow --json > "$T/follow.jsonl" &
follower=$!
add_cleanup "kill -TERM $follower 2>/dev/null"
# the follower starts at the end of the file it opened: rotate only once
# it has the file open
follower_open() {
	local f
	for f in /proc/"$follower"/fd/*; do
		[ "$(readlink "$f" 2>/dev/null)" = "$AUDIT" ] && return 0
	done
	return 1
}
poll "$WAIT" follower_open ||
	fail "expected audit --follow (pid $follower) to open $AUDIT, in $WAIT s it did not; its fds: $(ls -l /proc/"$follower"/fd 2>&1 | tail -n +2 | awk '{print $NF}' | tr '\n' ' ')"
mv "$AUDIT" "$AUDIT.1"
sensor_signal HUP
wait_audit "e['type'] == 'audit.rotated' and e['previousFile'] == 'audit.jsonl.1'" "$AUDIT" >/dev/null ||
	fail "expected the new audit.jsonl to start with audit.rotated from audit.jsonl.1"
wait_audit "e['type'] == 'policy.reload'" "$AUDIT" >/dev/null ||
	fail "expected the second reload recorded in the new file"

# the follower went on across the rotation
wait_audit "e['type'] == 'policy.reload'" "$T/follow.jsonl" >/dev/null ||
	fail "expected audit --follow to print the records of the new file, saw: $(cat "$T/follow.jsonl")"
kill -TERM "$follower"
wait "$follower" || fail "expected audit --follow to exit 0 on SIGTERM"
head -n 1 "$T/follow.jsonl" | grep -q '"type":"audit.rotated"' ||
	fail "expected audit --follow to start with audit.rotated, saw: $(head -n 1 "$T/follow.jsonl")"

out=$(ctl audit verify) || fail "expected audit verify to pass on the live log, exit $?: $out"
echo "$out" | grep -q "^intact: " || fail "expected \"intact: ...\", saw: $out"
note "$out"
n_files=$(cat "$AUDIT.1" "$AUDIT" | grep -c .)
n_json=$(ctl audit --json | grep -c .)
[ "$n_json" = "$n_files" ] || fail "expected audit --json to print $n_files records, saw $n_json"
ctl audit | grep -q " response.action .*policy=Audit Kill Test" ||
	fail "expected the human listing to show the response.action record"

# --- tampering, on copies ---
# tamper_copy NAME PYCODE: copy the log, run PYCODE over `lines` of audit.jsonl.1
tamper_copy() {
	mkdir -p "$T/$1"
	cp "$AUDIT.1" "$AUDIT" "$T/$1/"
	"$PY" - "$T/$1/audit.jsonl.1" "$2" <<'PYEOF'
import sys
path, code = sys.argv[1], sys.argv[2]
lines = open(path, "rb").read().split(b"\n")[:-1]
exec(code)
open(path, "wb").write(b"".join(l + b"\n" for l in lines))
PYEOF
}
# expect_tampered NAME REGEX: verify exits 3 and prints REGEX
expect_tampered() {
	local rc=0 out
	out=$(ctl audit verify "$T/$1/audit.jsonl.1" "$T/$1/audit.jsonl") || rc=$?
	[ "$rc" = 3 ] || fail "$1: expected verify to exit 3, saw $rc: $out"
	echo "$out" | grep -Eq "$2" || fail "$1: expected a line matching '$2', saw: $out"
	note "$1: $(echo "$out" | head -n 1)"
}
line_of_kill=$(grep -n '"type":"response.action"' "$AUDIT.1" | head -n 1 | cut -d: -f1)
seq_of_kill=$(sed -n "${line_of_kill}p" "$AUDIT.1" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["seq"])')

tamper_copy edited 'i = next(n for n, l in enumerate(lines) if b"\"type\":\"response.action\"" in l)
lines[i] = lines[i].replace(b"\"result\":\"success\"", b"\"result\":\"failed\"")'
expect_tampered edited "audit.jsonl.1:$line_of_kill: seq $seq_of_kill: hash mismatch"

tamper_copy deleted 'i = next(n for n, l in enumerate(lines) if b"\"type\":\"response.action\"" in l)
del lines[i]'
expect_tampered deleted "audit.jsonl.1:$line_of_kill: seq $((seq_of_kill + 1)): seq gap $((seq_of_kill - 1)) -> $((seq_of_kill + 1))"

tamper_copy swapped 'lines[1], lines[2] = lines[2], lines[1]'
expect_tampered swapped "audit.jsonl.1:3: seq 2: seq out of order: 2 after 3"

# --- stop ---
sensor_stop || fail "expected senseond to exit 0 on SIGTERM"
wait_audit "e['type'] == 'sensor.stop'" "$AUDIT" >/dev/null || fail "expected a sensor.stop record"
out=$(ctl audit verify) || fail "expected audit verify to pass after stop, exit $?: $out"

# --- a crash mid-write: torn last line, reported, then recovered at start ---
torn='{"seq":99,"time":"2026-01-01T00:0'
printf '%s' "$torn" >> "$AUDIT"
torn_line=$(wc -l < "$AUDIT"); torn_line=$((torn_line + 1))
rc=0; out=$(ctl audit verify) || rc=$?
[ "$rc" = 3 ] || fail "expected verify to exit 3 on a torn last line, saw $rc: $out"
echo "$out" | grep -q "audit.jsonl:$torn_line: torn last line" ||
	fail "expected \"audit.jsonl:$torn_line: torn last line\", saw: $out"
rm -f "$T/run/status.json"
sensor_start
wait_audit "e['type'] == 'audit.recovered' and e['tornBytes'] == ${#torn}" >/dev/null ||
	fail "expected an audit.recovered record for the ${#torn} torn bytes"
wait_audit "e['type'] == 'sensor.start' and e['pid'] == $DAEMON_PID" >/dev/null ||
	fail "expected the second sensor.start after the recovery"
out=$(ctl audit verify --json) || fail "expected verify to pass after recovery, exit $?: $out"
echo "$out" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
notes = [i for i in r["issues"] if i["severity"] == "note" and "recovered by seq" in i["what"]]
if not r["intact"] or len(notes) != 1 or notes[0]["line"] != int(sys.argv[1]):
    sys.exit("expected intact with one \"recovered\" note at line %s, saw %s" % (sys.argv[1], r))
' "$torn_line" || fail "verify --json after recovery"
sensor_stop || fail "expected the second senseond to exit 0 on SIGTERM"
echo "PASS: audit_daemon"
