/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libmpqdev internals shared by queue.c and named.c; not installed. */
#ifndef MPQDEV_INTERNAL_H
#define MPQDEV_INTERNAL_H

#include "mpqdev.h"

/* Wrap a queue descriptor in a new handle; the handle owns fd. */
mpq_t *mpqdev_handle_new(int fd, bool joinable);

/* Fill @c's limits and redelivery fields from @attr (NULL: none). */
int mpqdev_create_attr(struct mpq_create *c, const struct mpq_attr *attr);

/* ioctl(2) on a fresh /dev/mpq/control descriptor; 0/result or -errno. */
int mpqdev_control_ioctl(unsigned long request, void *arg);

/* 0 if @name is a valid queue name (with or without a leading '/'). */
int mpqdev_name_check(const char *name);

#endif /* MPQDEV_INTERNAL_H */
