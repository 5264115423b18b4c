#!/bin/bash
# Exec gate, deny: a program matched by a live deny policy fails with EPERM
# in the caller and never runs (the marker it would write is absent); the
# alert says action_type deny, action_result success, once.  A program no
# policy denies runs.  A dry-run deny policy allows the exec and reports
# "Would have taken responseAction: deny".  The same for a file policy on
# fileOperation "exec" (the process is the caller, the file the binary).  A
# deny policy on programArgs is refused with FILE:LINE:COL, by the daemon's
# reload (the running policies stay) and by senseonctl policy check.
# Only a tmpfs of our own is gated.
. "$top_srcdir/t/integration/lib.sh"
. "$top_srcdir/t/integration/gate_lib.sh"

gate_script bad
gate_script good
gate_script dry
gate_script fbad
gate_script fdry
# the deadline (the most the configuration allows) is far beyond any
# decision, however loaded the machine: every answer is the gate's own
gate_config "exec_gate_deadline_ms: 60000"
gate_policy deny.yaml "Gate Test Deny" "$GATE/bad"
gate_policy dry.yaml "Gate Test Dry Run" "$GATE/dry" true
gate_file_policy fdeny.yaml "Gate Test File Deny" "$GATE/fbad"
gate_file_policy fdry.yaml "Gate Test File Dry Run" "$GATE/fdry" true
sensor_start
wait_gate "g.get('active') and g['denyPolicies'] == 2" ||
	fail "expected execGate active with 2 deny policies (program, file) in status.json, saw: $(gate_status g)"

# --- denied: EPERM in the caller, never ran ---
out=$(timeout "$WAIT" "$PY" "$T/storm.py" "$GATE/good" 1 "$GATE/bad" 1) ||
	fail "the exec driver failed or timed out: $out"
[ "$(jfield "$out" "j['bad_eperm']")" = 1 ] ||
	fail "expected exec of $GATE/bad to fail with EPERM, saw: $out"
[ ! -e "$T/ran-bad" ] || fail "expected $GATE/bad never to run; its marker $T/ran-bad exists"
rc=0; "$GATE/bad" 2>/dev/null || rc=$?
[ "$rc" = 126 ] || fail "expected the shell to report 126 (cannot execute) for $GATE/bad, saw $rc"
[ ! -e "$T/ran-bad" ] || fail "expected $GATE/bad never to run from the shell either"
note "denied: EPERM, marker absent"

alert=$("$PY" "$top_srcdir/t/integration/jsonwait.py" "$T/log/alerts.jsonl" \
	"e['name'] == 'Gate Test Deny' and e['process']['exe'] == '$GATE/bad'" "$WAIT") ||
	fail "expected an alert 'Gate Test Deny' for $GATE/bad"
"$PY" - "$alert" <<'PY' || fail "alert fields wrong: $alert"
import json, sys
a = json.loads(sys.argv[1])
deny = [n["message_fields"] for n in a["notifications"]
        if n.get("message_fields", {}).get("action_type") == "deny"]
assert len(deny) == 1, f"expected one deny notification, saw {deny}"
d = deny[0]
assert d["action_result"] == "success", f"expected action_result success, saw {d}"
assert d["action_target_type"] == "process", d
assert "denied before it ran" in d["action_result_details"], d
assert a["alertMessage"] == "Denied by the exec gate test", a["alertMessage"]
assert a["process"]["pid"] > 0
PY

# --- allowed: a program no deny policy matches runs ---
out=$(timeout "$WAIT" "$PY" "$T/storm.py" "$GATE/good" 3) || fail "exec driver: $out"
[ "$(jfield "$out" "j['ok']")" = 3 ] || fail "expected 3 successful execs of $GATE/good, saw: $out"
[ -e "$T/ran-good" ] || fail "expected $GATE/good to run and leave $T/ran-good"
note "allowed: ran"

# --- dry run: allowed, and reported ---
out=$(timeout "$WAIT" "$PY" "$T/storm.py" "$GATE/dry" 1) || fail "exec driver: $out"
[ "$(jfield "$out" "j['ok']")" = 1 ] || fail "expected the dry-run program to run, saw: $out"
[ -e "$T/ran-dry" ] || fail "expected $GATE/dry to run in dry run; marker absent"
alert=$("$PY" "$top_srcdir/t/integration/jsonwait.py" "$T/log/alerts.jsonl" \
	"e['name'] == 'Gate Test Dry Run' and any(n.get('message_fields', {}).get('action_type') == 'deny' and n['message_fields']['action_result'] == 'dry run' for n in e['notifications'])" "$WAIT") ||
	fail "expected a dry-run alert with a deny notification 'dry run' for $GATE/dry"
grep -q 'Would have taken responseAction: deny' <<<"$alert" ||
	fail "expected 'Would have taken responseAction: deny' in the dry-run alert, saw: $alert"
note "dry run: ran, reported"

# --- a file policy on fileOperation "exec": denied, never ran ---
out=$(timeout "$WAIT" "$PY" "$T/storm.py" "$GATE/good" 1 "$GATE/fbad" 1) ||
	fail "the exec driver failed or timed out: $out"
[ "$(jfield "$out" "j['bad_eperm']")" = 1 ] ||
	fail "expected exec of $GATE/fbad (file policy) to fail with EPERM, saw: $out"
[ ! -e "$T/ran-fbad" ] || fail "expected $GATE/fbad never to run; its marker $T/ran-fbad exists"
alert=$("$PY" "$top_srcdir/t/integration/jsonwait.py" "$T/log/alerts.jsonl" \
	"e['name'] == 'Gate Test File Deny'" "$WAIT") ||
	fail "expected an alert 'Gate Test File Deny' for $GATE/fbad"
"$PY" - "$alert" "$GATE/fbad" <<'PY' || fail "file policy alert fields wrong: $alert"
import json, sys
a, path = json.loads(sys.argv[1]), sys.argv[2]
assert a["policyType"] == "file", a["policyType"]
assert a["file"]["path"] == path, f"expected file.path {path}, saw {a.get('file')}"
# the process is the caller (the exec driver), not the binary it ran
assert a["process"]["pid"] > 0 and a["process"].get("exe") != path, a["process"]
deny = [n["message_fields"] for n in a["notifications"]
        if n.get("message_fields", {}).get("action_type") == "deny"]
assert len(deny) == 1 and deny[0]["action_result"] == "success", deny
assert deny[0]["action_result_details"] == f"exec of {path} denied before it ran", deny
PY
note "file policy: EPERM, marker absent, alert on the caller with the binary as file"

out=$(timeout "$WAIT" "$PY" "$T/storm.py" "$GATE/fdry" 1) || fail "exec driver: $out"
[ "$(jfield "$out" "j['ok']")" = 1 ] || fail "expected the file dry-run program to run, saw: $out"
[ -e "$T/ran-fdry" ] || fail "expected $GATE/fdry to run in dry run; marker absent"
alert=$("$PY" "$top_srcdir/t/integration/jsonwait.py" "$T/log/alerts.jsonl" \
	"e['name'] == 'Gate Test File Dry Run' and e['file']['path'] == '$GATE/fdry' and any(n.get('message_fields', {}).get('action_type') == 'deny' and n['message_fields']['action_result'] == 'dry run' for n in e['notifications'])" "$WAIT") ||
	fail "expected a dry-run alert 'Gate Test File Dry Run'' for $GATE/fdry with a deny notification 'dry run'"
grep -q 'Would have taken responseAction: deny' <<<"$alert" ||
	fail "expected 'Would have taken responseAction: deny' in the file dry-run alert, saw: $alert"
note "file policy dry run: ran, reported"

# --- one alert per denied exec, counters agree ---
# First the moment after which no alert of those denials can still come:
# the gate thread queues a denial's report before it reads the next exec,
# so once an exec of $GATE/good (allowed) has returned, every report is
# queued, and the exec event of that run comes after them through the
# queue to the main loop, which writes alerts and events alike.
"$GATE/good" &
last=$!
wait "$last" || fail "$GATE/good (pid $last) failed"
wait_event "e['type'] == 'exec' and e['pid'] == $last" >/dev/null ||
	fail "expected the exec event of $GATE/good (pid $last), the mark after the denials"
n=$("$PY" "$top_srcdir/t/integration/jsonwait.py" --count "$T/log/alerts.jsonl" \
	"e['name'] == 'Gate Test Deny'" 0)
[ "$n" = 2 ] || fail "expected exactly 2 'Gate Test Deny' alerts (two denied execs), saw $n"
n=$("$PY" "$top_srcdir/t/integration/jsonwait.py" --count "$T/log/alerts.jsonl" \
	"e['name'] == 'Gate Test File Deny'" 0)
[ "$n" = 1 ] || fail "expected exactly 1 'Gate Test File Deny' alert, saw $n"
# status.json is rewritten every second: until it has counted the denials
wait_gate "g['denied'] >= 3" || fail "expected execGate.denied to reach 3, saw $(gate_status g)"
g=$(gate_status "json.dumps(g)")
[ "$(jfield "$g" "j['denied']")" = 3 ] || fail "expected execGate.denied == 3, saw $g"
[ "$(jfield "$g" "j['deadlineAnswers']")" = 0 ] ||
	fail "expected no deadline answers (every exec answered by the gate's decision), saw $g"
note "counters: $g"

# --- a deny policy on programArgs is refused, at the field ---
cat > "$T/etc/policy.d/args.yaml" <<'YAML'
Gate Test Args:
  policy: program
  responseActions: [deny]
  rules:
    - match programName == "/bin/true" and programArgs like "*x*"
    - default ignore
YAML
want="args.yaml:5:44: programArgs cannot be used in a policy with the deny action"
if [ -x "${SENSEONCTL:-}" ]; then
	rc=0; "$SENSEONCTL" policy check "$T/etc/policy.d/args.yaml" > "$T/check.out" 2>&1 || rc=$?
	[ "$rc" != 0 ] || fail "expected senseonctl policy check to refuse args.yaml, it passed"
	grep -qF "$want" "$T/check.out" ||
		fail "expected senseonctl policy check to say '$want', saw: $(cat "$T/check.out")"
fi
sensor_signal HUP
wait_has "$T/senseond.err" "$want" ||
	fail "expected the reload to be refused with '$want' in the log, saw: $(tail -5 "$T/senseond.err")"
rm "$T/etc/policy.d/args.yaml"
out=$(timeout "$WAIT" "$PY" "$T/storm.py" "$GATE/good" 1 "$GATE/bad" 1) || fail "exec driver: $out"
[ "$(jfield "$out" "j['bad_eperm']")" = 1 ] ||
	fail "expected the running policies to stay after the refused reload ($GATE/bad denied), saw: $out"
note "deny on programArgs: refused at $want; running policies kept"

# --- a reload that removes the last deny policy stops the gate ---
rm "$T/etc/policy.d/deny.yaml" "$T/etc/policy.d/fdeny.yaml"
sensor_signal HUP
wait_gate "not g.get('active')" ||
	fail "expected the gate to stop when no live deny policy is left, status.json says: $(gate_status g)"
out=$(timeout "$WAIT" "$PY" "$T/storm.py" "$GATE/bad" 1) || fail "exec driver: $out"
[ "$(jfield "$out" "j['ok']")" = 1 ] || fail "expected $GATE/bad to run once no policy denies it, saw: $out"
note "reload without deny policies: gate stopped, program runs"
