#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# usage: tests/installed/check-installed.sh      (make check-installed; as root)
#
# The installed-parts lane: mpq as a user gets it from its Debian packages.
# On this host it
#   1. builds the packages (dpkg-buildpackage -us -uc -b) in a clean clone
#      of HEAD under build/installed/ (uncommitted changes are not in it),
#      and the source package (dpkg-source -b), and runs lintian on both
#      (errors fail, warnings are shown);
#   2. installs them with apt-get install ./*.deb, has DKMS build and
#      install mpq.ko for the guest's kernel (the newest /boot/vmlinuz-*),
#      checks the installed files, and builds the C examples and a version
#      program with `pkg-config --cflags --libs mpqdev` against /usr;
#   3. boots the QEMU guest without loading anything (tests/rig/mpq-vm
#      --no-load) to run tests/installed/guest.sh: modprobe, udevd, the
#      group switch, mpqctl from /usr/bin, mpqdev from dist-packages, the
#      examples, modprobe -r;
#   4. purges the packages and checks that nothing is left behind: no
#      file the packages or DKMS installed, no change under /etc, /usr,
#      /lib/modules and /var/lib/dkms, no group mpq.
# Output: TAP, then "N passed, N failed". Exit status 1 if anything failed.
# The packages are purged on any exit once installed. It refuses to run
# while any mpq package is installed: it would remove a real installation.
set -u
export LC_ALL=C DEBIAN_FRONTEND=noninteractive MPQCTL=none
export PATH=$PATH:/usr/sbin:/sbin
. "$(dirname "$(readlink -f "$0")")/../cli/tap.inc"
out=$top/build/installed
version=$(cat "$top/VERSION")
packages=(mpq-dkms libmpqdev1 libmpqdev-dev mpq-tools python3-mpqdev)

# phase NAME: print how long the lane has taken so far, as a diagnostic.
phase() {
	echo "# $1 at ${SECONDS}s"
}

finish() {
	phase "done"
	echo "1..$tap_n"
	echo "$((tap_n - tap_failed)) passed, $tap_failed failed"
	[ "$tap_failed" -eq 0 ]
	exit
}

bail() {
	echo "Bail out! $*"
	tap_failed=$((tap_failed + 1))
	finish
}

installed_packages() {
	dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "${packages[@]}" 2>/dev/null |
		awk '$1 != "un" && $1 != "pn" { print $2 }'
}

# What is on the host under the directories the packages write to, but the
# caches that change anyway and DKMS's own module signing key (made at its
# first build, for every DKMS module); compared before installing and after
# purging.
snapshot() {
	find /etc /usr /lib/modules /var/lib/dkms -xdev \
		\( -path /etc/ld.so.cache -o -path /usr/share/info/dir -o \
		-path '/var/lib/dkms/mok.*' \) -prune -o \
		-print 2>/dev/null | sort
}

[ "$(id -u)" -eq 0 ] || bail "needs root (it installs packages)"
[ -z "$(installed_packages)" ] ||
	bail "mpq packages are installed ($(installed_packages | tr '\n' ' ')): remove them first"
for c in dpkg-buildpackage lintian dkms pkg-config cc qemu-system-x86_64; do
	command -v $c >/dev/null || bail "no $c: run scripts/mpq-deps"
done

# 1. Build.
rm -rf "$out"
mkdir -p "$out"
git clone -q --no-hardlinks "$top" "$out/src" ||
	bail "cannot clone $top"
# The source package too, from the untouched clone, for lintian to check
# debian/ itself.
(cd "$out" && dpkg-source -b src) >"$out/source.log" 2>&1
tap_result $? "dpkg-source -b" "$(tail -n 20 "$out/source.log")"
if ! (cd "$out/src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1; then
	tap_result 1 "dpkg-buildpackage -us -uc -b" "$(tail -n 40 "$out/build.log")"
	bail "no packages"
fi
tap_result 0 "dpkg-buildpackage -us -uc -b"
debs=()
for p in "${packages[@]}"; do
	debs+=("$(ls "$out/${p}_${version}_"*.deb 2>/dev/null)")
done
is "$(printf '%s\n' "${debs[@]}" | grep -c '\.deb$')" ${#packages[@]} \
	"the five packages are built, at version $version"
lintian --fail-on error --tag-display-limit 0 "$out"/*.changes "$out"/*.dsc \
	>"$out/lintian.log" 2>&1
tap_result $? "lintian: no errors" "$(cat "$out/lintian.log")"
grep -E '^[WE]: ' "$out/lintian.log" | sed 's/^/# lintian: /'

# 2. Install, as a user does.
phase "built and linted"
before=$(snapshot)
group_before=$(getent group mpq)
cleanup() {
	[ -z "$(installed_packages)" ] ||
		apt-get purge -y -qq "${packages[@]}" >/dev/null 2>&1
}
trap 'cleanup; tap_cleanup' EXIT
apt-get install -y -qq --no-install-recommends "${debs[@]}" >"$out/install.log" 2>&1
tap_result $? "apt-get install ./*.deb" "$(tail -n 40 "$out/install.log")"

kver=$(ls /boot | sed -n 's/^vmlinuz-//p' | sort -V | tail -n 1)
[ -n "$kver" ] || bail "no /boot/vmlinuz-*"
# The host may run another kernel than the guest: build for the guest's.
dkms status -m mpq -v "$version" -k "$kver" | grep -q ': installed' ||
	dkms install -m mpq -v "$version" -k "$kver" >"$out/dkms.log" 2>&1
ok_if "dkms status: mpq/$version installed for $kver" \
	sh -c "dkms status -m mpq -v $version -k $kver | grep ': installed'"
is "$(modinfo -k "$kver" -n mpq 2>&1)" "/lib/modules/$kver/updates/dkms/mpq.ko" \
	"depmod knows the module DKMS installed"
is "$(modinfo -k "$kver" -F vermagic mpq 2>&1 | cut -d' ' -f1)" "$kver" \
	"the DKMS module is built for $kver"
ok_if "group mpq is a system group" \
	sh -c 'gid=$(getent group mpq | cut -d: -f3) && [ "$gid" -lt 1000 ]'
ok_if "the udev rule is installed" test -f /usr/lib/udev/rules.d/60-mpq.rules
is "$(grep -v '^#' /usr/lib/modules-load.d/mpq.conf)" mpq \
	"modules-load.d loads mpq at boot"
ok_if "the modprobe.d example is installed" \
	test -f /usr/share/doc/mpq-dkms/examples/modprobe.d-mpq.conf
is "$(command -v mpqctl)" /usr/bin/mpqctl "mpqctl is /usr/bin/mpqctl"
is "$(mpqctl --version)" "mpqctl (libmpqdev) ${version%.*}" "mpqctl --version"
is "$(command -v mpq-bridge)" /usr/bin/mpq-bridge "mpq-bridge is /usr/bin/mpq-bridge"
ok_if "mpq-bridge --help runs" mpq-bridge --help
is "$(pkg-config --modversion mpqdev)" "$version" "pkg-config --modversion mpqdev"
for page in 3/libmpqdev 3/mpq_put 3/mpq_envelope_parse 4/mpq 8/mpqctl 8/mpq-bridge; do
	is "$(man -w "${page%/*}" "${page#*/}" 2>&1)" \
		"/usr/share/man/man${page%/*}/${page#*/}.${page%/*}.gz" \
		"man ${page%/*} ${page#*/} is installed"
done

# C programs built against /usr alone: nothing of the tree on the command
# line but the source file.
mkdir -p "$out/examples"
cat >"$out/version.c" <<'EOF'
#include <stdio.h>
#include <mpqdev.h>
#include <mpqdev/mpq.h>

int main(void)
{
	printf("%s %d.%d.%d %s\n", MPQDEV_VERSION, MPQDEV_VERSION_MAJOR,
	       MPQDEV_VERSION_MINOR, MPQDEV_VERSION_MICRO, MPQ_DEV_DIR);
	return 0;
}
EOF
# shellcheck disable=SC2046 # pkg-config prints several words
ok_if "a C program builds with pkg-config --cflags --libs mpqdev" \
	cc -std=gnu11 -Wall -Wextra -Werror -o "$out/version" "$out/version.c" \
	$(pkg-config --cflags --libs mpqdev)
is "$("$out/version" 2>&1)" "$version $version /dev/mpq" \
	"<mpqdev_version.h> and <mpqdev/mpq.h> are the installed version's"
for src in "$top"/examples/*.c; do
	name=$(basename "$src" .c)
	libs=$(pkg-config --cflags --libs mpqdev)
	# uring_worker also needs liburing.
	[ "$name" != uring_worker ] || libs="$libs $(pkg-config --libs liburing)"
	# shellcheck disable=SC2086 # pkg-config prints several words
	ok_if "examples/$name.c builds against /usr" \
		cc -std=gnu11 -Wall -Wextra -Werror -o "$out/examples/$name" "$src" \
		$libs
done
cp "$top/examples/jobqueue.sh" "$out/examples/"
is "$(readlink -f "$(ldd "$out/examples/worker" | awk '$1 == "libmpqdev.so.1" { print $3 }')")" \
	"/usr/lib/$(gcc -print-multiarch)/libmpqdev.so.$version" \
	"the examples run with the installed libmpqdev.so.1"

# 3. The guest: the installed module, udev, tools, library and package.
phase "installed and checked on the host"
"$top/tests/rig/mpq-vm" --no-load --kernel "/boot/vmlinuz-$kver" --timeout 900 -- \
	tests/installed/guest.sh "$out" >"$out/guest.log" 2>&1
vm=$?
tap_fold guest <"$out/guest.log"
is "$vm" 0 "the guest ran to the end, its kernel log clean"

# 4. Purge: nothing left behind.
phase "guest done"
files=$(dpkg -L "${packages[@]}" 2>/dev/null | sort -u)
apt-get purge -y -qq "${packages[@]}" >"$out/purge.log" 2>&1
tap_result $? "apt-get purge" "$(tail -n 40 "$out/purge.log")"
is "$(installed_packages)" "" "no mpq package is left, not even config-files"
left=$(for f in $files; do [ ! -f "$f" ] || echo "$f"; done)
is "$left" "" "no file of the packages is left"
left=$(ls -d /usr/src/mpq-* /var/lib/dkms/mpq /lib/modules/*/updates/dkms/mpq.ko* \
	/etc/mpq 2>/dev/null)
is "$left" "" "no DKMS source, build or module is left"
ok_if "depmod forgot the module" sh -c "! modinfo -k '$kver' mpq"
is "$(getent group mpq)" "$group_before" "group mpq is gone"
is "$(diff <(echo "$before") <(snapshot))" "" \
	"/etc, /usr, /lib/modules and /var/lib/dkms are as before"
finish
