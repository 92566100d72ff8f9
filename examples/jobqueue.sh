#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A job queue between independent shell processes. The producer writes
# jobs into /dev/mpq/NAME with plain redirection (one write(2) is one
# message); two workers take them with `mpqctl get`, write a line to a
# results queue and mark the job done; the producer waits with
# `mpqctl join`, shuts the job queue down (which ends both workers'
# loops: `mpqctl get` exits 4) and reads the results back with cat, which
# stops at the end of the stream.
#
# usage: examples/jobqueue.sh [JOBS]      (MPQCTL=path/to/mpqctl to override)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${MPQCTL:-}" ]; then
	if [ -x "$here/../tools/mpqctl/mpqctl" ]; then
		MPQCTL=$here/../tools/mpqctl/mpqctl
	else
		MPQCTL=mpqctl
	fi
fi
jobs=${1:-6}
q=jobs-$$
r=results-$$

"$MPQCTL" create "$q" --maxsize 4
"$MPQCTL" create "$r"
trap '"$MPQCTL" remove "$q"; "$MPQCTL" remove "$r"' EXIT

worker() {
	# `mpqctl get` exits 4 once the queue is shut down and drained.
	while job=$("$MPQCTL" get "$q"); do
		echo "$job: done by worker $1" > "/dev/mpq/$r"
		"$MPQCTL" task-done "$q"
	done
}
worker 1 &
w1=$!
worker 2 &
w2=$!

n=1
while [ "$n" -le "$jobs" ]; do
	# Blocks while 4 jobs are waiting: maxsize is back-pressure.
	echo "job $n" > "/dev/mpq/$q"
	n=$((n + 1))
done
echo "producer: $jobs jobs queued, waiting for them"
"$MPQCTL" join "$q"
# sysfs has every named queue's counters, readable by anyone.
echo "producer: all jobs done, $(cat "/sys/class/mpq/$r/qsize") results waiting"

"$MPQCTL" shutdown "$q"
wait "$w1" "$w2"
"$MPQCTL" shutdown "$r"
echo "results:"
cat "/dev/mpq/$r" | sort -t' ' -k2,2n
