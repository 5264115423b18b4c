#!/bin/bash
# script_bench: `senseonctl run` of a trivial script, end to end (client
# start, connect, audit records, fork from the zygote, exit, reply), p50
# and p99 over N runs, next to `/usr/bin/python3 -c pass` spawned
# directly and to the client alone (`senseonctl --version`: exec and
# dynamic linking; `senseonctl status`: plus connect, the audited
# greeting and one round trip), in A B B A blocks; then an upload of a
# 1 GiB file (cached, on tmpfs) in MB/s next to `cat FILE > /dev/null`
# and to one SHA-256 stream on this CPU (`openssl speed`), the ceiling
# when both ends hash every byte.  Needs root and a built tree:
#   top_builddir=build-h5 bench/script_bench.sh [RUNS]
# The private prefix (log, audit fsyncs) lives under /tmp; set
# BENCH_DIR=/dev/shm/... to take the disk's fdatasync out of the numbers.
set -eu
top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
top_builddir=$(cd "${top_builddir:-$top_srcdir}" && pwd)
RUNS=${1:-200}
. "$top_srcdir/t/integration/lib.sh"
sensor_config "pyrunner_path: $top_builddir/senseon-pyrunner" "file_source: false" \
	"exec_source: false" "process_source: false" "stdout_events: none" "event_log: false"
sensor_start
echo pass > "$T/trivial.py"

# times_ms CMD...: run CMD $RUNS times, print one wall time in ms per line.
# hyperfine -N (no shell, fork+exec straight from a small C program) when
# installed: a Python harness adds its own fork cost, several ms on this VM
# (BENCH_HARNESS=python forces it, for comparison with older figures).
times_ms() {
	if [ "${BENCH_HARNESS:-hyperfine}" = hyperfine ] && command -v hyperfine > /dev/null; then
		hyperfine -N --style none --runs "$RUNS" --export-json "$T/hf.json" -- "$*" \
			> /dev/null 2> "$T/hf.err" || { cat "$T/hf.err" >&2; return 1; }
		"$PY" -c 'import json,sys
for t in json.load(open(sys.argv[1]))["results"][0]["times"]: print("%.3f" % (t * 1000))' "$T/hf.json"
		return
	fi
	"$PY" - "$RUNS" "$@" <<'PY'
import subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2:]
for _ in range(runs):
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    print("%.3f" % ((time.perf_counter() - t) * 1000))
PY
}
pct() { sort -n | awk -v p="$1" '{ a[NR] = $1 } END { i = int(NR * p / 100 + 0.5); if (i < 1) i = 1; print a[i] }'; }
report() {
	local name=$1 file=$2
	printf '%-44s p50 %7.2f ms  p99 %7.2f ms  (%d runs)\n' "$name" \
		"$(pct 50 < "$file")" "$(pct 99 < "$file")" "$(wc -l < "$file")"
}

CONF="$T/etc/senseond.conf"
block() {
	case $1 in
	run) times_ms "$SENSEONCTL" -c "$CONF" run "$T/trivial.py" ;;
	py) times_ms /usr/bin/python3 -c pass ;;
	status) times_ms "$SENSEONCTL" -c "$CONF" status ;;
	version) times_ms "$SENSEONCTL" --version ;;
	esac >> "$T/$1.ms"
}

echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# Warm every command once, then A B B A blocks so drifting machine noise
# hits each side alike.
"$SENSEONCTL" -c "$CONF" run "$T/trivial.py"
"$SENSEONCTL" -c "$CONF" status > /dev/null
for w in run py status version; do : > "$T/$w.ms"; done
for pair in "run py" "status version"; do
	set -- $pair
	for _ in 1 2; do
		RUNS=$((RUNS / 4)) block "$1"
		RUNS=$((RUNS / 4)) block "$2"
		RUNS=$((RUNS / 4)) block "$2"
		RUNS=$((RUNS / 4)) block "$1"
	done
done
report "senseonctl run trivial.py (end to end)" "$T/run.ms"
report "/usr/bin/python3 -c pass" "$T/py.ms"
report "senseonctl status (client + one round trip)" "$T/status.ms"
report "senseonctl --version (client start alone)" "$T/version.ms"
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# Upload: 1 GiB of random data on tmpfs, read once to be cached.
SHM=$(mktemp -d /dev/shm/senseon-bench.XXXXXX)
add_cleanup "rm -rf $SHM"
head -c 1G /dev/urandom > "$SHM/big"
mkdir "$SHM/out"
cat "$SHM/big" > /dev/null
mbs() { awk -v a="$1" -v b="$2" 'BEGIN { print 1073.741824 / ((b - a) / 1e9) }'; }
# Two passes (cat, upload, upload, cat), each reported: one pass is at the
# mercy of whatever else the machine does for that second.
t0=$(date +%s%N); cat "$SHM/big" > /dev/null; t1=$(date +%s%N)
up=()
for pass in 1 2; do
	rm -f "$SHM/out/big"
	ta=$(date +%s%N)
	"$SENSEONCTL" -c "$CONF" upload -o "$SHM/out" "$SHM/big" 2> "$T/upload.err" ||
		fail "upload failed: $(cat "$T/upload.err")"
	tb=$(date +%s%N)
	cmp -s "$SHM/big" "$SHM/out/big" || fail "the uploaded copy differs"
	up+=("$(mbs "$ta" "$tb")")
done
t2=$(date +%s%N); cat "$SHM/big" > /dev/null; t3=$(date +%s%N)
cat_mbs=$(awk -v a="$(mbs "$t0" "$t1")" -v b="$(mbs "$t2" "$t3")" 'BEGIN { print (a + b) / 2 }')
# One SHA-256 stream over 256 KiB blocks, as the two ends hash: openssl
# prints thousands of bytes per second.
sha_mbs=$(openssl speed -evp sha256 -bytes 262144 -seconds 2 2> /dev/null |
	awk '$1 == "sha256" { sub(/k$/, "", $2); print $2 / 1000 }')
printf '%-44s %8.0f MB/s\n' "cat 1 GiB > /dev/null (mean of 2)" "$cat_mbs"
printf '%-44s %8.0f MB/s  (%.0f %% of cat)\n' "one sha256 stream (openssl speed, 256 KiB)" \
	"${sha_mbs:-0}" "$(awk -v s="${sha_mbs:-0}" -v c="$cat_mbs" 'BEGIN { print 100 * s / c }')"
for pass in 0 1; do
	printf '%-44s %8.0f MB/s  (%.0f %% of cat)\n' "senseonctl upload 1 GiB, pass $((pass + 1))" \
		"${up[$pass]}" "$(awk -v u="${up[$pass]}" -v c="$cat_mbs" 'BEGIN { print 100 * u / c }')"
done
