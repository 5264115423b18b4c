"""killtree PID: kill a process and all its descendants (SIGKILL), through
the sensor's pidfd path.  PID 1, the sensor and protected programs are
refused.  Exit status: 0 killed, 1 refused or failed, 2 usage."""
import sys

import senseon

if len(sys.argv) != 2 or not sys.argv[1].isdigit():
    print("usage: killtree PID", file=sys.stderr)
    sys.exit(2)
pid = int(sys.argv[1])
try:
    info = senseon.process(pid)
    print("target: pid %d %s" % (pid, info.get("exe") or info.get("comm")))
except senseon.NotFound:
    pass
try:
    print(senseon.kill(pid, tree=True))
except senseon.Error as e:
    print("killtree %d: %s: %s" % (pid, type(e).__name__, e), file=sys.stderr)
    sys.exit(1)
