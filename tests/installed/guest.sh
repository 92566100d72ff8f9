#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# usage: tests/rig/mpq-vm --no-load -- tests/installed/guest.sh OUT
#
# The guest half of tests/installed/check-installed.sh, which installed the
# packages on the host (the guest's read-only root) and built the C
# examples against them into OUT/examples. Checks, with nothing of the
# tree's builds: modprobe loads the module DKMS installed and the
# modprobe.d example sets its parameters; with systemd-udevd running,
# /dev/mpq/control follows the udev rule and its group switch while named
# queue nodes keep the owner and mode the module gave them; mpqctl from
# /usr/bin, mpqdev from /usr/lib/python3/dist-packages and the examples
# work; modprobe -r is refused while a queue exists and works once none
# does. TAP, which the host folds into its own.
set -u
out=${1:?usage: guest.sh OUT}
export MPQCTL=/usr/bin/mpqctl LC_ALL=C
# The guest runs this chrooted into the host's root: without this, udevadm
# would ignore trigger and settle requests there.
export SYSTEMD_IGNORE_CHROOT=1
unset PYTHONPATH
. "$(dirname "$0")/../cli/tap.inc"
version=$(cat "$top/VERSION")
switch=/etc/mpq/control-group-only

# fails DESC CMD...: ok if CMD fails.
fails() {
	local desc=$1
	shift
	! "$@" >"$tap_tmp/fails" 2>&1
	tap_result $? "$desc" "$(tail -n 20 "$tap_tmp/fails")"
}

node() {
	stat -c '%U:%G %a' "$1" 2>&1
}

# The module: installed by DKMS, found by modprobe through depmod's index.
ok_if "modprobe mpq" modprobe mpq
is "$(modinfo -F filename mpq)" "/lib/modules/$(uname -r)/updates/dkms/mpq.ko" \
	"modprobe loads the module DKMS installed"
is "$(node /dev/mpq/control)" "root:root 666" "/dev/mpq/control is 0666"
ok_if "modprobe -r mpq with no queue" modprobe -r mpq
fails "/dev/mpq/control is gone" test -e /dev/mpq/control

# The modprobe.d example, uncommented and given other values.
sed -e 's/^#options mpq queues_per_user=256/options mpq queues_per_user=7/' \
	-e 's/^#options mpq msgsize_limit=16777216/options mpq msgsize_limit=65536/' \
	/usr/share/doc/mpq-dkms/examples/modprobe.d-mpq.conf >"$tap_tmp/mpq.conf"
ok_if "modprobe reads the modprobe.d example" modprobe -C "$tap_tmp/mpq.conf" mpq
is "$(cat /sys/module/mpq/parameters/queues_per_user \
	/sys/module/mpq/parameters/msgsize_limit | tr '\n' ' ')" "7 65536 " \
	"the example's options set the parameters"
ok_if "modprobe -r mpq" modprobe -r mpq

# udev: the distribution's rules and 60-mpq.rules, with the module loaded
# after udevd started, as at boot.
ok_if "systemd-udevd starts" /lib/systemd/systemd-udevd --daemon
ok_if "modprobe mpq under udevd" modprobe mpq
udevadm settle -t 60
is "$(node /dev/mpq/control)" "root:root 666" \
	"udev: /dev/mpq/control stays 0666 for everyone by default"
ok_if "nobody creates a queue with mode 0604" as_nobody mpqctl create inst-nobody --mode 0604
ok_if "root creates a queue with the default mode" mpqctl create inst-root
udevadm settle -t 60
is "$(node /dev/mpq/inst-nobody)" "nobody:nogroup 604" \
	"udev: a queue's node keeps its creator and mode"
is "$(node /dev/mpq/inst-root)" "root:root 600" \
	"udev: a queue's node keeps the default mode 0600"
udevadm trigger --action=change --settle /sys/class/mpq/inst-nobody
is "$(node /dev/mpq/inst-nobody)" "nobody:nogroup 604" \
	"udev: a change event leaves the node's owner and mode alone"

# The switch: only group mpq may create queues.
ok_if "the site's /etc/mpq is writable here" mount -t tmpfs -o mode=0755 tmpfs /etc/mpq
touch $switch
udevadm trigger --action=change --settle /sys/class/mpq/control
is "$(node /dev/mpq/control)" "root:mpq 660" \
	"switch on: /dev/mpq/control is root:mpq 0660"
denied=$(as_nobody mpqctl create inst-denied 2>&1)
is "$denied" "mpqctl create: inst-denied: Permission denied" \
	"switch on: nobody may not create a queue"
gid=$(getent group mpq | cut -d: -f3)
ok_if "switch on: a member of group mpq creates a queue" \
	setpriv --reuid=65534 --regid=65534 --groups="$gid" -- \
	mpqctl create inst-member --mode 0600
is "$(node /dev/mpq/inst-member)" "nobody:nogroup 600" \
	"switch on: the member's queue is theirs"
is "$(node /dev/mpq/inst-nobody)" "nobody:nogroup 604" \
	"switch on: existing queues' nodes are untouched"
rm -f $switch
udevadm trigger --action=change --settle /sys/class/mpq/control
is "$(node /dev/mpq/control)" "root:root 666" \
	"switch off: /dev/mpq/control is 0666 again"
umount /etc/mpq

# mpqctl from /usr/bin.
printf 'one\ntwo\n' | as_nobody mpqctl put inst-nobody
is "$(as_nobody mpqctl get inst-nobody -n 2 2>&1 | tr '\n' ' ')" "one two " \
	"mpqctl put and get through /usr/bin/mpqctl"
is "$(mpqctl list | grep -c '^inst-')" 3 "mpqctl list shows the queues"

# mpqdev from dist-packages, with no PYTHONPATH, run from / so that the
# tree's package cannot be the one imported.
is "$(cd / && /usr/bin/python3 -c 'import mpqdev; print(mpqdev.__file__, mpqdev.__version__)' 2>&1)" \
	"/usr/lib/python3/dist-packages/mpqdev/__init__.py $version" \
	"python3 -c 'import mpqdev' finds the installed package"
is "$(cd / && /usr/bin/python3 -c '
import mpqdev
q = mpqdev.JoinableQueue()
q.put({"job": 1})
print(q.get()["job"], q.qsize())
q.task_done()
q.join()' 2>&1)" "1 0" "the installed mpqdev puts, gets and joins"

# The examples: the C ones built against /usr, jobqueue.sh with
# /usr/bin/mpqctl, the Python ones with the installed mpqdev.
MPQ_EXAMPLES=$out/examples "$top/tests/examples.sh" 2>&1 | tap_fold examples.sh
(cd / && MPQ_INSTALLED=1 /usr/bin/python3 "$top/tests/python/test_examples.py") 2>&1 |
	tap_fold python/test_examples.py

# Unloading: refused while a queue exists, done once none does.
for q in inst-root inst-member; do
	mpqctl remove $q
done
fails "modprobe -r mpq is refused while a queue exists" modprobe -r mpq
ok_if "the module stays loaded" test -d /sys/module/mpq
mpqctl remove inst-nobody
ok_if "modprobe -r mpq once no queue exists" modprobe -r mpq
fails "the module is gone" test -e /sys/module/mpq
fails "/dev/mpq/control is gone with it" test -e /dev/mpq/control
udevadm control --exit
done_testing
