#!/bin/bash
# Exec gate, deny: a program matched by a live deny policy fails with EPERM
# in the caller and never runs (the marker it would write is absent); the
# alert says action_type deny, action_result success, once.  A program no
# policy denies runs.  A dry-run deny policy allows the exec and reports
# "Would have taken responseAction: deny".  Only a tmpfs of our own is gated.
. "$top_srcdir/t/integration/lib.sh"
. "$top_srcdir/t/integration/gate_lib.sh"

gate_script bad
gate_script good
gate_script dry
gate_config "exec_gate_deadline_ms: 2000"
gate_policy deny.yaml "Gate Test Deny" "$GATE/bad"
gate_policy dry.yaml "Gate Test Dry Run" "$GATE/dry" true
sensor_start
wait_gate "g.get('active') and g['denyPolicies'] == 1" 5 ||
	fail "expected execGate active with 1 deny policy in status.json, saw: $(gate_status g)"

# --- denied: EPERM in the caller, never ran ---
out=$(timeout 20 "$PY" "$T/storm.py" "$GATE/good" 1 "$GATE/bad" 1) ||
	fail "the exec driver failed or timed out: $out"
[ "$(jfield "$out" "j['bad_eperm']")" = 1 ] ||
	fail "expected exec of $GATE/bad to fail with EPERM, saw: $out"
[ ! -e "$T/ran-bad" ] || fail "expected $GATE/bad never to run; its marker $T/ran-bad exists"
rc=0; "$GATE/bad" 2>/dev/null || rc=$?
[ "$rc" = 126 ] || fail "expected the shell to report 126 (cannot execute) for $GATE/bad, saw $rc"
[ ! -e "$T/ran-bad" ] || fail "expected $GATE/bad never to run from the shell either"
note "denied: EPERM, marker absent"

alert=$("$PY" "$top_srcdir/t/integration/jsonwait.py" "$T/log/alerts.jsonl" \
	"e['name'] == 'Gate Test Deny' and e['process']['exe'] == '$GATE/bad'" 10) ||
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
out=$(timeout 20 "$PY" "$T/storm.py" "$GATE/good" 3) || fail "exec driver: $out"
[ "$(jfield "$out" "j['ok']")" = 3 ] || fail "expected 3 successful execs of $GATE/good, saw: $out"
[ -e "$T/ran-good" ] || fail "expected $GATE/good to run and leave $T/ran-good"
note "allowed: ran"

# --- dry run: allowed, and reported ---
out=$(timeout 20 "$PY" "$T/storm.py" "$GATE/dry" 1) || fail "exec driver: $out"
[ "$(jfield "$out" "j['ok']")" = 1 ] || fail "expected the dry-run program to run, saw: $out"
[ -e "$T/ran-dry" ] || fail "expected $GATE/dry to run in dry run; marker absent"
alert=$("$PY" "$top_srcdir/t/integration/jsonwait.py" "$T/log/alerts.jsonl" \
	"e['name'] == 'Gate Test Dry Run' and any(n.get('message_fields', {}).get('action_type') == 'deny' and n['message_fields']['action_result'] == 'dry run' for n in e['notifications'])" 10) ||
	fail "expected a dry-run alert with a deny notification 'dry run' for $GATE/dry"
grep -q 'Would have taken responseAction: deny' <<<"$alert" ||
	fail "expected 'Would have taken responseAction: deny' in the dry-run alert, saw: $alert"
note "dry run: ran, reported"

# --- one alert per denied exec, counters agree ---
sleep 1.5
n=$("$PY" "$top_srcdir/t/integration/jsonwait.py" --count "$T/log/alerts.jsonl" \
	"e['name'] == 'Gate Test Deny'" 0)
[ "$n" = 2 ] || fail "expected exactly 2 'Gate Test Deny' alerts (two denied execs), saw $n"
[ "$(gate_status "g['denied']")" = 2 ] || fail "expected execGate.denied == 2, saw $(gate_status g)"
[ "$(gate_status "g['deadlineAnswers']")" = 0 ] ||
	fail "expected no deadline answers with a 2 s deadline, saw $(gate_status g)"
note "counters: $(gate_status g)"

# --- a reload that removes the last deny policy stops the gate ---
rm "$T/etc/policy.d/deny.yaml"
sensor_signal HUP
wait_gate "not g.get('active')" 5 || fail "expected the gate to stop when no live deny policy is left"
out=$(timeout 20 "$PY" "$T/storm.py" "$GATE/bad" 1) || fail "exec driver: $out"
[ "$(jfield "$out" "j['ok']")" = 1 ] || fail "expected $GATE/bad to run once no policy denies it, saw: $out"
note "reload without deny policies: gate stopped, program runs"
