# SPDX-License-Identifier: GPL-2.0
#
# mpq: `make` builds the module and every userspace part; `make check` runs
# the whole test suite in one QEMU boot; `make demo` shows the examples.
# The module is built by Kbuild in ./Kbuild and module/Kbuild.

TOP := $(CURDIR)
KVER ?= $(shell if [ -d /lib/modules/$$(uname -r)/build ]; then uname -r; \
	else ls -1 /lib/modules 2>/dev/null | sort -V | while read v; do \
	[ -d /lib/modules/$$v/build ] && echo $$v; done | tail -n1; fi)
KDIR ?= /lib/modules/$(KVER)/build
PREFIX ?= /usr/local
DESTDIR ?=
export PREFIX DESTDIR

SUBDIRS := libmpqdev tools/mpqctl tools/mpq-bridge tests examples bindings/python

.PHONY: all module modules_install userspace $(SUBDIRS) clean install uninstall check check-debug \
	demo bench checkpatch deps install-dkms uninstall-dkms check-installed

all: module userspace

module modules_install:
	@test -d "$(KDIR)" || { echo "no kernel build dir: KDIR=$(KDIR)"; \
		echo "  apt-get install --no-install-recommends linux-headers-amd64"; exit 1; }
	$(MAKE) -C $(KDIR) M=$(TOP) $(if $(filter module,$@),modules,$@)

userspace: $(SUBDIRS)

libmpqdev:
	$(MAKE) -C libmpqdev
tools/mpqctl tools/mpq-bridge examples: libmpqdev
	$(MAKE) -C $@
tests: libmpqdev
	$(MAKE) -C tests
bindings/python:
	$(MAKE) -C bindings/python

install: userspace
	$(MAKE) -C libmpqdev install
	$(MAKE) -C tools/mpqctl install
	$(MAKE) -C tools/mpq-bridge install
	$(MAKE) -C bindings/python install

uninstall:
	$(MAKE) -C libmpqdev uninstall
	$(MAKE) -C tools/mpqctl uninstall
	$(MAKE) -C tools/mpq-bridge uninstall
	$(MAKE) -C bindings/python uninstall

# The module's source for DKMS in /usr/src/mpq-VERSION (dkms.conf reads
# ./VERSION there), the udev rule and the modules-load.d entry; then
# `dkms install mpq/VERSION` builds and installs mpq.ko for the kernels.
DKMS_SRC := $(DESTDIR)/usr/src/mpq-$(shell cat VERSION)

install-dkms:
	install -d $(DKMS_SRC)/module $(DKMS_SRC)/include/uapi/linux
	install -m 0644 dkms.conf VERSION Kbuild $(DKMS_SRC)/
	install -m 0644 module/Kbuild $(filter-out %.mod.c,$(wildcard module/*.[ch])) \
		$(DKMS_SRC)/module/
	install -m 0644 include/uapi/linux/mpq.h $(DKMS_SRC)/include/uapi/linux/
	$(MAKE) -C system install

uninstall-dkms:
	rm -rf $(DKMS_SRC)
	$(MAKE) -C system uninstall

# Debian packages needed to build and test; installed when run as root.
deps:
	@scripts/mpq-deps

check: deps all
	@tests/rig/mpq-vm --check -- tests/run-tests

# The packages as installed (as root): built in a clean clone of HEAD,
# installed, tested in the VM, purged (tests/installed/).
check-installed: deps
	@tests/installed/check-installed.sh

check-debug: deps
	@tests/debug/mpq-check-debug

demo: deps all
	@tests/rig/mpq-vm -- scripts/mpq-demo

bench: deps all
	@tests/bench/mpq-bench-run
	@tests/rig/mpq-vm -- /usr/bin/python3 tests/bench/python.py --out build/bench-python.md

checkpatch:
	perl $$(scripts/mpq-ksrc)/scripts/checkpatch.pl --no-tree --strict \
		-f $(filter-out %.mod.c,$(wildcard module/*.c module/*.h)) \
		include/uapi/linux/mpq.h
	perl $$(scripts/mpq-ksrc)/scripts/kernel-doc -none -Werror module/mpq.h

clean:
	$(MAKE) -C $(KDIR) M=$(TOP) clean 2>/dev/null || true
	for d in $(SUBDIRS); do $(MAKE) -C $$d clean; done
