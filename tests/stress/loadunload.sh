#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# usage: tests/stress/loadunload.sh [-n CYCLES] [MODULE]
#
# Load and unload mpq.ko CYCLES times (default 100). In each cycle: insmod,
# create a named queue with mpqctl and put a message into it by shell
# redirection; then tests/stress/loadunload-helper checks that the kernel
# refuses to unload mpq while the named queue exists, while a descriptor
# stays open after its removal, and while an anonymous queue is open with a
# task blocked in it; finally rmmod must succeed.
#
# MODULE defaults to $MPQ_KO, else module/mpq.ko. If mpq is loaded at the
# start, it is unloaded first and loaded again at the end. Run from the
# top of the tree, as root. Prints TAP.

cycles=100
if [ "${1-}" = -n ]; then
	cycles=${2:?}
	shift 2
fi
module=${1:-${MPQ_KO:-module/mpq.ko}}
helper=tests/stress/loadunload-helper
mpqctl=tools/mpqctl/mpqctl
name=lu-$$

. tests/common/tap.sh
echo "TAP version 13"
tap_plan 1
for f in "$module" "$helper" "$mpqctl"; do
	if [ ! -e "$f" ]; then
		tap_result 1 "loadunload # $f is missing"
		exit 1
	fi
done
# insmod reads the module from tmpfs, not over 9p, every cycle.
ko=$tap_tmp/mpq.ko
cp "$module" "$ko" || exit 1

cycle=0
fail() {
	tap_diag "cycle $cycle: $*"
	"$mpqctl" remove "$name" >/dev/null 2>&1
	[ -d /sys/module/mpq ] || insmod "$ko" 2>/dev/null
	tap_result 1 "loadunload # failed in cycle $cycle of $cycles"
	exit 1
}

was_loaded=0
if [ -d /sys/module/mpq ]; then
	was_loaded=1
	rmmod mpq || fail "mpq is loaded and in use"
fi

start=$(date +%s)
for ((cycle = 1; cycle <= cycles; cycle++)); do
	insmod "$ko" || fail "insmod failed"
	[ -c /dev/mpq/control ] || fail "no /dev/mpq/control after insmod"
	"$mpqctl" create "$name" --maxsize 4 || fail "mpqctl create failed"
	printf 'message %d' $cycle >"/dev/mpq/$name" || fail "put by redirection failed"
	"$helper" busy "$name" "message $cycle" || fail "see above"
	rmmod mpq || fail "rmmod failed once mpq was unused"
	[ ! -e /sys/module/mpq ] || fail "/sys/module/mpq left after rmmod"
	[ ! -e /dev/mpq/control ] || fail "/dev/mpq/control left after rmmod"
done
cycle=$cycles

if [ $was_loaded = 1 ]; then
	insmod "$ko" || fail "reloading $module failed"
fi
tap_result 0 "loadunload # $cycles cycles in $(( $(date +%s) - start )) s"
