#!/bin/bash
# control_basic: the control socket against the running daemon.
#  - status over the socket (human and --json): pid, policies, isolation
#  - kill of a process the test started, kill --tree of a shell and its
#    children; refusal of PID 1 and of the daemon itself; each audited
#  - a non-root client is refused: by the socket's mode, and (given
#    CAP_DAC_OVERRIDE to get past the mode) by SO_PEERCRED, with the
#    refusal in audit.jsonl
#  - malformed frames (garbage JSON, oversize, bad kind) get an error
#    reply and a hang-up; the daemon lives and still answers; a 17th
#    simultaneous connection is refused
#  - alerts --follow sees an alert raised after it started; alerts -n
#    lists it afterwards
#  - after a clean stop the socket is gone and status falls back to
#    status.json
. "${top_srcdir:-$(dirname "$0")/../..}/t/integration/lib.sh"

[ -x "$SENSEOND" ] || skip "senseond not built"
command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"

W="$T/work"
mkdir -p "$W/bin"
cp /bin/true "$W/bin/alert-me"
sensor_config "file_source: false" "exec_source: true"
cat > "$T/etc/policy.d/control.yaml" <<YAML
Control Test Alert:
  policy: program
  priority: Low
  alertMessage: alert-me ran
  rules:
    - match programName == "$W/bin/alert-me"
    - default ignore
YAML
sensor_start
SOCK="$T/run/control.sock"
export SENSEON_CONTROL_SOCKET="$SOCK"
AUDIT="$T/log/audit.jsonl"
ctl() { "$SENSEONCTL" -c "$T/etc/senseond.conf" "$@"; }
daemon_alive() { kill -0 "$DAEMON_PID" 2>/dev/null || fail "senseond died: $1"; }
# audit_has PYEXPR: wait until some audit record r satisfies PYEXPR
audit_has() {
	"$PY" "$top_srcdir/t/integration/jsonwait.py" "$AUDIT" "(lambda r: $1)(e)" "$WAIT" >/dev/null
}
# ctl_retry ARGS...: senseonctl ARGS until it succeeds (the proc connector
# may not have delivered the target's fork yet); its output in $out
ctl_try() { out=$(ctl "$@" 2>&1); }
ctl_retry() { poll "$WAIT" ctl_try "$@"; }

[ -S "$SOCK" ] || fail "expected the control socket at $SOCK, found none"
mode=$(stat -c %a "$SOCK")
[ "$mode" = 600 ] || fail "expected socket mode 600, saw $mode"
mode=$(stat -c %a "$(dirname "$SOCK")")
[ "$mode" = 700 ] || fail "expected socket directory mode 700, saw $mode"

note "status over the socket"
js=$(ctl --json status) || fail "senseonctl --json status failed: $js"
"$PY" - "$js" "$DAEMON_PID" <<'PY' || fail "status reply wrong: $js"
import json, sys
s = json.loads(sys.argv[1])
assert s["pid"] == int(sys.argv[2]), ("pid", s["pid"])
assert s["policies"] == 1, ("policies", s["policies"])
assert s["isolation"]["state"], s["isolation"]
assert s["platform"]["state"] == "not configured", s["platform"]
assert s["control"]["connections"] >= 1, s["control"]
assert "process" in s["sources"], s["sources"]
PY
out=$(ctl status) || fail "senseonctl status failed: $out"
grep -q "policies  1 loaded" <<<"$out" || fail "expected 'policies  1 loaded' in: $out"
grep -q "from status.json" <<<"$out" && fail "status fell back to status.json while the socket is up: $out"

note "kill a process the test started"
sleep 300 &
victim=$!
ctl_retry kill "$victim" || fail "kill $victim: expected success within $WAIT s of retries, saw: $out"
rc=0
wait "$victim" || rc=$?
[ "$rc" = 137 ] || fail "expected the victim to die of SIGKILL (137), saw status $rc"
audit_has "r['type'] == 'process.kill' and r['pid'] == $victim and r['result'] == 'success'" ||
	fail "no successful process.kill record for $victim in $AUDIT"

note "kill with a named signal"
sleep 300 &
victim=$!
ctl_retry kill --signal TERM "$victim" ||
	fail "kill --signal TERM $victim: expected success within $WAIT s of retries, saw: $out"
rc=0
wait "$victim" || rc=$?
[ "$rc" = 143 ] || fail "expected SIGTERM (143) for --signal TERM, saw status $rc ($out)"

note "kill --tree"
bash -c 'sleep 300 & sleep 300 & wait' &
root=$!
two_kids() {
	kids=$(ps -o pid= --ppid "$root" | tr -d ' ' | tr '\n' ' ')
	[ "$(wc -w <<<"$kids")" = 2 ]
}
poll "$WAIT" two_kids || fail "the tree's two children did not start in $WAIT s; children of $root: '$kids'"
ctl_retry kill --tree "$root" || fail "kill --tree $root: expected success within $WAIT s of retries, saw: $out"
grep -q "2 descendants" <<<"$out" || fail "expected '2 descendants' killed, saw: $out"
wait "$root" 2>/dev/null
# gone, or a zombie waiting for init to reap it (SIGKILL takes effect
# when the child next runs: wait for that)
dead() { local st; ! st=$(ps -o stat= -p "$1") || [ "${st#Z}" != "$st" ]; }
for k in $kids; do
	poll "$WAIT" dead "$k" ||
		fail "child $k of the tree survived kill --tree for $WAIT s ($(ps -o stat=,cmd= -p "$k"))"
done

note "refusals: PID 1, the daemon, a pid that does not exist"
rc=0; out=$(ctl kill 1 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "kill 1: expected exit 1, saw $rc ($out)"
grep -q "refused" <<<"$out" || fail "kill 1: expected a refusal, saw: $out"
rc=0; out=$(ctl kill "$DAEMON_PID" 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "kill of the daemon: expected exit 1, saw $rc ($out)"
grep -q "sensor itself" <<<"$out" || fail "kill of the daemon: expected 'sensor itself', saw: $out"
daemon_alive "after being asked to kill itself"
audit_has "r['type'] == 'process.kill' and r['pid'] == 1 and r['result'] == 'failed'" ||
	fail "the refused kill of PID 1 is not in $AUDIT"
rc=0; out=$(ctl kill 4194304 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "kill of a missing pid: expected exit 1, saw $rc ($out)"
rc=0; out=$(ctl kill notapid 2>&1) || rc=$?
[ "$rc" = 2 ] || fail "kill notapid: expected usage exit 2, saw $rc ($out)"

note "a non-root client is refused"
rc=0
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$SENSEONCTL" status 2>&1) || rc=$?
# status falls back to status.json, which nobody cannot read either
[ "$rc" = 4 ] || fail "non-root status: expected exit 4 (unavailable), saw $rc ($out)"
rc=0
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$SENSEONCTL" kill 1 2>&1) || rc=$?
[ "$rc" = 4 ] || fail "non-root kill: expected exit 4, saw $rc ($out)"
# Past the file mode (CAP_DAC_OVERRIDE), SO_PEERCRED still says no.
rc=0
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=+dac_override \
	--ambient-caps=+dac_override "$SENSEONCTL" kill 1 2>&1) || rc=$?
[ "$rc" = 4 ] || fail "non-root kill with DAC override: expected exit 4, saw $rc ($out)"
grep -q "permission denied" <<<"$out" || fail "expected 'permission denied' from senseond, saw: $out"
audit_has "r['type'] == 'control.connect' and r['uid'] == 65534 and r['accepted'] is False" ||
	fail "no refused control.connect for uid 65534 in $AUDIT"
audit_has "r['type'] == 'control.connect' and r['uid'] == 0 and r['accepted'] is True" ||
	fail "no accepted control.connect for uid 0 in $AUDIT"
daemon_alive "after a refused client"

note "malformed frames"
"$PY" - "$SOCK" "$WAIT" <<'PY' || fail "malformed frame handling wrong"
import json, socket, struct, sys
WAIT = float(sys.argv[2])    # a bound on each reply, never reached when all is well

def recv_frame(s):
    hdr = b""
    while len(hdr) < 5:
        b = s.recv(5 - len(hdr))
        if not b:
            return None
        hdr += b
    n, kind = struct.unpack(">IB", hdr)
    body = b""
    while len(body) < n:
        b = s.recv(n - len(body))
        assert b, "EOF inside a frame"
        body += b
    return chr(kind), body

def session(payload):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(WAIT)
    s.connect(sys.argv[1])
    kind, hello = recv_frame(s)
    assert json.loads(hello)["ok"] is True, hello
    s.sendall(payload)
    kind, body = recv_frame(s)
    reply = json.loads(body)
    assert kind == "j" and reply["ok"] is False and reply["done"] is True, reply
    assert recv_frame(s) is None, "expected the daemon to hang up"
    s.close()
    return reply["error"]

def frame(kind, body):
    return struct.pack(">IB", len(body), ord(kind)) + body

cases = {
    "garbage JSON": frame("j", b"{not json"),
    "not an object": frame("j", b"[1,2,3]"),
    "oversize": struct.pack(">IB", 1 << 30, ord("j")),
    "bad kind": frame("x", b"{}"),
    "no id": frame("j", b'{"cmd":"status"}'),
    "stray data": frame("d", b"abc"),
}
for name, payload in cases.items():
    err = session(payload)
    print("# %s -> %s" % (name, err))
    assert err, name

# an unknown command is an error reply, and the connection stays usable
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(WAIT)
s.connect(sys.argv[1])
recv_frame(s)
s.sendall(frame("j", b'{"id":5,"cmd":"no.such"}'))
reply = json.loads(recv_frame(s)[1])
assert reply["id"] == 5 and reply["ok"] is False and "unknown command" in reply["error"], reply
s.sendall(frame("j", b'{"id":6,"cmd":"status"}'))
reply = json.loads(recv_frame(s)[1])
assert reply["id"] == 6 and reply["ok"] is True and reply["status"]["pid"] > 0, reply

# 16 connections at once are served (s is one of them); the 17th is refused
conns = [s]
for i in range(15):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(WAIT)
    c.connect(sys.argv[1])
    hello = json.loads(recv_frame(c)[1])
    assert hello["ok"] is True, ("connection %d" % (i + 2), hello)
    conns.append(c)
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.settimeout(WAIT)
c.connect(sys.argv[1])
reply = json.loads(recv_frame(c)[1])
assert reply["ok"] is False and "too many connections" in reply["error"], reply
assert recv_frame(c) is None, "expected the 17th connection to be closed"
for c in conns:
    c.close()
print("# 17th connection -> " + reply["error"])
PY
daemon_alive "after malformed frames"
ctl status >/dev/null || fail "status failed after malformed frames"

note "alerts --follow sees a new alert"
ctl --json alerts --follow > "$T/follow.out" 2> "$T/follow.err" &
follower=$!
add_cleanup "kill $follower 2>/dev/null"
wait_has "$T/follow.err" "following alerts" ||
	fail "the follower did not say 'following alerts' in $WAIT s: $(cat "$T/follow.err")"
"$W/bin/alert-me"
wait_has "$T/follow.out" '"Control Test Alert"' ||
	fail "expected the alert in the follower's output within $WAIT s, saw: $(cat "$T/follow.out")"
kill "$follower"
wait "$follower" 2>/dev/null
out=$(ctl --json alerts -n 5) || fail "alerts -n 5 failed: $out"
grep -q '"Control Test Alert"' <<<"$out" || fail "alerts -n 5 does not list the alert: $out"
[ "$(ctl --json alerts -n 0 | wc -l)" = 0 ] || fail "alerts -n 0 printed alerts"

daemon_alive "at the end"
sensor_stop || fail "senseond exited with status $? on SIGTERM"
[ ! -e "$SOCK" ] || fail "the control socket was left behind after a clean stop"
# no socket: status falls back to the last status.json
out=$(ctl status 2>&1) || true
grep -q "status.json" <<<"$out" || fail "expected status to fall back to status.json, saw: $out"
exit 0
