#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mpqctl shutdown: puts get status 4, gets drain and then get status 4,
# blocked commands wake; --immediate discards.
. "$(dirname "$0")/tap.inc"

q=$(qname drain)
"$MPQCTL" create "$q" --maxsize 2
"$MPQCTL" put "$q" a b

# A blocked putter wakes with status 4.
"$MPQCTL" put "$q" c --timeout 30 &
putter=$!
sleep 0.3
run "$MPQCTL" shutdown "$q"
is "$rc" 0 "shutdown exits 0"
wait $putter
is "$?" 4 "a put blocked on a full queue ends with status 4"

run "$MPQCTL" put "$q" d
is "$rc" 4 "put after shutdown: status 4"
is "$out$err" "" "status 4 prints nothing"
run "$MPQCTL" get "$q" -n 2 --timeout 10
is "$rc" 0 "get still drains what was queued"
is "$out" "a
b" "in order"
run "$MPQCTL" get "$q" --timeout 10
is "$rc" 4 "get after draining: status 4"
run "$MPQCTL" get "$q" --nowait
is "$rc" 4 "get --nowait after draining: status 4, not 3"
run "$MPQCTL" shutdown "$q"
is "$rc" 0 "shutdown again is fine"

# Blocked getters all wake.
q=$(qname getters)
"$MPQCTL" create "$q"
"$MPQCTL" get "$q" --timeout 30 & g1=$!
"$MPQCTL" get "$q" --timeout 30 & g2=$!
sleep 0.3
"$MPQCTL" shutdown "$q"
wait $g1
is "$?" 4 "first blocked getter: status 4"
wait $g2
is "$?" 4 "second blocked getter: status 4"

# --immediate discards.
q=$(qname immediate)
"$MPQCTL" create "$q"
"$MPQCTL" put "$q" x y z
run "$MPQCTL" shutdown "$q" --immediate
is "$rc" 0 "shutdown --immediate exits 0"
is "$(cat "/sys/class/mpq/$q/qsize")" 0 "the queued messages are gone"
is "$(cat "/sys/class/mpq/$q/unfinished")" 0 "and no longer unfinished"
is "$(cat "/sys/class/mpq/$q/state")" immediate "sysfs says shut down immediately"
run "$MPQCTL" get "$q" --nowait
is "$rc" 4 "get after an immediate shutdown: status 4"
run "$MPQCTL" join "$q" --timeout 5
is "$rc" 0 "join returns: nothing is unfinished"

# cat on the node stops at the end of the stream.
q=$(qname cat)
"$MPQCTL" create "$q"
"$MPQCTL" put "$q" one two
"$MPQCTL" shutdown "$q"
is "$(timeout 10 cat "/dev/mpq/$q")" onetwo "cat reads until the end of the stream"

run "$MPQCTL" shutdown "$(qname missing)"
is "$rc" 1 "shutdown of a missing queue: status 1"

done_testing
