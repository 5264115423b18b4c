#!/bin/bash
# proc_events - the process source (proc connector) and the exec source
# (FAN_OPEN_EXEC) against real programs: argv, exe, parent, uid, pid
# namespaces, binaries outside /usr and shebang scripts.
#
# For a script, the exe is the script itself: it is the first binary the
# execve opened for execution (the interpreter and ld.so come after), and
# the interpreter shows as cmdline[0].
. "$top_srcdir/t/integration/lib.sh"

[ -x "$SENSEOND" ] || skip "senseond not built"
command -v unshare >/dev/null || skip "needs unshare (util-linux)"
command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"

M=senseon-proc-$$-$RANDOM
mkdir -p "$T/bin"
# These live a moment (sleep) so their argv is certainly read: a program
# that exits at once can win the race with the /proc read (see below).
cp /bin/dash "$T/bin/proc-copy"
printf '#!/bin/sh\nsleep 0.2\n' > "$T/bin/proc-script"
chmod 755 "$T/bin/proc-copy" "$T/bin/proc-script"

sensor_start "file_source: false"

# show WORD: the events that mention WORD, for failure messages
show() { grep -F -- "$1" "$(events_file)" | head -5 >&2 || echo "(no event mentions $1)" >&2; }

# expect WHAT PYEXPR MARKER
expect() {
	if ! wait_event "$2" >/dev/null; then
		echo "expected: $1" >&2
		echo "saw:" >&2
		show "$3"
		fail "$1"
	fi
	note "ok: $1"
}

P="e['process']"

# A program that exits at once: its argv is read from /proc when the exec
# event arrives, a race a process that already exited wins (its argv is
# then empty, never wrong).  Each try waits for the exec event of its pid
# and looks at its argv; on a loaded host the race may be lost a few times.
for try in 1 2 3 4 5 6 7 8 9 10; do
	/bin/true "$M-true$try" &
	tpid=$!
	wait "$tpid"
	ev=$(wait_event "e['type'] == 'exec' and e['pid'] == $tpid") ||
		{ show "$M-true$try"; fail "no exec event for /bin/true (pid $tpid)"; }
	"$PY" -c 'import json,sys; sys.exit(json.loads(sys.argv[1])["process"].get("cmdline") != sys.argv[2:])' \
		"$ev" /bin/true "$M-true$try" && break
	note "try $try: the argv of /bin/true was not caught (the process had exited); trying again"
done
expect "exec of /bin/true with its argv, ppid $$, uid 0, exe from fanotify" \
	"e['type'] == 'exec' and $P['cmdline'] == ['/bin/true', '$M-true$try'] \
	 and $P['exe'] == '/usr/bin/true' and $P['ppid'] == $$ and $P['uid'] == 0 \
	 and $P['user'] == 'root' and $P.get('exeSource') == 'fanotify' \
	 and $P['parentExe'] == '$(readlink /proc/$$/exe)'" "$M-true"

sh -c 'sleep 0.2; exit 3' "$M-exit"
ev=$(wait_event "e['type'] == 'exec' and $P['cmdline'] == ['sh', '-c', 'sleep 0.2; exit 3', '$M-exit']") || { show "$M-exit"; fail "no exec event for sh -c 'sleep 0.2; exit 3'"; }
pid=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["pid"])' "$ev")
# exit carries the brief process object (README, "Event format"): no argv
expect "exit of pid $pid with wait status 768 and its last snapshot" \
	"e['type'] == 'exit' and e['pid'] == $pid and e['exitCode'] == 768 \
	 and e['process']['comm'] == 'sh' and e['process']['exe'] == '$(readlink -f /bin/sh)' \
	 and 'cmdline' not in e['process']" "$pid"

"$T/bin/proc-copy" -c 'sleep 0.2' "$M-copy"
expect "exec of a copied binary at $T/bin/proc-copy" \
	"e['type'] == 'exec' and $P['cmdline'][3] == '$M-copy' and $P['exe'] == '$T/bin/proc-copy' \
	 and $P.get('exeSource') == 'fanotify'" "$M-copy"

"$T/bin/proc-script" "$M-script"
expect "shebang script: exe is the script, interpreter is cmdline[0]" \
	"e['type'] == 'exec' and $P['cmdline'] == ['/bin/sh', '$T/bin/proc-script', '$M-script'] \
	 and $P['exe'] == '$T/bin/proc-script' and $P.get('exeSource') == 'fanotify'" "$M-script"

# Programs below live a moment (sleep) so their argv is certainly caught.
SH="['/usr/bin/dash', '/bin/dash']"
unshare --pid --fork --mount-proc /bin/sh -c 'sleep 0.2' "$M-ns"
expect "exec in a new pid namespace, reported with its host pid" \
	"e['type'] == 'exec' and $P['cmdline'] == ['/bin/sh', '-c', 'sleep 0.2', '$M-ns'] \
	 and $P['exe'] in $SH and e['pid'] > 1 and $P['parentExe'] == '/usr/bin/unshare'" "$M-ns"

setpriv --reuid=65534 --regid=65534 --clear-groups /bin/sh -c 'sleep 0.2' "$M-uid"
ev=$(wait_event "e['type'] == 'exec' and $P['cmdline'][3] == '$M-uid'") || { show "$M-uid"; fail "no exec event after setpriv"; }
pid=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["pid"])' "$ev")
expect "exec after setpriv runs as uid 65534 (nobody)" \
	"e['type'] == 'exec' and $P['cmdline'][3] == '$M-uid' and $P['uid'] == 65534 \
	 and $P['euid'] == 65534 and $P['user'] == 'nobody' and $P['exe'] in $SH" "$M-uid"
expect "uid_change event of pid $pid to 65534" \
	"e['type'] == 'uid_change' and e['pid'] == $pid and e['uid'] == 65534 \
	 and e['process']['uid'] == 65534" "\"pid\":$pid"

# status.json is rewritten every second: until it counted what came
counted() {
	st=$("$PY" -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["sources"]["process"]["events"], s["sources"]["exec"]["events"], s["processTable"]["exeFromFanotify"])' "$T/run/status.json")
	set -- $st
	[ "$1" -gt 0 ] && [ "$2" -gt 0 ] && [ "$3" -gt 0 ]
}
poll "$WAIT" counted || fail "status.json: expected process, exec events and exeFromFanotify > 0, $WAIT s later it says $st"
set -- $st
note "status: process events $1, exec events $2, exeFromFanotify $3"
sensor_stop || fail "senseond exited with status $?"
echo "PASS: proc_events"
