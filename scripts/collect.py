"""collect GLOB...: find files matching the globs (** allowed), print each
one's size and sha256 and upload it to the requester.  Exit status: 0 all
collected, 1 some failed, 2 usage."""
import glob
import os
import sys

import senseon

if len(sys.argv) < 2:
    print("usage: collect GLOB...", file=sys.stderr)
    sys.exit(2)
failed = 0
seen = set()
for pattern in sys.argv[1:]:
    for path in sorted(glob.glob(pattern, recursive=True)):
        if path in seen or not os.path.isfile(path) or os.path.islink(path):
            continue
        seen.add(path)
        try:
            r = senseon.upload(path)
            print("%s  %d  %s" % (r["sha256"], r["size"], r["path"]))
        except senseon.Error as e:
            failed += 1
            print("collect %s: %s" % (path, e), file=sys.stderr)
print("%d file(s) collected, %d failed" % (len(seen) - failed, failed))
sys.exit(1 if failed else 0)
