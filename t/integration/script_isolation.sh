#!/bin/bash
# script_isolation: senseon.isolate() / unisolate() / isolation_status()
# from analyst scripts (the shipped scripts/isolation.py), through the
# daemon's isolation subsystem, only inside network namespaces this test
# creates ("host", where senseond runs with the isolation_netns guard,
# "platform" and "internet").  Never touches the machine's own namespace.
#
# Asserts: before, the internet answers; `isolation isolate ADDR:PORT`
# run with senseonctl isolates (our table present, internet port 80
# dropped, the allowed port and the platform still answer); status from
# a script says isolated, by that script run; the audit log has the
# change by "script run N"; a bad allow entry fails the script (exit 1)
# and changes nothing; unisolate restores reachability; an isolation
# with --for 10s is lifted by the daemon on its own.
. "${top_srcdir:-$(dirname "$0")/../..}/t/integration/lib.sh"

command -v ip >/dev/null || skip "needs ip (iproute2)"
command -v nft >/dev/null || skip "needs nft"
PYRUNNER="$top_builddir/senseon-pyrunner"
[ -x "$PYRUNNER" ] || skip "senseon-pyrunner not built"

TAG=$$
H=sn-siso-h-$TAG
P=sn-siso-p-$TAG
I=sn-siso-i-$TAG
. "$top_srcdir/t/integration/netns_lib.sh"

in_h() { ip netns exec "$H" "$@"; }
mkns "$H"; mkns "$P"; mkns "$I"
netns_guard "$H"
veth_link "$H" hp "$P" ph 10.78.1
veth_link "$H" hi "$I" ih 10.78.2

cat > "$T/serve.py" <<'PY'
import socket, sys, threading
def tcp(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(16)
    while True:
        c, _ = s.accept(); c.sendall(b"ok\n"); c.close()
for spec in sys.argv[1:]:
    addr, port = spec.split(",")
    threading.Thread(target=tcp, args=(addr, int(port)), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
PY
cat > "$T/probe.py" <<'PY'
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1)
    s.settimeout(1); ok = s.recv(3) == b"ok\n"
except OSError:
    ok = False
sys.exit(0 if ok else 1)
PY
serve() {
	local ns=$1; shift
	ip netns exec "$ns" timeout -s KILL "$SENSOR_TIMEOUT" "$PY" -u "$T/serve.py" "$@" > "$T/serve-$ns.out" 2>&1 &
	SERVER_PIDS+=($!)
}
serve "$P" 10.78.1.2,8443
serve "$I" 10.78.2.2,80 10.78.2.2,7777
for f in "$T/serve-$P.out" "$T/serve-$I.out"; do
	wait_has "$f" ready || fail "test server did not say ready in $WAIT s: $(cat "$f")"
done
reach() { in_h "$PY" "$T/probe.py" "$@"; }
# reachable: answered, retried until $WAIT s (each try waits 1 s)
expect_open() { poll "$WAIT" reach "$@" || fail "expected $* to be reachable from $H, in $WAIT s of tries it was not"; }
# blocked: no answer within 1 s (a dropped SYN says nothing: a negative
# check, which a slow machine can only make pass, never fail)
expect_shut() { ! reach "$@" || fail "expected $* to be blocked by isolation, it answered"; }
table_present() { in_h nft list table inet senseon_isolation >/dev/null 2>&1; }

expect_open 10.78.2.2 80
expect_open 10.78.2.2 7777
expect_open 10.78.1.2 8443

CONF=$T/etc/senseond.conf
sensor_config "pyrunner_path: $PYRUNNER" "process_source: false" "exec_source: false" \
	"file_source: false" "event_log: false" "stdout_events: none" \
	"platform_host: 10.78.1.2" "platform_port: 8443" "isolation_netns: /run/netns/$H"
cp "$top_srcdir/scripts/isolation.py" "$T/scripts/"
ip netns exec "$H" timeout -s KILL "$SENSOR_TIMEOUT" "$SENSEOND" -f -c "$CONF" \
	> "$T/stdout.jsonl" 2>> "$T/senseond.err" &
SENSOR_PID=$!
sensor_ready
ctl() { in_h "$SENSEONCTL" -c "$CONF" "$@"; }
W=$T/work
mkdir -p "$W"

# run_script STATUS DESC ARGS...: `senseonctl run`, check its exit status
run_script() {
	local want=$1 desc=$2 rc=0
	shift 2
	ctl run "$@" > "$W/stdout" 2> "$W/stderr" || rc=$?
	[ "$rc" = "$want" ] || fail "$desc: expected exit status $want, saw $rc ($(cat "$W/stdout" "$W/stderr"))"
}
jget() { "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get(sys.argv[2]))' "$W/stdout" "$1"; }

# --- isolate from a script ---
run_script 0 "isolation isolate 10.78.2.2:7777" isolation isolate 10.78.2.2:7777
[ "$(jget isolated)" = True ] || fail "isolate: expected the new state isolated, saw $(cat "$W/stdout")"
table_present || fail "isolate: our nftables table is not in $H"
expect_shut 10.78.2.2 80
expect_open 10.78.2.2 7777
expect_open 10.78.1.2 8443

run_script 0 "isolation status" isolation status
[ "$(jget isolated)" = True ] || fail "status: expected isolated, saw $(cat "$W/stdout")"
[ "$(jget table_intact)" = True ] || fail "status: expected our table intact, saw $(cat "$W/stdout")"
case "$(jget by)" in
"script run "*" (uid:0)") ;;
*) fail "status: expected by 'script run N (uid:0)', saw '$(jget by)'" ;;
esac

audited() {	# audited ACTION: "by" of the last successful isolation.change ACTION
	"$PY" - "$T/log/audit.jsonl" "$1" <<'PY'
import json, sys
by = ""
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("type") == "isolation.change" and r.get("action") == sys.argv[2] \
            and r.get("result") == "success":
        by = r.get("by")
print(by)
PY
}
case "$(audited isolate)" in
"script run "*) ;;
*) fail "audit: expected an isolation.change isolate by 'script run N', saw '$(audited isolate)'" ;;
esac

# --- a bad allow entry: refused, nothing changes ---
run_script 1 "isolate with a bad allow entry" isolation isolate not-an-address
grep -q "isolation isolate:" "$W/stderr" || fail "bad allow entry: no error on stderr: $(cat "$W/stderr")"
expect_open 10.78.2.2 7777

# --- unisolate from a script ---
run_script 0 "isolation unisolate" isolation unisolate
! table_present || fail "unisolate: our table is still in $H"
expect_open 10.78.2.2 80
case "$(audited unisolate)" in
"script run "*) ;;
*) fail "audit: expected an isolation.change unisolate by 'script run N', saw '$(audited unisolate)'" ;;
esac

# --- an isolation with a duration is lifted by the daemon ---
# 10 s: longer than the check of our table needs, however slow the machine
t0=$(date +%s)
run_script 0 "isolation isolate --for 10s" isolation isolate --for 10s
table_present || fail "isolate --for 10s: our table is not in $H"
[ "$(jget expires)" -ge $((t0 + 10)) ] ||
	fail "isolate --for 10s: expected an expiry at least 10 s after $t0, saw $(cat "$W/stdout")"
table_absent() { ! table_present; }
poll "$WAIT" table_absent ||
	fail "isolate --for 10s: expected the daemon to lift it at the expiry; $WAIT s later our table is still in $H"
expect_open 10.78.2.2 80

kill -0 "$DAEMON_PID" || fail "senseond is gone"
echo "PASS: script_isolation"
