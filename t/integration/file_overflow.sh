#!/bin/bash
# file_overflow: when the fanotify queue overflows, the file source says
# so (a "loss" event from source "file", counted in status.json) and keeps
# reporting afterwards.  The daemon is stopped with SIGSTOP while more
# files are created than the kernel queue holds.
. "${top_srcdir:-$(dirname "$0")/../..}/t/integration/lib.sh"

[ -x "$SENSEOND" ] || skip "senseond not built"
max=$(cat /proc/sys/fs/fanotify/max_queued_events 2>/dev/null) || skip "no fanotify sysctl"
[ "$max" -le 200000 ] || skip "fs.fanotify.max_queued_events=$max is too large to overflow quickly"

W="$T/w"
mkdir -p "$W"
mount -t tmpfs -o size=64m,nr_inodes=400k senseon-test "$W" 2>/dev/null || skip "cannot mount tmpfs"
add_cleanup 'sensor_stop >/dev/null 2>&1; umount "$W" 2>/dev/null || umount -l "$W"'

sensor_config \
	"process_source: false" \
	"exec_source: false" \
	"watch_paths: [$W]" \
	"stdout_events: none"
sensor_start
daemon_pid=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$T/run/status.json")
[ -n "$daemon_pid" ] || fail "no daemon pid in status.json"

touch "$W/before"
wait_event "e['type']=='create' and b(e['file'],'path')==b'$W/before'" >/dev/null ||
	fail "expected a create event for $W/before before the overflow"

kill -STOP "$daemon_pid"
add_cleanup 'kill -CONT '"$daemon_pid"' 2>/dev/null'
# Distinct names, so the kernel cannot merge them into fewer records.
"$PY" - "$W" $((max + 2000)) <<'PYEOF'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    os.close(os.open(os.path.join(d, "f%d" % i), os.O_CREAT | os.O_WRONLY, 0o600))
PYEOF
kill -CONT "$daemon_pid"

wait_event "e['type']=='loss' and e.get('source')=='file' and e.get('lost',0)>=1" >/dev/null ||
	fail "expected a loss event from source file after $((max + 2000)) creates with the daemon stopped"
touch "$W/after"
wait_event "e['type']=='create' and b(e['file'],'path')==b'$W/after'" >/dev/null ||
	fail "expected file events to continue after the overflow"

overflow_counted() {
	"$PY" -c 'import json,sys; s=json.load(open(sys.argv[1]))["sources"]["file"]; sys.exit(0 if s["overflows"]>=1 and s["lost"]>=1 else 1)' "$T/run/status.json" 2>/dev/null
}
# status.json is rewritten every second
poll "$WAIT" overflow_counted ||
	fail "expected status.json sources.file.overflows >= 1 and lost >= 1 within $WAIT s, saw: $(cat "$T/run/status.json")"
sensor_stop || fail "senseond exited with status $?"
echo "PASS: file_overflow"
