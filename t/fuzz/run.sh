#!/bin/bash
# Build the policy parser fuzzer with clang (libFuzzer + AddressSanitizer)
# and run it for N seconds on a seed corpus made from policy/*.yaml.
#
#   t/fuzz/run.sh [SECONDS]     build and fuzz (default 30 s); non-zero on a crash
#   t/fuzz/run.sh --build-only  just build (what `make fuzz` runs)
#
# FUZZ_OUT is where the binary, corpus and crash files go (default
# ./fuzz-out).  Needs clang (Debian: apt-get install clang).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
out=${FUZZ_OUT:-$PWD/fuzz-out}
build_only=
secs=30
case "${1:-}" in
--build-only) build_only=1 ;;
'') ;;
*) secs=$1 ;;
esac

command -v clang >/dev/null || { echo "run.sh: clang not found: apt-get install clang" >&2; exit 2; }
mkdir -p "$out"
# The parser's sources only: the fuzzer must not drag the daemon in.
clang -g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -I"$src/src/lib" \
	$(pkg-config --cflags yaml-0.1 libcrypto) \
	"$here/fuzz_policy.c" "$src/src/lib/policy.c" "$src/src/lib/policy_expr.c" \
	"$src/src/lib/filehash.c" "$src/src/lib/event.c" \
	$(pkg-config --libs yaml-0.1 libcrypto) -lpthread -o "$out/fuzz_policy"
echo "built $out/fuzz_policy"
[ -z "$build_only" ] || exit 0

corpus="$out/corpus"
mkdir -p "$corpus" "$out/crashes"
cp "$src"/policy/*.yaml "$src"/policy/examples/*.yaml "$corpus/"
# libFuzzer exits non-zero (and writes crash-*) on any crash, leak or abort.
"$out/fuzz_policy" -max_total_time="$secs" -max_len=8192 -timeout=10 \
	-artifact_prefix="$out/crashes/" -print_final_stats=1 "$corpus"
