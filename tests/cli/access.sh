#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mpqctl as an unprivileged user: file permissions on /dev/mpq/NAME are
# the access control, only the owner removes, and the per-user cap on
# named queues ends in status 1. Needs root to switch users.
. "$(dirname "$0")/tap.inc"

need_setpriv

q=$(qname private)
"$MPQCTL" create "$q"
"$MPQCTL" put "$q" secret
run as_nobody "$MPQCTL" get "$q" --nowait
is "$rc" 1 "another user cannot get from a 0600 queue: status 1"
like "$err" "Permission denied" "and is told why"
run as_nobody "$MPQCTL" stat "$q"
is "$rc" 1 "nor stat it"
run as_nobody "$MPQCTL" remove "$q"
is "$rc" 1 "nor remove it"
like "$err" "not permitted" "and is told why"

# Write-only access: put and shutdown work, get does not; join and stat
# fall back to opening the node for writing.
q=$(qname dropbox)
"$MPQCTL" create "$q" --mode 0622
run as_nobody "$MPQCTL" put "$q" hello
is "$rc" 0 "a 0622 queue takes puts from others"
run as_nobody "$MPQCTL" get "$q" --nowait
is "$rc" 1 "but not gets"
run as_nobody "$MPQCTL" stat "$q"
is "$rc" 0 "stat works with write access alone"
"$MPQCTL" get "$q" --timeout 10 >/dev/null
"$MPQCTL" task-done "$q"
run as_nobody "$MPQCTL" join "$q" --timeout 5
is "$rc" 0 "join works with write access alone"
run "$MPQCTL" get "$q" --nowait
is "$rc" 3 "the owner got the message"

# A queue created by nobody belongs to nobody.
q=$(qname nobodys)
run as_nobody "$MPQCTL" create "$q"
is "$rc" 0 "an unprivileged user may create a queue"
is "$(stat -c %u "/dev/mpq/$q")" 65534 "owned by its creator"
run as_nobody "$MPQCTL" remove "$q"
is "$rc" 0 "and remove it"

# The per-user cap: ENOSPC is status 1 with a message. A cap of 3 keeps
# this quick; the parameter is restored on exit.
param=/sys/module/mpq/parameters/queues_per_user
cap=$(cat "$param")
trap 'echo "$cap" > "$param"; tap_cleanup' EXIT
echo 3 > "$param"
made=0
for i in 1 2 3; do
	as_nobody "$MPQCTL" create "$(qname cap$i)" || break
	made=$i
done
is "$made" 3 "nobody can create queues_per_user (3) queues"
run as_nobody "$MPQCTL" create "$(qname cap-over)"
is "$rc" 1 "one more: status 1"
like "$err" "limit of queues" "and says why"
run "$MPQCTL" create "$(qname root-exempt)"
is "$rc" 0 "root (CAP_SYS_RESOURCE) is exempt"
echo "$cap" > "$param"

done_testing
