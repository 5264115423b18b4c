#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/kill_latency.sh - kill latency of senseond: from just before
# fork+execve of a program a `kill` policy names to the parent's waitpid
# seeing SIGKILL, over N runs (default 1000); prints p50/p99/max.
# Target from the issue: p99 <= 5 ms.  See BENCHMARKS.md.
#
# Safety: senseond runs on a private prefix in a temp dir, under
# `timeout -s KILL`, with the file source off; the policy names only a
# binary inside that temp dir, so nothing else on the machine can match.
# The daemon is stopped by pid and the temp dir removed by the EXIT trap.
#
# Usage: bench/kill_latency.sh [--senseond PATH] [-n COUNT]
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
SENSEOND_BIN=${SENSEOND:-}
N=1000
PY=/usr/bin/python3

while [ $# -gt 0 ]; do
	case $1 in
	--senseond) SENSEOND_BIN=$2; shift ;;
	-n) N=$2; shift ;;
	-h|--help) sed -n '3,14p' "$0"; exit 0 ;;
	*) echo "usage: $0 [--senseond PATH] [-n COUNT]" >&2; exit 2 ;;
	esac
	shift
done
die() { echo "kill_latency: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (the daemon needs it)"
[ -n "$SENSEOND_BIN" ] || SENSEOND_BIN=$(ls -t "$ROOT"/build*/senseond 2>/dev/null | head -n 1)
[ -x "$SENSEOND_BIN" ] || die "senseond not built (give --senseond PATH)"

D=$(mktemp -d /tmp/senseon-kill.XXXXXX)
chmod 755 "$D"
WRAP=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$WRAP" ]; then
		kill -TERM "$WRAP" 2>/dev/null
		wait "$WRAP" 2>/dev/null
	fi
	rm -rf "$D"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$D/kill_latency" "$HERE/kill_latency.c" ||
	die "cannot build kill_latency.c"
mkdir -p "$D/etc/policy.d" "$D/state" "$D/log" "$D/run" "$D/scripts" "$D/bin"
cp "$D/kill_latency" "$D/bin/victim"
cat > "$D/etc/policy.d/kill.yaml" <<POLICY
Kill Latency Victim:
  policy: program
  priority: High
  alertMessage: kill latency benchmark victim
  responseActions:
    - kill
  rules:
    - match programName == "$D/bin/victim"
    - default ignore
POLICY
cat > "$D/etc/senseond.conf" <<CONF
state_dir: $D/state
log_dir: $D/log
run_dir: $D/run
policy_dir: $D/etc/policy.d
scripts_dir: $D/scripts
control_socket: $D/run/control.sock
log_level: notice
stdout_events: none
event_log: true
file_source: false
watch_paths:
  - $D/bin
CONF

timeout -s KILL 600 "$SENSEOND_BIN" -f -c "$D/etc/senseond.conf" > /dev/null 2> "$D/err" &
WRAP=$!
for _ in $(seq 1 200); do
	[ -s "$D/run/status.json" ] && break
	kill -0 "$WRAP" 2>/dev/null || { cat "$D/err" >&2; die "senseond exited at start"; }
	sleep 0.05
done
[ -s "$D/run/status.json" ] || die "senseond did not become ready in 10 s"

echo "# senseond $SENSEOND_BIN, $N runs, $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$D/kill_latency" -n "$N" -t 2000 "$D/bin/victim"
rc=$?
alerts=$(wc -l < "$D/log/alerts.jsonl" 2>/dev/null || echo 0)
echo "# alerts written: $alerts"
exit $rc
