#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""policy_gen - write N realistic program policies that the benchmark's
workload never matches: blocklists by exact name (==, in), globs (like),
regular expressions on the binary and its arguments (=~) and uid tests,
in roughly the proportions of a real rule set.

Usage: policy_gen.py N OUTFILE
"""
import sys


def rule(i):
    kind = i % 10
    app = "/opt/vendor%d/bin/tool%d" % (i % 7, i)
    if kind in (0, 1, 2, 3):
        return 'programName == "%s"' % app
    if kind in (4, 5):
        names = ", ".join('"/usr/local/bin/blocked%d-%d"' % (i, k) for k in range(4))
        return "programName in [%s]" % names
    if kind == 6:
        return 'programName like "/srv/*/agent%d" or programName like "*/miner%d"' % (i, i)
    if kind == 7:
        return "programName =~ '/(xmrig|kinsing|kdevtmpfs)%d$'" % i
    if kind == 8:
        return ("programArgs =~ '(^| )--donate-level(=| )%d' and not "
                "programName like \"/usr/*\"" % i)
    return 'uid == %d and programName like "/home/*/.cache/tool%d"' % (20000 + i, i)


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    with open(out, "w") as f:
        for i in range(n):
            f.write("Bench Policy %03d:\n" % i)
            f.write("  policy: program\n")
            f.write("  priority: %s\n" % ("Low", "Medium", "High")[i % 3])
            f.write("  alertMessage: benchmark policy %d\n" % i)
            f.write("  rules:\n")
            if i % 5 == 0:
                f.write("    - ignore uid == 0 and parentProgramName == \"/usr/bin/dpkg\"\n")
            f.write("    - match %s\n" % rule(i))
            f.write("    - default ignore\n")


if __name__ == "__main__":
    main()
