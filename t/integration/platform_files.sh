#!/bin/bash
# Platform channel: file transfers and policy updates.
#  - file.upload of a 64 MiB file; the platform crashes after 20 MiB; a
#    restarted platform keeps what it had and asks again from there: the
#    whole copy has the file's sha256, as data.end and the result say;
#    the interrupted attempt gets a durable failed result;
#  - file.download of a 64 MiB file; the platform crashes after pushing
#    20 MiB; the failed attempt's result says how much the sensor has and
#    the new attempt resumes from there; the file lands atomically (no
#    partial file left) with the right sha256 and mode;
#  - a download whose bytes do not match its sha256 is discarded;
#  - policy.update: a good policy is applied (it raises alerts), a bad
#    one is refused with FILE:LINE:COL and the running policy stays.
. "$top_srcdir/t/integration/lib.sh"
. "$top_srcdir/t/platform/lib.sh"

W="$T/work"
mkdir -p "$W" "$T/bin"
MB=$((1024 * 1024))
head -c $((64 * MB)) /dev/urandom > "$W/up.bin"
head -c $((64 * MB)) /dev/urandom > "$W/down.bin"
sha() { sha256sum "$1" | cut -d' ' -f1; }
SHA_UP=$(sha "$W/up.bin")
SHA_DOWN=$(sha "$W/down.bin")
cp /usr/bin/sleep "$T/bin/probe"

sensor_config "file_source: false" "exec_source: false" "event_log: false" \
	"stdout_events: none"
platform_conf >> "$T/etc/senseond.conf"
sensor_start
# fresh_sensor: a restart, so its reconnect backoff (grown by the
# platform's crashes) starts at 1 s again and the test stays short
fresh_sensor() { sensor_stop || true; rm -f "$T/run/status.json"; sensor_start; }
# wait_exit: the platform crashed on purpose (its --exit-after-*)
XFER=$((3 * WAIT))	# the bound on a 64 MiB transfer (a second or two when all is well)
wait_exit() {
	local rc=0
	wait_gone "$PLAT_PID" "$XFER" ||
		fail "expected the platform to crash on purpose $1; $XFER s later it runs, it holds: $(ls -l "$REC/data" | tail -n +2 | awk '{print $5, $NF}' | tr '\n' ' ')"
	wait "$PLAT_PID" || rc=$?
	PLAT_PID=
	[ "$rc" = 3 ] || fail "expected the platform to crash on purpose (exit 3) $1, it exited $rc: $(tail -3 "$T/platform.out")"
}

# --- upload, resumed ---
cat > "$T/a.jsonl" <<JSON
{"type":"session.start","session":"s1","analyst":"frank@example.com"}
{"type":"command","id":"up-1","session":"s1","cmd":"file.upload","path":"$W/up.bin"}
JSON
platform_up --actions "$T/a.jsonl" --exit-after-bytes $((20 * MB))
wait_exit "after 20 MiB uploaded"
kept=$(stat -c %s "$REC/data/up-1")
[ "$kept" -ge $((20 * MB)) ] && [ "$kept" -lt $((64 * MB)) ] ||
	fail "expected the crashed platform to hold part of the upload, it has $kept bytes"
cat > "$T/a.jsonl" <<JSON
{"type":"session.start","session":"s1","analyst":"frank@example.com"}
{"type":"command","id":"up-2","session":"s1","cmd":"file.upload","path":"$W/up.bin","_resume":"up-1"}
JSON
platform_up --actions "$T/a.jsonl"
received "e['type'] == 'result' and e['id'] == 'up-2'" "$XFER" > "$W/r" ||
	fail "expected a result for the resumed upload up-2"
"$PY" - "$W/r" "$SHA_UP" "$kept" $((64 * MB)) <<'PY' || fail "up-2: unexpected result $(cat "$W/r")"
import json, sys
r = json.loads(open(sys.argv[1]).read())
assert r["ok"] and r["result"]["sha256"] == sys.argv[2], "sha256"
assert r["result"]["offset"] == int(sys.argv[3]) and r["result"]["size"] == int(sys.argv[4]), "offset/size"
PY
received "e['type'] == 'data.end' and e['id'] == 'up-2' and e['sha256'] == '$SHA_UP'" >/dev/null ||
	fail "expected data.end for up-2 with the whole file's sha256"
[ "$(sha "$REC/data/up-2")" = "$SHA_UP" ] ||
	fail "expected the platform's copy (kept part + resumed part) to have sha256 $SHA_UP, it has $(sha "$REC/data/up-2") ($(stat -c %s "$REC/data/up-2") bytes)"
received "e['type'] == 'result' and e['id'] == 'up-1' and not e['ok'] and 'lost' in e['error']" >/dev/null ||
	fail "expected a durable failed result for the interrupted upload up-1"
note "upload: 64 MiB, resumed at $kept bytes, sha256 matches"

# --- download, resumed ---
platform_down
fresh_sensor
cat > "$T/a.jsonl" <<JSON
{"type":"session.start","session":"s1","analyst":"frank@example.com"}
{"type":"command","id":"dl-1","session":"s1","cmd":"file.download","path":"$W/got.bin","size":$((64 * MB)),"sha256":"$SHA_DOWN","mode":416,"_push":"$W/down.bin"}
JSON
platform_up --actions "$T/a.jsonl" --exit-after-push $((20 * MB))
wait_exit "after pushing 20 MiB"
[ ! -e "$W/got.bin" ] || fail "expected no $W/got.bin after an interrupted download"
cat > "$T/a.jsonl" <<JSON
{"type":"session.start","session":"s1","analyst":"frank@example.com"}
{"type":"command","id":"dl-2","session":"s1","cmd":"file.download","path":"$W/got.bin","size":$((64 * MB)),"sha256":"$SHA_DOWN","mode":416,"_push":"$W/down.bin","_resume":"dl-1"}
JSON
platform_up --actions "$T/a.jsonl"
received "e['type'] == 'result' and e['id'] == 'dl-1' and not e['ok'] and e['result']['have'] > 0" > "$W/r1" ||
	fail "expected the failed dl-1 result to report what the sensor has"
received "e['type'] == 'result' and e['id'] == 'dl-2'" "$XFER" > "$W/r2" ||
	fail "expected a result for the resumed download dl-2"
grep -q '"ok": true' "$W/r2" || fail "dl-2: expected ok, saw $(cat "$W/r2")"
[ "$(sha "$W/got.bin")" = "$SHA_DOWN" ] || fail "expected $W/got.bin to have sha256 $SHA_DOWN, it has $(sha "$W/got.bin")"
[ "$(stat -c %a "$W/got.bin")" = 640 ] || fail "expected mode 640, saw $(stat -c %a "$W/got.bin")"
[ ! -e "$W/got.bin.senseon-part" ] || fail "expected no partial file left after the download"
note "download: 64 MiB, resumed at $("$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).read())["result"]["have"])' "$W/r1") bytes, sha256 matches"

# --- a download that does not match its sha256 ---
platform_down
printf 'not what was announced\n' > "$W/bad.txt"
cat > "$T/a.jsonl" <<JSON
{"type":"session.start","session":"s1","analyst":"frank@example.com"}
{"type":"command","id":"dl-bad","session":"s1","cmd":"file.download","path":"$W/bad.out","size":23,"sha256":"$SHA_DOWN","_push":"$W/bad.txt"}
JSON
platform_up --actions "$T/a.jsonl"
received "e['type'] == 'result' and e['id'] == 'dl-bad' and not e['ok'] and 'discarded' in e['error']" >/dev/null ||
	fail "expected dl-bad refused for its sha256; received: $(tail -2 "$REC/received.jsonl")"
[ ! -e "$W/bad.out" ] && [ ! -e "$W/bad.out.senseon-part" ] ||
	fail "expected nothing left of the mismatched download"

# --- policy.update ---
platform_down
fresh_sensor
"$PY" - "$T" > "$T/a.jsonl" <<'PY'
import json, sys
t = sys.argv[1]
good = (f"Probe Policy:\n  policy: program\n  priority: Low\n  alertMessage: probe ran\n"
        f"  rules:\n    - match programName == \"{t}/bin/probe\"\n    - default ignore\n")
bad = "Probe Policy:\n  policy: program\n  rules:\n    - match programName ==\n   bad: [\n"
print(json.dumps({"type": "session.start", "session": "s1", "analyst": "frank@example.com"}))
print(json.dumps({"type": "command", "id": "pol-good", "session": "s1", "cmd": "policy.update",
                  "name": "probe.yaml", "content": good}))
# sent once the good one's result is in: it is applied when the bad comes
print(json.dumps({"type": "command", "id": "pol-bad", "session": "s1", "cmd": "policy.update",
                  "name": "probe.yaml", "content": bad, "_after": "pol-good"}))
PY
platform_up --actions "$T/a.jsonl"
received "e['type'] == 'result' and e['id'] == 'pol-good' and e['ok']" >/dev/null ||
	fail "expected the good policy applied; received: $(tail -2 "$REC/received.jsonl")"
received "e['type'] == 'result' and e['id'] == 'pol-bad' and not e['ok']" > "$W/rb" ||
	fail "expected the bad policy refused"
grep -Eq "policy.d/probe.yaml:[0-9]+:[0-9]+:" "$W/rb" ||
	fail "expected the refusal to name FILE:LINE:COL of probe.yaml, saw $(cat "$W/rb")"
grep -q "probe ran" "$T/etc/policy.d/probe.yaml" ||
	fail "expected the good policy file to stay in place after the bad update"
[ -z "$(ls -A "$T/etc/policy.d" | grep -v '^probe.yaml$')" ] ||
	fail "expected no temporary file left in policy.d: $(ls -A "$T/etc/policy.d")"
# the running policy is the good one: the probe raises an alert
"$T/bin/probe" 0.3
"$PY" "$top_srcdir/t/integration/jsonwait.py" "$T/log/alerts.jsonl" "'probe ran' in json.dumps(e)" "$WAIT" >/dev/null ||
	fail "expected the applied policy to raise an alert for $T/bin/probe"
audited "e['type'] == 'policy.update' and e['result'] == 'invalid' and e['peer']['analyst'] == 'frank@example.com'" >/dev/null ||
	fail "expected the refused policy.update audited with the analyst"
kill -0 "$DAEMON_PID" || fail "senseond died"
echo "PASS: platform_files"
