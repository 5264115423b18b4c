#!/bin/bash
# Platform channel: nothing lost.
#  - the platform is down while 1 000 alerts are raised (a program policy
#    matching a copy of true run 1 000 times); when it comes back, all
#    1 000 arrive, and after de-duplication by oid none twice (each alert
#    uuid under one oid only), exactly the set in alerts.jsonl;
#  - the sensor is SIGKILLed with 300 undelivered alerts in its outbox:
#    after a restart they all arrive, with the oids going on (never reused);
#  - group commit, proven without timing: one exec that 40 policies
#    match queues 40 alerts in one batch of events, and they cost exactly
#    one outbox flush (outbox_flush_ms is raised so that no storm cap can
#    split the batch; flushes per alert under load are a benchmark figure,
#    bench/platform_bench.sh).
. "$top_srcdir/t/integration/lib.sh"
. "$top_srcdir/t/platform/lib.sh"

[ -x "$SENSEONCTL" ] || skip "senseonctl not built"
mkdir -p "$T/bin"
# a copy of sleep: each run lives long enough for the sensor to read its
# /proc entry (a program gone before that has no name to match)
cp /usr/bin/sleep "$T/bin/alertme"
sensor_config "file_source: false" "exec_source: false" "event_log: false" \
	"stdout_events: none" "outbox_flush_ms: 60000"
platform_conf >> "$T/etc/senseond.conf"
cat > "$T/etc/policy.d/alertme.yaml" <<YAML
Platform Test Alert:
  policy: program
  priority: Low
  alertMessage: the platform test program ran
  rules:
    - match programName == "$T/bin/alertme"
    - default ignore
YAML
ctl() { "$SENSEONCTL" -c "$T/etc/senseond.conf" "$@"; }
# raise N: run the matched program N times, wait until N more alerts are written
raise() {
	local before after i
	before=$(grep -c alertme "$T/log/alerts.jsonl" 2>/dev/null || true)
	before=${before:-0}
	run_alertme "$1"
	local end=$((EPOCHSECONDS + WAIT))
	while :; do
		after=$(grep -c alertme "$T/log/alerts.jsonl" 2>/dev/null || true)
		[ "${after:-0}" -ge $((before + $1)) ] && return 0
		((EPOCHSECONDS < end)) || break
		sleep 0.05
	done
	fail "expected $1 more alerts in alerts.jsonl within $WAIT s (had $before), saw $((after - before))"
}
# wait_pending N: the outbox holds N entries (the sink is past them)
wait_pending() {
	local p end=$((EPOCHSECONDS + WAIT))
	while :; do
		p=$(outbox pending) && [ "$p" = "$1" ] && return 0
		((EPOCHSECONDS < end)) || break
		sleep 0.05
	done
	fail "expected $1 entries pending in the outbox within $WAIT s, saw ${p:-no status}"
}
# delivered: check the platform's records against alerts.jsonl
# (all arrived, none twice after de-duplication by oid); prints the count
delivered() {
	"$PY" - "$REC/received.jsonl" "$T/log/alerts.jsonl" "$1" <<'PY'
import json, sys
rec = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
want = [json.loads(l)["uuid"] for l in open(sys.argv[2]) if "alertme" in l]
n = int(sys.argv[3])
by_oid = {}
for r in rec:
    if r.get("type") != "alert":
        continue
    u = r["alert"]["uuid"]
    if by_oid.setdefault(r["oid"], u) != u:
        sys.exit(f"oid {r['oid']} carried two alerts: {by_oid[r['oid']]} and {u}")
uuids = list(by_oid.values())
dups = len(uuids) - len(set(uuids))
if dups:
    sys.exit(f"expected each alert under one oid, {dups} alerts were queued twice")
if len(want) != n or set(uuids) != set(want):
    sys.exit(f"expected the {n} alerts of alerts.jsonl at the platform: alerts.jsonl has "
             f"{len(want)}, the platform {len(set(uuids))} distinct, "
             f"{len(set(want) - set(uuids))} missing")
print(len(uuids), len(rec))
PY
}

# --- 1 000 alerts while the platform is down ---
sensor_start
raise 1000
wait_pending 1000
platform_up
poll "$WAIT" delivered 1000 > /dev/null 2>&1
out=$(delivered 1000 2>&1) || fail "after the platform came back, within $WAIT s: $out"
note "1000 alerts delivered ($out frames)"
pending_is() { [ "$(outbox pending)" = "$1" ]; }
poll "$WAIT" pending_is 0
[ "$(outbox pending)" = 0 ] || fail "expected the outbox empty once every alert was acknowledged, $(outbox pending) pending"
[ "$(outbox acked)" = 1000 ] || fail "expected oid 1000 acknowledged, saw $(outbox acked)"
note "outbox flushes for 1000 alerts: $(outbox commits) (a figure, not asserted)"

# --- SIGKILL with a full outbox ---
platform_down
raise 300
wait_pending 300
kill -KILL "$DAEMON_PID"
wait "$SENSOR_PID" 2>/dev/null || true
SENSOR_PID=
rm -f "$T/run/status.json"
sensor_start
[ "$(outbox pending)" = 300 ] || fail "expected 300 entries pending after SIGKILL and restart, saw $(outbox pending)"
[ "$(outbox next_oid)" = 1301 ] || fail "expected the next oid 1301 after restart (never reused), saw $(outbox next_oid)"
platform_up
poll "$WAIT" delivered 1300 > /dev/null 2>&1
out=$(delivered 1300 2>&1) || fail "after SIGKILL and restart, within $WAIT s: $out"
n=$(count_received "e['type'] == 'alert' and e['oid'] > 1000 and e['_conn'] == 1")
[ "$n" -ge 300 ] || fail "expected the 300 alerts queued before SIGKILL sent on the new connection, saw $n"
kill -0 "$DAEMON_PID" || fail "senseond died"

# --- group commit: the 40 alerts of one exec share one flush ---
sensor_stop
platform_down
rm -rf "$T/state/spool"	# a fresh outbox: no segment rotation (which commits) in the batch
cp /usr/bin/sleep "$T/bin/grouped"
for i in $(seq 40); do
	cat > "$T/etc/policy.d/grouped-$i.yaml" <<YAML
Group Commit $i:
  policy: program
  priority: Low
  alertMessage: one of 40 policies that match the same exec
  rules:
    - match programName == "$T/bin/grouped"
    - default ignore
YAML
done
sensor_start
c0=$(outbox commits)
"$T/bin/grouped" 0.2
# wait until all 40 are queued and flushed (nothing left uncommitted)
grouped_done() {
	n=$(grep -c '"Group Commit' "$T/log/alerts.jsonl" || true)
	[ "${n:-0}" = 40 ] && [ "$(outbox pending)" = 40 ] && [ "$(outbox uncommitted)" = 0 ]
}
poll "$WAIT" grouped_done
[ "${n:-0}" = 40 ] && [ "$(outbox pending)" = 40 ] && [ "$(outbox uncommitted)" = 0 ] ||
	fail "expected 40 Group Commit alerts in alerts.jsonl and 40 committed in the outbox; saw $n alerts, $(outbox pending) pending, $(outbox uncommitted) uncommitted"
c1=$(outbox commits)
[ $((c1 - c0)) = 1 ] || fail "expected the 40 alerts of one exec in one outbox flush, saw $((c1 - c0)) flushes"
echo "PASS: platform_alerts"
