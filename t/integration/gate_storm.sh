#!/bin/bash
# Exec gate under load, and its promise never to freeze the host:
#  1. a storm of execs through the gate completes, every one answered once;
#  2. SIGKILL of the daemon mid-storm lets the storm complete (the kernel
#     releases every pending exec when the group fd closes);
#  3. a decision thread stalled for longer than the test runs
#     (SENSEON_GATE_TEST_STALL_MS) freezes nothing: the watchdog answers
#     every exec (ALLOW, or EPERM when fail-closed), each counted as a
#     deadline answer;
#  4. SIGHUP reloads mid-storm neither block execs nor lose decisions:
#     every exec of the denied program fails with EPERM throughout.
# Only a tmpfs this test mounts is gated; daemon and storms run under timeout.
. "$top_srcdir/t/integration/lib.sh"
. "$top_srcdir/t/integration/gate_lib.sh"

N=${GATE_STORM_EXECS:-3000}
cp /usr/bin/true "$GATE/true"
gate_script bad
gate_config "exec_gate_deadline_ms: 60000"
gate_policy deny.yaml "Gate Storm Deny" "$GATE/bad"

# --- 1. a storm completes, every exec answered once ---
sensor_start
out=$(timeout 600 "$PY" "$T/storm.py" "$GATE/true" "$N" "$GATE/bad" 100) ||
	fail "the storm of $N execs did not complete in 600 s: $out"
[ "$(jfield "$out" "j['ok'] + j['bad_eperm']")" = "$N" ] ||
	fail "expected all $N execs to succeed or (every 100th) fail with EPERM, saw: $out"
wait_gate "g['allowed'] + g['denied'] >= $N" ||
	fail "expected execGate allowed+denied == $N, saw $(gate_status g)"
[ "$(gate_status "g['allowed'] + g['denied']")" = "$N" ] ||
	fail "expected exactly $N answers (one per exec), saw $(gate_status g)"
[ "$(gate_status "g['denied']")" = "$(jfield "$out" "j['bad_eperm']")" ] ||
	fail "expected execGate.denied to equal the EPERMs seen ($out), saw $(gate_status g)"
note "storm: $out; gate: $(gate_status g)"

# --- 2. SIGKILL mid-storm: the storm completes ---
timeout 600 "$PY" "$T/storm.py" "$GATE/true" "$N" > "$T/storm2.json" &
STORM=$!
add_cleanup "kill -KILL $STORM 2>/dev/null"
# mid-storm: once the gate has answered 100 of its execs
wait_gate "g['allowed'] + g['denied'] >= $N + 100" ||
	fail "expected the second storm's execs answered by the gate, saw $(gate_status g)"
kill -0 "$STORM" 2>/dev/null || fail "the storm ended before the daemon could be killed: $(cat "$T/storm2.json")"
kill -KILL "$DAEMON_PID"
rc=0; wait "$STORM" || rc=$?
[ "$rc" = 0 ] || fail "expected the storm to complete after SIGKILL of senseond, exit $rc: $(cat "$T/storm2.json")"
out=$(cat "$T/storm2.json")
[ "$(jfield "$out" "j['ok']")" = "$N" ] || fail "expected $N successful execs across the SIGKILL, saw: $out"
wait "$SENSOR_PID" 2>/dev/null || true
note "SIGKILL mid-storm: $out"

# --- 3. a stalled decider: the watchdog answers every exec ---
# The stall outlasts the storms (a stop cuts it short), so every answer
# below can only have come from the watchdog, however slow the machine.
DEADLINE=50
STALL_MS=600000
sensor_config "file_source: false" "watch_paths: [/, $GATE]" "exec_gate_paths: [$GATE]" \
	"exec_gate_deadline_ms: $DEADLINE"
SENSEON_GATE_TEST_STALL_MS=$STALL_MS sensor_restart
out=$(timeout 300 "$PY" "$T/storm.py" "$GATE/true" 20 "$GATE/bad" 10) ||
	fail "execs under a stalled decider did not complete (the watchdog did not answer): $out"
[ "$(jfield "$out" "j['ok']")" = 18 ] || fail "expected 18 execs allowed by the watchdog, saw: $out"
[ "$(jfield "$out" "j['bad_other'].get('ran', 0)")" = 2 ] ||
	fail "expected fail-open: the denied program allowed by the watchdog twice, saw: $out"
wait_gate "g['deadlineAnswers'] >= 20" ||
	fail "expected execGate.deadlineAnswers >= 20 (every exec answered by the watchdog), saw $(gate_status g)"
note "stall, fail-open: slowest exec $(jfield "$out" "j['max_ms']") ms (a figure); gate: $(gate_status g)"
sensor_stop || true

sensor_config "file_source: false" "watch_paths: [/, $GATE]" "exec_gate_paths: [$GATE]" \
	"exec_gate_deadline_ms: $DEADLINE" "exec_gate_fail_closed: true"
SENSEON_GATE_TEST_STALL_MS=$STALL_MS sensor_restart
out=$(timeout 300 "$PY" "$T/storm.py" "$GATE/true" 5) || fail "fail-closed execs did not complete: $out"
[ "$(jfield "$out" "j['errors'].get('EPERM', 0)")" = 5 ] ||
	fail "expected fail-closed: 5 execs denied (EPERM) by the watchdog, saw: $out"
note "stall, fail-closed: $out"
sensor_stop || true

# --- 4. SIGHUP reloads mid-storm ---
sensor_config "file_source: false" "watch_paths: [/, $GATE]" "exec_gate_paths: [$GATE]" \
	"exec_gate_deadline_ms: 60000"
sensor_restart
timeout 600 "$PY" "$T/storm.py" "$GATE/true" "$N" "$GATE/bad" 50 > "$T/storm4.json" &
STORM=$!
add_cleanup "kill -KILL $STORM 2>/dev/null"
reloaded() { grep -c 'policies reloaded' "$T/senseond.err" || true; }
has_reloads() { [ "$(reloaded)" -ge "$1" ]; }
for i in 1 2 3 4 5 6; do
	sleep 0.3	# pacing the reloads through the storm, not synchronisation
	# a new policy set each time: the denied program stays denied
	gate_policy deny.yaml "Gate Storm Deny $i" "$GATE/bad"
	sensor_signal HUP
	# one reload at a time: two pending SIGHUPs would be one signal
	poll "$WAIT" has_reloads "$i" ||
		fail "expected reload $i in the log within $WAIT s, saw $(reloaded)"
done
rc=0; wait "$STORM" || rc=$?
out=$(cat "$T/storm4.json")
[ "$rc" = 0 ] || fail "expected the storm to complete across reloads, exit $rc: $out"
[ "$(jfield "$out" "j['ok']")" = $(( N - N / 50 )) ] || fail "expected $(( N - N / 50 )) successful execs, saw: $out"
[ "$(jfield "$out" "j['bad_eperm']")" = $(( N / 50 )) ] ||
	fail "expected every one of $(( N / 50 )) execs of the denied program to fail with EPERM across reloads, saw: $out"
wait_gate "g['allowed'] + g['denied'] == $N" ||
	fail "expected exactly $N answers across the reloads, saw $(gate_status g)"
[ "$(gate_status "g['deadlineAnswers']")" = 0 ] || fail "expected no deadline answers, saw $(gate_status g)"
note "reloads mid-storm: $out; gate: $(gate_status g)"
