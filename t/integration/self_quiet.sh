#!/bin/bash
# self_quiet: senseond starting its own script worker is not an alert, even
# when the worker lives under /tmp (a build tree cloned there) and the
# shipped "Execution From Temporary Directory" policy is loaded; what a
# script runs from /tmp still is.
. "${top_srcdir:-$(dirname "$0")/../..}/t/integration/lib.sh"

[ -x "$top_builddir/senseon-pyrunner" ] || skip "senseon-pyrunner not built"
[ -x "$SENSEONCTL" ] || skip "senseonctl not built"
case $T in /tmp/*) ;; *) skip "the test directory is not under /tmp" ;; esac

# the worker and a program, both under /tmp
mkdir -p "$T/bin"
cp "$top_builddir/senseon-pyrunner" "$T/bin/senseon-pyrunner"
cp /bin/true "$T/bin/tmp-true"

sensor_config "pyrunner_path: $T/bin/senseon-pyrunner" "file_source: false" \
	"watch_paths: [/]" "stdout_events: none"
cp "$top_srcdir/policy/exec-from-tmp.yaml" "$T/etc/policy.d/"
sensor_start
ctl() { "$SENSEONCTL" -c "$T/etc/senseond.conf" "$@"; }

printf 'import subprocess\nsubprocess.run([%s], check=True)\n' "\"$T/bin/tmp-true\"" > "$T/run-tmp.py"
ctl run "$T/run-tmp.py" > "$T/run.out" 2>&1 || fail "the script failed: $(cat "$T/run.out")"

alerts="$T/log/alerts.jsonl"
"$PY" "$top_srcdir/t/integration/jsonwait.py" "$alerts" \
	"e['process']['exe'] == '$T/bin/tmp-true'" "$WAIT" > /dev/null ||
	fail "expected an alert for $T/bin/tmp-true run by a script, saw: $(cat "$alerts" 2>/dev/null)"
# the worker's exec itself was seen (as an event): by then the policies
# had their look at it, and an alert for it would have been written
wait_event "e.get('type') == 'exec' and e['process']['exe'] == '$T/bin/senseon-pyrunner'" > /dev/null ||
	fail "expected the worker's exec among the events"
n=$("$PY" "$top_srcdir/t/integration/jsonwait.py" --count "$alerts" \
	"e['process']['exe'] == '$T/bin/senseon-pyrunner'" 0)
[ "$n" = 0 ] || fail "expected no alert for senseond starting its worker, saw $n"
note "zygote start not alerted; a script's /tmp program alerted"
