"""quarantine PATH [DIR]: hash a file, move it into a quarantine directory
(default /var/lib/senseon/quarantine/scripts) under its sha256, made
unreadable (mode 000), and write a JSON record beside it so it can be
put back.  Prints the record.  Exit status: 0 done, 1 failed, 2 usage."""
import datetime
import hashlib
import json
import os
import shutil
import sys

if len(sys.argv) not in (2, 3):
    print("usage: quarantine PATH [DIR]", file=sys.stderr)
    sys.exit(2)
path = sys.argv[1]
qdir = sys.argv[2] if len(sys.argv) == 3 else "/var/lib/senseon/quarantine/scripts"
try:
    st = os.lstat(path)
    if not os.path.isfile(path) or os.path.islink(path):
        raise OSError("not a regular file")
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    digest = h.hexdigest()
    os.makedirs(qdir, mode=0o700, exist_ok=True)
    dest = os.path.join(qdir, digest)
    shutil.move(path, dest)
    os.chmod(dest, 0)
    record = {
        "sha256": digest, "originalPath": os.path.abspath(path), "size": st.st_size,
        "mode": oct(st.st_mode & 0o7777), "uid": st.st_uid, "gid": st.st_gid,
        "quarantinedAt": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "storedAs": dest,
    }
    with open(dest + ".json", "w") as f:
        json.dump(record, f, indent=2, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
except OSError as e:
    print("quarantine %s: %s" % (path, e), file=sys.stderr)
    sys.exit(1)
print(json.dumps(record, sort_keys=True))
