"""triage [--json]: a first look at a host.  Process tree, listening sockets
and the processes that own them, logged-in users (utmp), recent logins
(wtmp), and the usual persistence places: cron, systemd units, rc files,
authorized_keys, ld.so.preload, kernel modules.  Human text by default,
one JSON document with --json."""
import glob
import json
import os
import pwd
import socket
import struct
import sys
import time

import senseon


def read(path, limit=1 << 20):
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", "replace")
    except OSError:
        return None


def process_tree():
    procs = {p["pid"]: p for p in senseon.processes()}
    kids = {}
    for p in procs.values():
        kids.setdefault(p.get("ppid", 0), []).append(p["pid"])
    lines = []

    def walk(pid, depth):
        p = procs[pid]
        cmd = " ".join(p.get("cmdline") or []) or "[%s]" % p.get("comm", "?")
        lines.append("%s%d %s %s" % ("  " * depth, pid, p.get("user", p.get("uid")), cmd[:160]))
        for k in sorted(kids.get(pid, [])):
            walk(k, depth + 1)

    for pid in sorted(procs):
        if procs[pid].get("ppid", 0) not in procs:
            walk(pid, 0)
    return procs, lines


def socket_owners():
    owners = {}
    for fd in glob.glob("/proc/[0-9]*/fd/*"):
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            owners.setdefault(int(target[8:-1]), set()).add(int(fd.split("/")[2]))
    return owners


def addr(hexaddr, v6):
    ip, port = hexaddr.split(":")
    raw = bytes.fromhex(ip)
    if v6:
        raw = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
        return "[%s]:%d" % (socket.inet_ntop(socket.AF_INET6, raw), int(port, 16))
    return "%s:%d" % (socket.inet_ntop(socket.AF_INET, raw[::-1]), int(port, 16))


def listening(procs):
    owners = socket_owners()
    out = []
    for proto, path in (("tcp", "/proc/net/tcp"), ("tcp6", "/proc/net/tcp6"),
                        ("udp", "/proc/net/udp"), ("udp6", "/proc/net/udp6")):
        text = read(path) or ""
        for line in text.splitlines()[1:]:
            f = line.split()
            # TCP LISTEN is state 0A; an unconnected UDP socket is 07
            if (proto.startswith("tcp") and f[3] != "0A") or \
               (proto.startswith("udp") and f[3] != "07"):
                continue
            pids = sorted(owners.get(int(f[9]), ()))
            out.append({"proto": proto, "local": addr(f[1], proto.endswith("6")),
                        "uid": int(f[7]), "pids": pids,
                        "programs": sorted({procs[p].get("exe") or procs[p].get("comm", "?")
                                            for p in pids if p in procs})})
    return out


UTMP = struct.Struct("hi32s4s32s256shhiii4i20s")  # struct utmp, x86-64 glibc


def utmp_records(path):
    try:
        data = open(path, "rb").read()
    except OSError:
        return []
    recs = []
    for off in range(0, len(data) - UTMP.size + 1, UTMP.size):
        t, pid, line, _id, user, host, _t, _e, _sess, sec, _usec, *_ = UTMP.unpack_from(data, off)
        recs.append({"type": t, "pid": pid, "line": line.rstrip(b"\0").decode(errors="replace"),
                     "user": user.rstrip(b"\0").decode(errors="replace"),
                     "host": host.rstrip(b"\0").decode(errors="replace"),
                     "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(sec))})
    return recs


def persistence():
    places = ["/etc/crontab", "/etc/cron.d/*", "/etc/cron.hourly/*", "/etc/cron.daily/*",
              "/var/spool/cron/crontabs/*", "/etc/systemd/system/*.service",
              "/etc/systemd/system/*.timer", "/etc/systemd/system/*/*.service",
              "/lib/systemd/system/*.service", "/etc/rc.local", "/etc/init.d/*",
              "/etc/profile.d/*", "/root/.bashrc", "/root/.profile", "/home/*/.bashrc",
              "/home/*/.profile", "/root/.ssh/authorized_keys*",
              "/home/*/.ssh/authorized_keys*", "/etc/ld.so.preload"]
    found = []
    for pattern in places:
        for path in sorted(glob.glob(pattern)):
            try:
                st = os.lstat(path)
            except OSError:
                continue
            found.append({"path": path, "size": st.st_size, "uid": st.st_uid,
                          "mtime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(st.st_mtime))})
    keys = []
    for path in glob.glob("/root/.ssh/authorized_keys*") + glob.glob("/home/*/.ssh/authorized_keys*"):
        for line in (read(path) or "").splitlines():
            if line.strip() and not line.startswith("#"):
                keys.append({"file": path, "key": line.split()[-1] if len(line.split()) > 2 else ""})
    preload = (read("/etc/ld.so.preload") or "").split()
    modules = [line.split()[0] for line in (read("/proc/modules") or "").splitlines()]
    return {"files": found, "authorizedKeys": keys, "ldSoPreload": preload, "kernelModules": modules}


def main():
    procs, tree = process_tree()
    users = [r for r in utmp_records("/var/run/utmp") if r["type"] == 7]
    logins = [r for r in utmp_records("/var/log/wtmp") if r["type"] == 7][-20:]
    report = {"host": senseon.hostname(), "sensor": senseon.sensor_info(),
              "processes": len(procs), "listening": listening(procs),
              "loggedIn": users, "recentLogins": logins, "persistence": persistence()}
    if "--json" in sys.argv[1:]:
        json.dump(report, sys.stdout, indent=1, sort_keys=True)
        print()
        return
    print("== host %s, %d processes ==" % (report["host"], len(procs)))
    print("\n".join(tree))
    print("\n== listening sockets ==")
    for s in report["listening"]:
        print("%-5s %-28s uid %-5d %s" % (s["proto"], s["local"], s["uid"],
                                          ", ".join("%d" % p for p in s["pids"]) + " " +
                                          " ".join(s["programs"])))
    print("\n== logged in ==")
    for u in users:
        print("%-12s %-8s %-20s %s" % (u["user"], u["line"], u["host"], u["time"]))
    print("\n== recent logins ==")
    for u in logins:
        print("%-12s %-8s %-20s %s" % (u["user"], u["line"], u["host"], u["time"]))
    p = report["persistence"]
    print("\n== persistence ==")
    for f in p["files"]:
        print("%s  %s  %d bytes  uid %d" % (f["mtime"], f["path"], f["size"], f["uid"]))
    print("authorized keys: %d" % len(p["authorizedKeys"]))
    print("ld.so.preload: %s" % (" ".join(p["ldSoPreload"]) or "(none)"))
    print("kernel modules: %d loaded" % len(p["kernelModules"]))


main()
