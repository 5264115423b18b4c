#!/bin/bash
# script_bench: `senseonctl run` of a trivial script, end to end (client
# start, connect, audit records, fork from the zygote, exit, reply), p50
# and p99 over N runs, next to `/usr/bin/python3 -c pass` spawned
# directly; then an upload of a 1 GiB file (cached, on tmpfs) in MB/s
# next to `cat FILE > /dev/null`.  Needs root and a built tree:
#   top_builddir=build-pyrunner bench/script_bench.sh [RUNS]
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
		hyperfine -N --style none --runs "$RUNS" --export-json "$T/hf.json" -- "$*" > /dev/null
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

# Warm both once, then interleave blocks so machine noise hits both.
"$SENSEONCTL" -c "$T/etc/senseond.conf" run "$T/trivial.py"
: > "$T/run.ms"; : > "$T/py.ms"
for _ in 1 2 3 4; do
	RUNS=$((RUNS / 4)) times_ms "$SENSEONCTL" -c "$T/etc/senseond.conf" run "$T/trivial.py" >> "$T/run.ms"
	RUNS=$((RUNS / 4)) times_ms /usr/bin/python3 -c pass >> "$T/py.ms"
done
report "senseonctl run trivial.py (end to end)" "$T/run.ms"
report "/usr/bin/python3 -c pass" "$T/py.ms"

# Upload: 1 GiB of random data on tmpfs, read once to be cached.
SHM=$(mktemp -d /dev/shm/senseon-bench.XXXXXX)
add_cleanup "rm -rf $SHM"
head -c 1G /dev/urandom > "$SHM/big"
mkdir "$SHM/out"
cat "$SHM/big" > /dev/null
t0=$(date +%s%N); cat "$SHM/big" > /dev/null; t1=$(date +%s%N)
"$SENSEONCTL" -c "$T/etc/senseond.conf" upload -o "$SHM/out" "$SHM/big"
t2=$(date +%s%N)
cmp -s "$SHM/big" "$SHM/out/big" || fail "the uploaded copy differs"
printf '%-44s %8.0f MB/s\n' "cat 1 GiB > /dev/null" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print 1073.741824 / ((b - a) / 1e9) }')"
printf '%-44s %8.0f MB/s\n' "senseonctl upload 1 GiB (sha256 both ends)" "$(awk -v a="$t1" -v b="$t2" 'BEGIN { print 1073.741824 / ((b - a) / 1e9) }')"
