#!/bin/bash
# fapolicyd-ns.sh PRIVDIR - run fapolicyd --permissive inside the private
# mount namespace this script is started in (by run.sh, under
# `unshare --mount --propagation private` and `timeout -s KILL`).
#
# Why a namespace: fapolicyd marks every mount whose type is in watch_fs
# with fanotify PERMISSION events and cannot be limited to one mount.  In
# a new mount namespace every mount is a private copy, and fanotify mount
# marks belong to those copies: only processes inside this namespace (the
# daemon itself and the workload run.sh starts here with nsenter) can wait
# on it.  The host's / and every other shell on the machine are never
# marked.  Its configuration, database and run directory are bind-mounted
# from PRIVDIR, so the host's /etc/fapolicyd and /var/lib/fapolicyd are
# neither read nor written.
set -eu
priv=$1
rules=/usr/share/fapolicyd/sample-rules

mkdir -p "$priv/etc/rules.d" "$priv/etc/trust.d" "$priv/lib" "$priv/run"
cat > "$priv/etc/fapolicyd.conf" <<CONF
permissive = 1
nice_val = 14
q_size = 640
uid = root
gid = root
do_stat_report = 0
detailed_report = 0
db_max_size = 50
subj_cache_size = 1549
obj_cache_size = 8191
watch_fs = ext4
trust = file
integrity = none
syslog_format = rule,dec,perm,auid,pid,exe,:,path,ftype,trust
rpm_sha256_only = 0
allow_filesystem_mark = 0
CONF
: > "$priv/etc/fapolicyd.trust"
# Upstream's default "known-libs" rule set (sample-rules/README-rules).
for r in 10-languages 20-dracut 21-updaters 30-patterns 40-bad-elf \
	 41-shared-obj 42-trusted-elf 70-trusted-lang 72-shell \
	 90-deny-execute 95-allow-open; do
	cat "$rules/$r.rules"
done > "$priv/etc/compiled.rules"

chmod 0644 "$priv/etc/fapolicyd.conf" "$priv/etc/compiled.rules"

mount --make-rprivate /
mount --bind "$priv/etc" /etc/fapolicyd
mount --bind "$priv/lib" /var/lib/fapolicyd
mkdir -p /run/fapolicyd
mount --bind "$priv/run" /run/fapolicyd
exec fapolicyd --permissive --debug-deny
