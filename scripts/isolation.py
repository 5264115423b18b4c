"""isolation {isolate [ADDR...] | status | unisolate}: network isolation of
this host.  Exit status: 0 done, 3 not available on this sensor, 1 failed,
2 usage."""
import json
import sys

import senseon

if len(sys.argv) < 2 or sys.argv[1] not in ("isolate", "status", "unisolate"):
    print("usage: isolation {isolate [ADDR...] | status | unisolate}", file=sys.stderr)
    sys.exit(2)
op = sys.argv[1]
try:
    if op == "isolate":
        res = senseon.isolate(allow=sys.argv[2:])
    elif op == "unisolate":
        res = senseon.unisolate()
    else:
        res = senseon.isolation_status()
except senseon.NotAvailable as e:
    print("isolation %s: not available: %s" % (op, e), file=sys.stderr)
    sys.exit(3)
except senseon.Error as e:
    print("isolation %s: %s" % (op, e), file=sys.stderr)
    sys.exit(1)
print(json.dumps(res, indent=2, sort_keys=True))
