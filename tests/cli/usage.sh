#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mpqctl's command line: --help everywhere, status 2 for every misuse,
# and no queue touched by a rejected command.
. "$(dirname "$0")/tap.inc"

subcommands="create remove list stat put get task-done join shutdown"

run "$MPQCTL" --help
is "$rc" 0 "--help exits 0"
like "$out" "^usage: mpqctl COMMAND" "--help prints the usage on stdout"
for c in $subcommands; do
	like "$out" "  $c " "--help lists $c"
done
run "$MPQCTL" help
is "$rc" 0 "help exits 0"

for c in $subcommands; do
	run "$MPQCTL" "$c" --help
	is "$rc" 0 "$c --help exits 0"
	like "$out" "^usage: mpqctl $c " "$c --help prints its usage"
	is "$err" "" "$c --help prints nothing on stderr"
	run "$MPQCTL" help "$c"
	like "$out" "^usage: mpqctl $c " "help $c prints its usage"
	run "$MPQCTL" "$c" -h
	is "$rc" 0 "$c -h exits 0"
done

run "$MPQCTL" --version
is "$rc" 0 "--version exits 0"
like "$out" "^mpqctl .*[0-9]+\.[0-9]+" "--version prints a version"

run "$MPQCTL"
is "$rc" 2 "no command: status 2"
like "$err" "usage: mpqctl" "no command: usage on stderr"

run "$MPQCTL" frobnicate
is "$rc" 2 "unknown command: status 2"
like "$err" "unknown command: frobnicate" "unknown command is named"

q=$(qname usage)
for args in \
	"create" "create $q extra" "create $q --bogus" "create $q --maxsize" \
	"create $q --maxsize -1" "create $q --maxsize 1x" \
	"create $q --msgsize 12X" "create $q --msgsize ''" \
	"create $q --maxbytes 1T" "create $q --mode 0800" "create $q --mode 1777" \
	"create $q --mode rw" \
	"remove" "remove a b" "list extra" "list --bogus" "stat" "stat a b" \
	"put" "put $q --nowait --timeout 1 m" "put $q --timeout -1 m" \
	"put $q --timeout nan m" "put $q --timeout inf m" "put $q ''" \
	"put $q --nowait=1 m" \
	"get" "get $q extra" "get $q -n" "get $q -n -1" "get $q -n x" \
	"get $q --nowait --timeout 1" "get $q --timeout" \
	"task-done" "task-done $q 0" "task-done $q x" "task-done $q 1 2" \
	"join" "join $q --nowait" "join $q --timeout x" \
	"shutdown" "shutdown $q --now" "shutdown a b"; do
	eval "run \"\$MPQCTL\" $args"
	is "$rc" 2 "mpqctl $args: status 2"
	like "$err" "^mpqctl " "mpqctl $args: says why on stderr"
done
run "$MPQCTL" list
ok_if "rejected commands created no queue" \
	test -z "$(echo "$out" | grep -x "$q")"

done_testing
