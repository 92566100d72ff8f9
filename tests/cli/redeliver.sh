#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mpqctl on redelivery queues: create --redeliver, --max-deliveries and
# --dead-letter; stat's in_flight, redelivered, dead_lettered; get marks
# what it printed done; work runs CMD per message, marks it done on exit
# status 0 and gives it back otherwise; a killed worker's message comes
# back and join returns.
. "$(dirname "$0")/tap.inc"

field() {
	"$MPQCTL" stat "$1" | awk -v k="$2:" '$1 == k { print $2 }'
}

q=$(qname rq)
dlq=$(qname rq-dlq)

run "$MPQCTL" create "$q" --max-deliveries 3
is "$rc" 2 "--max-deliveries without --redeliver: usage error"
run "$MPQCTL" create "$q" --redeliver --max-deliveries 2 --dead-letter "$dlq"
is "$rc" 1 "a missing dead-letter queue: status 1"
like "$err" "no such queue" "and says which"
"$MPQCTL" create "$dlq"
run "$MPQCTL" create "$q" --redeliver --max-deliveries 2 --dead-letter "$dlq"
is "$rc" 0 "create --redeliver --max-deliveries --dead-letter"
run "$MPQCTL" stat "$q"
is "$(awk '$1 == "redeliver:" { print $2 }' <<<"$out")" yes "stat: redeliver"
is "$(awk '$1 == "max_deliveries:" { print $2 }' <<<"$out")" 2 "stat: max_deliveries"
is "$(awk '$1 == "dead_letter:" { print $2 }' <<<"$out")" "$dlq" "stat: dead_letter"
is "$(field "$dlq" redeliver)" no "a plain queue: redeliver no"
run "$MPQCTL" stat "$q" --json
is "$(json_get "d['redeliver'], d['max_deliveries'], d['dead_letter'], d['in_flight']" <<<"$out")" \
	"(True, 2, '$dlq', 0)" "stat --json: redelivery fields"

# get marks what it printed done: nothing stays in flight or unfinished.
"$MPQCTL" put "$q" one two
run "$MPQCTL" get "$q" -n 2
is "$out" $'one\ntwo' "get prints the messages"
is "$(field "$q" in_flight)" 0 "get leaves nothing in flight"
is "$(field "$q" unfinished)" 0 "and marks them done"

# work: exit status 0 marks done, anything else gives back; twice given
# back (max 2) is a dead letter.
"$MPQCTL" put "$q" good bad
"$MPQCTL" shutdown "$q"
run "$MPQCTL" work "$q" -- sh -c 'read m; [ "$m" = good ]'
is "$rc" 0 "work ends at end of stream, status 0"
is "$(field "$q" unfinished)" 0 "every message done or dead-lettered"
is "$(field "$q" redelivered)" 1 "the failing one came back once"
is "$(field "$q" dead_lettered)" 1 "and then was dead-lettered"
run "$MPQCTL" get "$dlq" --nowait
is "$out" bad "it is on the dead-letter queue"
"$MPQCTL" remove "$q"

run "$MPQCTL" work "$dlq" -- true
is "$rc" 1 "work on a plain queue: status 1"
like "$err" "not a redelivery queue" "and says so"

# A worker killed mid-task: its message comes back, join returns.
q2=$(qname rq2)
"$MPQCTL" create "$q2" --redeliver
"$MPQCTL" put "$q2" job
# CMD waits for its mpqctl to go, so nothing outlives the test.
"$MPQCTL" work "$q2" -- sh -c 'while kill -0 $PPID; do sleep 0.05; done' &
worker=$!
for _ in $(seq 1000); do
	[ "$(field "$q2" in_flight)" = 1 ] && break
	sleep 0.01
done
is "$(field "$q2" in_flight)" 1 "the worker holds the message"
kill -9 "$worker"
wait "$worker" 2>/dev/null
is "$(field "$q2" qsize)" 1 "killed, its message is back"
is "$(field "$q2" redelivered)" 1 "counted as redelivered"
( "$MPQCTL" work "$q2" -- cat >/dev/null ) &
run "$MPQCTL" join "$q2" --timeout 30
is "$rc" 0 "join returns once another worker did it"
"$MPQCTL" shutdown "$q2"
wait
"$MPQCTL" remove "$q2"
"$MPQCTL" remove "$dlq"

done_testing
