#!/bin/bash
# ctl_lean: senseonctl loads only what a command needs.
#  - senseonctl itself links neither libcrypto nor libnftables, libuuid or
#    libnl (ldd); senseonctl-admin, which holds the other commands, does
#  - a command senseonctl does not hold (policy, isolation) runs through
#    senseonctl-admin with the same arguments and exit status
#  - libcrypto, loaded on first use: a script's non-UTF-8 output arrives
#    byte for byte (base64), and a 3 MiB upload (several data frames
#    through the client's hashing thread) is saved identical and checked
. "${top_srcdir:-$(dirname "$0")/../..}/t/integration/lib.sh"

[ -x "$SENSEONCTL" ] || skip "senseonctl not built"
[ -x "$top_builddir/senseonctl-admin" ] || skip "senseonctl-admin not built"
command -v ldd > /dev/null || skip "needs ldd"

libs=$(ldd "$SENSEONCTL") || fail "ldd $SENSEONCTL failed"
# a sanitizer build links every library of the tree: the shipped link is
# checked in the plain build; the lazy libcrypto below is checked in both
sanitized=false
grep -qE 'lib(asan|tsan)' <<< "$libs" && sanitized=true
$sanitized && note "sanitizer build: the link check is the plain build's"
for lib in libcrypto libnftables libuuid libnl; do
	$sanitized && break
	if grep -q "$lib" <<< "$libs"; then
		fail "senseonctl should not link $lib; ldd says: $(tr '\n' ' ' <<< "$libs")"
	fi
done
ldd "$top_builddir/senseonctl-admin" | grep -q libnftables ||
	fail "senseonctl-admin should link libnftables (it holds unisolate)"

# policy check through the helper: 0 for the shipped policies, 3 for a bad one
"$SENSEONCTL" policy check "$top_srcdir/policy" > "$T/check.out" 2>&1 ||
	fail "policy check of the shipped policies: exit $?, expected 0: $(cat "$T/check.out")"
printf 'Broken:\n  policy: nonsense\n' > "$T/bad.yaml"
rc=0
"$SENSEONCTL" policy check "$T/bad.yaml" > /dev/null 2>&1 || rc=$?
[ "$rc" = 3 ] || fail "policy check of a bad policy through senseonctl-admin: exit $rc, expected 3"
"$SENSEONCTL" --help | grep -q "^  unisolate" || fail "senseonctl --help does not list unisolate"

[ -x "$top_builddir/senseon-pyrunner" ] || skip "senseon-pyrunner not built"
sensor_start "pyrunner_path: $top_builddir/senseon-pyrunner" "file_source: false" \
	"exec_source: false" "process_source: false" "stdout_events: none"
CONF="$T/etc/senseond.conf"
"$SENSEONCTL" -c "$CONF" isolation > "$T/iso.out" 2>&1 ||
	fail "senseonctl isolation through senseonctl-admin: exit $?: $(cat "$T/iso.out")"
grep -q "not isolated" "$T/iso.out" || fail "isolation said: $(cat "$T/iso.out")"

printf 'import sys\nsys.stdout.buffer.write(b"\\xff\\xfe\\x00ok\\n")\n' > "$T/bytes.py"
"$SENSEONCTL" -c "$CONF" run "$T/bytes.py" > "$T/bytes.out" || fail "run bytes.py: exit $?"
printf '\377\376\000ok\n' > "$T/bytes.want"
cmp -s "$T/bytes.out" "$T/bytes.want" ||
	fail "non-UTF-8 output: expected $(od -An -c "$T/bytes.want"), got $(od -An -c "$T/bytes.out")"

head -c $((3 * 1024 * 1024 + 17)) /dev/urandom > "$T/blob"
mkdir "$T/out"
"$SENSEONCTL" -c "$CONF" upload -o "$T/out" "$T/blob" 2> "$T/up.err" ||
	fail "upload: exit $?: $(cat "$T/up.err")"
cmp -s "$T/blob" "$T/out/blob" || fail "the uploaded copy differs from the file"
want=$(sha256sum < "$T/blob" | cut -d' ' -f1)
grep -q "sha256 $want" "$T/up.err" || fail "upload should report sha256 $want; said: $(cat "$T/up.err")"
echo "PASS: lean senseonctl, helper dispatch, libcrypto on demand"
