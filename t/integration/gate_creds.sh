#!/bin/bash
# Exec gate, who is calling: a deny policy on uid or user name must match
# a process the process table has not seen yet.  posix_spawn forks and
# execs at once, usually ahead of the main loop's handling of the fork, so
# the gate reads the caller's ids from /proc and takes the rest from its
# parent.  Before that fallback, the ids of such a caller were taken as 0
# and `uid == 65534` never matched a spawn: a deny policy bypass.
#
# Policies: "bad" is denied for uid 65534, "bad2" for userName "nobody".
# As root both run; as nobody (setpriv) both fail with EPERM, every time.
# Only a tmpfs of our own is gated.
. "$top_srcdir/t/integration/lib.sh"
. "$top_srcdir/t/integration/gate_lib.sh"

command -v setpriv > /dev/null || skip "setpriv (util-linux) not installed"
NOBODY=$(id -u nobody 2> /dev/null) || skip "no user nobody"

# programs that leave a marker anyone may write
mkdir -m 1777 "$T/marks"
for p in bad bad2; do
	printf '#!/bin/sh\n: > "%s/marks/ran-%s-$(id -u)"\n' "$T" "$p" > "$GATE/$p"
	chmod 755 "$GATE/$p"
done
cp "$T/storm.py" "$T/marks/storm.py" && chmod 644 "$T/marks/storm.py"

# the deadline (the most the configuration allows) is far beyond any
# decision, however loaded the machine: every answer is the gate's own
gate_config "exec_gate_deadline_ms: 60000"
cat > "$T/etc/policy.d/creds.yaml" <<YAML
Deny bad for nobody by uid:
  policy: program
  priority: High
  responseActions:
    - deny
  rules:
    - match programName == "$GATE/bad" and uid == $NOBODY
    - default ignore
Deny bad2 for nobody by name:
  policy: program
  priority: High
  responseActions:
    - deny
  rules:
    - match programName == "$GATE/bad2" and userName == "nobody"
    - default ignore
YAML
sensor_start
wait_gate "g['active'] and g['denyPolicies'] == 2" ||
	fail "expected the gate active with 2 deny policies, saw $(gate_status g)"

N=30
AS_NOBODY=(setpriv --reuid="$NOBODY" --regid="$(id -g nobody)" --clear-groups)

for p in bad bad2; do
	out=$(timeout "$WAIT" "$PY" "$T/marks/storm.py" "$GATE/$p" "$N") || fail "root storm of $p failed: $out"
	[ "$(jfield "$out" "j['ok']")" = "$N" ] || fail "expected root's $N execs of $p to run, saw: $out"
	[ -e "$T/marks/ran-$p-0" ] || fail "expected the marker of $p run by root"

	out=$(timeout "$WAIT" "${AS_NOBODY[@]}" "$PY" "$T/marks/storm.py" "$GATE/$p" "$N") ||
		fail "nobody's storm of $p failed: $out"
	[ "$(jfield "$out" "j['errors'].get('EPERM', 0)")" = "$N" ] ||
		fail "expected all $N execs of $p by nobody denied (EPERM), saw: $out"
	[ ! -e "$T/marks/ran-$p-$NOBODY" ] || fail "$p ran as nobody although denied"
	note "$p as nobody: $out"
done
# status.json is rewritten every second
wait_gate "g['decisions'] >= $((4 * N))" || fail "expected $((4 * N)) decisions, saw $(gate_status g)"
note "gate: $(gate_status g)"
