# Flags shared by every userspace Makefile; include with TOP set.
CC ?= gcc
CFLAGS ?= -O2 -g
# -MMD -MP: each object or program writes NAME.d, the headers it read, which
# the Makefile including this one reads back with -include $(MPQ_DEPS).
MPQ_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -MMD -MP \
	-I$(TOP)/include/uapi -I$(TOP)/libmpqdev/include
ifeq ($(M32),1)
MPQ_CFLAGS += -m32
LDFLAGS += -m32
SUFFIX := -m32
endif
# The one version source: ./VERSION (libmpqdev, mpqctl, mpqdev for Python,
# the man pages and DKMS all read it).
MPQ_VERSION := $(shell cat $(TOP)/VERSION)
MPQ_MAN := $(TOP)/Documentation/man
# $(call mpq_install_man,SECTION,FILES): install man pages with the version
# from ./VERSION written into their .TH footer ("libmpqdev" -> "libmpqdev 1.1.0").
mpq_install_man = install -d $(DESTDIR)$(MANDIR)/man$(1) && \
	for f in $(2); do sed -E '/^\.TH/s/"(libmpqdev|mpq)"/"\1 $(MPQ_VERSION)"/' "$$f" \
		> $(DESTDIR)$(MANDIR)/man$(1)/$${f\#\#*/} && \
		chmod 0644 $(DESTDIR)$(MANDIR)/man$(1)/$${f\#\#*/} || exit 1; done
