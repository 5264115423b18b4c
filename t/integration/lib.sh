# shellcheck shell=bash
# Shared helper for root integration tests: a private prefix per test,
# the daemon started under `timeout`, and cleanup on every exit path.
#
# Use:  . "$top_srcdir/t/integration/lib.sh"
#       sensor_start [extra config lines...]
#       ... run things, then assert with events_match / wait_event ...
#
# Tests kill only what they started (by pid), never by name.

set -u
: "${top_builddir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
PY=/usr/bin/python3
SENSEOND="$top_builddir/senseond"
SENSEONCTL="$top_builddir/senseonctl"
SENSOR_PID=
DAEMON_PID=
# The daemon's lifetime bound (it runs under `timeout`): only there so a
# daemon can never outlive a test that was itself killed; far above what
# any test takes, even with every wait near its bound.
SENSOR_TIMEOUT=${SENSOR_TIMEOUT:-900}
# WAIT: the bound, in seconds, of every wait on an event (a line in a
# file, a reply, a pid's exit, a status field).  A wait ends as soon as its
# event happens, so the bound only costs time when a test fails; it is
# generous so that a loaded machine or a sanitizer build is never a
# failure.  No test asserts how long anything took.
WAIT=${SENSEON_TEST_WAIT:-120}
CLEANUP_HOOKS=()

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "# $*"; }

[ "$(id -u)" = 0 ] || skip "needs root"
[ -x "$PY" ] || skip "needs $PY"

T=$(mktemp -d /tmp/senseon-test.XXXXXX)
chmod 755 "$T"

add_cleanup() { CLEANUP_HOOKS+=("$1"); }

# poll SECONDS COMMAND...: run COMMAND until it succeeds (0), or until
# SECONDS have passed (1; COMMAND was tried once more at the bound).
poll() {
	local end=$((EPOCHSECONDS + $1))
	shift
	until "$@"; do
		((EPOCHSECONDS < end)) || return 1
		sleep 0.05
	done
}
# gone PID: PID has exited (and, if our child, been reaped)
gone() { ! kill -0 "$1" 2>/dev/null; }
# has FILE STRING: FILE contains STRING (fixed string)
has() { grep -qF -- "$2" "$1" 2>/dev/null; }
# wait_has FILE STRING [SECONDS]: until FILE contains STRING
wait_has() { poll "${3:-$WAIT}" has "$1" "$2"; }
# wait_gone PID [SECONDS]: until PID has exited
wait_gone() { poll "${2:-$WAIT}" gone "$1"; }

cleanup() {
	local rc=$? h
	for h in "${CLEANUP_HOOKS[@]+"${CLEANUP_HOOKS[@]}"}"; do eval "$h" || true; done
	sensor_stop >/dev/null 2>&1 || true
	if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ -d "$T" ]; then
		echo "--- senseond stderr (last 30 lines) ---" >&2
		tail -n 30 "$T/senseond.err" 2>/dev/null >&2 || true
	fi
	[ -n "${KEEP_TEST_DIR:-}" ] || rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# sensor_config [extra YAML lines...]: write $T/senseond.conf
sensor_config() {
	mkdir -p "$T/etc/policy.d" "$T/state" "$T/log" "$T/run" "$T/scripts"
	cat > "$T/etc/senseond.conf" <<CONF
state_dir: $T/state
log_dir: $T/log
run_dir: $T/run
policy_dir: $T/etc/policy.d
scripts_dir: $T/scripts
control_socket: $T/run/control.sock
log_level: info
CONF
	local line
	for line in "$@"; do printf '%s\n' "$line" >> "$T/etc/senseond.conf"; done
}

# sensor_start [extra YAML lines...]: start senseond -f on the private prefix
sensor_start() {
	[ -f "$T/etc/senseond.conf" ] || sensor_config "$@"
	timeout -s KILL "$SENSOR_TIMEOUT" "$SENSEOND" -f -c "$T/etc/senseond.conf" \
		> "$T/stdout.jsonl" 2> "$T/senseond.err" &
	SENSOR_PID=$!
	sensor_ready
}

# sensor_ready: wait until the daemon started as $SENSOR_PID wrote
# $T/run/status.json (its readiness), then set DAEMON_PID from it
_ready_or_gone() { [ -s "$T/run/status.json" ] || gone "$SENSOR_PID"; }
sensor_ready() {
	poll "$WAIT" _ready_or_gone ||
		fail "senseond (under timeout, pid $SENSOR_PID) wrote no $T/run/status.json in $WAIT s; its stderr: $(tail -n 5 "$T/senseond.err" 2>/dev/null)"
	if [ ! -s "$T/run/status.json" ]; then
		cat "$T/senseond.err" >&2
		fail "senseond exited at start"
	fi
	DAEMON_PID=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$T/run/status.json")
}

# sensor_signal SIG: signal senseond itself ($SENSOR_PID is its `timeout`
# wrapper, which forwards only the first signal it gets)
sensor_signal() { kill -s "$1" "$DAEMON_PID"; }

# sensor_stop: SIGTERM, wait; returns the daemon's exit status
sensor_stop() {
	[ -n "$SENSOR_PID" ] || return 0
	local pid=$SENSOR_PID rc=0
	SENSOR_PID=
	kill -TERM "$pid" 2>/dev/null || true
	if ! wait_gone "$pid"; then
		# a hung stop is a failure (status 137 below), not a hung test;
		# the daemon is killed only if it is still the child of our timeout
		echo "senseond did not exit in $WAIT s after SIGTERM: SIGKILL" >&2
		[ "$(awk '$1 == "PPid:" {print $2}' "/proc/$DAEMON_PID/status" 2>/dev/null)" != "$pid" ] ||
			kill -KILL "$DAEMON_PID"
	fi
	wait "$pid" || rc=$?
	return $rc
}

# events_file: where the daemon writes every event
events_file() { echo "$T/log/events.jsonl"; }

# wait_event PYEXPR [SECONDS]: wait until some event e satisfies PYEXPR
# (a Python expression over the dict e); prints the first match.  On
# timeout jsonwait.py says what it waited for and what the file held.
wait_event() {
	local expr=$1 secs=${2:-$WAIT}
	"$PY" "$top_srcdir/t/integration/jsonwait.py" "$(events_file)" "$expr" "$secs"
}

# count_events PYEXPR: how many events satisfy PYEXPR (no waiting)
count_events() {
	"$PY" "$top_srcdir/t/integration/jsonwait.py" --count "$(events_file)" "$1" 0
}
