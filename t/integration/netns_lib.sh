# shellcheck shell=bash
# Network namespaces for isolation tests: made by the test, deleted (with
# their veths and nftables tables) on every exit path.  Source after lib.sh.
#
#   mkns NAME                         a namespace with loopback up
#   netns_guard NAME                  fail unless NAME is not the machine's own
#   veth_link NS_A IF_A NS_B IF_B V4NET [V6NET]   a /24 (and /64) between two
#   SERVER_PIDS+=($!)                 servers killed at cleanup
# Isolation is never applied outside these namespaces.

command -v ip >/dev/null || skip "needs ip (iproute2)"
NSLIST=()
SERVER_PIDS=()

netns_cleanup() {
	local pid ns
	# TERM, not KILL: a server runs under `timeout`, which forwards TERM
	# to it; a KILLed timeout left its server orphaned, alive for good
	for pid in "${SERVER_PIDS[@]+"${SERVER_PIDS[@]}"}"; do kill -TERM "$pid" 2>/dev/null || true; done
	sensor_stop >/dev/null 2>&1 || true
	for ns in "${NSLIST[@]+"${NSLIST[@]}"}"; do
		# whatever still runs in a namespace this test made is the test's own
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
		ip netns del "$ns" 2>/dev/null || true
	done
}
add_cleanup netns_cleanup

mkns() {
	ip netns add "$1" || skip "cannot create network namespaces"
	NSLIST+=("$1")
	ip netns exec "$1" ip link set lo up
}

# The guard of guards: the namespace isolation runs in is not the machine's.
netns_guard() {
	[ "$(stat -Lc %i /proc/$$/ns/net)" != "$(stat -Lc %i "/run/netns/$1")" ] ||
		fail "namespace $1 is the machine's own namespace"
}

veth_link() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
	ip -n "$1" addr add "$5.1/24" dev "$2"
	ip -n "$3" addr add "$5.2/24" dev "$4"
	if [ -n "${6:-}" ]; then
		ip -n "$1" addr add "$6::1/64" dev "$2" nodad
		ip -n "$3" addr add "$6::2/64" dev "$4" nodad
	fi
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}
