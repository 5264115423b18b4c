#!/bin/bash
# Build the fuzzers with clang (libFuzzer + AddressSanitizer) and run each
# for N seconds: the policy parser (seed corpus: policy/*.yaml), the
# control protocol's frame parser and the platform channel's decoder
# (seed corpora: a few valid frames).
#
#   t/fuzz/run.sh [SECONDS]     build and fuzz each (default 30 s); non-zero on a crash
#   t/fuzz/run.sh --build-only  just build (what `make fuzz` runs)
#
# FUZZ_OUT is where the binaries, corpora and crash files go (default
# ./fuzz-out; one corpus/ and crashes/ per target below it).  Needs clang
# (Debian: apt-get install clang).
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
	$(pkg-config --cflags yaml-0.1 libcrypto jansson) \
	"$here/fuzz_policy.c" "$src/src/lib/policy.c" "$src/src/lib/policy_expr.c" \
	"$src/src/lib/filehash.c" "$src/src/lib/event.c" \
	$(pkg-config --libs yaml-0.1 libcrypto jansson) -lpthread -o "$out/fuzz_policy"
echo "built $out/fuzz_policy"
# The frame codec alone: it depends on jansson only.
clang -g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -I"$src/src/lib" \
	$(pkg-config --cflags jansson) \
	"$here/fuzz_protocol.c" "$src/src/lib/protocol.c" \
	$(pkg-config --libs jansson) -o "$out/fuzz_protocol"
echo "built $out/fuzz_protocol"
# The platform channel's decoder: jansson only, too.
clang -g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -I"$src/src/lib" \
	$(pkg-config --cflags jansson) \
	"$here/fuzz_platform.c" "$src/src/lib/platform_proto.c" \
	$(pkg-config --libs jansson) -o "$out/fuzz_platform"
echo "built $out/fuzz_platform"
[ -z "$build_only" ] || exit 0

corpus="$out/corpus"
mkdir -p "$corpus" "$out/crashes"
cp "$src"/policy/*.yaml "$src"/policy/examples/*.yaml "$corpus/"
# libFuzzer exits non-zero (and writes crash-*) on any crash, leak or abort.
"$out/fuzz_policy" -max_total_time="$secs" -max_len=8192 -timeout=10 \
	-artifact_prefix="$out/crashes/" -print_final_stats=1 "$corpus"

# Seeds: a request, a data chunk, an end with a summary, two frames back
# to back (the fuzzer mutates lengths and kinds from there).
pcorpus="$out/protocol-corpus"
mkdir -p "$pcorpus" "$out/protocol-crashes"
frame() {
	local n=${#2}
	printf "\\x$(printf %02x $((n >> 24 & 255)))\\x$(printf %02x $((n >> 16 & 255)))\\x$(printf %02x $((n >> 8 & 255)))\\x$(printf %02x $((n & 255)))%s%s" "$1" "$2"
}
frame j '{"id":1,"cmd":"status"}' > "$pcorpus/request"
frame d 'some file bytes' > "$pcorpus/data"
frame e '{"size":15,"sha256":"00"}' > "$pcorpus/end"
{ frame j '{"id":2,"cmd":"kill","pid":42,"tree":true}'; frame e ''; } > "$pcorpus/two"
"$out/fuzz_protocol" -max_total_time="$secs" -max_len=65536 -timeout=10 \
	-artifact_prefix="$out/protocol-crashes/" -print_final_stats=1 "$pcorpus"

# Seeds for the platform channel: a byte for the frame kind (0 text,
# 1 binary), then one message of each type the platform sends.
fcorpus="$out/platform-corpus"
mkdir -p "$fcorpus" "$out/platform-crashes"
printf '\0%s' '{"type":"ack","oid":12}' > "$fcorpus/ack"
printf '\0%s' '{"type":"session.start","session":"s1","analyst":"alice"}' > "$fcorpus/session"
printf '\0%s' '{"type":"command","id":"c1","cmd":"process.kill","session":"s1","pid":4}' \
	> "$fcorpus/command"
printf '\0%s' '{"type":"data.end","id":"c1","size":3,"sha256":"00"}' > "$fcorpus/end"
printf '\1D\2c1\0\0\0\0\0\0\0\3abc' > "$fcorpus/chunk"
"$out/fuzz_platform" -max_total_time="$secs" -max_len=65536 -timeout=10 \
	-artifact_prefix="$out/platform-crashes/" -print_final_stats=1 "$fcorpus"
