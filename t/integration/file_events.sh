#!/bin/bash
# file_events: the fanotify file source reports create, write, rename,
# chmod and delete with the exact bytes of hostile names (newline, quote,
# backslash, tab, invalid UTF-8, 255-byte names, ~4000-byte paths), keeps
# directory paths right after a directory rename, writes valid one-line
# UTF-8 JSON, and never reports its own writes or ignored paths.
#
# The watched directory is a tmpfs of our own, so the filesystem mark sees
# only what this test does there.
. "${top_srcdir:-$(dirname "$0")/../..}/t/integration/lib.sh"

[ -x "$SENSEOND" ] || skip "senseond not built"

W="$T/w"
mkdir -p "$W"
mount -t tmpfs -o size=16m,mode=755 senseon-test "$W" 2>/dev/null || skip "cannot mount tmpfs"
# The daemon keeps an fd on the mount: stop it before unmounting.
add_cleanup 'sensor_stop >/dev/null 2>&1; umount "$W" 2>/dev/null || umount -l "$W"'

# The daemon's own log lives inside the watched filesystem on purpose:
# its writes there must not come back as events (no feedback loop).
LOGDIR="$W/senseon-log"
events_file() { echo "$LOGDIR/events.jsonl"; }
mkdir "$W/ignored"

sensor_config \
	"log_dir: $LOGDIR" \
	"process_source: false" \
	"exec_source: false" \
	"file_source: true" \
	"watch_paths: [$W]" \
	"ignore_paths: [$W/ignored]"
sensor_start

# expect TYPE PYEXPR-OF-BYTES [NEW-PYEXPR] [EXTRA-PYEXPR]: wait for an
# event of TYPE whose path (and new path) are exactly those bytes.
P="b'$W'"
expect() {
	local type=$1 path=$2 new=${3:-} extra=${4:-True} expr
	expr="e['type']=='$type' and b(e['file'],'path')==$path"
	[ -z "$new" ] || expr="$expr and b(e['file'],'newPath')==$new"
	expr="$expr and ($extra)"
	if ! wait_event "$expr" >/dev/null; then
		echo "--- events seen (last 40) ---" >&2
		tail -n 40 "$(events_file)" >&2
		fail "expected a '$type' event for $path${new:+ -> $new}, none came (filter: $expr)"
	fi
}

# newline, then a rename to a name with a double quote, then chmod
printf 'data' > "$W/new"$'\n'"line"
mv "$W/new"$'\n'"line" "$W/quo\"te"
sh -c 'echo $$ > "$1"; exec chmod 600 "$2"' sh "$T/chmod.pid" "$W/quo\"te"
chmod_pid=$(cat "$T/chmod.pid")
# backslash renamed to tab
printf 'x' > "$W/back\\slash"
mv "$W/back\\slash" "$W/tab"$'\t'"here"
# invalid UTF-8
printf 'y' > "$W/bad"$'\xff'
chmod 640 "$W/bad"$'\xff'
rm "$W/bad"$'\xff'
# a 255-byte name (NAME_MAX), with a multibyte character inside
long=$(printf 'L%.0s' $(seq 1 250))$'\xc3\xa9'xyz
[ "$(printf '%s' "$long" | wc -c)" -eq 255 ] || fail "test bug: long name is not 255 bytes"
printf 'z' > "$W/$long"
rm "$W/$long"
# directory rename: files created after it must show the new directory.
# Handles are resolved when read, so wait until the daemon has seen (and
# cached) dir1 before renaming it; otherwise "before" could already
# resolve to dir2 and the cache would not be put to the test.
mkdir "$W/dir1"
touch "$W/dir1/before"
expect create "$P+b'/dir1/before'"
mv "$W/dir1" "$W/dir2"
touch "$W/dir2/after"
# a path of about 4000 bytes through nested directories
comp=$(printf 'd%.0s' $(seq 1 200))
deep="$W"
for _ in $(seq 1 19); do deep="$deep/$comp"; done
mkdir -p "$deep"
deepfile="$deep/$(printf 'f%.0s' $(seq 1 $((3990 - ${#deep}))))"
printf 'deep' > "$deepfile"
rm "$deepfile"
note "deep path is $(printf '%s' "$deepfile" | wc -c) bytes"
# ignored directory: nothing below it may be reported
printf 'quiet' > "$W/ignored/secret"
rm "$W/quo\"te"
touch "$W/zz-end"

expect create "b'$W/zz-end'"
expect create "$P+b'/new\\nline'"
expect modify "$P+b'/new\\nline'"
expect rename "$P+b'/new\\nline'" "$P+b'/quo\\x22te'"
expect attrib "$P+b'/quo\\x22te'" "" "e.get('pid')==$chmod_pid"
expect delete "$P+b'/quo\\x22te'"
expect create "$P+b'/back\\\\slash'"
expect rename "$P+b'/back\\\\slash'" "$P+b'/tab\\there'"
expect create "$P+b'/bad\\xff'" "" "e['file']['path_b64'] != ''"
expect modify "$P+b'/bad\\xff'"
expect attrib "$P+b'/bad\\xff'"
expect delete "$P+b'/bad\\xff'"
expect create "$P+b'/'+b'L'*250+b'\\xc3\\xa9'+b'xyz'"
expect delete "$P+b'/'+b'L'*250+b'\\xc3\\xa9'+b'xyz'"
expect create "$P+b'/dir1'" "" "e['file'].get('isDir') is True"
expect rename "$P+b'/dir1'" "$P+b'/dir2'" "e['file'].get('isDir') is True"
expect create "$P+b'/dir2/after'"
expect create "b'$deepfile'"
expect modify "b'$deepfile'"
expect delete "b'$deepfile'"

# Nothing from the daemon's own log or from the ignored directory.
n=$(count_events "b(e['file'],'path').startswith(b'$LOGDIR')")
[ "$n" = 0 ] || fail "expected no events for the daemon's own log dir, saw $n"
n=$(count_events "b(e['file'],'path').startswith(b'$W/ignored/')")
[ "$n" = 0 ] || fail "expected no events below ignore_paths, saw $n"
# Files are not reported as directories.
n=$(count_events "e['type']=='create' and b(e['file'],'path')==b'$W/zz-end' and e['file'].get('isDir')")
[ "$n" = 0 ] || fail "expected zz-end to be reported as a file, it came with isDir"

sensor_stop || fail "senseond exited with status $?"

# The whole events file: valid UTF-8, one JSON object per line.
"$PY" - "$(events_file)" <<'PYEOF' || fail "events file is not one JSON object per line of UTF-8"
import json, sys
data = open(sys.argv[1], "rb").read()
text = data.decode("utf-8")  # raises on invalid UTF-8
assert text.endswith("\n"), "last line is not terminated"
lines = text.split("\n")[:-1]
assert lines, "no events at all"
for no, line in enumerate(lines, 1):
    obj = json.loads(line)
    assert isinstance(obj, dict), "line %d is not an object" % no
print("# %d events, all valid" % len(lines))
PYEOF
echo "PASS: file_events"
