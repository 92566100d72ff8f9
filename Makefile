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

SUBDIRS := libmpqdev tools tests examples bindings/python

.PHONY: all module userspace $(SUBDIRS) clean install check check-debug \
	demo bench checkpatch deps

all: module userspace

module:
	@test -d "$(KDIR)" || { echo "no kernel build dir: KDIR=$(KDIR)"; \
		echo "  apt-get install --no-install-recommends linux-headers-amd64"; exit 1; }
	$(MAKE) -C $(KDIR) M=$(TOP) modules

userspace: $(SUBDIRS)

libmpqdev:
	$(MAKE) -C libmpqdev
tools examples: libmpqdev
	$(MAKE) -C $@
tests: libmpqdev
	$(MAKE) -C tests
bindings/python:
	$(MAKE) -C bindings/python

install: userspace
	$(MAKE) -C libmpqdev install
	$(MAKE) -C tools install
	$(MAKE) -C bindings/python install

# Debian packages needed to build and test; installed when run as root.
deps:
	@tools/mpq-deps

check: deps all
	@tools/mpq-vm --check -- tests/run-tests

check-debug: deps
	@tools/mpq-check-debug

demo: deps all
	@tools/mpq-vm -- tools/mpq-demo

bench: deps all
	@tools/mpq-bench-run
	@tools/mpq-vm -- /usr/bin/python3 bindings/python/bench.py --out build/bench-python.md

checkpatch:
	perl $$(tools/mpq-ksrc)/scripts/checkpatch.pl --no-tree --strict \
		-f $(filter-out %.mod.c,$(wildcard module/*.c module/*.h)) \
		include/uapi/linux/mpq.h

clean:
	$(MAKE) -C $(KDIR) M=$(TOP) clean 2>/dev/null || true
	for d in $(SUBDIRS); do $(MAKE) -C $$d clean; done
