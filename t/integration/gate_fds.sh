#!/bin/bash
# Exec gate: no process but senseond holds the permission group's fd, so a
# crash or SIGKILL of senseond releases every waiting exec (the kernel does
# that only when the last reference to the group closes).
#  1. every fanotify fd of senseond is close-on-exec (fdinfo flags);
#  2. the pyrunner zygote holds no fanotify fd while the gate is active,
#     neither the one started before the gate opened nor one respawned
#     (forked) while it is open;
#  3. an analyst script (a fork of the zygote) holds none either;
#  4. the gate still denies, with the zygote and a script around.
# Only a tmpfs this test mounts is gated; the daemon runs under timeout.
. "$top_srcdir/t/integration/lib.sh"
. "$top_srcdir/t/integration/gate_lib.sh"

PYRUNNER="$top_builddir/senseon-pyrunner"
[ -x "$PYRUNNER" ] || skip "senseon-pyrunner not built"
[ -x "$SENSEONCTL" ] || skip "senseonctl not built"

gate_script bad
# the deadline (the most the configuration allows) is far beyond any
# decision, however loaded the machine: every answer is the gate's own
gate_config "exec_gate_deadline_ms: 60000" "pyrunner_path: $PYRUNNER"
gate_policy deny.yaml "Gate Fds Deny" "$GATE/bad"
sensor_start
wait_gate "g.get('active')" || fail "expected execGate active, saw: $(gate_status g)"

# fanotify_fds PID: "fd flags" of each fanotify fd PID holds
fanotify_fds() {
	local f
	for f in /proc/"$1"/fd/*; do
		[ "$(readlink "$f" 2>/dev/null)" = "anon_inode:[fanotify]" ] || continue
		echo "${f##*/} $(awk '/^flags:/ {print $2}' "/proc/$1/fdinfo/${f##*/}")"
	done
}

# zygote_pid: senseond's senseon-pyrunner --zygote child (waits up to $WAIT s)
find_zygote() {
	local p
	for p in $(awk -v d="$DAEMON_PID" '$1 == "PPid:" && $2 == d {
			split(FILENAME, f, "/"); print f[3] }' /proc/[0-9]*/status 2>/dev/null); do
		if tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q -- '--zygote'; then
			echo "$p"
			return 0
		fi
	done
	return 1
}
zygote_pid() { poll "$WAIT" find_zygote; }

# no_fanotify WHO PID: fail if PID holds a fanotify fd
no_fanotify() {
	local held
	held=$(fanotify_fds "$2")
	[ -d "/proc/$2" ] || fail "$1 (pid $2) is gone before its fds could be listed"
	[ -z "$held" ] || fail "expected $1 (pid $2) to hold no fanotify fd, saw fd/flags: $held;" \
		"all its fds: $(ls -l /proc/"$2"/fd | tail -n +2 | awk '{print $9, $11}' | tr '\n' ' ')"
}

# --- 1. senseond: every fanotify fd is close-on-exec ---
fds=$(fanotify_fds "$DAEMON_PID")
n=$(grep -c . <<<"$fds")
[ "$n" -ge 2 ] || fail "expected at least 2 fanotify fds in senseond (exec source, gate), saw: $fds"
while read -r fd flags; do
	(( 8#$flags & 8#2000000 )) ||
		fail "expected senseond's fanotify fd $fd to be O_CLOEXEC, fdinfo flags $flags"
done <<<"$fds"
note "senseond: $n fanotify fds, all O_CLOEXEC"

# --- 2. the zygote started before the gate opened ---
zyg=$(zygote_pid) || fail "expected a senseon-pyrunner --zygote child of senseond"
no_fanotify "the zygote" "$zyg"
note "zygote $zyg: no fanotify fd"

# --- 3. an analyst script, forked by the zygote, while the gate is active ---
cat > "$T/fds.py" <<'PY'
import os
def fanotify(pid):
    held = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:[fanotify]":
                held.append(fd)
        except OSError:
            pass
    return " ".join(held) or "none"
# the parent is the zygote that forked this script (alive during the run)
pp = os.getppid()
cmd = open(f"/proc/{pp}/cmdline", "rb").read().replace(b"\0", b" ").decode()
print("FANOTIFY", fanotify("self"))
print("PARENT", "zygote" if "--zygote" in cmd else cmd, fanotify(pp))
PY
out=$(timeout "$WAIT" "$SENSEONCTL" -c "$T/etc/senseond.conf" run "$T/fds.py" 2>&1) ||
	fail "senseonctl run of the fd lister failed: $out"
grep -qx "FANOTIFY none" <<<"$out" || fail "expected the script to hold no fanotify fd, saw: $out"
grep -qx "PARENT zygote none" <<<"$out" ||
	fail "expected the script's parent to be the zygote, holding no fanotify fd, saw: $out"
note "script: no fanotify fd"

# --- 2b. a zygote respawned (forked by senseond) while the gate is open ---
kill -KILL "$zyg"	# started by our senseond, for this test
# until it is dead (gone, or a zombie for senseond to reap)
not_sleeping() { [ "$(awk '{print $3}' "/proc/$zyg/stat" 2>/dev/null)" != S ]; }
poll "$WAIT" not_sleeping ||
	fail "the zygote $zyg still sleeps $WAIT s after SIGKILL: $(cat "/proc/$zyg/stat" 2>&1)"
# the next run finds the zygote gone and forks a new one; its script
# lists the new zygote's fds while it runs
out=$(timeout "$WAIT" "$SENSEONCTL" -c "$T/etc/senseond.conf" run "$T/fds.py" 2>&1) ||
	fail "senseonctl run through a respawned zygote failed: $out"
wait_has "$T/senseond.err" "zygote restarted" ||
	fail "expected senseond to log a zygote restart after $zyg was killed"
grep -qx "FANOTIFY none" <<<"$out" || fail "expected the script to hold no fanotify fd, saw: $out"
grep -qx "PARENT zygote none" <<<"$out" ||
	fail "expected the respawned zygote to hold no fanotify fd, saw: $out"
note "respawned zygote and its script: no fanotify fd"

# --- 4. the gate still works ---
out=$(timeout "$WAIT" "$PY" "$T/storm.py" "$GATE/bad" 1 "$GATE/bad" 1) || fail "exec driver: $out"
[ "$(jfield "$out" "j['bad_eperm']")" = 1 ] || fail "expected $GATE/bad denied with EPERM, saw: $out"
[ ! -e "$T/ran-bad" ] || fail "expected $GATE/bad never to run"
note "gate denies: $out"
