#!/bin/bash
# response_actions: policies in $T/etc/policy.d drive real responses.
#  - kill: a copy of /bin/sleep named wget-test is killed; in dry run it
#    stays alive and the alert says "Would have taken responseAction: kill"
#  - kill-container: a process in a cgroup v2 cgroup and PID namespace the
#    test made is killed with its cgroup (skipped without cgroup2)
#  - quarantine: a file written in a test dir is moved into the store and
#    `senseonctl quarantine list/restore` bring it back
# Needs the daemon wiring of response_run() in src/daemon/pipeline.c.
. "${top_srcdir:-$(dirname "$0")/../..}/t/integration/lib.sh"

command -v unshare >/dev/null || skip "needs unshare (util-linux)"
[ -x "$SENSEOND" ] || skip "senseond not built"
# Until pipeline.c calls response_run() the daemon has no response code.
grep -aq "refused: protected target" "$SENSEOND" || skip "senseond does not run responses yet"
CG2=$(awk '$0 ~ / - cgroup2 / { print $5; exit }' /proc/self/mountinfo)

alerts() { echo "$T/log/alerts.jsonl"; }
# wait_alert PYEXPR [SECONDS]: first alert e satisfying PYEXPR
wait_alert() { "$PY" "$top_srcdir/t/integration/jsonwait.py" "$(alerts)" "$1" "${2:-$WAIT}"; }
# action_of NAME: the action_result of the first response notification
resp() { printf '[n["message_fields"] for n in e["notifications"] if n.get("type") == "response"]'; }

W="$T/work"
mkdir -p "$W/bin" "$W/drop"
cp /bin/sleep "$W/bin/wget-test"
cp /bin/sleep "$W/bin/wget-dry"
cp /bin/sleep "$W/bin/ctr-test"

sensor_config "watch_paths: [$W]" "exec_source: true" "file_source: true"
cat > "$T/etc/policy.d/response.yaml" <<YAML
Kill Wget Test:
  policy: program
  priority: High
  alertMessage: wget-test ran
  dryRun: false
  responseActions:
    - kill
  rules:
    - match programName == "$W/bin/wget-test"
    - default ignore
Dry Wget Test:
  policy: program
  priority: Medium
  alertMessage: wget-dry ran
  dryRun: true
  responseActions:
    - kill
  rules:
    - match programName == "$W/bin/wget-dry"
    - default ignore
Kill Container Test:
  policy: program
  priority: High
  alertMessage: ctr-test ran
  responseActions:
    - kill-container
  rules:
    - match programName == "$W/bin/ctr-test"
    - default ignore
Quarantine Drop:
  policy: file
  priority: High
  alertMessage: dropped file
  responseActions:
    - quarantine
  rules:
    - match filePath like "$W/drop/*" and fileOperation == "modify"
    - default ignore
YAML
sensor_start

# --- kill ---
"$W/bin/wget-test" 600 &
victim=$!
add_cleanup "kill -KILL $victim 2>/dev/null"
wait_alert "e['name'] == 'Kill Wget Test' and e['process']['pid'] == $victim" >/dev/null ||
	fail "expected an alert for wget-test pid $victim, saw none"
rc=0; wait "$victim" || rc=$?
[ "$rc" = 137 ] || fail "expected wget-test killed by SIGKILL (status 137), saw status $rc"
wait_alert "e['name'] == 'Kill Wget Test' and any(m['action_type'] == 'kill' and m['action_result'] == 'success' for m in $(resp))" >/dev/null ||
	fail "expected a kill notification with result success"
note "kill: ok"

# --- dry run ---
"$W/bin/wget-dry" 600 &
dry=$!
add_cleanup "kill -KILL $dry 2>/dev/null"
wait_alert "e['name'] == 'Dry Wget Test' and e['process']['pid'] == $dry and any(n.get('message') == 'Would have taken responseAction: kill' for n in e['notifications']) and any(m['action_result'] == 'dry run' for m in $(resp))" >/dev/null ||
	fail "expected a dry-run alert 'Would have taken responseAction: kill' for pid $dry"
# the alert is written after the response step, whose result it holds:
# "dry run" says that step is over and sent no signal
kill -0 "$dry" 2>/dev/null || fail "expected dry-run target $dry alive, it is gone"
kill -KILL "$dry"; wait "$dry" 2>/dev/null || true
note "dry run: ok"

# --- quarantine ---
# The mode comes from the umask: a chmod after the write would race the
# sensor, which quarantines on close-after-write.
(umask 027; printf 'payload\n' > "$W/drop/evil.sh")
wait_alert "e['name'] == 'Quarantine Drop' and any(m['action_type'] == 'quarantine' and m['action_result'] == 'success' for m in $(resp))" >/dev/null ||
	fail "expected a successful quarantine of $W/drop/evil.sh"
[ ! -e "$W/drop/evil.sh" ] || fail "expected $W/drop/evil.sh moved to quarantine, it is still there"
id=$("$SENSEONCTL" -c "$T/etc/senseond.conf" quarantine list --json |
	"$PY" -c 'import json,sys; r=[x for x in json.load(sys.stdin) if x["originalPath"].endswith("/drop/evil.sh")]; print(r[0]["id"] if r else "")')
[ -n "$id" ] || fail "expected $W/drop/evil.sh in 'senseonctl quarantine list', saw none"
"$SENSEONCTL" -c "$T/etc/senseond.conf" quarantine restore "$id" >/dev/null ||
	fail "senseonctl quarantine restore $id failed"
[ "$(cat "$W/drop/evil.sh" 2>/dev/null)" = payload ] || fail "expected restored content 'payload'"
[ "$(stat -c %a "$W/drop/evil.sh")" = 640 ] || fail "expected mode 640 after restore, saw $(stat -c %a "$W/drop/evil.sh")"
note "quarantine: ok"

# --- kill-container ---
[ -n "$CG2" ] || { note "no cgroup2 mount: kill-container skipped"; exit 77; }
cg="$CG2/senseon-test-$$"
mkdir "$cg" || skip "cannot create a cgroup under $CG2"
# a shell in the cgroup starts the "container": new PID namespace, ctr-test in it
sh -c "echo \$\$ > '$cg/cgroup.procs' && exec unshare --pid --fork '$W/bin/ctr-test' 600" &
ctr=$!
add_cleanup "kill -KILL $ctr 2>/dev/null"
# after the kill (hooks run in order), and again while the exits finish
add_cleanup "for i in \$(seq 50); do rmdir '$cg' 2>/dev/null && break; sleep 0.1; done"
wait_alert "e['name'] == 'Kill Container Test' and any(m['action_type'] == 'kill-container' and m['action_result'] == 'success' for m in $(resp))" >/dev/null ||
	fail "expected kill-container success; alerts: $(tail -n 1 "$(alerts)")"
rc=0; wait "$ctr" || rc=$?
[ "$rc" = 137 ] || fail "expected the container's unshare killed (137), saw status $rc"
# the killed processes leave the cgroup as they finish exiting
cg_empty() { [ -z "$(cat "$cg/cgroup.procs")" ]; }
poll "$WAIT" cg_empty || fail "expected cgroup $cg empty, $WAIT s later it holds $(cat "$cg/cgroup.procs")"
note "kill-container: ok"
