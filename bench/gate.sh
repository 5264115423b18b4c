#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/gate.sh - the exec gate's cost: an exec storm (bench/execstorm.c,
# static true) on a tmpfs this script mounts, with
#   none      no monitor
#   nogate    senseond with 50 program policies, none of them deny: the
#             gate is off, the sensor only watches (its own exec cost)
#   gate      the same 50 policies with responseActions [deny]: every exec
#             on the tmpfs waits for the gate's answer (50 policies
#             evaluated, none matches)
#   gateonly  the gate alone: the same deny policies with the process,
#             exec and file sources off (what fapolicyd does: a gate only)
#   gate-b    `gate` with the daemon given by --senseond-b (A/B of two
#             builds in one run; only with --senseond-b)
#   floor     bench/permfloor.c -f -p: a FAN_OPEN_EXEC_PERM filesystem
#             mark whose responder reads each binary's path from
#             /proc/self/fd and answers ALLOW, nothing else: the kernel's
#             permission round trip plus the one lookup every gate that
#             matches program names needs (fapolicyd does the same), the
#             least such a gate can cost on this machine
#   none-again  the baseline again (A/A control: the noise)
# Rounds interleave the configurations, order reversed every other round.
# Prints medians, ratios and the gate's p99 decision latency, and appends
# the table to BENCHMARKS.md under "Exec gate" with --append.
#
# Safety: the gate marks only the tmpfs mounted here (exec_gate_paths);
# senseond runs under `timeout -s KILL`, is stopped by pid, and the mount
# and temp directory go in the EXIT trap.  fapolicyd is not run here: it
# cannot be limited to one mount outside the private mount namespace of
# bench/fapolicyd-ns.sh (see BENCHMARKS.md for its exec figure).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
PY=/usr/bin/python3
ROUNDS=5 EXECS=5000 APPEND=0
SENSEOND_BIN=${SENSEOND:-} SENSEOND_B=
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift ;;
	--execs) EXECS=$2; shift ;;
	--senseond) SENSEOND_BIN=$2; shift ;;
	--senseond-b) SENSEOND_B=$2; shift ;;
	--append) APPEND=1 ;;
	*) echo "usage: bench/gate.sh [--rounds N] [--execs N] [--senseond PATH] [--senseond-b PATH] [--append]" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || { echo "bench/gate.sh: needs root" >&2; exit 77; }
[ -n "$SENSEOND_BIN" ] || SENSEOND_BIN=$(ls -t "$ROOT"/build*/senseond 2>/dev/null | head -1)
[ -x "$SENSEOND_BIN" ] || { echo "bench/gate.sh: no senseond (use --senseond)" >&2; exit 2; }

D=$(mktemp -d /tmp/senseon-gatebench.XXXXXX)
DPID=
cleanup() {
	[ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	umount -l "$D/gate" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$D/gate" "$D/bin" "$D/state" "$D/log" "$D/run"
mount -t tmpfs -o size=32m,mode=755 senseon-gatebench "$D/gate" || exit 1
cc -O2 -o "$D/bin/execstorm" "$HERE/execstorm.c" || exit 1
cc -O2 -o "$D/bin/permfloor" "$HERE/permfloor.c" || exit 1
cc -O2 -static -o "$D/gate/true" "$HERE/true.c" 2>/dev/null || cc -O2 -o "$D/gate/true" "$HERE/true.c" || exit 1

policies() {	# policies DIR deny|nodeny: 50 program policies, none matching
	mkdir -p "$1"; rm -f "$1"/*.yaml
	for i in $(seq 1 50); do
		{
			echo "Bench Policy $i:"
			echo "  policy: program"
			echo "  priority: Low"
			[ "$2" = deny ] && printf '  responseActions:\n    - deny\n'
			echo "  rules:"
			echo "    - match programName == \"/nonexistent/bin/tool$i\" and uid != 4242"
			echo "    - default ignore"
		} > "$1/p$i.yaml"
	done
}
policies "$D/pol-deny" deny
policies "$D/pol-nodeny" nodeny

start() {	# start POLICYDIR [BINARY] [EXTRA-CONF-LINE...]
	local bin=${2:-$SENSEOND_BIN}
	cat > "$D/senseond.conf" <<CONF
state_dir: $D/state
log_dir: $D/log
run_dir: $D/run
policy_dir: $1
control_socket: $D/run/control.sock
file_source: false
event_log: false
stdout_events: none
exec_gate_paths: [$D/gate]
CONF
	shift 2 2>/dev/null || shift
	printf '%s\n' "$@" >> "$D/senseond.conf"
	rm -f "$D/run/status.json"
	timeout -s KILL 600 "$bin" -f -c "$D/senseond.conf" >/dev/null 2>"$D/senseond.err" &
	DPID=$!
	for _ in $(seq 200); do [ -s "$D/run/status.json" ] && return 0; sleep 0.05; done
	echo "senseond did not start:" >&2; cat "$D/senseond.err" >&2; exit 1
}
stop() { kill -TERM "$DPID"; wait "$DPID" 2>/dev/null; DPID=; }

start_floor() {
	timeout -s KILL 600 "$D/bin/permfloor" -f -p "$D/gate" > "$D/floor.out" &
	DPID=$!
	for _ in $(seq 200); do grep -q ready "$D/floor.out" 2>/dev/null && return 0; sleep 0.05; done
	echo "permfloor did not start" >&2; exit 1
}

# storm -> "WALL_S P50_US" (p50_us: the median fork+exec+wait, robust to
# bursts of noise from the rest of a shared machine)
storm() { "$D/bin/execstorm" -n "$EXECS" "$D/gate/true" | sed -n 's/.*wall=\([0-9.]*\).*p50_us=\([0-9.]*\).*/\1 \2/p' | head -1; }

run_one() {	# run_one CONFIG -> appends "CONFIG SECONDS [P99US]"
	case $1 in
	none|none-again) echo "$1 $(storm)" ;;
	floor) start_floor; echo "$1 $(storm)"; stop ;;
	nogate) start "$D/pol-nodeny"; echo "$1 $(storm)"; stop ;;
	gate|gateonly|gate-b)
		case $1 in
		gate) start "$D/pol-deny" ;;
		gateonly) start "$D/pol-deny" "" "process_source: false" "exec_source: false" ;;
		gate-b) start "$D/pol-deny" "$SENSEOND_B" ;;
		esac
		t=$(storm); sleep 1.2
		p99=$("$PY" -c 'import json,sys; g=json.load(open(sys.argv[1]))["execGate"]; print(g["p99LatencyUs"], g["maxLatencyUs"], g["deadlineAnswers"], g["allowed"])' "$D/run/status.json")
		echo "$1 $t $p99"; stop ;;
	esac
}

CONFIGS=(none floor nogate gate gateonly)
[ -n "$SENSEOND_B" ] && CONFIGS+=(gate-b)
CONFIGS+=(none-again)
for r in $(seq 1 "$ROUNDS"); do
	order=("${CONFIGS[@]}")
	if [ $((r % 2)) = 0 ]; then	# A B B A: every other round backwards
		order=()
		for ((i = ${#CONFIGS[@]} - 1; i >= 0; i--)); do order+=("${CONFIGS[i]}"); done
	fi
	for c in "${order[@]}"; do run_one "$c"; done
done > "$D/results.txt"

"$PY" - "$D/results.txt" "$EXECS" "$ROUNDS" "$APPEND" "$ROOT/BENCHMARKS.md" <<'PY'
import statistics, sys, datetime, platform, os
path, execs, rounds, append, md = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1", sys.argv[5]
t, lap, lat = {}, {}, {}
for line in open(path):
    f = line.split()
    t.setdefault(f[0], []).append(float(f[1]))
    lap.setdefault(f[0], []).append(float(f[2]))
    if f[0].startswith("gate"):
        lat.setdefault(f[0], []).append([int(x) for x in f[3:6]])
med = {k: statistics.median(v) for k, v in t.items()}
lmed = {k: statistics.median(v) for k, v in lap.items()}
base = med["none"]
lines = [f"exec storm: {execs} x fork+exec(static true)+wait on a gated tmpfs, {rounds} rounds, "
         f"{os.cpu_count()} CPUs, kernel {platform.release()}, {datetime.date.today()}",
         "", "wall: median of the rounds' wall times; one exec: median over the rounds of each "
         "round's median fork+exec+wait", "",
         "| configuration | wall s (median) | range s | wall vs none | one exec us | one exec vs none | one exec vs nogate |",
         "|---|---|---|---|---|---|---|"]
for k in [c for c in ("none", "floor", "nogate", "gate", "gateonly", "gate-b", "none-again")
          if c in t]:
    lines.append(f"| {k} | {med[k]:.3f} | {min(t[k]):.3f}..{max(t[k]):.3f} | "
                 f"{med[k] / base:.3f}x | {lmed[k]:.1f} | {lmed[k] / lmed['none']:.3f}x | "
                 f"{lmed[k] / lmed['nogate']:.3f}x |")
lines.append("")
for k, v in lat.items():
    p99 = [x[0] for x in v]
    lines.append(f"{k} decision latency (receive to answer): p99 {statistics.median(p99)} us "
                 f"(per round: {p99}), max {max(x[1] for x in v)} us, "
                 f"deadline answers {sum(x[2] for x in v)}")
out = "\n".join(lines)
print(out)
if append:
    with open(md, "a") as fp:
        fp.write("\n" + out + "\n")
PY
