#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""analyze.py - counting and statistics for bench/run.sh.

  analyze.py count TOOL WORKLOAD FILE MARKER BIN
      print how many of the workload's execs (exec storm) or distinct files
      (file storm) the monitor's output FILE shows.
  analyze.py report RAW.jsonl OUT.json META.json
      print the results table and PASS/MISS lines, write OUT.json.

Only the standard library: run.sh runs it with /usr/bin/python3.
"""
import json
import re
import statistics
import sys


def count_exec(tool, text, marker, binpath):
    n = 0
    if tool == "senseond":
        # a child that exited before the sensor read /proc has no command
        # line ("processGone"): it still counts as reported when its parent
        # is the driver
        evs, drivers = [], set()
        for line in text.splitlines():
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("type") != "exec":
                continue
            proc = ev.get("process") or {}
            cmd = proc.get("cmdline") or []
            if cmd and cmd[0].endswith("/execstorm") and marker in cmd:
                drivers.add(ev.get("pid"))
            else:
                evs.append((cmd, proc.get("ppid", ev.get("ppid"))))
        return sum(1 for cmd, ppid in evs
                   if cmd == [binpath, marker] or (not cmd and ppid in drivers))
    if tool == "forkstat":
        # forkstat names a process from /proc after the fact, so a child
        # that already exited may show its parent's or no command line:
        # count exec events of the children the driver forked instead
        drivers, children, n, prev = set(), set(), 0, None
        for line in text.splitlines():
            f = line.split()
            if len(f) < 3 or f[1] == "Event":	# forkstat repeats its header
                continue
            if f[1] == "exec" and f[2] in children:
                n += 1
            elif f[1] == "exec" and len(f) > 3 and f[3].endswith("/execstorm") and \
                    marker in line:
                drivers.add(f[2])
            # forkstat prints a fork as a "parent" line then a "child" line
            if f[1] == "fork" and len(f) > 3 and f[3] == "child" and \
                    prev is not None and prev[1] == "fork" and prev[2] in drivers:
                children.add(f[2])
            prev = f
        return n

    if tool == "fatrace":
        # one exec = one new pid opening the binary (fanotify merges the
        # open/read/close of one pid into few lines)
        pids = set()
        pat = re.compile(r"\((\d+)\): ([A-Z+<>]+)\s+" + re.escape(binpath) + r"$")
        for line in text.splitlines():
            m = pat.search(line)
            if m and "O" in m.group(2):
                pids.add(m.group(1))
        return len(pids)
    if tool == "auditd":
        pat = re.compile(r'type=EXECVE .*argc=2 a0=\S+ a1="' + re.escape(marker) + '"')
        return sum(1 for line in text.splitlines() if pat.search(line))
    return None


def count_files(tool, text, marker):
    if tool == "fatrace":
        # fatrace resolves names from the event's fd, so a file already
        # unlinked shows as "(deleted)": count the workload's close-writes
        n = 0
        pat = re.compile(r"^filestorm\(\d+\): ([A-Z+<>]+)\s+(.*)$")
        for line in text.splitlines():
            m = pat.match(line)
            if m and "C" in m.group(1) and "W" in m.group(1) and \
                    (marker in m.group(2) or m.group(2).endswith("(deleted)")):
                n += 1
        return n
    if tool in ("senseond", "auditd"):
        return len(set(re.findall(re.escape(marker) + r"-(\d+)", text)))
    return None


def cmd_count(tool, workload, path, marker, binpath):
    try:
        with open(path, "r", errors="replace") as fp:
            text = fp.read()
    except OSError:
        print("null")
        return
    n = count_exec(tool, text, marker, binpath) if workload == "exec" \
        else count_files(tool, text, marker)
    print("null" if n is None else n)


def quantiles(v):
    v = sorted(v)
    if len(v) < 2:
        return v[0], v[0]
    q = statistics.quantiles(v, n=4, method="inclusive")
    return q[0], q[2]


def summarize(rows, workload, configs):
    base = {r["round"]: r["wall"] for r in rows
            if r["workload"] == workload and r["config"] == "none" and r.get("wall")}
    out = {}
    for cfg in configs:
        runs = [r for r in rows if r["workload"] == workload and r["config"] == cfg]
        if not runs:
            continue
        ok = [r for r in runs if r.get("wall")]
        s = {"runs": len(runs), "failed": len(runs) - len(ok),
             "note": next((r["note"] for r in runs if r.get("note")), None)}
        if ok:
            walls = [r["wall"] for r in ok]
            ratios = [r["wall"] / base[r["round"]] for r in ok if r["round"] in base]
            s.update(wall_median=statistics.median(walls), wall_min=min(walls),
                     wall_max=max(walls))
            if ratios:
                q1, q3 = quantiles(ratios)
                s.update(ratio_median=statistics.median(ratios), ratio_min=min(ratios),
                         ratio_max=max(ratios), ratio_q1=q1, ratio_q3=q3,
                         ratios=ratios)
            ev = [r["events"] for r in ok if r.get("events") is not None]
            if ev:
                s.update(events_min=min(ev), events_median=statistics.median(ev),
                         expected=ok[0]["expected"],
                         events_all=all(e >= ok[0]["expected"] for e in ev))
            for k in ("cpu", "hwm_kb"):
                vals = [r[k] for r in ok if r.get(k) is not None]
                if vals:
                    s[k + "_median"] = statistics.median(vals)
        out[cfg] = s
    return out


def fmt_row(cfg, s):
    if "wall_median" not in s:
        return "  %-11s not run: %s" % (cfg, s.get("note") or "all runs failed")
    ratio = "%.3fx (%.3f..%.3f, IQR %.3f..%.3f)" % (
        s["ratio_median"], s["ratio_min"], s["ratio_max"], s["ratio_q1"], s["ratio_q3"]) \
        if "ratio_median" in s else "-"
    ev = "%d/%d" % (s["events_min"], s["expected"]) if "events_min" in s else "n/a"
    cpu = "%.2f" % s["cpu_median"] if "cpu_median" in s else "-"
    rss = "%.1f" % (s["hwm_kb_median"] / 1024.0) if "hwm_kb_median" in s else "-"
    return "  %-11s %7.3f s (%.3f..%.3f)  %-42s %-13s %6s %7s" % (
        cfg, s["wall_median"], s["wall_min"], s["wall_max"], ratio, ev, cpu, rss)


def cmd_report(raw, outpath, metapath):
    rows = [json.loads(l) for l in open(raw) if l.strip()]
    meta = json.load(open(metapath))
    result = {"meta": meta, "workloads": {}, "targets": []}
    print()
    print("senseon-sensor benchmark  (%s, %s CPUs, kernel %s, %d rounds)" % (
        meta["date"], meta["nproc"], meta["kernel"], meta["rounds"]))
    for wl, title in (("exec", "Exec storm: %d x fork+exec+wait" % meta["execs"]),
                      ("file", "File storm: %d x create+write 4KiB+close+unlink on journaled ext4"
                       % meta["files"])):
        s = summarize(rows, wl, meta["configs"][wl])
        if not s:
            continue
        result["workloads"][wl] = s
        print()
        print(title)
        print("  %-11s %-27s %-42s %-13s %6s %7s" % (
            "config", "wall median (min..max)", "slowdown vs none: median (min..max, IQR)",
            "events min", "cpu s", "hwm MB"))
        for cfg in meta["configs"][wl]:
            if cfg in s:
                print(fmt_row(cfg, s[cfg]))
        aa = s.get("none-again", {})
        if "ratio_median" in aa:
            print("  A/A control none-again/none: %.3f (%.3f..%.3f) -- differences smaller "
                  "than this spread are noise" % (aa["ratio_median"], aa["ratio_min"],
                                                  aa["ratio_max"]))
    print()

    def target(name, ok, detail):
        state = "PASS" if ok is True else ("MISS" if ok is False else "N/A ")
        result["targets"].append({"target": name, "result": state.strip(), "detail": detail})
        print("%s  %s: %s" % (state, name, detail))

    for wl, limit, name in (("exec", 1.05, "exec storm <= 1.05x with 100% of execs reported"),
                            ("file", 1.10, "file storm <= 1.10x")):
        s = result["workloads"].get(wl, {}).get("senseond")
        if not s or "ratio_median" not in s:
            target(name, None, "senseond not measured (%s)" % ((s or {}).get("note") or "absent"))
            continue
        ok = s["ratio_median"] <= limit
        detail = "median %.3fx" % s["ratio_median"]
        if wl == "exec":
            full = s.get("events_all", False)
            ok = ok and full
            detail += ", execs reported %s/%s (worst run)" % (
                s.get("events_min", "?"), s.get("expected", "?"))
        target(name, ok, detail)
    # Issue 4: the gate's own cost (the sensor with the gate against the
    # sensor without it, per round) and the gate alone against fapolicyd.
    ex = result["workloads"].get("exec", {})
    per_round = {}
    for r in rows:
        if r["workload"] == "exec" and r.get("wall"):
            per_round.setdefault(r["round"], {})[r["config"]] = r["wall"]
    # against the same 50 policies without deny if measured, else no policies
    ref = "senseond-nogate" if "senseond-nogate" in ex else "senseond"
    gate_cost = [v["senseond-gate"] / v[ref] for v in per_round.values()
                 if "senseond-gate" in v and ref in v]
    if gate_cost:
        m = statistics.median(gate_cost)
        target("exec gate (50 deny rules) <= 1.10x the sensor without it", m <= 1.10,
               "median %.3fx (%.3f..%.3f) per round against %s; with the sensor %s vs none" % (
                   m, min(gate_cost), max(gate_cost), ref,
                   "%.3fx" % ex["senseond-gate"]["ratio_median"]
                   if "ratio_median" in ex.get("senseond-gate", {}) else "?"))
    alone, fapo = ex.get("senseond-gateonly", {}), ex.get("fapolicyd", {})
    if "ratio_median" in alone and "ratio_median" in fapo:
        target("exec gate alone below fapolicyd (permissive)",
               alone["ratio_median"] < fapo["ratio_median"],
               "gate alone %.3fx, fapolicyd %.3fx vs none" % (
                   alone["ratio_median"], fapo["ratio_median"]))
    idle = meta.get("idle_rss_kb")
    if idle:
        target("senseond idle RSS <= 12 MB", idle <= 12 * 1024,
               "VmRSS %.1f MB after 3 s idle" % (idle / 1024.0))
    else:
        target("senseond idle RSS <= 12 MB", None, "not measured")
    with open(outpath, "w") as fp:
        json.dump({"results": result, "runs": rows}, fp, indent=1)
    print()
    print("machine-readable results: %s" % outpath)


def main():
    if len(sys.argv) == 7 and sys.argv[1] == "count":
        cmd_count(*sys.argv[2:])
    elif len(sys.argv) == 5 and sys.argv[1] == "report":
        cmd_report(*sys.argv[2:])
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
