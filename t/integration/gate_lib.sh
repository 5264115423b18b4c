# shellcheck shell=bash
# Shared by the gate_*.sh tests (sourced after lib.sh): a tmpfs of the
# test's own, the only filesystem the exec gate marks, and an exec driver.
#
# Safety: exec_gate_paths names only $GATE, a tmpfs this test mounts, so
# a bug in the gate can only hold execs of files on it; the daemon and
# every storm run under `timeout`.

GATE="$T/gate"
mkdir -p "$GATE"
mount -t tmpfs -o size=64m,mode=755 senseon-gate-test "$GATE" || skip "cannot mount a tmpfs"
add_cleanup "umount -l '$GATE'"

# gate_script NAME: an executable on the gated tmpfs that leaves a marker
gate_script() {
	printf '#!/bin/sh\n: > "%s/ran-%s"\n' "$T" "$1" > "$GATE/$1"
	chmod 755 "$GATE/$1"
}

# gate_policy FILE NAME PATH [dryRun]: a program policy that denies PATH
gate_policy() {
	cat > "$T/etc/policy.d/$1" <<YAML
$2:
  policy: program
  priority: High
  alertMessage: Denied by the exec gate test
  dryRun: ${4:-false}
  responseActions:
    - deny
  rules:
    - match programName == "$3"
    - default ignore
YAML
}

# gate_file_policy FILE NAME PATH [dryRun]: a file policy that denies the
# exec of PATH (fileOperation "exec": the file is being executed)
gate_file_policy() {
	cat > "$T/etc/policy.d/$1" <<YAML
$2:
  policy: file
  priority: High
  alertMessage: Exec of a file denied by the exec gate test
  dryRun: ${4:-false}
  responseActions:
    - deny
  rules:
    - match fileOperation == "exec" and filePath == "$3"
    - default ignore
YAML
}

# gate_config [extra lines]: the test's configuration: only $GATE gated
gate_config() {
	# watch_paths: the exec source (notification only) must see binaries on
	# $GATE too, for the exec events of what the gate allowed
	sensor_config "file_source: false" "watch_paths: [/, $GATE]" \
		"exec_gate_paths: [$GATE]" "$@"
}

# The exec driver: N execs of a program through posix_spawn, each with its
# own result; prints one JSON object.  Usage:
#   gate_exec PATH [COUNT [DENIED_PATH EVERY]]
# Every EVERY-th exec is of DENIED_PATH instead, and must fail with EPERM.
cat > "$T/storm.py" <<'PY'
import errno, json, os, sys, time
path = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1
bad = sys.argv[3] if len(sys.argv) > 3 else None
every = int(sys.argv[4]) if len(sys.argv) > 4 else 0
res = {"ok": 0, "failed": 0, "errors": {}, "bad_eperm": 0, "bad_other": {},
       "max_ms": 0.0}
t0 = time.monotonic()
for i in range(n):
    p = bad if every and i % every == every - 1 else path
    t = time.monotonic()
    try:
        pid = os.posix_spawn(p, [p], {})
        _, st = os.waitpid(pid, 0)
        rc = os.waitstatus_to_exitcode(st)
        if p == bad:
            res["bad_other"]["ran"] = res["bad_other"].get("ran", 0) + 1
        elif rc == 0:
            res["ok"] += 1
        else:
            res["failed"] += 1
    except OSError as e:
        name = errno.errorcode.get(e.errno, str(e.errno))
        if p == bad and e.errno == errno.EPERM:
            res["bad_eperm"] += 1
        elif p == bad:
            res["bad_other"][name] = res["bad_other"].get(name, 0) + 1
        else:
            res["errors"][name] = res["errors"].get(name, 0) + 1
    res["max_ms"] = max(res["max_ms"], (time.monotonic() - t) * 1000)
res["elapsed_ms"] = round((time.monotonic() - t0) * 1000, 1)
res["max_ms"] = round(res["max_ms"], 1)
print(json.dumps(res), flush=True)
PY
gate_exec() { "$PY" "$T/storm.py" "$@"; }

# jfield JSON EXPR: evaluate a Python expression over the dict j
jfield() { "$PY" -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }

# gate_status EXPR: EXPR over status.json's "execGate" object g
gate_status() {
	"$PY" -c 'import json,sys; g=json.load(open(sys.argv[1])).get("execGate",{}); print(eval(sys.argv[2]))' \
		"$T/run/status.json" "$1"
}

# wait_gate EXPR [SECONDS]: until EXPR over "execGate" is true (status.json
# is rewritten every second); SECONDS defaults to lib.sh's $WAIT.  The
# caller's failure message shows what status.json said.
_gate_true() { [ "$(gate_status "$1" 2>/dev/null)" = True ]; }
wait_gate() { poll "${2:-$WAIT}" _gate_true "$1"; }

# sensor_restart: start again after the daemon died (SIGKILL)
sensor_restart() {
	SENSOR_PID=
	rm -f "$T/run/status.json"
	sensor_start
}
