# Flags shared by every userspace Makefile; include with TOP set.
CC ?= gcc
CFLAGS ?= -O2 -g
MPQ_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE \
	-I$(TOP)/include/uapi -I$(TOP)/libmpqdev/include
ifeq ($(M32),1)
MPQ_CFLAGS += -m32
LDFLAGS += -m32
SUFFIX := -m32
endif
