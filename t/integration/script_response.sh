#!/bin/bash
# script_response: a policy's `script: NAME [args]` response action.
#  - a copy of /bin/true run under a test name matches a policy whose
#    action is `script: mark.py MARKER`; the script (scripts_dir/mark.py)
#    writes the alert's uuid, read from senseon.alert_context() and from
#    stdin, to the marker file: both must equal the alert's uuid
#  - the alert's script notification says "success" / "script started:
#    run id N", and the audit log has that run's start (origin policy:...)
#    and end with exit 0
#  - in dry run the notification is "Would have taken responseAction:
#    script" and no script runs
#  - a missing script fails the action at once
#  - senseon.alert() from two concurrent `senseonctl run` scripts (50
#    alerts each, while the policy above keeps matching): every alert
#    reaches alerts.jsonl exactly once, whole, with the uuid the call
#    returned and its fields (the main loop writes them, not the script
#    threads)
. "${top_srcdir:-$(dirname "$0")/../..}/t/integration/lib.sh"

PYRUNNER="$top_builddir/senseon-pyrunner"
[ -x "$PYRUNNER" ] || skip "senseon-pyrunner not built"
[ -x "$SENSEOND" ] || skip "senseond not built"

alerts() { echo "$T/log/alerts.jsonl"; }
wait_alert() { "$PY" "$top_srcdir/t/integration/jsonwait.py" "$(alerts)" "$1" "${2:-$WAIT}"; }
W="$T/work"
mkdir -p "$W/bin"
cp /bin/true "$W/bin/resp-test"
cp /bin/true "$W/bin/resp-dry"
cp /bin/true "$W/bin/resp-missing"

sensor_config "pyrunner_path: $PYRUNNER" "exec_source: true" "file_source: false" \
	"stdout_events: none" "event_log: false"
cat > "$T/scripts/mark.py" <<'PY'
import json, os, sys
import senseon
ctx = senseon.alert_context()
piped = json.load(sys.stdin)
tmp = sys.argv[1] + ".tmp"
with open(tmp, "w") as f:
    f.write("%s %s %s\n" % (ctx["uuid"], piped["uuid"], ctx["name"]))
os.rename(tmp, sys.argv[1])
print("marked", ctx["uuid"])
PY
cat > "$T/etc/policy.d/script.yaml" <<YAML
Script Response Test:
  policy: program
  priority: High
  alertMessage: resp-test ran
  responseActions:
    - script: mark.py $W/marker
  rules:
    - match programName == "$W/bin/resp-test"
    - default ignore
Script Response Dry:
  policy: program
  priority: Low
  alertMessage: resp-dry ran
  dryRun: true
  responseActions:
    - script: mark.py $W/dry-marker
  rules:
    - match programName == "$W/bin/resp-dry"
    - default ignore
Script Response Missing:
  policy: program
  priority: Low
  alertMessage: resp-missing ran
  responseActions:
    - script: no-such-script.py
  rules:
    - match programName == "$W/bin/resp-missing"
    - default ignore
YAML
sensor_start

# --- live: the script runs with the alert ---
"$W/bin/resp-test"
alert=$(wait_alert 'e["name"] == "Script Response Test"') ||
	fail "no alert for resp-test in $WAIT s"
uuid=$(printf '%s' "$alert" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["uuid"])')
note=$(printf '%s' "$alert" | "$PY" -c 'import json,sys
e = json.load(sys.stdin)
m = [n["message_fields"] for n in e["notifications"] if n.get("type") == "response"][0]
print(m["action_type"], "|", m["action_result"], "|", m["action_result_details"])')
case "$note" in
"script | success | script started: run id "[0-9]*) ;;
*) fail "script notification: expected 'script | success | script started: run id N', saw '$note'" ;;
esac
run_id=${note##* }
poll "$WAIT" test -s "$W/marker" ||
	fail "the response script wrote no marker in $WAIT s (log: $(grep -i script "$T/senseond.err" | tail -n 5))"
read -r got_ctx got_stdin got_name < "$W/marker"
[ "$got_ctx" = "$uuid" ] || fail "alert_context() uuid: expected $uuid, saw $got_ctx"
[ "$got_stdin" = "$uuid" ] || fail "stdin alert uuid: expected $uuid, saw $got_stdin"
[ "$got_name" = "Script Response Test" ] || fail "alert_context() name: expected 'Script Response Test', saw '$got_name'"

# The run's end is audited (and logged) after the script exits.
audit_end() {
	"$PY" - "$T/log/audit.jsonl" "$run_id" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("type") == "script.end" and r.get("run") == int(sys.argv[2]):
        print(r.get("origin"), r.get("exit"))
PY
}
has_end() { [ -n "$(audit_end)" ]; }
poll "$WAIT" has_end
[ "$(audit_end)" = "policy:Script Response Test 0" ] ||
	fail "audit script.end of run $run_id: expected 'policy:Script Response Test 0', saw '$(audit_end)'"
logged_output() { grep -q "run $run_id.*stdout: marked $uuid" "$T/senseond.err"; }
poll "$WAIT" logged_output ||
	fail "the script's output is not in the daemon log: $(grep -i 'script' "$T/senseond.err" | tail -n 5)"

# --- dry run: described, not run ---
"$W/bin/resp-dry"
alert=$(wait_alert 'e["name"] == "Script Response Dry"') || fail "no alert for resp-dry in $WAIT s"
printf '%s' "$alert" | "$PY" -c 'import json,sys
e = json.load(sys.stdin)
msgs = [n.get("message") for n in e["notifications"]]
res = [n["message_fields"]["action_result"] for n in e["notifications"] if n.get("type") == "response"]
assert "Would have taken responseAction: script" in msgs, msgs
assert res == ["dry run"], res' || fail "dry run notification: saw $alert"
# the alert is written after the response step, whose result it holds:
# "dry run" says that step is over and started no script
[ ! -e "$W/dry-marker" ] || fail "dry run: the script ran (it wrote $W/dry-marker)"

# --- a missing script fails the action ---
"$W/bin/resp-missing"
alert=$(wait_alert 'e["name"] == "Script Response Missing"') || fail "no alert for resp-missing in $WAIT s"
printf '%s' "$alert" | "$PY" -c 'import json,sys
e = json.load(sys.stdin)
m = [n["message_fields"] for n in e["notifications"] if n.get("type") == "response"][0]
assert m["action_result"] == "failed", m
assert "no such script" in m["action_result_details"], m' ||
	fail "missing script: expected a failed notification naming it, saw $alert"

# --- senseon.alert(): written by the main loop, one whole line each ---
cat > "$W/raise.py" <<'PY'
import sys, senseon
for i in range(50):
    print(senseon.alert("Script Alert Test", "alert %d" % i, priority="Low",
                        run=sys.argv[1], i=i))
PY
ctl() { "$SENSEONCTL" -c "$T/etc/senseond.conf" "$@"; }
ctl run "$W/raise.py" a > "$W/uuids.a" 2> "$W/err.a" & ra=$!
ctl run "$W/raise.py" b > "$W/uuids.b" 2> "$W/err.b" & rb=$!
for _ in 1 2 3 4 5; do "$W/bin/resp-missing"; done
wait "$ra" || fail "raise.py a: exit $? ($(cat "$W/err.a"))"
wait "$rb" || fail "raise.py b: exit $? ($(cat "$W/err.b"))"
# senseon.alert() returns once its alert is queued; an exec after both
# runs ended is queued after all of them, so once its alert is written
# every script alert has been written (one main loop, in queue order)
"$W/bin/resp-missing" &
last=$!
wait "$last"
wait_alert "e['name'] == 'Script Response Missing' and e['process']['pid'] == $last" >/dev/null ||
	fail "no alert for resp-missing pid $last, the mark after the script alerts"
"$PY" - "$(alerts)" "$W/uuids.a" "$W/uuids.b" <<'PY' || fail "script alerts: see above"
import json, sys
want = {}
for run, f in (("a", sys.argv[2]), ("b", sys.argv[3])):
    for i, u in enumerate(open(f).read().split()):
        want[u] = (run, i)
assert len(want) == 100, "expected 100 distinct uuids from senseon.alert(), got %d" % len(want)
seen = {}
for n, line in enumerate(open(sys.argv[1]), 1):
    try:
        e = json.loads(line)
    except ValueError:
        sys.exit("alerts.jsonl line %d is not whole JSON: %r" % (n, line[:200]))
    if e.get("name") == "Script Alert Test":
        seen[e["uuid"]] = seen.get(e["uuid"], 0) + 1
        run, i = want.get(e["uuid"], (None, None))
        f = e.get("fields") or {}
        if (f.get("run"), f.get("i")) != (run, i) or e["policyType"] != "script":
            sys.exit("alert %s: expected fields run=%s i=%s, saw %r" % (e["uuid"], run, i, e))
missing = set(want) - set(seen)
dup = [u for u, c in seen.items() if c != 1]
if missing or dup:
    sys.exit("script alerts: %d of 100 missing, %d written more than once" % (len(missing), len(dup)))
PY

kill -0 "$DAEMON_PID" || fail "senseond is gone"
echo "PASS: script_response"
