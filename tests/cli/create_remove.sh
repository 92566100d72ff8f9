#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mpqctl create and remove: the node, its mode, the attributes with size
# suffixes, and every error status.
. "$(dirname "$0")/tap.inc"

q=$(qname plain)
run "$MPQCTL" create "$q"
is "$rc" 0 "create exits 0"
is "$out$err" "" "create prints nothing"
ok_if "create makes /dev/mpq/NAME" test -c "/dev/mpq/$q"
is "$(stat -c %a "/dev/mpq/$q")" 600 "default mode is 0600"
is "$(stat -c %u "/dev/mpq/$q")" "$(id -u)" "the node belongs to the creator"
run "$MPQCTL" stat "$q" --json
like "$out" '"maxsize": 0,' "default maxsize is 0 (no limit)"
like "$out" '"msgsize_max": 1048576,' "default msgsize is 1M"
like "$out" '"maxbytes": 67108864,' "default maxbytes is 64M"

run "$MPQCTL" create "$q"
is "$rc" 1 "create of an existing queue: status 1"
like "$err" "^mpqctl create: $q: queue already exists$" "and says so"

run "$MPQCTL" remove "$q"
is "$rc" 0 "remove exits 0"
ok_if "remove deletes the node" test ! -e "/dev/mpq/$q"
run "$MPQCTL" remove "$q"
is "$rc" 1 "remove of a missing queue: status 1"
like "$err" "no such queue" "and says so"

q=$(qname attrs)
run "$MPQCTL" create "/$q" --maxsize 10 --msgsize 64K --maxbytes 1M --mode 0640
is "$rc" 0 "create with attributes and a leading / exits 0"
is "$(stat -c %a "/dev/mpq/$q")" 640 "--mode sets the node's mode"
run "$MPQCTL" stat "$q" --json
like "$out" '"maxsize": 10,' "--maxsize is applied"
like "$out" '"msgsize_max": 65536,' "--msgsize 64K is 65536"
like "$out" '"maxbytes": 1048576,' "--maxbytes 1M is 1048576"
run "$MPQCTL" remove "/$q"
is "$rc" 0 "remove takes a leading / too"

q=$(qname sizes)
run "$MPQCTL" create "$q" --msgsize 1k --maxbytes=1G --maxsize=0
is "$rc" 0 "lower-case suffix and --opt=value forms"
run "$MPQCTL" stat "$q" --json
like "$out" '"msgsize_max": 1024,' "--msgsize 1k is 1024"
like "$out" '"maxbytes": 1073741824,' "--maxbytes 1G is 1073741824"
"$MPQCTL" remove "$q"

for bad in "--msgsize 2K --maxbytes 1K" "--msgsize 1G" "--maxbytes 4G"; do
	q=$(qname bad)
	run "$MPQCTL" create "$q" $bad
	is "$rc" 1 "create $bad: status 1 (the kernel refuses)"
	like "$err" "invalid name or attributes" "create $bad: says why"
	ok_if "create $bad: no node left" test ! -e "/dev/mpq/$q"
done

for bad in .hidden control a/b ../x "sp ace" \
	12345678901234567890123456789012345678901234567890123456789012345; do
	run "$MPQCTL" create "$bad"
	is "$rc" 1 "create '$bad': status 1"
	like "$err" "invalid name" "create '$bad': says why"
done

done_testing
