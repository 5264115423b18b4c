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
SENSOR_TIMEOUT=${SENSOR_TIMEOUT:-300}
CLEANUP_HOOKS=()

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "# $*"; }

[ "$(id -u)" = 0 ] || skip "needs root"
[ -x "$PY" ] || skip "needs $PY"

T=$(mktemp -d /tmp/senseon-test.XXXXXX)
chmod 755 "$T"

add_cleanup() { CLEANUP_HOOKS+=("$1"); }

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
	local i
	for i in $(seq 1 200); do
		if [ -s "$T/run/status.json" ]; then
			DAEMON_PID=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$T/run/status.json")
			return 0
		fi
		kill -0 "$SENSOR_PID" 2>/dev/null || { cat "$T/senseond.err" >&2; fail "senseond exited at start"; }
		sleep 0.05
	done
	fail "senseond did not become ready in 10 s"
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
	wait "$pid" || rc=$?
	return $rc
}

# events_file: where the daemon writes every event
events_file() { echo "$T/log/events.jsonl"; }

# wait_event PYEXPR [SECONDS]: wait until some event e satisfies PYEXPR
# (a Python expression over the dict e); prints the first match.
wait_event() {
	local expr=$1 secs=${2:-10}
	"$PY" "$top_srcdir/t/integration/jsonwait.py" "$(events_file)" "$expr" "$secs"
}

# count_events PYEXPR: how many events satisfy PYEXPR (no waiting)
count_events() {
	"$PY" "$top_srcdir/t/integration/jsonwait.py" --count "$(events_file)" "$1" 0
}
