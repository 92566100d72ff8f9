#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mpqctl task-done and join: counts, ValueError (status 1), join waiting
# for a worker in another process, join --timeout (status 3).
. "$(dirname "$0")/tap.inc"

unfinished() {
	"$MPQCTL" stat "$1" | awk '$1 == "unfinished:" { print $2 }'
}

q=$(qname tasks)
"$MPQCTL" create "$q"

run "$MPQCTL" join "$q"
is "$rc" 0 "join with nothing put exits 0 at once"

run "$MPQCTL" task-done "$q"
is "$rc" 1 "task-done with nothing unfinished: status 1"
like "$err" "more times than items were put" "and says so"

"$MPQCTL" put "$q" a b c d
is "$(unfinished "$q")" 4 "4 puts, 4 unfinished"
run "$MPQCTL" join "$q" --timeout 0.2
is "$rc" 3 "join --timeout with work left: status 3"
is "$out$err" "" "status 3 prints nothing"
run "$MPQCTL" join "$q" --timeout 0
is "$rc" 3 "join --timeout 0 with work left: status 3"

"$MPQCTL" get "$q" -n 4 --timeout 10 >/dev/null
run "$MPQCTL" task-done "$q"
is "$rc" 0 "task-done exits 0"
is "$(unfinished "$q")" 3 "task-done marks one"
run "$MPQCTL" task-done "$q" 5
is "$rc" 1 "task-done 5 with 3 unfinished: status 1"
is "$(unfinished "$q")" 3 "and changes nothing"
run "$MPQCTL" task-done "$q" 2
is "$rc" 0 "task-done 2 exits 0"
is "$(unfinished "$q")" 1 "task-done COUNT marks COUNT"

# join waits for a worker process to finish the last item.
( sleep 0.5; "$MPQCTL" task-done "$q" ) &
run "$MPQCTL" join "$q" --timeout 30
is "$rc" 0 "join returns once a worker marks the last item done"
is "$(unfinished "$q")" 0 "nothing unfinished"
wait

done_testing
