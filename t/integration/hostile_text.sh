#!/bin/bash
# Terminal and log injection: a local user names a program with a newline,
# a forged "Critical" alert line and terminal escape sequences (a window
# title, a bell, a C1 CSI).  `senseonctl alerts` and `senseonctl audit`
# and the daemon's log show it as one escaped line each: no control byte
# reaches the analyst's terminal or the log, no forged line appears;
# --json still carries the exact bytes.
. "$top_srcdir/t/integration/lib.sh"

[ -x "$SENSEONCTL" ] || skip "senseonctl not built"
PYRUNNER="$top_builddir/senseon-pyrunner"
[ -x "$PYRUNNER" ] || skip "senseon-pyrunner not built"
command -v setpriv > /dev/null || skip "needs setpriv (util-linux)"
W="$T/nobody"
mkdir -p "$W" && chown 65534:65534 "$W"
# the name: a newline, a forged alert line, OSC title, BEL, C1 CSI (UTF-8)
EVIL=$(printf 'tool\n2026-12-08T00:00:00Z  Critical Forged Alert\033]0;pwned\007\302\2332J')
sensor_config "file_source: false" "stdout_events: none" "pyrunner_path: $PYRUNNER"
cat > "$T/etc/policy.d/evil.yaml" <<YAML
Hostile Name Ran:
  policy: program
  priority: Low
  rules:
    - match programName like "$W/*"
    - default ignore
YAML
sensor_start
ctl() { "$SENSEONCTL" -c "$T/etc/senseond.conf" "$@"; }

setpriv --reuid=65534 --regid=65534 --clear-groups -- cp /usr/bin/sleep "$W/$EVIL"
setpriv --reuid=65534 --regid=65534 --clear-groups -- "$W/$EVIL" 0.5 &
pid=$!
"$PY" "$top_srcdir/t/integration/jsonwait.py" "$T/log/alerts.jsonl" \
	"e['name'] == 'Hostile Name Ran' and e['process']['pid'] == $pid" 120 > /dev/null ||
	fail "expected an alert for the program with the hostile name (pid $pid)"
wait "$pid" || true

# no_controls FILE WHAT: FILE has no C0 control but newline, no DEL, no C1
no_controls() {
	"$PY" - "$1" "$2" <<'PY' || exit 1
import re, sys
data = open(sys.argv[1], "rb").read()
bad = re.findall(rb"[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]", data)
if bad:
    sys.exit(f"FAIL: {sys.argv[2]}: control bytes reached the terminal: {bad[:5]}")
PY
}

# shown_escaped FILE WHAT: FILE (what WHAT printed) has no control byte,
# no forged line of its own, and the name escaped
shown_escaped() {
	no_controls "$1" "$2"
	grep -aq '^2026-12-08T00:00:00Z  Critical Forged Alert' "$1" &&
		fail "$2 printed the forged alert as a line of its own: $(tail -5 "$1" | cat -v)"
	grep -qF 'tool\n2026-12-08T00:00:00Z  Critical Forged Alert\x1b]0;pwned\x07\u009b2J' "$1" ||
		fail "expected the name escaped in $2, saw: $(tail -5 "$1" | cat -v)"
}

ctl alerts > "$T/alerts.txt" || fail "senseonctl alerts failed"
shown_escaped "$T/alerts.txt" "senseonctl alerts"
# --json keeps the exact bytes
ctl --json alerts > "$T/alerts.json" || fail "senseonctl --json alerts failed"
"$PY" - "$T/alerts.json" "$W/$EVIL" <<'PY' || fail "senseonctl --json alerts lost the exact name"
import json, sys, os
want = os.fsencode(sys.argv[2])
for line in open(sys.argv[1]):
    a = json.loads(line)
    if a.get("name") == "Hostile Name Ran" and os.fsencode(a["process"]["exe"]) == want:
        sys.exit(0)
sys.exit(1)
PY

# the audit log's human output: a script whose name carries the same bytes
printf 'print("ok")\n' > "$T/$EVIL.py"
ctl run "$T/$EVIL.py" > /dev/null || fail "the script with the hostile name did not run"
ctl audit > "$T/audit.txt" || fail "senseonctl audit failed"
shown_escaped "$T/audit.txt" "senseonctl audit"
# the daemon's own log names the script: one escaped line too
shown_escaped "$T/senseond.err" "the daemon's log"
echo "PASS: hostile names come out as one escaped line in alerts, audit and the log"
