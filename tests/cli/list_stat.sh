#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mpqctl list and stat, in text and as JSON (checked with python3's json).
. "$(dirname "$0")/tap.inc"

a=$(qname b-second)
b=$(qname a-first)
"$MPQCTL" create "$a"
"$MPQCTL" create "$b"

run "$MPQCTL" list
is "$rc" 0 "list exits 0"
is "$(echo "$out" | grep "^$tap_prefix")" "$b
$a" "list prints the names sorted, one per line"

run "$MPQCTL" list --json
is "$rc" 0 "list --json exits 0"
is "$(echo "$out" | json_get 'type(d).__name__')" list "list --json is a JSON array"
is "$(echo "$out" | json_get "[q['name'] for q in d if q['name'].startswith('$tap_prefix')]")" \
	"['$b', '$a']" "list --json has a {name} object per queue"

"$MPQCTL" put "$a" one two three
"$MPQCTL" get "$a" --timeout 10 >/dev/null
run "$MPQCTL" stat "$a"
is "$rc" 0 "stat exits 0"
is "$(echo "$out" | awk '$1 == "name:" { print $2 }')" "$a" "stat: name"
is "$(echo "$out" | awk '$1 == "state:" { print $2 }')" open "stat: state"
is "$(echo "$out" | awk '$1 == "qsize:" { print $2 }')" 2 "stat: qsize"
is "$(echo "$out" | awk '$1 == "bytes:" { print $2 }')" 8 "stat: bytes"
is "$(echo "$out" | awk '$1 == "unfinished:" { print $2 }')" 3 "stat: unfinished"
is "$(echo "$out" | awk '$1 == "total_puts:" { print $2 }')" 3 "stat: total_puts"
is "$(echo "$out" | awk '$1 == "total_gets:" { print $2 }')" 1 "stat: total_gets"
is "$(echo "$out" | wc -l)" 18 "stat: 18 lines"

run "$MPQCTL" stat "$a" --json
is "$rc" 0 "stat --json exits 0"
is "$(echo "$out" | json_get "d['name'], d['state'], d['qsize'], d['bytes'], d['unfinished']")" \
	"('$a', 'open', 2, 8, 3)" "stat --json: values"
is "$(echo "$out" | json_get "sorted(d)")" \
	"['bytes', 'dead_letter', 'dead_lettered', 'discarded', 'getters', 'in_flight', 'joiners', 'max_deliveries', 'maxbytes', 'maxsize', 'msgsize_max', 'name', 'putters', 'qsize', 'redeliver', 'redelivered', 'state', 'total_gets', 'total_puts', 'unfinished']" \
	"stat --json: keys"

# The kernel's counters agree with sysfs.
is "$(cat "/sys/class/mpq/$a/qsize")" 2 "sysfs qsize agrees"

# A waiting getter shows up.
b_wait=$(qname waiting)
"$MPQCTL" create "$b_wait"
"$MPQCTL" get "$b_wait" --timeout 120 >/dev/null &
pid=$!
for _ in $(seq 600); do
	[ "$("$MPQCTL" stat "$b_wait" --json | json_get "d['getters']")" = 1 ] && break
	sleep 0.05
done
is "$("$MPQCTL" stat "$b_wait" --json | json_get "d['getters']")" 1 "stat counts a blocked getter"
"$MPQCTL" put "$b_wait" wake
wait $pid
is "$?" 0 "the getter got the message"

"$MPQCTL" shutdown "$a"
is "$("$MPQCTL" stat "$a" | awk '$1 == "state:" { print $2 }')" shutdown "stat: shutdown state"
"$MPQCTL" shutdown "$a" --immediate
run "$MPQCTL" stat "$a" --json
is "$(echo "$out" | json_get "d['state'], d['qsize'], d['discarded']")" \
	"('shutdown-immediate', 0, 2)" "stat --json: shutdown-immediate state, 2 discarded"

run "$MPQCTL" stat "$(qname missing)"
is "$rc" 1 "stat of a missing queue: status 1"
like "$err" "no such queue" "and says so"

done_testing
