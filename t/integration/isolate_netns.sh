#!/bin/bash
# isolate_netns - host network isolation, end to end, only inside network
# namespaces this test creates: "host" (where senseond and senseonctl run),
# "platform" and "internet", joined to host by veth pairs.  Never touches
# the machine's own namespace: every command that changes nftables runs
# under `ip netns exec`, and the daemon itself refuses outside the host
# namespace (isolation_netns).
#
# Asserts: platform reachable on TCP over IPv4 and IPv6; other destinations
# dropped for TCP, UDP, ICMP and IPv6; an --allow entry reachable; inbound
# from the internet accepted; loopback works; the digest matches the
# kernel's listing; refusal when the platform cannot be resolved; a
# `nft flush ruleset` is repaired; a restart re-applies; unisolate restores
# exactly the previous ruleset; expiry unisolates; senseonctl audits when
# the daemon is down.
. "$top_srcdir/t/integration/lib.sh"

command -v ip >/dev/null || skip "needs ip (iproute2)"
command -v nft >/dev/null || skip "needs nft"

TAG=$$
H=sn-iso-h-$TAG
P=sn-iso-p-$TAG
I=sn-iso-i-$TAG
. "$top_srcdir/t/integration/netns_lib.sh"
add_cleanup 'rm -rf "/etc/netns/$H"'

in_h() { ip netns exec "$H" "$@"; }

mkns "$H"; mkns "$P"; mkns "$I"
netns_guard "$H"
veth_link "$H" hp "$P" ph 10.77.1 fd77:1
veth_link "$H" hi "$I" ih 10.77.2 fd77:2

# The platform has a name with an IPv4 and an IPv6 address, resolved
# through the host namespace's own /etc/hosts (ip netns exec binds it).
mkdir -p "/etc/netns/$H"
printf '127.0.0.1 localhost\n10.77.1.2 platform.senseon-test\nfd77:1::2 platform.senseon-test\n' \
	> "/etc/netns/$H/hosts"

cat > "$T/serve.py" <<'PY'
import socket, sys, threading
def tcp(fam, addr, port):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port)); s.listen(16)
    while True:
        c, _ = s.accept(); c.sendall(b"ok\n"); c.close()
def udp(fam, addr, port):
    s = socket.socket(fam, socket.SOCK_DGRAM); s.bind((addr, port))
    while True:
        d, a = s.recvfrom(512); s.sendto(b"ok", a)
for spec in sys.argv[1:]:
    proto, addr, port = spec.split(",")
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    threading.Thread(target=tcp if proto == "tcp" else udp,
                     args=(fam, addr, int(port)), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
PY

cat > "$T/probe.py" <<'PY'
# probe.py tcp|udp|icmp ADDR [PORT]: exit 0 if answered within 1 s, 2 if
# the kernel refused to send (EPERM: a local firewall dropped it), else 1
import errno, os, socket, struct, sys
kind, addr = sys.argv[1], sys.argv[2]
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
try:
    if kind == "tcp":
        s = socket.create_connection((addr, int(sys.argv[3])), timeout=1)
        s.settimeout(1); ok = s.recv(3) == b"ok\n"
    elif kind == "udp":
        s = socket.socket(fam, socket.SOCK_DGRAM); s.settimeout(1)
        s.sendto(b"hi", (addr, int(sys.argv[3]))); ok = s.recv(16) == b"ok"
    else:
        v6 = fam == socket.AF_INET6
        s = socket.socket(fam, socket.SOCK_RAW,
                          socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
        s.settimeout(1)
        hdr = struct.pack("!BBHHH", 128 if v6 else 8, 0, 0, os.getpid() & 0xffff, 1)
        if not v6:
            w = sum(struct.unpack("!4H", hdr)); w = (w >> 16) + (w & 0xffff)
            hdr = hdr[:2] + struct.pack("!H", ~(w + (w >> 16)) & 0xffff) + hdr[4:]
        s.sendto(hdr, (addr, 0)); ok = False
        while not ok:
            d = s.recv(256)
            t = d[0] if v6 else d[(d[0] & 15) * 4]
            ok = t == (129 if v6 else 0)
except OSError as e:
    if e.errno == errno.EPERM:
        sys.exit(2)
    ok = False
sys.exit(0 if ok else 1)
PY

serve() {	# serve NS SPEC...
	local ns=$1; shift
	ip netns exec "$ns" timeout -s KILL "$SENSOR_TIMEOUT" "$PY" -u "$T/serve.py" "$@" > "$T/serve-$ns.out" 2>&1 &
	SERVER_PIDS+=($!)
}
serve "$P" tcp,10.77.1.2,8443 tcp,fd77:1::2,8443 tcp,10.77.1.2,9999
serve "$I" tcp,10.77.2.2,80 tcp,fd77:2::2,80 udp,10.77.2.2,53 udp,fd77:2::2,53 tcp,10.77.2.2,7777
serve "$H" tcp,10.77.2.1,2222 tcp,127.0.0.1,2223
for f in "$T/serve-$P.out" "$T/serve-$I.out" "$T/serve-$H.out"; do
	wait_has "$f" ready || fail "test server did not say ready in $WAIT s: $(cat "$f")"
done

reach() {	# reach NS KIND ADDR [PORT]
	local ns=$1; shift
	ip netns exec "$ns" "$PY" "$T/probe.py" "$@"
}
# reachable: answered, retried until $WAIT s (each try waits 1 s for the
# answer, and a loaded machine may miss that)
expect_open() { poll "$WAIT" reach "$@" || fail "expected $* to be reachable, in $WAIT s of tries it was not"; }
# blocked: for UDP and ICMP the kernel says so at once (EPERM from the
# output chain's drop); a TCP SYN is dropped silently, so that check is
# "no answer within 1 s": a negative, which a slow machine can only make
# pass, never fail
expect_shut() {
	local rc=0
	reach "$@" || rc=$?
	[ "$rc" != 0 ] || fail "expected $* to be blocked by isolation, it answered"
}

# Every destination works before isolation (so the "blocked" checks can fail).
for a in "tcp 10.77.2.2 80" "tcp fd77:2::2 80" "udp 10.77.2.2 53" "udp fd77:2::2 53" \
	 "icmp 10.77.2.2" "icmp fd77:2::2" "tcp 10.77.1.2 9999" "tcp 10.77.1.2 8443"; do
	# shellcheck disable=SC2086
	expect_open "$H" $a
done

# A firewall of the host's own, which isolation must leave exactly as it was.
host_fw() {
	in_h nft -f - <<'NFT'
table ip hostfw {
	chain out {
		type filter hook output priority 10; policy accept;
		tcp dport 31337 drop
	}
}
NFT
}
host_fw
in_h nft list ruleset > "$T/ruleset.before"

CONF=$T/etc/senseond.conf
sensor_config "process_source: false" "exec_source: false" "file_source: false" \
	"event_log: false" "platform_host: platform.senseon-test" "platform_port: 8443" \
	"isolation_netns: /run/netns/$H"
ctl() { in_h "$SENSEONCTL" -c "$CONF" "$@"; }

table_present() { in_h nft list table inet senseon_isolation >/dev/null 2>&1; }
table_absent() { ! table_present; }
wait_table() {	# wait_table present|absent: until it is so, at most $WAIT s
	if [ "$1" = present ]; then poll "$WAIT" table_present; else poll "$WAIT" table_absent; fi
}
state() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
	"$T/state/isolation.json" "$1"; }

sensor_start_ns() {
	# ip netns exec execs timeout, so $! is timeout's pid (lib.sh's
	# sensor_stop signals it and it forwards to senseond)
	ip netns exec "$H" timeout -s KILL "$SENSOR_TIMEOUT" "$SENSEOND" -f -c "$CONF" \
		> "$T/stdout.jsonl" 2>> "$T/senseond.err" &
	SENSOR_PID=$!
	rm -f "$T/run/status.json"
	sensor_ready
}

# An unresolvable platform: refused even if the guard below were broken.
sed 's/^platform_host: .*/platform_host: no-such-platform.invalid/' "$CONF" > "$T/bad.conf"

note "guard: the isolation code refuses outside namespace $H"
out=$("$SENSEONCTL" -c "$T/bad.conf" isolate 2>&1) &&
	fail "expected isolate outside $H to be refused, it succeeded: $out"
case $out in *"not in the network namespace"*) ;; *) fail "expected a namespace refusal, got: $out";; esac

note "refusal: an unresolvable platform"
out=$(in_h "$SENSEONCTL" -c "$T/bad.conf" isolate 2>&1) &&
	fail "expected isolate to refuse an unresolvable platform, it succeeded"
case $out in *"cannot resolve the platform"*) ;; *) fail "expected 'cannot resolve the platform', got: $out";; esac
! table_present || fail "a refused isolate left our table behind"

sensor_start_ns

note "isolate (with one extra allow entry)"
ctl isolate --allow 10.77.2.2:7777 > "$T/isolate.out" 2>&1 || fail "isolate failed: $(cat "$T/isolate.out")"
table_present || fail "expected table inet senseon_isolation after isolate"
[ "$(state isolated)" = True ] || fail "expected isolated: true in isolation.json, got $(state isolated)"

expect_open "$H" tcp 10.77.1.2 8443
expect_open "$H" tcp fd77:1::2 8443
expect_open "$H" tcp 10.77.2.2 7777
expect_open "$H" tcp 127.0.0.1 2223
expect_shut "$H" tcp 10.77.2.2 80
expect_shut "$H" tcp fd77:2::2 80
expect_shut "$H" udp 10.77.2.2 53
expect_shut "$H" udp fd77:2::2 53
expect_shut "$H" icmp 10.77.2.2
expect_shut "$H" icmp fd77:2::2
expect_shut "$H" tcp 10.77.1.2 9999
expect_open "$I" tcp 10.77.2.1 2222	# inbound investigation continues

digest=$(in_h nft list table inet senseon_isolation | sha256sum | cut -d' ' -f1)
[ "$digest" = "$(state digest)" ] ||
	fail "expected the state digest to be sha256 of the kernel listing ($digest), got $(state digest)"

note "another tool flushes the whole ruleset"
in_h nft flush ruleset
wait_table present ||
	fail "expected the watcher to restore table inet senseon_isolation after nft flush ruleset; waited $WAIT s, $H's ruleset: $(in_h nft list ruleset | head -c 600)"
expect_shut "$H" tcp 10.77.2.2 80
expect_open "$H" tcp 10.77.1.2 8443
wait_has "$T/senseond.err" "missing or altered" ||
	fail "expected the daemon to log the restore ('missing or altered'), its log: $(tail -n 5 "$T/senseond.err")"
host_fw	# the flush took the host's own table too; put it back as it was

note "restart (and a reboot's empty ruleset while the daemon is down)"
old_daemon=$DAEMON_PID
sensor_stop || true
! kill -0 "$old_daemon" 2>/dev/null || fail "senseond (pid $old_daemon) did not stop"
table_present || fail "stopping the daemon must not release isolation"
in_h nft delete table inet senseon_isolation
sensor_start_ns
table_present || fail "expected the daemon to re-apply isolation at start"
expect_shut "$H" tcp 10.77.2.2 80
expect_open "$H" tcp 10.77.1.2 8443

note "unisolate restores exactly the previous ruleset"
ctl unisolate > "$T/unisolate.out" 2>&1 || fail "unisolate failed: $(cat "$T/unisolate.out")"
! table_present || fail "expected our table gone after unisolate"
in_h nft list ruleset > "$T/ruleset.after"
diff -u "$T/ruleset.before" "$T/ruleset.after" ||
	fail "expected the ruleset after unisolate to equal the one before isolate"
expect_open "$H" tcp 10.77.2.2 80
# The watcher must not bring it back.  It checks on the change event of
# the unisolate and then every second, and shows no sign of a check it
# made that changed nothing: so this is a window of three of its periodic
# checks in which the table must stay absent (a negative check, which a
# slow machine can only make pass, never fail).
stays_absent() { ! poll 3 table_present; }
stays_absent || fail "our table came back after unisolate"

note "expiry"
# long enough for the two checks before it (in one of which the SYN is given
# 1 s), however slow the machine: the checks race the expiry
ctl isolate --for 10s > "$T/isolate2.out" 2>&1 || fail "isolate --for failed: $(cat "$T/isolate2.out")"
table_present || fail "expected our table after isolate --for 10s"
expect_shut "$H" udp 10.77.2.2 53
wait_table absent ||
	fail "expected the watcher to lift the isolation at its expiry (isolate --for 10s); $WAIT s later our table is still in $H, isolation.json: $(cat "$T/state/isolation.json")"
[ "$(state isolated)" = False ] || fail "expected isolated: false after expiry, got $(state isolated)"
[ "$(state by)" = expiry ] || fail "expected the expiry to be recorded as by: expiry, got $(state by)"
expect_open "$H" tcp 10.77.2.2 80

note "audit while the daemon runs"
if grep -q "audit record for .* not written: Transport endpoint" "$T/senseond.err"; then
	note "the daemon does not open the audit log yet: daemon-side records not checked"
else
	for a in isolate restore unisolate; do
		grep -q "\"type\": *\"isolation.change\".*\"action\": *\"$a\"\|\"action\": *\"$a\".*\"type\": *\"isolation.change\"" \
			"$T/log/audit.jsonl" 2>/dev/null ||
			fail "expected an isolation.change record with action $a in audit.jsonl"
	done
fi

note "break-glass with the daemon down: senseonctl audits itself"
old_daemon=$DAEMON_PID
sensor_stop || true
! kill -0 "$old_daemon" 2>/dev/null || fail "senseond (pid $old_daemon) did not stop"
rm -f "$T/log/audit.jsonl"
ctl isolate > /dev/null 2>&1 || fail "isolate without the daemon failed"
d=$(state digest)
ctl unisolate > /dev/null 2>&1 || fail "unisolate without the daemon failed"
! table_present || fail "expected our table gone after break-glass unisolate"
"$PY" - "$T/log/audit.jsonl" "$d" <<'PY' || fail "expected senseonctl's isolate and unisolate records with digest $d"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
acts = [(r.get("action"), r.get("digest")) for r in recs if r.get("type") == "isolation.change"]
want = [("isolate", sys.argv[2]), ("unisolate", sys.argv[2])]
sys.exit(0 if acts == want else print("saw", acts) or 1)
PY
note "PASS"
