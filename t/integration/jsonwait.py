"""Wait for (or count) JSON lines that satisfy a Python expression.

Usage: jsonwait.py [--count] FILE EXPR SECONDS
EXPR sees each record as `e`; helpers: b(x) gives the exact bytes of a
string field (using its _b64 twin when present).

SECONDS is only a bound: the wait ends at the first match.  When the
bound is reached it says on stderr what it waited for and what FILE held
(how many records, the last few), and exits 1.  The file is read
incrementally (a file replaced or truncated is read again from its start).
"""
import base64
import json
import os
import sys
import time


def b(obj, key):
    """Exact bytes of obj[key], using key_b64 when the name was not UTF-8."""
    if key + "_b64" in obj:
        return base64.b64decode(obj[key + "_b64"])
    val = obj.get(key)
    return val.encode() if isinstance(val, str) else None


def records(path):
    try:
        with open(path, "rb") as fh:
            for raw in fh:
                line = raw.decode("utf-8")  # must be valid UTF-8
                if line.endswith("\n"):
                    yield json.loads(line)
    except FileNotFoundError:
        return


class Tail:
    """The complete lines appended to a file since the last call."""

    def __init__(self, path):
        self.path, self.ino, self.pos, self.part = path, None, 0, b""
        self.seen, self.last = 0, []

    def new(self):
        try:
            fh = open(self.path, "rb")
        except FileNotFoundError:
            return []
        with fh:
            st = os.fstat(fh.fileno())
            if (st.st_dev, st.st_ino) != self.ino or st.st_size < self.pos:
                self.ino, self.pos, self.part = (st.st_dev, st.st_ino), 0, b""
            fh.seek(self.pos)
            data = fh.read()
        self.pos += len(data)
        lines = (self.part + data).split(b"\n")
        self.part = lines.pop()
        out = []
        for raw in lines:
            e = json.loads(raw.decode("utf-8"))  # must be valid UTF-8
            out.append(e)
        self.seen += len(out)
        self.last = (self.last + [raw for raw in lines])[-3:]
        return out


def main():
    args = sys.argv[1:]
    count = args and args[0] == "--count"
    if count:
        args = args[1:]
    path, expr, secs = args[0], args[1], float(args[2])
    code = compile(expr, "<expr>", "eval")

    def ok(e):
        try:
            return bool(eval(code, {"b": b, "json": json}, {"e": e}))
        except (KeyError, TypeError, IndexError, AttributeError):
            return False

    if count:
        print(sum(1 for e in records(path) if ok(e)))
        return 0
    deadline = time.monotonic() + secs
    tail = Tail(path)
    while True:
        for e in tail.new():
            if ok(e):
                print(json.dumps(e))
                return 0
        if time.monotonic() > deadline:
            sys.stderr.write("waited %g s for a record of %s matching: %s\n"
                             "saw %d records%s\n" % (
                                 secs, path, expr, tail.seen,
                                 (", the last:\n  " + "\n  ".join(
                                     l.decode("utf-8", "replace")[:400] for l in tail.last))
                                 if tail.last else
                                 ("" if os.path.exists(path) else " (no such file)")))
            return 1
        time.sleep(0.1)


sys.exit(main())
