#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mpqctl usage: what a user's queues hold and may hold, in text and JSON;
# a creation past bytes_per_user fails with status 1 and says why.
. "$(dirname "$0")/tap.inc"

need_setpriv

param=/sys/module/mpq/parameters/bytes_per_user
saved=$(cat "$param")
restore() { echo "$saved" >"$param"; }
trap 'restore; tap_cleanup' EXIT

run "$MPQCTL" usage
is "$rc" 0 "usage exits 0"
is "$(echo "$out" | awk '$1 == "bytes_max:" { print $2 }')" none "root: no byte limit"
is "$(echo "$out" | awk '$1 == "named_max:" { print $2 }')" none "root: no named-queue limit"
is "$(echo "$out" | wc -l)" 5 "usage: 5 lines"

q=$(qname nobodys)
run as_nobody "$MPQCTL" usage --json
is "$rc" 0 "usage --json exits 0"
is "$(echo "$out" | json_get "sorted(d)")" \
	"['bytes', 'bytes_max', 'named', 'named_max', 'queues']" "usage --json: keys"
is "$(echo "$out" | json_get "d['bytes'], d['queues'], d['named']")" "(0, 0, 0)" \
	"nobody holds nothing yet"
is "$(echo "$out" | json_get "d['bytes_max']")" "$saved" "bytes_max is bytes_per_user"

as_nobody "$MPQCTL" create "$q" --mode 0600
as_nobody "$MPQCTL" put "$q" "$(printf '%01000d' 0)"
run as_nobody "$MPQCTL" usage --json
is "$(echo "$out" | json_get "d['queues'], d['named']")" "(1, 1)" "nobody owns one named queue"
is "$(echo "$out" | json_get "d['bytes'] > 1000")" True "and is charged for its message"

echo 1 >"$param"
run as_nobody "$MPQCTL" create "$(qname over)"
is "$rc" 1 "create past bytes_per_user: status 1"
like "$err" "limit of queues or memory" "and says why"
run as_nobody "$MPQCTL" put "$q" more
is "$rc" 1 "put past bytes_per_user: status 1"
like "$err" "limit of queues or memory" "and says why"
run "$MPQCTL" create "$(qname root)"
is "$rc" 0 "root is exempt"
restore

run as_nobody "$MPQCTL" usage extra
is "$rc" 2 "usage with an argument: status 2"

done_testing
