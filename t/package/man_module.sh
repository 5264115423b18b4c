#!/bin/bash
# man_module: senseon(3py) is written by hand from the module's docstrings;
# this keeps it honest.  Every function in the module's method table
# (pymod/senseonmod.c) and every function and exception class in its type
# stubs (pymod/senseon.pyi) must have an entry in man/senseon.3py, and the
# page must document nothing the module does not have.  The page must also
# render without warnings from man/groff.
: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
MOD=$top_srcdir/pymod/senseonmod.c
PYI=$top_srcdir/pymod/senseon.pyi
PAGE=$top_srcdir/man/senseon.3py
for f in "$MOD" "$PYI" "$PAGE"; do
	[ -f "$f" ] || { echo "SKIP: $f missing"; exit 77; }
done
rc=0
bad() { echo "FAIL: $*" >&2; rc=1; }
# words LIST: a newline-separated list on one line
words() { printf '%s' "$1" | tr '\n' ' '; }

# Names from each source, one a line, sorted.
table=$(sed -n '/PyMethodDef senseon_methods/,/^};/s/^[[:space:]]*{ "\([a-z_]*\)".*/\1/p' "$MOD" | sort)
stubs=$(sed -n 's/^def \([a-z_]*\)(.*/\1/p' "$PYI" | sort)
stub_errors=$(sed -n 's/^class \([A-Za-z]*\)(\(Error\|Exception\)).*/\1/p' "$PYI" | sort)
c_errors=$(sed -n 's/.*new_error(m, "\([A-Za-z]*\)".*/\1/p' "$MOD" | sort)
# Entries of the page: ".TP" then ".B name(" or ".BI name(" in FUNCTIONS,
# ".B senseon.Name" in EXCEPTIONS.
documented=$(awk '/^\.SH FUNCTIONS/ {f = 1; next} /^\.SH/ {f = 0}
	f && prev == ".TP" && /^\.BI? [a-z_]+\(/ { sub(/^\.BI? /, ""); sub(/\(.*/, ""); print }
	{ prev = $0 }' "$PAGE" | sort)
doc_errors=$(awk '/^\.SH EXCEPTIONS/ {f = 1; next} /^\.SH/ {f = 0}
	f && /^\.B senseon\./ { sub(/^\.B senseon\./, ""); print }' "$PAGE" | sort)

[ -n "$table" ] || bad "found no functions in senseon_methods of $MOD (parser out of date?)"
[ -n "$documented" ] || bad "found no function entries in the FUNCTIONS section of $PAGE"
[ "$table" = "$stubs" ] ||
	bad "the module's method table and senseon.pyi differ: table [$(words "$table")], stubs [$(words "$stubs")]"
[ "$documented" = "$table" ] ||
	bad "senseon(3py) documents [$(words "$documented")], expected the module's functions [$(words "$table")]"
[ "$c_errors" = "$stub_errors" ] ||
	bad "exception classes: module [$(words "$c_errors")], senseon.pyi [$(words "$stub_errors")]"
[ "$doc_errors" = "$c_errors" ] ||
	bad "senseon(3py) documents exceptions [$(words "$doc_errors")], expected [$(words "$c_errors")]"
# Each function appears in the SYNOPSIS too.
for fn in $table; do
	grep -Eq "^\.BI? \"senseon\.$fn\(" "$PAGE" || bad "senseon.$fn is missing from the SYNOPSIS of $PAGE"
done

if command -v groff >/dev/null; then
	warn=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$PAGE" 2>&1)
	[ -z "$warn" ] || bad "groff warns about $PAGE: $warn"
fi
[ "$rc" = 0 ] && echo "# senseon(3py) documents $(echo "$table" | wc -l) functions and $(echo "$c_errors" | wc -l) exceptions"
exit $rc
