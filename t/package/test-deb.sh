#!/bin/bash
# t/package/test-deb.sh - build the Debian package from a clean copy of the
# source, check it with lintian, install it with apt, run the installed
# sensor, remove it (network isolation lifted) and purge it (nothing left).
#
# Installs a package on the host, so it runs only when asked:
#   RUN_PACKAGE_TESTS=1 t/package/test-deb.sh [TARBALL]
# The source is `git archive HEAD` of this tree (uncommitted files never
# leak in), or TARBALL (a `make dist` tarball) when given; SENSEON_DEB_REF
# picks another commit.  Needs root, dpkg-dev, debhelper, lintian and the
# build dependencies in debian/control; nftables for the isolation check.
# Every exit path purges what it installed (trap in lib.sh).

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

# shellcheck disable=SC2317 # called from the EXIT trap
purge_package() {
	[ -n "$INSTALLED" ] || return 0
	INSTALLED=
	sensor_stop >/dev/null 2>&1 || true
	apt-get purge -y -q "$PKG" > "$T/purge-cleanup.log" 2>&1 || true
	# Whatever a broken postrm left: these did not exist before the test.
	rm -rf "${HOST_PATHS[@]}"
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
expect_mode /etc/senseon 755
expect_mode /etc/senseon/senseond.conf 644
expect_mode /var/lib/senseon 700
expect_mode /var/log/senseon 750
expect_mode /lib/systemd/system/senseond.service 644
expect_mode /etc/logrotate.d/senseon-sensor 644
for m in /usr/share/man/man8/senseond.8.gz /usr/share/man/man5/senseond.conf.5.gz; do
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
CONF=/etc/senseon/senseond.conf
# The exec gate holds every exec of the host: never enable it from a test.
if grep -Eq '^[[:space:]]*(exec_gate|exec_gate_enabled|deny_exec)[[:space:]]*:[[:space:]]*(true|yes|on)' "$CONF"; then
	sed -E 's/^([[:space:]]*(exec_gate|exec_gate_enabled|deny_exec)[[:space:]]*:).*/\1 false/' "$CONF" > "$T/senseond.conf"
	CONF=$T/senseond.conf
	note "exec gate disabled for this run ($CONF)"
fi
timeout -s KILL 60 /usr/sbin/senseond -f -c "$CONF" > "$T/stdout.jsonl" 2> "$T/senseond.err" &
SENSOR_PID=$!
for _ in $(seq 1 200); do
	[ -s /run/senseon/status.json ] && break
	kill -0 "$SENSOR_PID" 2>/dev/null || fail "installed senseond exited at start: $(tail -n 5 "$T/senseond.err")"
	sleep 0.05
done
[ -s /run/senseon/status.json ] || fail "installed senseond wrote no /run/senseon/status.json in 10 s"
MARK="senseon-deb-test-$$"
/bin/true "$MARK"
"$PY" - "$T/stdout.jsonl" "$MARK" <<'PY' || fail "no exec event for /bin/true $MARK on senseond's stdout in 10 s"
import json, sys, time
path, mark = sys.argv[1], sys.argv[2]
end = time.time() + 10
while time.time() < end:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break
            e = json.loads(line)
            cmd = (e.get("process") or {}).get("cmdline") or []
            if e.get("type") == "exec" and mark in cmd:
                print("# exec event:", line.strip()[:200])
                sys.exit(0)
    time.sleep(0.1)
sys.exit(1)
PY
/usr/bin/senseonctl status > "$T/status.out" 2>&1 ||
	fail "senseonctl status failed while senseond runs: $(cat "$T/status.out")"
[ -s "$T/status.out" ] || fail "senseonctl status printed nothing"
sensor_stop || fail "installed senseond did not exit 0 on SIGTERM (status $?)"
[ -s /var/log/senseon/events.jsonl ] || fail "no /var/log/senseon/events.jsonl after the run"
expect_mode /var/log/senseon/events.jsonl 600

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
apt-get purge -y -q "$PKG" > "$T/purge.log" 2>&1 || { cat "$T/purge.log" >&2; fail "apt-get purge failed"; }
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
note "built, linted, installed, ran, removed and purged $(basename "$DEB")"
exit 0
