#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run every example and check what it prints (TAP). Which consumer gets
# which item is up to the kernel, so the pool examples are checked as sets.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
# MPQ_EXAMPLES: where the built examples are (tests/installed builds them
# against the installed libmpqdev); jobqueue.sh is looked for there too.
ex=${MPQ_EXAMPLES:-$top/examples}
export MPQCTL=${MPQCTL:-$top/tools/mpqctl/mpqctl}
. "$top/tests/common/tap.sh"

# run_example NAME: run an example (killed after 60 s), keep $out and $rc.
run_example() {
	rc=0
	out=$(timeout 60 "$ex/$1" 2>&1) || rc=$?
	tap_result "$rc" "$1 exits 0" "$out"
}

# is, with the two sides on lines of their own: they are whole outputs.
same() {
	[ "$1" = "$2" ]
	tap_result $? "$3" "got:
$1
want:
$2"
}

# (a) one daemon-style worker: the whole output is fixed.
run_example worker
same "$out" "Working on 1
Finished 1
Working on 2
Finished 2
Working on 3
Finished 3
Working on 4
Finished 4
All work completed" "worker: each item worked on and finished, in order, then join returns"

# (b) a pool of two: each item once, finished before join returns.
run_example worker_pool
same "$(echo "$out" | sed -n 's/^worker [12]: finished //p' | sort)" "1
2
3
4" "worker_pool: every item finished exactly once"
same "$(echo "$out" | tail -n 1)" "All work completed" \
	"worker_pool: join returns after the last item is finished"
same "$(echo "$out" | grep -c '^worker [12]: working on')" 4 \
	"worker_pool: 4 items worked on"

# (c) and (d): every task once, each consumer stops once.
for prog in sentinel shutdown; do
	case $prog in
	sentinel) stop="got STOP, exiting" ;;
	shutdown) stop="queue shut down, exiting" ;;
	esac
	run_example $prog
	same "$(echo "$out" | sed -n 's/^consumer [12]: task //p' | sort -n)" \
		"$(seq 1 6)" "$prog: every task consumed exactly once"
	same "$(echo "$out" | grep "$stop" | sed 's/: .*//' | sort)" \
		"consumer 1
consumer 2" "$prog: each consumer stopped once"
	same "$(echo "$out" | tail -n 1)" "all consumers exited" \
		"$prog: the producer saw both consumers exit"
done
same "$(echo "$out" | grep -c '^producer: queue shut down$')" 1 \
	"shutdown: one shutdown call, no sentinels"

# (e) the io_uring consumer: every item once, acknowledged before join.
run_example uring_worker
same "$(echo "$out" | sed -n 's/^consumer: worked on item //p' | sort -n)" \
	"$(seq 1 16)" "uring_worker: every item worked on exactly once"
same "$(echo "$out" | grep -c '^producer: all 16 items done$')" 1 \
	"uring_worker: join returned once all were acknowledged"
same "$(echo "$out" | tail -n 1)" "consumer: 16 items, end of stream" \
	"uring_worker: the consumer's gets end at end of stream"

# (f) the shell job queue.
before=$("$MPQCTL" list)
run_example jobqueue.sh
same "$(echo "$out" | sed -n 's/^\(job [0-9]*\): done by worker [12]$/\1/p')" \
	"$(seq 1 6 | sed 's/^/job /')" "jobqueue.sh: every job done once, results in order"
same "$(echo "$out" | grep '^producer: all jobs done')" \
	"producer: all jobs done, 6 results waiting" \
	"jobqueue.sh: join returned after all six jobs were done"
same "$(echo "$out" | grep -c 'mpqctl')" 0 "jobqueue.sh: no error from mpqctl"
same "$("$MPQCTL" list)" "$before" "jobqueue.sh: removed its queues"
out=$(timeout 60 "$ex/jobqueue.sh" 20 2>&1)
same "$(echo "$out" | grep -c 'done by worker')" 20 "jobqueue.sh 20: twenty jobs"

done_testing
