#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# What `make install` gives a user: the files in place under DESTDIR, a
# pkg-config file that builds and links a program against the installed
# library, a shared library exporting only mpq_*, and man pages that
# render without a warning, one for every exported function; what `make
# install-dkms` gives DKMS, and one version in VERSION, debian/changelog
# and dkms.conf.
. "$(dirname "$0")/tap.inc"

root=$tap_tmp/root
prefix=/usr
run make -s -C "$top/libmpqdev" install PREFIX=$prefix DESTDIR="$root"
is "$rc" 0 "make -C libmpqdev install DESTDIR=... succeeds"
[ "$rc" = 0 ] || printf '# %s\n' "$err"
run make -s -C "$top/tools/mpqctl" install PREFIX=$prefix DESTDIR="$root"
is "$rc" 0 "make -C tools/mpqctl install DESTDIR=... succeeds"
run make -s -C "$top/tools/mpq-bridge" install PREFIX=$prefix DESTDIR="$root"
is "$rc" 0 "make -C tools/mpq-bridge install DESTDIR=... succeeds"

for f in lib/libmpqdev.so.1 lib/libmpqdev.so lib/libmpqdev.a \
	 include/mpqdev.h include/mpqdev_version.h include/mpqdev/mpq.h \
	 lib/pkgconfig/mpqdev.pc \
	 bin/mpqctl share/man/man3/libmpqdev.3 share/man/man4/mpq.4 \
	 share/man/man8/mpqctl.8 bin/mpq-bridge share/man/man8/mpq-bridge.8; do
	ok_if "installs $prefix/$f" test -e "$root$prefix/$f"
done
ok_if "the UAPI header does not shadow the distribution's <linux/*.h>" \
	test ! -e "$root$prefix/include/linux/mpq.h"

# One version source: ./VERSION, as the header, pkg-config and the man
# pages' footers give it.
version=$(cat "$top/VERSION")
ok_if "mpqdev_version.h defines MPQDEV_VERSION \"$version\"" \
	grep -q "^#define MPQDEV_VERSION[[:space:]]*\"$version\"" \
	"$root$prefix/include/mpqdev_version.h"
ok_if "mpqctl(8) names version $version" \
	grep -q "^\\.TH .*\"mpq $version\"" "$root$prefix/share/man/man8/mpqctl.8"
ok_if "libmpqdev(3) names version $version" \
	grep -q "^\\.TH .*\"libmpqdev $version\"" "$root$prefix/share/man/man3/libmpqdev.3"
is "$(sed -n '1s/^mpq (\([^)]*\)) .*/\1/p' "$top/debian/changelog")" "$version" \
	"debian/changelog's version is $version"
# dkms.conf reads ./VERSION beside it, in the tree and where it is installed.
is "$(bash -c '. "$1"; echo "$PACKAGE_NAME/$PACKAGE_VERSION"' - "$top/dkms.conf")" \
	"mpq/$version" "dkms.conf gives mpq/$version"
run make -s -C "$top" install-dkms PREFIX=$prefix DESTDIR="$root"
is "$rc" 0 "make install-dkms DESTDIR=... succeeds"
for f in usr/src/mpq-$version/Kbuild usr/src/mpq-$version/module/Kbuild \
	 usr/src/mpq-$version/module/main.c usr/src/mpq-$version/include/uapi/linux/mpq.h \
	 usr/lib/udev/rules.d/60-mpq.rules usr/lib/modules-load.d/mpq.conf \
	 usr/share/doc/mpq/examples/modprobe.d-mpq.conf; do
	ok_if "installs /$f" test -e "$root/$f"
done
is "$(bash -c '. "$1"; echo "$PACKAGE_VERSION"' - "$root/usr/src/mpq-$version/dkms.conf")" \
	"$version" "the installed dkms.conf gives $version"
run make -s -C "$top" uninstall-dkms PREFIX=$prefix DESTDIR="$root"
is "$(find "$root/usr/src" "$root/usr/lib/udev" "$root/usr/lib/modules-load.d" \
	"$root/usr/share/doc/mpq" -type f 2>/dev/null | tr '\n' ' ')" "" \
	"make uninstall-dkms removes what install-dkms put there"

export PKG_CONFIG_PATH=$root$prefix/lib/pkgconfig PKG_CONFIG_LIBDIR=
export PKG_CONFIG_SYSROOT_DIR=$root
run pkg-config --cflags --libs mpqdev
is "$rc" 0 "pkg-config finds mpqdev"
is "$(pkg-config --modversion mpqdev)" "$version" "pkg-config gives version $version"
like "$out" "-I$root$prefix/include" "pkg-config --cflags names the installed headers"
like "$out" "-L$root$prefix/lib -lmpqdev" "pkg-config --libs links -lmpqdev"
flags=$out

# A program built only from what was installed: a put and a get through
# the shared library.
cat >"$tap_tmp/prog.c" <<'EOF'
#include <mpqdev.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	char buf[16];
	mpq_t *q = mpq_joinable_new(0);
	ssize_t n;

	if (!q || mpq_put(q, "installed", 9, true, -1))
		return 1;
	n = mpq_get(q, buf, sizeof(buf), true, -1);
	if (n != 9 || memcmp(buf, "installed", 9) || mpq_task_done(q) ||
	    mpq_join(q))
		return 1;
	mpq_free(q);
	puts("ok");
	return 0;
}
EOF
# shellcheck disable=SC2086 # pkg-config output is a list of words
run cc -std=c11 -Wall -Wextra -Werror -o "$tap_tmp/prog" "$tap_tmp/prog.c" $flags
is "$rc" 0 "a program compiles and links with pkg-config's flags"
[ "$rc" = 0 ] || printf '# %s\n' "$err"
run env LD_LIBRARY_PATH="$root$prefix/lib" "$tap_tmp/prog"
is "$out" ok "that program runs against the installed libmpqdev.so.1"
run env LD_LIBRARY_PATH="$root$prefix/lib" ldd "$tap_tmp/prog"
like "$out" "libmpqdev.so.1 => $root$prefix/lib/libmpqdev.so.1" \
	"it loads the installed library by its SONAME"

lib=$root$prefix/lib/libmpqdev.so.1
run readelf -d "$lib"
like "$out" "Library soname: \[libmpqdev.so.1\]" "the SONAME is libmpqdev.so.1"
syms=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRW]$/ { print $3 }' |
	sed 's/@.*//' | sort -u)
other=$(grep -v '^mpq_' <<<"$syms" | grep -vx 'LIBMPQDEV_1.0' | tr '\n' ' ')
is "$other" "" "the shared library exports only mpq_* names"
ok_if "it exports the Python API's names" \
	grep -qx mpq_joinable_new <<<"$syms"

# Every exported function has a man page, and every page renders cleanly
# from the installed tree (.so links resolve from the man root).
mandir=$root$prefix/share/man
missing=
for s in $syms; do
	[ -e "$mandir/man3/$s.3" ] || missing+="$s "
done
is "$missing" "" "every exported function has a man page"
warned=
for p in "$mandir"/man*/*; do
	w=$(cd "$mandir" && MANWIDTH=80 man --warnings -l "${p#"$mandir"/}" 2>&1 >/dev/null)
	[ -z "$w" ] || { warned+="${p##*/} "; printf '# %s\n' "$w" | head -n 3; }
done
is "$warned" "" "man --warnings -l renders every installed page cleanly"

run make -s -C "$top/libmpqdev" uninstall PREFIX=$prefix DESTDIR="$root"
run make -s -C "$top/tools/mpqctl" uninstall PREFIX=$prefix DESTDIR="$root"
run make -s -C "$top/tools/mpq-bridge" uninstall PREFIX=$prefix DESTDIR="$root"
left=$(find "$root$prefix/lib" "$root$prefix/include" "$root$prefix/share" \
	"$root$prefix/bin" \
	-type f 2>/dev/null | tr '\n' ' ')
is "$left" "" "make uninstall removes what install put there"
# Leave the build tree's mpqdev.pc as a plain `make` writes it.
make -s -C "$top/libmpqdev" mpqdev.pc >/dev/null 2>&1

done_testing
