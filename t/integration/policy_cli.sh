#!/bin/bash
# policy_cli: `senseonctl policy check` and `senseonctl policy test` on
# the shipped policies, a broken policy, and a recorded events file that
# includes a real file for sha256 and one bad line.
. "${top_srcdir:-$(dirname "$0")/../..}/t/integration/lib.sh"

[ -x "$SENSEONCTL" ] || skip "senseonctl not built"
POL="$top_srcdir/policy"

out=$("$SENSEONCTL" policy check "$POL" 2>&1) || fail "policy check $POL: expected exit 0, saw $? ($out)"
n=$(ls "$POL"/*.yaml | wc -l)
echo "$out" | grep -Eq "^$POL: OK \([0-9]+ policies\)$" || fail "expected '$POL: OK (N policies)', saw '$out'"
"$SENSEONCTL" policy check "$POL/examples/wget-blocklist.yaml" | grep -q ": OK (1 policy)$" ||
	fail "the wget example must pass policy check"
note "shipped: $out ($n files)"

# A broken policy: exit 3 and FILE:LINE:COLUMN pointing at the bad token.
cat > "$T/bad.yaml" <<'Y'
Broken:
  policy: program
  rules:
    - match programName == "/usr/bin/wget" and uid ~= 0
    - default ignore
Y
rc=0; out=$("$SENSEONCTL" policy check "$T/bad.yaml" 2>&1) || rc=$?
[ "$rc" = 3 ] || fail "bad policy: expected exit 3, saw $rc ($out)"
case "$out" in
"$T/bad.yaml:4:52: unexpected character '~'"*) ;;
*) fail "bad policy: expected '$T/bad.yaml:4:52: unexpected character ~', saw '$out'" ;;
esac

# Replay: a real binary copied into /tmp (hash known from sha256sum),
# a write to authorized_keys, an innocent exec, and a line that is not JSON.
cp /bin/true "$T/dropper"
sum=$(sha256sum "$T/dropper" | cut -d' ' -f1)
cat > "$T/hash.yaml" <<Y
Known Bad Hash:
  policy: program
  priority: Critical
  alertMessage: known bad binary
  responseActions: [kill, "script: collect --fast"]
  rules:
    - match sha256 == "$sum"
    - default ignore
Y
cat > "$T/events.jsonl" <<J
{"timestamp":"2025-01-01T00:00:00.000000001Z","seq":1,"type":"exec","pid":900,"process":{"pid":900,"ppid":1,"uid":0,"exe":"$T/dropper","cmdline":["$T/dropper"]}}
{"seq":2,"type":"modify","pid":901,"file":{"path":"/root/.ssh/authorized_keys"},"process":{"pid":901,"exe":"/usr/bin/tee"}}
{"seq":3,"type":"exec","pid":902,"process":{"pid":902,"exe":"/usr/bin/ls","cmdline":["ls"]}}
this is not json
{"seq":5,"type":"nonsense"}
J
mkdir "$T/pols"
cp "$POL"/*.yaml "$T/hash.yaml" "$T/pols/"
rc=0
"$SENSEONCTL" policy test "$T/pols" --events "$T/events.jsonl" > "$T/alerts.jsonl" 2> "$T/test.err" || rc=$?
[ "$rc" = 3 ] || fail "replay with bad lines: expected exit 3, saw $rc ($(cat "$T/test.err"))"
grep -q "^$T/events.jsonl:4: " "$T/test.err" || fail "expected an error for line 4, saw: $(cat "$T/test.err")"
grep -q "^$T/events.jsonl:5: not an event" "$T/test.err" || fail "expected 'not an event' for line 5, saw: $(cat "$T/test.err")"
grep -q "^3 events, 3 alerts, 2 bad lines skipped$" "$T/test.err" ||
	fail "expected '3 events, 3 alerts, 2 bad lines skipped', saw: $(tail -1 "$T/test.err")"
"$PY" - "$T/alerts.jsonl" "$T/dropper" <<'PYEOF' || fail "alerts are not what was expected (see above)"
import json, sys
alerts = [json.loads(l) for l in open(sys.argv[1])]
names = [(a["seq"], a["name"]) for a in alerts]
want = [(1, "Execution From Temporary Directory"), (1, "Known Bad Hash"),
        (2, "SSH Authorized Keys Modified")]
if names != want:
    print("expected", want, "saw", names); sys.exit(1)
h = alerts[1]
ok = (h["replay"] is True and h["dryRun"] is True and h["policy"] == "program"
      and h["priority"] == "Critical" and h["process"]["exe"] == sys.argv[2]
      and [r["action_type"] for r in h["responseActions"]] == ["kill", "script"]
      and all(r["action_result"] == "dry run" for r in h["responseActions"])
      and h["responseActions"][1]["args"] == ["--fast"]
      and alerts[2]["file"]["path"] == "/root/.ssh/authorized_keys")
if not ok:
    print("unexpected alert content:", json.dumps(alerts)); sys.exit(1)
PYEOF
note "replay: $(tail -1 "$T/test.err")"
echo "PASS: policy_cli"
