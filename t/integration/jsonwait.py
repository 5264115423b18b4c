"""Wait for (or count) JSON lines that satisfy a Python expression.

Usage: jsonwait.py [--count] FILE EXPR SECONDS
EXPR sees each record as `e`; helpers: b(x) gives the exact bytes of a
string field (using its _b64 twin when present).
"""
import base64
import json
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
    while True:
        for e in records(path):
            if ok(e):
                print(json.dumps(e))
                return 0
        if time.monotonic() > deadline:
            sys.stderr.write("no event matched: %s\n" % expr)
            return 1
        time.sleep(0.1)


sys.exit(main())
