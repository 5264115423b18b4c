#!/bin/bash
# proc_flood - a fork/exec/exit flood against a tiny netlink buffer and a
# small queue.  Either nothing was lost and every exec was reported, or
# the loss was counted, reported as a "loss" event and repaired by a
# /proc rescan whose finds are reported as "resync" events.  Missing
# events with no loss counted is the one outcome that fails.
. "$top_srcdir/t/integration/lib.sh"

[ -x "$SENSEOND" ] || skip "senseond not built"
STORM="$top_builddir/t/integration/proc_storm"
[ -x "$STORM" ] || skip "proc_storm not built"

COUNT=${PROC_FLOOD_COUNT:-2000}
sensor_start "file_source: false" "proc_rcvbuf: 65536" "queue_size: 1024" \
	"stdout_events: none"

"$STORM" "$COUNT" 200 50 1000 > "$T/storm.out" &
storm=$!
s0=$SECONDS
wait "$storm" || fail "proc_storm failed"
note "storm took $((SECONDS - s0)) s"
read -r _ ntrue _ nsleep < "$T/storm.out"
note "storm pid $storm: $ntrue /bin/true and $nsleep sleepers"

# status: "lost overflows queueDropped resyncs depth processed" summed over sources
status() {
	"$PY" - "$T/run/status.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
src = s["sources"].values()
print(sum(x["lost"] for x in src), sum(x["overflows"] for x in src), s["queueDropped"],
      s["processTable"]["resyncs"], s["queueDepth"], s["eventsProcessed"])
PY
}

# Wait until the sensor has caught up: queue empty, count stable.
prev=-1
for i in $(seq 1 60); do
	read -r lost overflows dropped resyncs depth processed < <(status)
	[ "$depth" = 0 ] && [ "$processed" = "$prev" ] && break
	prev=$processed
	sleep 0.5
done
execs=$(count_events "e['type'] == 'exec' and e['process']['ppid'] == $storm")
losses=$(count_events "e['type'] == 'loss'")
resync_ev=$(count_events "e['type'] == 'resync' and e.get('resync') is True")
expected=$((ntrue + nsleep))
note "status: lost $lost overflows $overflows queueDropped $dropped resyncs $resyncs"
note "events: $execs of $expected storm execs, $losses loss, $resync_ev resync"

if [ "$lost" = 0 ] && [ "$overflows" = 0 ] && [ "$dropped" = 0 ]; then
	[ "$execs" = "$expected" ] ||
		fail "no loss counted, so expected all $expected storm execs reported, saw $execs"
	[ "$losses" = 0 ] || fail "no loss counted but $losses loss events"
	echo "PASS: case 1: nothing lost, all $execs execs reported"
	exit 0
fi
[ "$losses" -ge 1 ] || fail "lost $lost / overflows $overflows / dropped $dropped but no loss event"
[ "$resyncs" -ge 1 ] || fail "events were lost but processTable.resyncs is $resyncs"
[ "$resync_ev" -ge 1 ] || fail "events were lost but no resync event (resync: true) was written"
[ "$execs" -le "$expected" ] || fail "more storm execs ($execs) than started ($expected)"
echo "PASS: case 2: loss counted (lost $lost, overflows $overflows, queue dropped $dropped), $losses loss events, $resync_ev resync events, $resyncs resyncs; $execs of $expected execs reported"
