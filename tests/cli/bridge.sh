#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mpq-bridge out and in through a Redis server this script starts on
# 127.0.0.1 (the guest's own network): a round trip keeps order, content
# and ids; an in bridge killed with SIGKILL is taken over by another of
# its group with nothing lost and duplicates only under the same id; a
# Redis restart (AOF, appendfsync always) mid-stream loses nothing; two in
# bridges of a group split the work; bad URLs, refused connections, a
# missing group and an oversized message give clear errors and statuses.
. "$(dirname "$0")/tap.inc"

BRIDGE=${MPQ_BRIDGE:-$top/tools/mpq-bridge/mpq-bridge}
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
	echo "1..0 # SKIP needs redis-server and redis-cli (scripts/mpq-deps)"
	exit 0
fi
[ -x "$BRIDGE" ] || { echo "Bail out! no $BRIDGE (make -C tools/mpq-bridge)"; exit 1; }

# The guest boots with lo down.
ip link set lo up 2>/dev/null
port=$((20000 + $$ % 20000))
rdir=$tap_tmp/redis
mkdir -p "$rdir"
url=redis://127.0.0.1:$port
host=$(hostname)
pids=()

rcli() {
	redis-cli -p "$port" "$@"
}

cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	[ ! -f "$rdir/redis.pid" ] || kill -KILL "$(cat "$rdir/redis.pid")" 2>/dev/null
	tap_cleanup
}
trap cleanup EXIT

# wait_until SECONDS CMD...: poll CMD (state: qsize, XLEN, XPENDING) until
# it succeeds; false if it never did.
wait_until() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.2
	done
}

redis_up() {
	[ "$(rcli ping 2>/dev/null)" = PONG ]
}

start_redis() {
	redis-server --port "$port" --bind 127.0.0.1 --dir "$rdir" \
		--appendonly yes --appendfsync always --save '' \
		--daemonize yes --pidfile "$rdir/redis.pid" \
		--logfile "$rdir/redis.log" >/dev/null &&
		wait_until 60 redis_up
}

kill_redis() {
	local pid
	pid=$(cat "$rdir/redis.pid")
	kill -KILL "$pid"
	while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
	rm -f "$rdir/redis.pid"
}

stat_field() {
	"$MPQCTL" stat "$1" | awk -v k="$2:" '$1 == k { print $2 }'
}

qsize_is() {
	[ "$(stat_field "$1" qsize)" = "$2" ]
}

# XINFO GROUPS STREAM: the value of KEY for GROUP.
group_field() {
	rcli XINFO GROUPS "$1" | awk -v g="$2" -v k="$3" '
		prev == "name" { cur = $0 } prev == k && cur == g { print; exit }
		{ prev = $0 }'
}

# Every entry of STREAM read by GROUP and acknowledged.
group_done() {
	[ "$(group_field "$1" "$2" pending)" = 0 ] &&
		[ "$(group_field "$1" "$2" lag)" = 0 ]
}

# Each message of a local queue, "PAYLOAD ID FLAG" per line, from the
# output of mpqctl get on messages with an envelope ("mpq-id ID [FLAG]\n"
# then a one-line payload).
envelopes() {
	awk '/^mpq-id / { id = $2; flag = ($3 == "" ? "-" : $3); next }
		{ print $0, id, flag }'
}

start_redis
ok_if "redis-server runs on 127.0.0.1:$port" redis_up

src=$(qname src)
dst=$(qname dst)
"$MPQCTL" create "$src"
"$MPQCTL" create "$dst"

# --- usage and errors ---------------------------------------------------
run "$BRIDGE" out "$src" "http://127.0.0.1:$port/s"
is "$rc" 2 "a URL that is not redis://: status 2"
like "$err" "bad URL .*redis://" "and says what a URL looks like"
run "$BRIDGE" out "$src" "$url"
is "$rc" 2 "a URL without /STREAM: status 2"
like "$err" "no /STREAM" "and says the stream is missing"
run "$BRIDGE" out "$src" "redis://127.0.0.1:99999/s"
is "$rc" 2 "port 99999: status 2"
like "$err" "PORT is not a number from 1 to 65535" "and says why"
run "$BRIDGE" in "$url/s" g
is "$rc" 2 "in without NAME: status 2"
run "$BRIDGE" out --envelope "$src" "$url/s"
is "$rc" 2 "an option of in given to out: status 2"
run "$BRIDGE" out "$src" "redis://127.0.0.1:1/s"
is "$rc" 1 "a refused connection: status 1"
like "$err" "cannot connect to 127.0.0.1:1: Connection refused" "and says so"
run "$BRIDGE" out "$src" "redis://no-such-host.invalid:$port/s"
is "$rc" 1 "a host that does not resolve: status 1"
like "$err" "cannot connect to no-such-host.invalid:$port" "and names it"
run "$BRIDGE" out "$(qname missing)" "$url/s"
is "$rc" 1 "a local queue that does not exist: status 1"
like "$err" "no such queue" "and says so"
run "$BRIDGE" in "$url/nostream" nogroup "$dst"
is "$rc" 1 "in with a missing group: status 1"
like "$err" "has no consumer group nogroup \(--create-group creates it\)" \
	"and says how to create it"

# --- round trip ---------------------------------------------------------
n=150
for i in $(seq 1 $n); do
	printf 'message %d: some "text" \\ with %s\n' "$i" "$(printf '%*s' $((i % 50 + 1)) '' | tr ' ' x)"
done >"$tap_tmp/sent"
"$MPQCTL" put "$src" <"$tap_tmp/sent"
"$BRIDGE" out --batch 64 "$src" "$url/rt" 2>"$tap_tmp/out.err" &
out_pid=$!
pids+=("$out_pid")
"$BRIDGE" in --create-group --envelope --json --batch 50 "$url/rt" g "$dst" \
	>"$tap_tmp/in.json" 2>"$tap_tmp/in.err" &
in_pid=$!
pids+=("$in_pid")
ok_if "round trip: all $n messages reach the destination queue" \
	wait_until 120 qsize_is "$dst" $n
ok_if "and every entry is acknowledged in the group" \
	wait_until 60 group_done rt g
is "$(stat_field "$src" unfinished)" 0 \
	"out marked every message done once Redis confirmed it"
is "$(rcli XLEN rt)" $n "the stream holds $n entries"
like "$(rcli XRANGE rt - + COUNT 1)" "message 1: " \
	"an entry's data field is the payload as put"
like "$(rcli XRANGE rt - + COUNT 1)" "$host/$src/[0-9]+" \
	"its id field is HOST/QUEUE/SEQ"

kill -USR1 "$in_pid"
have_json() { grep -q '"put": '$n "$tap_tmp/in.json"; }
ok_if "SIGUSR1 prints the counters as JSON" wait_until 30 have_json
like "$(tail -n1 "$tap_tmp/in.json")" "\"mode\": \"in\", \"queue\": \"$dst\", \"stream\": \"rt\", \"group\": \"g\"" \
	"naming the queue, stream and group"

"$MPQCTL" get "$dst" -n $n --timeout 30 | envelopes >"$tap_tmp/got"
is "$(awk '{ NF -= 2; print }' "$tap_tmp/got" | cmp - "$tap_tmp/sent" >/dev/null && echo same)" \
	same "payloads arrive complete and in order"
seqs=$(awk '{ split($(NF - 1), p, "/"); print p[3] }' "$tap_tmp/got")
ok_if "sequence numbers ascend in put order" sort -n -C <<<"$seqs"
is "$(sort -u <<<"$seqs" | wc -l)" $n "every message has its own id"
is "$(awk '$NF != "-"' "$tap_tmp/got" | wc -l)" 0 "none is flagged as redelivered"
ok_if "every id names this host and the source queue" \
	test "$(awk -v h="$host/$src/" 'index($(NF - 1), h) != 1' "$tap_tmp/got" | wc -l)" = 0

"$MPQCTL" shutdown "$src"
wait "$out_pid"
is "$?" 0 "out exits 0 once its queue is shut down and drained"
kill -TERM "$in_pid"
wait "$in_pid"
is "$?" 0 "in exits 0 on SIGTERM"

# --- kill -9 of an in bridge; another one of the group takes over -------
# A's local queue holds 40: A reads a batch more, then waits for room (the
# back-pressure: it reads nothing further). B runs on "another host", with
# a queue of its own.
src2=$(qname src2)
dst2=$(qname dst2)
dst2b=$(qname dst2b)
"$MPQCTL" create "$src2"
"$MPQCTL" create "$dst2" --maxsize 40
"$MPQCTL" create "$dst2b"
n=400
seq 1 $n | sed 's/^/job-/' | "$MPQCTL" put "$src2"
"$BRIDGE" out "$src2" "$url/k9" &
pids+=($!)
"$BRIDGE" in --create-group --envelope --consumer A --claim-idle 1 --batch 25 \
	"$url/k9" g "$dst2" 2>"$tap_tmp/a.err" &
a_pid=$!
pids+=("$a_pid")
blocked() { qsize_is "$dst2" 40 && [ "$(rcli XPENDING k9 g | head -n1)" -gt 0 ]; }
ok_if "in bridge A fills its local queue and waits for room" \
	wait_until 120 blocked
pending_a=$(rcli XPENDING k9 g | head -n1)
ok_if "with entries read and not acknowledged ($pending_a)" test "${pending_a:-0}" -gt 0
read_a=$(group_field k9 g entries-read)
ok_if "a full local queue stops the reading: $read_a of $n read" \
	test "$read_a" -le $((40 + 25))
kill -KILL "$a_pid"
wait "$a_pid" 2>/dev/null
"$BRIDGE" in --envelope --json --consumer B --claim-idle 1 --batch 25 \
	"$url/k9" g "$dst2b" >"$tap_tmp/b.json" 2>"$tap_tmp/b.err" &
b_pid=$!
pids+=("$b_pid")
ok_if "bridge B reads the rest and claims what A left pending" \
	wait_until 180 group_done k9 g
kill -TERM "$b_pid"
wait "$b_pid"
is "$?" 0 "B exits 0 on SIGTERM"
"$MPQCTL" get "$dst2" -n 40 --timeout 30 >"$tap_tmp/got2"
"$MPQCTL" get "$dst2b" -n "$(stat_field "$dst2b" qsize)" --timeout 30 >>"$tap_tmp/got2"
envelopes <"$tap_tmp/got2" >"$tap_tmp/got2.t"
is "$(cut -d' ' -f1 "$tap_tmp/got2.t" | sort -u | wc -l)" $n "nothing is lost: all $n jobs arrive"
is "$(cut -d' ' -f1,2 "$tap_tmp/got2.t" | sort -u | cut -d' ' -f1 | uniq -d | wc -l)" 0 \
	"a job delivered twice has the same id both times"
dups=$(( $(wc -l <"$tap_tmp/got2.t") - n ))
flagged=$(awk '$3 == "redelivered"' "$tap_tmp/got2.t" | wc -l)
ok_if "every duplicate ($dups) is flagged as redelivered ($flagged)" test "$flagged" -ge "$dups"
like "$(tail -n1 "$tap_tmp/b.json")" '"claimed": [1-9]' "B counts the entries it claimed"
"$MPQCTL" shutdown "$src2"

# --- Redis restarts mid-stream (AOF) ------------------------------------
# out has sent the first half and in holds a batch it cannot put (its
# local queue is full); Redis is killed; out takes a batch of the second
# half while it is down; both must carry on once Redis is back.
src3=$(qname src3)
dst3=$(qname dst3)
"$MPQCTL" create "$src3"
"$MPQCTL" create "$dst3" --maxsize 60
n=300
seq 1 150 | sed 's/^/r-/' | "$MPQCTL" put "$src3"
"$BRIDGE" out --batch 50 "$src3" "$url/rs" 2>"$tap_tmp/out3.err" &
out3=$!
pids+=("$out3")
"$BRIDGE" in --create-group --envelope --batch 30 "$url/rs" g "$dst3" \
	2>"$tap_tmp/in3.err" &
in3=$!
pids+=("$in3")
unfinished_is() { [ "$(stat_field "$1" unfinished)" = "$2" ]; }
ok_if "restart: out has sent the first 150" wait_until 120 unfinished_is "$src3" 0
ok_if "and in waits for room in its full local queue" wait_until 120 qsize_is "$dst3" 60
kill_redis
seq 151 $n | sed 's/^/r-/' | "$MPQCTL" put "$src3"
taken_one() { [ "$(stat_field "$src3" qsize)" -lt 150 ]; }
ok_if "while Redis is down, out takes the next batch" wait_until 60 taken_one
start_redis
ok_if "Redis restarts from its AOF" redis_up
"$MPQCTL" get "$dst3" -n 0 >"$tap_tmp/got3" &
drain3=$!
pids+=("$drain3")
ok_if "after the restart every entry arrives and is acknowledged" \
	wait_until 180 group_done rs g
ok_if "the stream holds at least the $n messages" \
	test "$(rcli XLEN rs)" -ge $n
ok_if "out marks them done once confirmed" wait_until 60 unfinished_is "$src3" 0
ok_if "the consumer drains the local queue" wait_until 60 qsize_is "$dst3" 0
"$MPQCTL" shutdown "$src3"
wait "$out3"
is "$?" 0 "out exits 0 after the restart"
kill -TERM "$in3"
wait "$in3"
is "$?" 0 "in exits 0 after the restart"
"$MPQCTL" shutdown "$dst3"
wait "$drain3"
envelopes <"$tap_tmp/got3" >"$tap_tmp/got3.t"
is "$(cut -d' ' -f1 "$tap_tmp/got3.t" | sort -u | wc -l)" $n "nothing is lost across the restart"
is "$(cut -d' ' -f1,2 "$tap_tmp/got3.t" | sort -u | cut -d' ' -f1 | uniq -d | wc -l)" 0 \
	"duplicates, if any, carry the same id"
like "$(cat "$tap_tmp/out3.err")" "reconnected" "out says it reconnected"
like "$(cat "$tap_tmp/in3.err")" "reconnected" "in says it reconnected"

# --- two in bridges share a stream --------------------------------------
src4=$(qname src4)
h1=$(qname host1)
h2=$(qname host2)
"$MPQCTL" create "$src4"
"$MPQCTL" create "$h1"
"$MPQCTL" create "$h2"
n=600
rcli XGROUP CREATE sh g '$' MKSTREAM >/dev/null
"$BRIDGE" in --envelope --consumer one --batch 20 "$url/sh" g "$h1" &
i1=$!
pids+=("$i1")
"$BRIDGE" in --envelope --consumer two --batch 20 "$url/sh" g "$h2" &
i2=$!
pids+=("$i2")
two_readers() { [ "$(group_field sh g consumers)" = 2 ]; }
ok_if "share: both in bridges joined the group" wait_until 60 two_readers
seq 1 $n | sed 's/^/s-/' | "$MPQCTL" put "$src4"
"$BRIDGE" out --batch 100 "$src4" "$url/sh" &
o4=$!
pids+=("$o4")
both_full() {
	[ $(( $(stat_field "$h1" qsize) + $(stat_field "$h2" qsize) )) = $n ]
}
ok_if "every message reaches one of the two queues" wait_until 180 both_full
ok_if "and the group has acknowledged all" wait_until 60 group_done sh g
c1=$(stat_field "$h1" qsize)
c2=$(stat_field "$h2" qsize)
ok_if "the work is split ($c1 + $c2)" test "$c1" -gt 0 -a "$c2" -gt 0
"$MPQCTL" get "$h1" -n "$c1" --timeout 30 | envelopes >"$tap_tmp/got4"
"$MPQCTL" get "$h2" -n "$c2" --timeout 30 | envelopes >>"$tap_tmp/got4"
is "$(cut -d' ' -f1 "$tap_tmp/got4" | sort -u | wc -l)" $n "together they got every message"
is "$(wc -l <"$tap_tmp/got4")" $n "and none twice"
is "$(awk '$3 != "-"' "$tap_tmp/got4" | wc -l)" 0 "none was redelivered"
"$MPQCTL" shutdown "$src4"
wait "$o4"
kill -TERM "$i1" "$i2"
wait "$i1" "$i2"

# --- a message over the local size cap ----------------------------------
small=$(qname small)
"$MPQCTL" create "$small" --msgsize 100
rcli XADD big '*' data "$(printf '%0200d' 0)" >/dev/null
run "$BRIDGE" in --create-group "$url/big" g "$small"
is "$rc" 1 "an entry over the local msgsize_max: status 1"
like "$err" "is 200 bytes, over the msgsize_max of local queue $small \(100 bytes\); left pending" \
	"and says which, how large, and that it stays pending"
is "$(rcli XPENDING big g | head -n1)" 1 "the entry is still pending in the group"
is "$(stat_field "$small" qsize)" 0 "nothing was put"

done_testing
