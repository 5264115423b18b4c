"""isolation {isolate [--for DURATION] [--force] [ADDR...] | status | unisolate}:
network isolation of this host through the sensor's isolation subsystem
(loopback, established flows, the platform and the ADDR allow-list stay
reachable).  DURATION: seconds or 90s, 15m, 2h, 1d.  Prints the resulting
state as JSON.  Exit status: 0 done, 3 not available on this sensor,
1 failed, 2 usage."""
import argparse
import json
import sys

import senseon


def main():
    ap = argparse.ArgumentParser(prog="isolation")
    sub = ap.add_subparsers(dest="op", required=True)
    iso = sub.add_parser("isolate", help="isolate this host")
    iso.add_argument("allow", nargs="*", help="ADDR[/LEN][:PORT] to keep reachable")
    iso.add_argument("--for", dest="duration", help="unisolate after this long")
    iso.add_argument("--force", action="store_true",
                     help="isolate even if the platform is unreachable")
    sub.add_parser("status", help="show the isolation state")
    sub.add_parser("unisolate", help="remove the isolation")
    try:
        args = ap.parse_args(sys.argv[1:])
    except SystemExit as e:
        sys.exit(2 if e.code else 0)
    try:
        if args.op == "isolate":
            duration = args.duration
            if duration is not None and duration.isdigit():
                duration = int(duration)
            res = senseon.isolate(allow=args.allow, duration=duration, force=args.force)
        elif args.op == "unisolate":
            res = senseon.unisolate()
        else:
            res = senseon.isolation_status()
    except senseon.NotAvailable as e:
        print("isolation %s: not available: %s" % (args.op, e), file=sys.stderr)
        sys.exit(3)
    except (senseon.Error, TypeError) as e:
        print("isolation %s: %s" % (args.op, e), file=sys.stderr)
        sys.exit(1)
    print(json.dumps(res, indent=2, sort_keys=True))


main()
