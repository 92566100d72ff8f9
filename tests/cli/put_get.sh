#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mpqctl put and get: arguments and stdin lines, counts, --nowait and
# --timeout (status 3), message sizes, and interplay with plain
# redirection on /dev/mpq/NAME.
. "$(dirname "$0")/tap.inc"

now_ms() { echo $(($(date +%s%N) / 1000000)); }

q=$(qname q)
"$MPQCTL" create "$q" --maxsize 3

run "$MPQCTL" put "$q" one "two words" three
is "$rc" 0 "put of three messages exits 0"
run "$MPQCTL" get "$q" -n 3 --timeout 10
is "$rc" 0 "get -n 3 exits 0"
is "$out" "one
two words
three" "each message comes out whole, in order, with a newline"

run "$MPQCTL" get "$q" --nowait
is "$rc" 3 "get --nowait on an empty queue: status 3"
is "$out$err" "" "status 3 prints nothing"

t0=$(now_ms)
run "$MPQCTL" get "$q" --timeout 0.3
t=$(($(now_ms) - t0))
is "$rc" 3 "get --timeout on an empty queue: status 3"
ok_if "get --timeout 0.3 waited at least 0.3 s (${t} ms)" test "$t" -ge 300

"$MPQCTL" put "$q" a b c
run "$MPQCTL" put "$q" --nowait d
is "$rc" 3 "put --nowait on a full queue: status 3"
t0=$(now_ms)
run "$MPQCTL" put "$q" --timeout 0.3 d
t=$(($(now_ms) - t0))
is "$rc" 3 "put --timeout on a full queue: status 3"
ok_if "put --timeout 0.3 waited at least 0.3 s (${t} ms)" test "$t" -ge 300

# put blocks while full and goes on when a getter makes room.
"$MPQCTL" put "$q" d --timeout 30 &
pid=$!
sleep 0.3
run "$MPQCTL" get "$q" --timeout 10
is "$out" a "get makes room"
wait $pid
is "$?" 0 "the blocked put then completes"
run "$MPQCTL" get "$q" -n 3 --nowait
is "$out" "b
c
d" "the blocked put's message is last"

# --nowait with -n: stops at the first empty, status 3, after printing.
"$MPQCTL" put "$q" x y
run "$MPQCTL" get "$q" -n 5 --nowait
is "$rc" 3 "get -n 5 --nowait with 2 queued: status 3"
is "$out" "x
y" "and the 2 messages were printed"

# stdin: one message per line, newline removed, empty lines skipped,
# the last line may lack its newline.
q2=$(qname lines)
"$MPQCTL" create "$q2"
printf 'l1\nl2 with spaces\n\n\nl3' > "$tap_tmp/lines"
run "$MPQCTL" put "$q2" < "$tap_tmp/lines"
is "$rc" 0 "put from stdin exits 0"
is "$("$MPQCTL" stat "$q2" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["qsize"])')" 3 \
	"3 messages from 5 lines (empty lines skipped)"
run "$MPQCTL" get "$q2" -n 3 --timeout 10
is "$out" "l1
l2 with spaces
l3" "lines arrive as messages"

# Many lines go through in batches; order is kept.
seq 1 5000 | "$MPQCTL" put "$q2"
is "$?" 0 "put of 5000 lines exits 0"
run "$MPQCTL" get "$q2" -n 5000 --timeout 10
is "$(echo "$out" | md5sum)" "$(seq 1 5000 | md5sum)" "5000 lines come back in order"

# A line longer than the read buffer, and binary-safe get.
long=$(head -c 200000 /dev/zero | tr '\0' x)
echo "$long" | "$MPQCTL" put "$q2"
run "$MPQCTL" get "$q2" --timeout 10
is "${#out}" 200000 "a 200000-byte line is one message"

# Plain redirection: one write(2) is one message, newline included.
printf 'raw' > "/dev/mpq/$q2"
echo "echoed" > "/dev/mpq/$q2"
is "$("$MPQCTL" get "$q2" -n 2 --timeout 10 | tr '\n' '|')" "raw|echoed||" \
	"messages written by the shell come out as written"

# Messages over msgsize_max.
q3=$(qname small)
"$MPQCTL" create "$q3" --msgsize 4
run "$MPQCTL" put "$q3" 12345
is "$rc" 1 "put of a message over msgsize_max: status 1"
like "$err" "msgsize_max" "and says why"
run "$MPQCTL" put "$q3" 1234
is "$rc" 0 "a message of exactly msgsize_max fits"

# A missing queue.
run "$MPQCTL" get "$(qname missing)" --nowait
is "$rc" 1 "get from a missing queue: status 1"
like "$err" "no such queue" "and says so"
run "$MPQCTL" put "$(qname missing)" x
is "$rc" 1 "put to a missing queue: status 1"

# get -n 0 reads until the stream ends, which is success.
"$MPQCTL" put "$q" e1 e2
( sleep 0.3; "$MPQCTL" put "$q" e3; "$MPQCTL" shutdown "$q" ) &
run "$MPQCTL" get "$q" -n 0 --timeout 60
wait
is "$rc" 0 "get -n 0 exits 0 at the end of the stream"
is "$out" "e1
e2
e3" "and printed everything first"

done_testing
