#!/bin/bash
# t/package/test-deb.sh - build the Debian package from a clean copy of the
# source, check it with lintian, install it with apt, run the installed
# sensor with the installed configuration (a shipped script through the
# installed senseonctl, an alert from a shipped default policy, a logrotate
# rotation, an intact audit chain), reinstall (local config kept), remove
# (network isolation lifted) and purge it (nothing left).
#
# Installs a package on the host, so it runs only when asked:
#   RUN_PACKAGE_TESTS=1 t/package/test-deb.sh [TARBALL]
# The source is `git archive HEAD` of this tree (uncommitted files never
# leak in), or TARBALL (a `make dist` tarball) when given; SENSEON_DEB_REF
# picks another commit.  Needs root, dpkg-dev, debhelper, lintian and the
# build dependencies in debian/control; nftables for the isolation check,
# logrotate for the rotation.  Every exit path purges what it installed
# (trap in lib.sh).  The isolation table is only ever made inside a network
# namespace of the test's own.

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
[ "${RUN_PACKAGE_TESTS:-}" = 1 ] || { echo "SKIP: set RUN_PACKAGE_TESTS=1 (installs a package)"; exit 77; }
# shellcheck source=t/integration/lib.sh
. "$top_srcdir/t/integration/lib.sh"

PKG=senseon-sensor
TARBALL=${1:-}
REF=${SENSEON_DEB_REF:-HEAD}
export DEBIAN_FRONTEND=noninteractive
INSTALLED=
# Everything the package may create outside its file list.
HOST_PATHS=(/etc/senseon /var/lib/senseon /var/log/senseon /run/senseon
	/etc/systemd/system/multi-user.target.wants/senseond.service
	/etc/logrotate.d/senseon-sensor)

for tool in dpkg-buildpackage dh lintian apt-get; do
	command -v "$tool" >/dev/null || skip "needs $tool (apt-get install dpkg-dev debhelper lintian)"
done
if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -qv "not-installed"; then
	skip "$PKG is installed on this host; not touching it"
fi
for p in "${HOST_PATHS[@]}"; do
	[ -e "$p" ] && skip "$p exists on this host; not touching it"
done
# The parent cgroup of script runs, under each cgroup2 mount; purge removes
# it unless it belongs to someone else (it existed before, or another
# senseond runs here).
SCRIPT_CGROUPS=()
while read -r mnt; do
	[ -d "$mnt/senseon-scripts" ] || SCRIPT_CGROUPS+=("$mnt/senseon-scripts")
done < <(awk '{ for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' /proc/self/mountinfo)

# shellcheck disable=SC2317 # called from the EXIT trap
purge_package() {
	[ -n "$INSTALLED" ] || return 0
	INSTALLED=
	sensor_stop >/dev/null 2>&1 || true
	apt-get purge -y -q "$PKG" > "$T/purge-cleanup.log" 2>&1 || true
	# Whatever a broken postrm left: these did not exist before the test.
	rm -rf "${HOST_PATHS[@]}"
	pgrep -x senseond >/dev/null && return 0
	for cg in "${SCRIPT_CGROUPS[@]+"${SCRIPT_CGROUPS[@]}"}"; do rmdir "$cg" 2>/dev/null; done
	return 0
}
add_cleanup purge_package

# --- build from a clean copy --------------------------------------------
mkdir -p "$T/src"
if [ -n "$TARBALL" ]; then
	note "building from $TARBALL"
	tar -xf "$TARBALL" -C "$T/src" --strip-components=1 || fail "cannot unpack $TARBALL"
else
	note "building from git archive $REF"
	git -C "$top_srcdir" archive --format=tar "$REF" | tar -xf - -C "$T/src" ||
		fail "git archive $REF failed"
fi
[ -f "$T/src/debian/control" ] || fail "no debian/control in the source"
SECONDS=0
if ! (cd "$T/src" && dpkg-buildpackage -b -us -uc -j2) > "$T/build.log" 2>&1; then
	tail -n 60 "$T/build.log" >&2
	fail "dpkg-buildpackage -b -us -uc failed (expected a .deb)"
fi
note "package built in ${SECONDS}s"
DEBS=("$T/${PKG}"_*.deb)
[ -f "${DEBS[0]}" ] || fail "no ${PKG}_*.deb next to the source after the build"
DEB=${DEBS[0]}

# --- lintian ------------------------------------------------------------
# lintian need not run as root: as nobody when we can.
LINTIAN=(lintian --fail-on error --tag-display-limit 0)
command -v runuser >/dev/null && id nobody >/dev/null 2>&1 &&
	LINTIAN=(runuser -u nobody -- env HOME=/tmp "${LINTIAN[@]}")
"${LINTIAN[@]}" "$DEB" > "$T/lintian.log" 2>&1
rc=$?
sed 's/^/# lintian: /' "$T/lintian.log"
[ "$rc" = 0 ] || fail "lintian reports errors on $(basename "$DEB") (expected none)"

# --- install --------------------------------------------------------------
INSTALLED=1
(cd "$T" && apt-get install -y -q "./$(basename "$DEB")") > "$T/install.log" 2>&1 ||
	{ tail -n 30 "$T/install.log" >&2; fail "apt-get install ./$(basename "$DEB") failed"; }

# expect_mode PATH MODE [OWNER:GROUP]
expect_mode() {
	local got
	got=$(stat -c '%a %U:%G' "$1" 2>/dev/null) || fail "$1 missing after install"
	[ "$got" = "$2 ${3:-root:root}" ] || fail "$1: expected mode $2 ${3:-root:root}, saw $got"
}
expect_mode /usr/sbin/senseond 755
expect_mode /usr/bin/senseonctl 755
expect_mode /usr/libexec/senseon/senseon-pyrunner 755
for f in triage collect killtree quarantine isolation; do
	expect_mode "/usr/share/senseon-sensor/scripts/$f.py" 644
done
expect_mode /usr/lib/python3/dist-packages/senseon.pyi 644
grep -q '^scripts_dir: /usr/share/senseon-sensor/scripts$' /etc/senseon/senseond.conf ||
	fail "/etc/senseon/senseond.conf: expected scripts_dir: /usr/share/senseon-sensor/scripts"
expect_mode /etc/senseon 755
expect_mode /etc/senseon/senseond.conf 644
expect_mode /var/lib/senseon 700
expect_mode /var/log/senseon 750
expect_mode /lib/systemd/system/senseond.service 644
expect_mode /etc/logrotate.d/senseon-sensor 644
for m in /usr/share/man/man8/senseond.8.gz /usr/share/man/man8/senseonctl.8.gz \
	/usr/share/man/man5/senseond.conf.5.gz /usr/share/man/man5/senseon-policy.5.gz \
	/usr/share/man/man3/senseon.3py.gz; do
	[ -f "$m" ] || fail "man page $m not installed"
done
dpkg -L "$PKG" > "$T/filelist"
# Every program has its manual page.
while read -r prog; do
	grep -qE "/usr/share/man/man[18]/$(basename "$prog")\.[18]\.gz$" "$T/filelist" ||
		fail "$prog has no manual page in the package"
done < <(grep -E '^/usr/s?bin/.' "$T/filelist")
# Every file under /etc is a conffile (kept on upgrade, removed on purge).
CONFFILES=$(dpkg-query -W -f='${Conffiles}\n' "$PKG" | awk 'NF {print $1}')
while read -r f; do
	[ -f "$f" ] || continue
	grep -qxF "$f" <<< "$CONFFILES" || fail "$f is not a conffile (conffiles: $CONFFILES)"
done < <(grep '^/etc/' "$T/filelist")
grep -qxF /etc/senseon/senseond.conf <<< "$CONFFILES" ||
	fail "/etc/senseon/senseond.conf is not a conffile"
npol=$(grep -c '^/etc/senseon/policy.d/.*\.yaml$' "$T/filelist")
note "$npol default policies in /etc/senseon/policy.d"
[ -L /etc/systemd/system/multi-user.target.wants/senseond.service ] ||
	fail "senseond.service was not enabled by the postinst"
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify /lib/systemd/system/senseond.service > "$T/verify.log" 2>&1 ||
		{ cat "$T/verify.log" >&2; fail "systemd-analyze verify senseond.service failed"; }
	grep -i 'senseond' "$T/verify.log" && fail "systemd-analyze verify warns about senseond.service"
fi
if command -v logrotate >/dev/null; then
	logrotate -d /etc/logrotate.d/senseon-sensor > "$T/logrotate.log" 2>&1 ||
		{ cat "$T/logrotate.log" >&2; fail "logrotate rejects /etc/logrotate.d/senseon-sensor"; }
fi
if [ -d /run/systemd/system ]; then
	# The postinst started the service: it must have reached READY=1.
	systemctl is-active --quiet senseond.service ||
		fail "senseond.service is not active after install: $(systemctl status senseond.service 2>&1 | tail -n 5)"
	systemctl stop senseond.service
else
	note "systemd not running: the service start is not exercised here"
fi

# --- run the installed daemon with the installed configuration ------------
# This VM runs no systemd: senseond in the foreground, under timeout, with
# /etc/senseon/senseond.conf and the shipped policies, as the unit would.
CONF=/etc/senseon/senseond.conf
# Never hold the host's execs from a test: the exec gate starts only for
# policies with a deny action, and no shipped default policy may have one.
# (Any line naming deny counts, list item or flow sequence: better a
# false alarm here than a gate on the host's /.)
grep -vE '^[[:space:]]*#' /etc/senseon/policy.d/*.yaml | grep -wq deny &&
	fail "a shipped default policy mentions the deny action (expected alert-only defaults): $(grep -lw deny /etc/senseon/policy.d/*.yaml)"
grep -q '^exec_gate_fail_closed: false' "$CONF" ||
	fail "$CONF: expected exec_gate_fail_closed: false (fail-open) by default"
timeout -s KILL "$SENSOR_TIMEOUT" /usr/sbin/senseond -f -c "$CONF" > "$T/stdout.jsonl" 2> "$T/senseond.err" &
SENSOR_PID=$!
ready_or_gone() { [ -s /run/senseon/status.json ] || gone "$SENSOR_PID"; }
poll "$WAIT" ready_or_gone ||
	fail "installed senseond wrote no /run/senseon/status.json in $WAIT s: $(tail -n 5 "$T/senseond.err")"
[ -s /run/senseon/status.json ] || fail "installed senseond exited at start: $(tail -n 5 "$T/senseond.err")"
DAEMON_PID=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' /run/senseon/status.json)
[ "$(readlink "/proc/$DAEMON_PID/exe")" = /usr/sbin/senseond ] ||
	fail "status.json names pid $DAEMON_PID, which is not /usr/sbin/senseond"
expect_mode /run/senseon 700
[ -S /run/senseon/control.sock ] || fail "no control socket /run/senseon/control.sock"
expect_mode /run/senseon/control.sock 600
/usr/bin/senseonctl status > "$T/status.out" 2>&1 ||
	fail "senseonctl status failed while senseond runs: $(cat "$T/status.out")"
[ -s "$T/status.out" ] || fail "senseonctl status printed nothing"

# A shipped script through the installed senseonctl and pyrunner, by name
# (run from $T, so no local file of that name is taken instead).
(cd "$T" && timeout "$WAIT" /usr/bin/senseonctl run triage --json) > "$T/triage.json" 2> "$T/triage.err" ||
	fail "senseonctl run triage --json failed (status $?): $(tail -n 5 "$T/triage.err")"
"$PY" - "$T/triage.json" "$DAEMON_PID" <<'PY' || fail "senseonctl run triage: unexpected report (above)"
import json, os, sys
r = json.load(open(sys.argv[1]))
mods = 0
if os.path.exists("/proc/modules"):     # no modules: a kernel built without them
    mods = len(open("/proc/modules").read().splitlines())
checks = [
    ("the sensor's pid", r["sensor"].get("pid"), int(sys.argv[2])),
    ("processes > 10", r["processes"] > 10, True),
    ("kernel modules", len(r["persistence"]["kernelModules"]), mods),
]
bad = [(n, got, want) for n, got, want in checks if got != want]
for n, got, want in bad:
    print("# triage: %s: expected %r, saw %r" % (n, want, got))
sys.exit(1 if bad else 0)
PY
# The audit log has the shipped file's exact code, and its clean end.
"$PY" - /usr/share/senseon-sensor/scripts/triage.py /var/log/senseon/audit.jsonl <<'PY' ||
import hashlib, json, os, sys
want = hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest()
recs = [json.loads(l) for l in open(sys.argv[2])]
def triage(r):
    return os.path.basename(r.get("name", "")) in ("triage", "triage.py")
start = [r for r in recs if r["type"] == "script.start" and triage(r)]
end = [r for r in recs if r["type"] == "script.end" and triage(r)]
if not start:
    print("# audit: script records seen: %r" % [(r["type"], r.get("name")) for r in recs if r["type"].startswith("script.")])
if not start or start[0].get("sha256") != want:
    print("# audit: expected script.start of triage with sha256 %s, saw %r" % (want, start[:1]))
    sys.exit(1)
if not end or end[0].get("exit") != 0:
    print("# audit: expected script.end of triage with exit 0, saw %r" % end[:1])
    sys.exit(1)
PY
	fail "the audit log does not record the shipped triage script's run"

# An alert from a shipped default policy: a copy of /bin/true run from /tmp.
MARK="senseon-deb-test-$$"
cp /bin/true "$T/$MARK"
"$T/$MARK" || fail "cannot run $T/$MARK"
"$PY" - /var/log/senseon/alerts.jsonl "$T/$MARK" "$WAIT" <<'PY' || fail "no 'Execution From Temporary Directory' alert for $T/$MARK in /var/log/senseon/alerts.jsonl within $WAIT s"
import json, sys, time
path, exe = sys.argv[1], sys.argv[2]
end = time.time() + float(sys.argv[3])
while time.time() < end:
    try:
        lines = open(path, encoding="utf-8").readlines()
    except FileNotFoundError:
        lines = []
    for line in lines:
        a = json.loads(line)
        if a.get("name") == "Execution From Temporary Directory" and \
           (a.get("process") or {}).get("exe") == exe:
            print("# alert:", line.strip()[:160])
            sys.exit(0)
    time.sleep(0.1)
sys.exit(1)
PY

# Rotation by the shipped logrotate rules while senseond runs (the
# postrotate finds it through status.json), then one more audit record:
# the audit chain must go on across the two files.
if command -v logrotate >/dev/null; then
	logrotate -f -s "$T/logrotate.state" /etc/logrotate.d/senseon-sensor > "$T/logrotate.log" 2>&1 ||
		{ cat "$T/logrotate.log" >&2; fail "logrotate -f /etc/logrotate.d/senseon-sensor failed"; }
	rotated=(/var/log/senseon/audit.jsonl.2*)
	[ -f "${rotated[0]}" ] || fail "logrotate left no dated /var/log/senseon/audit.jsonl.2* (saw: $(ls /var/log/senseon))"
	[ -f /var/log/senseon/alerts.jsonl.1 ] || fail "logrotate did not rotate alerts.jsonl (saw: $(ls /var/log/senseon))"
	poll "$WAIT" test -s /var/log/senseon/audit.jsonl ||
		fail "senseond did not reopen audit.jsonl after logrotate's SIGHUP (saw: $(ls /var/log/senseon))"
	head -n 1 /var/log/senseon/audit.jsonl | grep -q '"type":"audit.rotated"' ||
		fail "new audit.jsonl does not start with audit.rotated: $(head -c 300 /var/log/senseon/audit.jsonl)"
	expect_mode /var/log/senseon/audit.jsonl 600
	(cd "$T" && timeout "$WAIT" /usr/bin/senseonctl run collect /etc/senseon/senseond.conf) > "$T/collect.out" 2>&1 ||
		fail "senseonctl run collect failed after rotation: $(tail -n 5 "$T/collect.out")"
	cmp -s "$T/senseond.conf" /etc/senseon/senseond.conf ||
		fail "collect: expected $T/senseond.conf to be a copy of /etc/senseon/senseond.conf"
else
	note "logrotate not installed: rotation not exercised"
fi
/usr/bin/senseonctl audit verify > "$T/verify.out" 2>&1 ||
	fail "senseonctl audit verify: expected intact, saw: $(cat "$T/verify.out")"
note "audit verify: $(cat "$T/verify.out")"
if command -v logrotate >/dev/null; then
	grep -Eq 'seq 1\.\.[0-9]+, [2-9] file' "$T/verify.out" ||
		fail "audit verify: expected the chain from seq 1 across 2 files, saw: $(cat "$T/verify.out")"
fi

sensor_stop || fail "installed senseond did not exit 0 on SIGTERM (status $?)"
# stdout is block-buffered: everything is there once senseond has exited.
grep -F "\"exe\":\"$T/$MARK\"" "$T/stdout.jsonl" | grep -q '"name":"Execution From Temporary Directory"' ||
	fail "the alert for $T/$MARK is not on senseond's stdout"
grep -F "$MARK" "$T/stdout.jsonl" | grep -q '"type":"exec"' ||
	fail "no exec event for $T/$MARK on senseond's stdout"
[ -s /var/log/senseon/events.jsonl ] || fail "no /var/log/senseon/events.jsonl after the run"
expect_mode /var/log/senseon/events.jsonl 600
expect_mode /var/log/senseon/alerts.jsonl 600

# --- reinstall: local configuration and state are kept ----------------
echo "# local change by test-deb.sh $$" >> /etc/senseon/senseond.conf
ID=$(cat /var/lib/senseon/sensor-id 2>/dev/null) || fail "the run left no /var/lib/senseon/sensor-id"
(cd "$T" && apt-get install -y -q --reinstall "./$(basename "$DEB")") > "$T/reinstall.log" 2>&1 ||
	{ tail -n 20 "$T/reinstall.log" >&2; fail "apt-get install --reinstall failed"; }
grep -q "local change by test-deb.sh $$" /etc/senseon/senseond.conf ||
	fail "reinstalling replaced the locally changed /etc/senseon/senseond.conf"
[ "$(cat /var/lib/senseon/sensor-id)" = "$ID" ] ||
	fail "reinstalling changed the sensor id: expected $ID, saw $(cat /var/lib/senseon/sensor-id)"
expect_mode /var/lib/senseon 700

# --- remove: the host must not stay isolated -----------------------------
# The isolation table is made in a network namespace of our own, so the
# host's firewall is never touched; postrm runs in that namespace too.
if command -v nft >/dev/null && unshare --net true 2>/dev/null; then
	unshare --net bash -c '
		nft add table inet senseon_isolation || exit 3
		apt-get remove -y -q senseon-sensor || exit 4
		if nft list table inet senseon_isolation >/dev/null 2>&1; then exit 5; fi
	' > "$T/remove.log" 2>&1
	rc=$?
	case $rc in
	0) ;;
	3) fail "cannot create a test nftables table in a private network namespace" ;;
	5) fail "apt-get remove left the isolation table inet senseon_isolation in place" ;;
	*) cat "$T/remove.log" >&2; fail "apt-get remove failed (status $rc)" ;;
	esac
	grep -q "network-isolated" "$T/remove.log" ||
		fail "apt-get remove lifted the isolation without saying so: $(tail -n 5 "$T/remove.log")"
else
	note "nft or network namespaces unavailable: plain remove, isolation not checked"
	apt-get remove -y -q "$PKG" > "$T/remove.log" 2>&1 || fail "apt-get remove failed"
fi
[ -f /etc/senseon/senseond.conf ] || fail "remove (not purge) deleted the conffile"
[ -d /var/lib/senseon ] || fail "remove (not purge) deleted the state directory"
[ -e /usr/sbin/senseond ] && fail "remove left /usr/sbin/senseond"

# --- purge: nothing of the package is left --------------------------------
# An isolation table left from before the remove (a second one, in a new
# namespace) must go with the purge too.
if command -v nft >/dev/null && unshare --net true 2>/dev/null; then
	unshare --net bash -c '
		nft add table inet senseon_isolation || exit 3
		apt-get purge -y -q senseon-sensor || exit 4
		if nft list table inet senseon_isolation >/dev/null 2>&1; then exit 5; fi
	' > "$T/purge.log" 2>&1
	rc=$?
	case $rc in
	0) ;;
	3) fail "cannot create a test nftables table in a private network namespace" ;;
	5) fail "apt-get purge left the isolation table inet senseon_isolation in place" ;;
	*) cat "$T/purge.log" >&2; fail "apt-get purge failed (status $rc)" ;;
	esac
else
	apt-get purge -y -q "$PKG" > "$T/purge.log" 2>&1 || { cat "$T/purge.log" >&2; fail "apt-get purge failed"; }
fi
INSTALLED=
status=$(dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null)
case "$status" in ""|*not-installed) ;; *) fail "after purge dpkg still has $PKG: $status" ;; esac
while read -r p; do
	# Shared directories (/usr/sbin, /etc/logrotate.d ...) stay.
	[ -d "$p" ] && [[ "$p" != *senseon* ]] && continue
	if [ -e "$p" ] || [ -L "$p" ]; then
		fail "after purge $p is still there"
	fi
done < <(printf '%s\n' "${HOST_PATHS[@]}"; cat "$T/filelist")
if pgrep -x senseond >/dev/null; then
	note "another senseond runs here: the script cgroup is its to keep, not checked"
else
	for cg in "${SCRIPT_CGROUPS[@]+"${SCRIPT_CGROUPS[@]}"}"; do
		[ -e "$cg" ] && fail "after purge the script cgroup $cg is still there"
	done
fi
note "built, linted, installed, ran, removed and purged $(basename "$DEB")"
exit 0
