#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/run.sh - reproducible overhead benchmarks of senseond against its
# peers (forkstat, fatrace, auditd, fapolicyd).  See BENCHMARKS.md.
#
# Two workloads, each timed by a small C driver built here with cc -O2:
#   exec  execstorm: N x fork + execve(static true) + waitpid
#   file  filestorm: N x create + write 4 KiB + close + unlink, on a
#         journaled ext4 image loop-mounted by this script
# Within every round each configuration runs once, and the order is
# reversed every other round (A B B A), so slow drift of the machine hits
# all configurations alike.  "none" and "none-again" are the same baseline
# under two labels: their ratio is the A/A control that shows the noise.
#
# Safety: monitors are started by this script under `timeout -s KILL`, and
# stopped by pid; audit rules, the loop mount and the temp directory are
# removed by the EXIT trap.  fanotify permission events (fapolicyd) are
# only ever placed inside a private mount namespace (fapolicyd-ns.sh).
set -uo pipefail

ORIG_ARGS="$*"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
PY=/usr/bin/python3
ROUNDS= EXECS= FILES= JOBS=1 QUICK=0 KEEP=0
WORKLOADS="exec file"
ONLY_CONFIGS=
JSON_OUT=
SENSEOND_BIN=${SENSEOND:-}
MON_TIMEOUT=300		# no monitor outlives this, whatever happens to us
FAPOLICYD_TIMEOUT=120

usage() {
	cat <<USAGE
Usage: bench/run.sh [OPTION]...
  --rounds N       rounds per workload (default 5; --quick: 3)
  --quick          smoke run: 5000 execs and files, 3 rounds (about 2 minutes)
  --execs N        exec storm size (default 20000)
  --files N        file storm size (default 20000)
  --jobs N         parallel exec storm workers (default 1)
  --senseond PATH  the daemon to measure (default \$SENSEOND or ../build*/senseond)
  --workloads LIST "exec file" (default), "exec" or "file"
  --configs LIST   only these configurations, e.g. "none senseond none-again"
  --json FILE      machine-readable results (default bench-results-DATE.json here)
  --keep           keep the temp directory (monitor outputs) for inspection
USAGE
}

while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift ;;
	--quick) QUICK=1 ;;
	--execs) EXECS=$2; shift ;;
	--files) FILES=$2; shift ;;
	--jobs) JOBS=$2; shift ;;
	--senseond) SENSEOND_BIN=$2; shift ;;
	--workloads) WORKLOADS=$2; shift ;;
	--configs) ONLY_CONFIGS=$2; shift ;;
	--json) JSON_OUT=$2; shift ;;
	--keep) KEEP=1 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
if [ "$QUICK" = 1 ]; then
	: "${ROUNDS:=3}" "${EXECS:=5000}" "${FILES:=5000}"
fi
: "${ROUNDS:=5}" "${EXECS:=20000}" "${FILES:=20000}"

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "# $*" >&2; }

[ "$(id -u)" = 0 ] || die "must run as root (monitors need it)"
[ -x "$PY" ] || die "needs $PY"
command -v cc >/dev/null || die "needs cc"

if [ -z "$SENSEOND_BIN" ]; then
	SENSEOND_BIN=$(ls -t "$ROOT"/build*/senseond 2>/dev/null | head -n 1)
fi

EXEC_CONFIGS="none senseond senseond-nogate senseond-gate senseond-gateonly forkstat fatrace auditd fapolicyd none-again"
FILE_CONFIGS="none senseond fatrace auditd fapolicyd none-again"
if [ -n "$ONLY_CONFIGS" ]; then
	filter() {
		local c out=
		for c in $1; do
			case " $ONLY_CONFIGS " in *" $c "*) out="$out $c" ;; esac
		done
		echo $out
	}
	EXEC_CONFIGS=$(filter "$EXEC_CONFIGS")
	FILE_CONFIGS=$(filter "$FILE_CONFIGS")
fi

WORK=$(mktemp -d /tmp/senseon-bench.XXXXXX)
chmod 755 "$WORK"
# the workload binaries live on the image too, so fatrace -c and the
# sensor see the exec storm without the rest of the machine's traffic
BIN=$WORK/mnt/bin
MNT=$WORK/mnt
RAW=$WORK/raw.jsonl
CLK_TCK=$(getconf CLK_TCK)
MON_WRAP= MON_PID= MON_OUT= MON_NOTE=
RUN_PREFIX=()
AUDIT_RULE=()
AUDIT_ORIG=
MOUNTED=0
declare -A SKIP=()

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_monitor >/dev/null 2>&1 || true
	audit_restore
	if [ "$MOUNTED" = 1 ]; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
	fi
	if [ "$KEEP" = 1 ]; then
		echo "# kept $WORK" >&2
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- audit state: rules we add and the kernel settings we change --------

audit_status() { auditctl -s 2>/dev/null | awk -v k="$1" '$1 == k { print $2 }'; }

audit_save() {
	[ -n "$AUDIT_ORIG" ] && return 0
	AUDIT_ORIG="$(audit_status enabled) $(audit_status backlog_limit)"
}

audit_del_rule() {
	[ ${#AUDIT_RULE[@]} -gt 0 ] || return 0
	if [ "${AUDIT_RULE[0]}" = -w ]; then
		auditctl -W "${AUDIT_RULE[1]}" "${AUDIT_RULE[@]:2}" >/dev/null 2>&1
	else
		auditctl -d "${AUDIT_RULE[@]:1}" >/dev/null 2>&1
	fi
	AUDIT_RULE=()
}

audit_restore() {
	audit_del_rule
	[ -n "$AUDIT_ORIG" ] || return 0
	set -- $AUDIT_ORIG
	auditctl -b "$2" >/dev/null 2>&1
	auditctl -e "$1" >/dev/null 2>&1
	AUDIT_ORIG=
}

# ---- setup -------------------------------------------------------------

build() {
	mkdir -p "$BIN"
	local w="-std=gnu11 -Wall -Wextra -Wshadow -Wformat=2 -Werror"
	cc -O2 $w -static -o "$BIN/true" "$HERE/true.c" 2>/dev/null ||
		cc -O2 $w -o "$BIN/true" "$HERE/true.c" || die "cannot build true.c"
	cc -O2 $w -o "$BIN/execstorm" "$HERE/execstorm.c" || die "cannot build execstorm.c"
	cc -O2 $w -o "$BIN/filestorm" "$HERE/filestorm.c" || die "cannot build filestorm.c"
}

# The root fs here may be ext4 without a journal, where the file storm
# swings 10x between runs; a journaled image of our own is stable and
# lets the file monitors watch only it.
make_fs() {
	truncate -s 512M "$WORK/fs.img"
	mkfs.ext4 -q -F -O has_journal "$WORK/fs.img" || die "mkfs.ext4 failed"
	mkdir -p "$MNT"
	mount -o loop "$WORK/fs.img" "$MNT" || die "cannot loop-mount the ext4 image"
	MOUNTED=1
	mkdir -p "$MNT/d"
}

# ---- monitors ----------------------------------------------------------

child_of() {
	local i c
	for i in $(seq 1 100); do
		c=$(awk '{ print $1 }' "/proc/$1/task/$1/children" 2>/dev/null)
		[ -n "$c" ] && { echo "$c"; return 0; }
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.02
	done
	return 1
}

alive() { [ -n "$MON_PID" ] && kill -0 "$MON_PID" 2>/dev/null; }

# cpu seconds (user+sys, own and reaped children) of a pid
cpu_of() {
	sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null |
		awk -v t="$CLK_TCK" '{ printf "%.3f\n", ($12 + $13 + $14 + $15) / t }'
}

kb_of() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }

# Wait until the monitor has worked off its backlog (its cpu time stops
# growing), so its cpu cost is read whole and its output is complete.
settle() {
	local i prev=-1 cur
	for i in $(seq 1 50); do
		cur=$(cpu_of "$MON_PID")
		[ -z "$cur" ] && return 0
		[ "$cur" = "$prev" ] && return 0
		prev=$cur
		sleep 0.2
	done
}

# sensor_config DIR WATCH [gate|gateonly|nogate]: a private prefix watching
# WATCH's filesystem; with "gate", 50 program policies with responseActions
# [deny] (none matching the workload) and the exec gate on WATCH only;
# "gateonly" is the gate alone, the sources off (what fapolicyd does);
# "nogate" the same 50 policies without the deny action (gate off), so
# that gate/nogate is the gate's own cost
sensor_config() {
	local d=$1 watch=$2 gate=${3:-} i
	rm -rf "$d"
	mkdir -p "$d/etc/policy.d" "$d/state" "$d/log" "$d/run" "$d/scripts" "$d/quiet"
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
watch_paths:
  - $watch
exec_gate_paths:
  - $watch
CONF
	[ "$gate" = gateonly ] &&
		printf 'process_source: false\nexec_source: false\nfile_source: false\n' >> "$d/etc/senseond.conf"
	[ -n "$gate" ] || return 0
	local actions='  responseActions:\n    - deny\n'
	[ "$gate" = nogate ] && actions=
	for i in $(seq 1 50); do
		printf "Bench Deny %d:\\n  policy: program\\n  priority: Low\\n$actions  rules:\\n    - match programName == \"/nonexistent/bin/tool%d\" and uid != 4242\\n    - default ignore\\n" \
			"$i" "$i" > "$d/etc/policy.d/deny$i.yaml"
	done
}

# start_sensor WORKLOAD [gate]: the sensor watches the loop mount, where
# the workload's files and binaries are (so every exec's binary comes from
# fanotify, as with the default configuration, which watches /)
start_sensor() {
	local wl=$1 gate=${2:-} d=$WORK/sensor i
	[ -x "$SENSEOND_BIN" ] || { MON_NOTE="senseond not built (give --senseond PATH)"; return 1; }
	sensor_config "$d" "$MNT" "$gate"
	timeout -s KILL "$MON_TIMEOUT" "$SENSEOND_BIN" -f -c "$d/etc/senseond.conf" \
		> /dev/null 2> "$d/err" &
	MON_WRAP=$!
	MON_PID=$(child_of "$MON_WRAP")
	MON_OUT=$d/log/events.jsonl
	[ "$gate" = gateonly ] && MON_OUT=	# no events to count
	for i in $(seq 1 200); do
		[ -s "$d/run/status.json" ] && return 0
		alive || break
		sleep 0.05
	done
	MON_NOTE="senseond did not become ready: $(tail -n 1 "$d/err" 2>/dev/null)"
	return 1
}

start_forkstat() {
	MON_OUT=$WORK/forkstat.out
	timeout -s KILL "$MON_TIMEOUT" forkstat -e exec,fork,exit > "$MON_OUT" 2> "$WORK/forkstat.err" &
	MON_WRAP=$!
	MON_PID=$(child_of "$MON_WRAP")
	sleep 0.5
	alive || { MON_NOTE="forkstat exited: $(tail -n 1 "$WORK/forkstat.err")"; return 1; }
}

# -c: only the mount of the current directory (the workload's), so the
# output is not flooded by the rest of the machine.
start_fatrace() {
	local dir=$MNT
	MON_OUT=$WORK/fatrace.out
	rm -f "$MON_OUT"
	(cd "$dir" && exec timeout -s KILL "$MON_TIMEOUT" fatrace -c -o "$MON_OUT") 2> "$WORK/fatrace.err" &
	MON_WRAP=$!
	MON_PID=$(child_of "$MON_WRAP")
	sleep 0.5
	alive || { MON_NOTE="fatrace exited: $(tail -n 1 "$WORK/fatrace.err")"; return 1; }
}

start_auditd() {
	local d=$WORK/audit i
	if [ "$(audit_status pid)" != 0 ] && [ -n "$(audit_status pid)" ]; then
		MON_NOTE="an auditd (pid $(audit_status pid)) already runs on this machine"
		return 1
	fi
	audit_save
	rm -rf "$d"
	mkdir -p "$d/plugins.d"
	cat > "$d/auditd.conf" <<CONF
local_events = yes
write_logs = yes
log_file = $d/audit.log
log_group = root
log_format = ENRICHED
flush = INCREMENTAL_ASYNC
freq = 50
max_log_file = 1024
num_logs = 2
priority_boost = 4
name_format = NONE
max_log_file_action = IGNORE
space_left = 75
space_left_action = SYSLOG
admin_space_left = 50
admin_space_left_action = SUSPEND
disk_full_action = SUSPEND
disk_error_action = SUSPEND
q_depth = 2000
overflow_action = SYSLOG
max_restarts = 10
plugin_dir = $d/plugins.d
end_of_event_timeout = 2
CONF
	chmod 0640 "$d/auditd.conf"
	MON_OUT=$d/audit.log
	timeout -s KILL "$MON_TIMEOUT" auditd -n -c "$d" > "$d/err" 2>&1 &
	MON_WRAP=$!
	MON_PID=$(child_of "$MON_WRAP")
	for i in $(seq 1 100); do
		[ "$(audit_status pid)" = "$MON_PID" ] && break
		alive || break
		sleep 0.05
	done
	if [ "$(audit_status pid)" != "$MON_PID" ]; then
		MON_NOTE="auditd cannot run here: $(tail -n 1 "$d/err")"
		return 1
	fi
	# Debian's shipped audit.rules sets -b 8192; the kernel default of 64
	# makes the workload wait for kauditd instead of measuring auditd.
	auditctl -b 8192 >/dev/null
	if [ "$1" = exec ]; then
		AUDIT_RULE=(-a always,exit -F arch=b64 -S execve -k senseon-bench)
	else
		AUDIT_RULE=(-w "$MNT" -p wa -k senseon-bench)
	fi
	auditctl "${AUDIT_RULE[@]}" >/dev/null || { MON_NOTE="auditctl rejected the rule"; AUDIT_RULE=(); return 1; }
}

start_fapolicyd() {
	local d=$WORK/fapolicyd i
	rm -rf "$d"
	mkdir -p "$d"
	MON_OUT=$d/err
	timeout -s KILL "$FAPOLICYD_TIMEOUT" unshare --mount --propagation private \
		"$HERE/fapolicyd-ns.sh" "$d" > /dev/null 2> "$d/err" &
	MON_WRAP=$!
	MON_PID=$(child_of "$MON_WRAP")
	for i in $(seq 1 300); do
		grep -q "Starting to listen for events" "$d/err" 2>/dev/null && break
		alive || break
		sleep 0.05
	done
	if ! alive || ! grep -q "Starting to listen for events" "$d/err"; then
		MON_NOTE="fapolicyd did not start: $(tail -n 1 "$d/err" 2>/dev/null)"
		return 1
	fi
	# the workload runs in fapolicyd's namespace, the only place it marks
	RUN_PREFIX=(nsenter -t "$MON_PID" -m --)
}

start_monitor() {
	MON_WRAP= MON_PID= MON_OUT= MON_NOTE=
	RUN_PREFIX=()
	case $1 in
	none|none-again) return 0 ;;
	senseond) start_sensor "$2" ;;
	senseond-gate) start_sensor "$2" gate ;;
	senseond-gateonly) start_sensor "$2" gateonly ;;
	senseond-nogate) start_sensor "$2" nogate ;;
	forkstat) start_forkstat "$2" ;;
	fatrace) start_fatrace "$2" ;;
	auditd) start_auditd "$2" ;;
	fapolicyd) start_fapolicyd "$2" ;;
	*) MON_NOTE="unknown configuration $1"; return 1 ;;
	esac
}

# Stop what start_monitor started, by pid: SIGTERM through timeout (which
# forwards it), then SIGKILL if it does not go within 10 s.
stop_monitor() {
	local i
	audit_del_rule
	[ -n "$MON_WRAP" ] || return 0
	kill -TERM "$MON_WRAP" 2>/dev/null
	for i in $(seq 1 100); do
		kill -0 "$MON_WRAP" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$MON_WRAP" 2>/dev/null; then
		[ -n "$MON_PID" ] && kill -KILL "$MON_PID" 2>/dev/null
		kill -KILL "$MON_WRAP" 2>/dev/null
	fi
	wait "$MON_WRAP" 2>/dev/null
	MON_WRAP= MON_PID=
	RUN_PREFIX=()
}

# ---- one measured run --------------------------------------------------

record() {	# workload config round wall ok expected events cpu hwm note
	local v=() x
	for x in "$4" "$5" "$6" "$7" "$8" "$9"; do v+=("${x:-null}"); done
	printf '{"workload":"%s","config":"%s","round":%d,"wall":%s,"ok":%s,"expected":%s,"events":%s,"cpu":%s,"hwm_kb":%s,"note":%s}\n' \
		"$1" "$2" "$3" "${v[@]}" "$("$PY" -c 'import json,sys; print(json.dumps(sys.argv[1] or None))' "${10:-}")" >> "$RAW"
}

run_one() {
	local wl=$1 cfg=$2 round=$3 marker out wall ok n cpu= hwm= events= rc
	marker="sbench${round}${cfg//-/}$RANDOM"
	if [ -n "${SKIP[$wl.$cfg]:-}" ]; then
		record "$wl" "$cfg" "$round" "" "" "" "" "" "" "${SKIP[$wl.$cfg]}"
		return
	fi
	if ! start_monitor "$cfg" "$wl"; then
		log "$wl/$cfg: skipped: $MON_NOTE"
		SKIP[$wl.$cfg]=$MON_NOTE
		stop_monitor
		record "$wl" "$cfg" "$round" "" "" "" "" "" "" "$MON_NOTE"
		return
	fi
	if [ "$wl" = exec ]; then
		n=$EXECS
		out=$("${RUN_PREFIX[@]}" timeout -s KILL 600 "$BIN/execstorm" -n "$n" -j "$JOBS" "$BIN/true" "$marker")
		rc=$?
	else
		n=$FILES
		sync
		out=$("${RUN_PREFIX[@]}" timeout -s KILL 600 "$BIN/filestorm" -n "$n" "$MNT/d" "$marker")
		rc=$?
	fi
	wall=$(sed -n 's/^wall=\([0-9.]*\) .*/\1/p' <<< "$out")
	ok=$(sed -n 's/.* ok=\([0-9]*\) .*/\1/p' <<< "$out")
	if [ -n "$MON_PID" ]; then
		settle
		cpu=$(cpu_of "$MON_PID")
		hwm=$(kb_of "$MON_PID" VmHWM)
		alive || MON_NOTE="monitor died during the run"
	fi
	stop_monitor
	if [ "$rc" != 0 ] || [ -z "$wall" ]; then
		MON_NOTE="workload failed (rc $rc): $out"
		wall=
	fi
	if [ -n "$MON_OUT" ]; then
		events=$("$PY" "$HERE/analyze.py" count "${cfg%%-*}" "$wl" "$MON_OUT" "$marker" "$BIN/true")
		[ "$events" = null ] && events=
	fi
	log "$(printf '%-4s round %d %-10s wall %-9s cpu %-6s hwm %-7s events %s/%s %s' \
		"$wl" "$round" "$cfg" "${wall:--}" "${cpu:--}" "${hwm:--}" "${events:--}" "$n" "$MON_NOTE")"
	record "$wl" "$cfg" "$round" "$wall" "$ok" "$n" "$events" "$cpu" "$hwm" "$MON_NOTE"
	[ "$cfg" = fapolicyd ] || [ "$KEEP" = 1 ] || rm -f "$MON_OUT"
}

idle_rss() {
	local rss
	IDLE_RSS=
	start_monitor senseond exec || { log "idle RSS: $MON_NOTE"; stop_monitor; return; }
	sleep 3
	rss=$(kb_of "$MON_PID" VmRSS)
	stop_monitor
	IDLE_RSS=$rss
	log "senseond idle VmRSS: ${rss:-?} kB"
}

reverse() { local out= w; for w in $1; do out="$w $out"; done; echo $out; }

# ---- main --------------------------------------------------------------

make_fs
build
: > "$RAW"
log "work dir $WORK; senseond: ${SENSEOND_BIN:-none}; rounds $ROUNDS; execs $EXECS; files $FILES; jobs $JOBS"
IDLE_RSS=
case " $EXEC_CONFIGS $FILE_CONFIGS " in *" senseond "*) idle_rss ;; esac

START=$(date +%s)
for wl in $WORKLOADS; do
	configs=$EXEC_CONFIGS
	[ "$wl" = file ] && configs=$FILE_CONFIGS
	[ -n "$configs" ] || continue
	# one unmeasured warm-up run: page cache, binaries, the image's journal
	if [ "$wl" = exec ]; then
		"$BIN/execstorm" -n 1000 "$BIN/true" warmup > /dev/null
	else
		"$BIN/filestorm" -n 2000 "$MNT/d" warmup > /dev/null
	fi
	for round in $(seq 1 "$ROUNDS"); do
		order=$configs
		[ $((round % 2)) = 0 ] && order=$(reverse "$configs")
		for cfg in $order; do
			run_one "$wl" "$cfg" "$round"
		done
	done
done
log "measured in $(( $(date +%s) - START )) s"

[ -n "$JSON_OUT" ] || JSON_OUT=$HERE/bench-results-$(date +%Y%m%d-%H%M%S).json
cat > "$WORK/meta.json" <<META
{"date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "nproc": $(nproc), "kernel": "$(uname -r)",
 "host_cpu": "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)",
 "rounds": $ROUNDS, "execs": $EXECS, "files": $FILES, "jobs": $JOBS,
 "senseond": "${SENSEOND_BIN}", "senseond_commit": "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)",
 "command": "bench/run.sh $ORIG_ARGS", "idle_rss_kb": ${IDLE_RSS:-null},
 "configs": {"exec": [$(printf '"%s",' $EXEC_CONFIGS | sed 's/,$//')],
             "file": [$(printf '"%s",' $FILE_CONFIGS | sed 's/,$//')]}}
META
"$PY" "$HERE/analyze.py" report "$RAW" "$JSON_OUT" "$WORK/meta.json"
