#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/policy_bench.sh - what a loaded policy set costs the exec storm:
# senseond with no policy (A) against senseond with N generated program
# policies that never match the workload (B, bench/policy_gen.py: ==, in,
# like, =~ on the binary and its arguments, uid tests).  Runs A B B A per
# round, prints each run, the medians and the ratio B/A, and how many of
# the storm's execs each run reported.  Target from the issue: B/A <= 1.02.
#
# Safety: each daemon runs on a private prefix in a temp dir under
# `timeout -s KILL`, the file source off, and is stopped by pid; the temp
# dir is removed by the EXIT trap.
#
# Usage: bench/policy_bench.sh [--senseond PATH] [--execs N] [--rounds R] [--policies N]
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
PY=/usr/bin/python3
SENSEOND_BIN=${SENSEOND:-}
EXECS=20000 ROUNDS=2 NPOL=200

while [ $# -gt 0 ]; do
	case $1 in
	--senseond) SENSEOND_BIN=$2; shift ;;
	--execs) EXECS=$2; shift ;;
	--rounds) ROUNDS=$2; shift ;;
	--policies) NPOL=$2; shift ;;
	-h|--help) sed -n '3,16p' "$0"; exit 0 ;;
	*) echo "usage: $0 [--senseond PATH] [--execs N] [--rounds R] [--policies N]" >&2; exit 2 ;;
	esac
	shift
done
die() { echo "policy_bench: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (the daemon needs it)"
[ -x "$PY" ] || die "needs $PY"
[ -n "$SENSEOND_BIN" ] || SENSEOND_BIN=$(ls -t "$ROOT"/build*/senseond 2>/dev/null | head -n 1)
[ -x "$SENSEOND_BIN" ] || die "senseond not built (give --senseond PATH)"

W=$(mktemp -d /tmp/senseon-polbench.XXXXXX)
chmod 755 "$W"
WRAP=
stop_sensor() {
	[ -n "$WRAP" ] || return 0
	kill -TERM "$WRAP" 2>/dev/null
	wait "$WRAP" 2>/dev/null
	WRAP=
}
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_sensor
	rm -rf "$W"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

w="-std=gnu11 -O2 -Wall -Wextra -Werror"
mkdir -p "$W/bin"
cc $w -static -o "$W/bin/true" "$HERE/true.c" 2>/dev/null || cc $w -o "$W/bin/true" "$HERE/true.c" ||
	die "cannot build true.c"
cc $w -o "$W/bin/execstorm" "$HERE/execstorm.c" || die "cannot build execstorm.c"
mkdir -p "$W/policies"
"$PY" "$HERE/policy_gen.py" "$NPOL" "$W/policies/bench.yaml" || die "policy_gen.py failed"

# start_sensor LABEL POLICYDIR: a fresh prefix per run
start_sensor() {
	local d=$W/run-$1 i
	rm -rf "$d"
	mkdir -p "$d/etc/policy.d" "$d/state" "$d/log" "$d/run" "$d/scripts"
	[ -n "$2" ] && cp "$2"/*.yaml "$d/etc/policy.d/"
	cat > "$d/etc/senseond.conf" <<CONF
state_dir: $d/state
log_dir: $d/log
run_dir: $d/run
policy_dir: $d/etc/policy.d
scripts_dir: $d/scripts
control_socket: $d/run/control.sock
log_level: notice
stdout_events: none
event_log: true
file_source: false
watch_paths:
  - $W/bin
CONF
	timeout -s KILL 300 "$SENSEOND_BIN" -f -c "$d/etc/senseond.conf" > /dev/null 2> "$d/err" &
	WRAP=$!
	for i in $(seq 1 200); do
		[ -s "$d/run/status.json" ] && return 0
		kill -0 "$WRAP" 2>/dev/null || break
		sleep 0.05
	done
	cat "$d/err" >&2
	die "senseond ($1) did not become ready"
}

# reported LOG: exec events of the storm's binary (the exact binary comes
# from fanotify even when a child is gone before /proc is read)
reported() {
	grep -F "\"exe\":\"$W/bin/true\"" "$1" 2>/dev/null | grep -c '"type":"exec"'
}

# run LABEL POLICYDIR: one measured storm; prints "LABEL SECONDS REPORTED"
run() {
	local label=$1 d=$W/run-$1 secs rep prev=-1 i
	start_sensor "$label" "$2"
	secs=$("$W/bin/execstorm" -n "$EXECS" "$W/bin/true" "polbench-$label" |
		sed -n 's/.*wall=\([0-9.]*\).*/\1/p')
	# let the daemon work off its backlog (other processes on the machine
	# keep the log growing: watch only the storm's execs)
	for i in $(seq 1 50); do
		rep=$(reported "$d/log/events.jsonl")
		[ "$rep" -ge "$EXECS" ] || [ "$rep" = "$prev" ] && break
		prev=$rep
		sleep 0.2
	done
	stop_sensor
	echo "$label $secs $(reported "$d/log/events.jsonl")"
}

echo "# senseond $SENSEOND_BIN; $EXECS execs x $ROUNDS rounds (A B B A); $NPOL policies;" \
	"$(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
run warmup "" > /dev/null
RES=$W/results
: > "$RES"
for r in $(seq 1 "$ROUNDS"); do
	for label in A B B A; do
		if [ "$label" = A ]; then
			run nopolicy "" | tee -a "$RES"
		else
			run policies "$W/policies" | tee -a "$RES"
		fi
	done
done
"$PY" - "$RES" "$EXECS" <<'PYEOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
execs = int(sys.argv[2])
by = {}
for label, secs, rep in rows:
    by.setdefault(label, []).append((float(secs), int(rep)))
a = statistics.median(s for s, _ in by["nopolicy"])
b = statistics.median(s for s, _ in by["policies"])
for label in ("nopolicy", "policies"):
    reps = [r for _, r in by[label]]
    print("%-9s median %.3f s  runs %s  reported min %d/%d" % (
        label, statistics.median(s for s, _ in by[label]),
        " ".join("%.3f" % s for s, _ in by[label]), min(reps), execs))
ratio = b / a
print("ratio policies/nopolicy %.4f  (%+.1f%%)  target <= 1.02: %s" % (
    ratio, (ratio - 1) * 100, "PASS" if ratio <= 1.02 else "MISS"))
PYEOF
