/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * How a call of libmpqdev or of the Python binding may wait, in the form
 * every mpq ioctl takes it. Internal: shared by libmpqdev/queue.c and
 * bindings/python/mpqdev/_mpqdev.c (which calls the ioctls itself, so that
 * a signal reaches Python), never installed.
 */
#ifndef MPQDEV_WAIT_H
#define MPQDEV_WAIT_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <linux/mpq.h>

/* The largest tv_sec a deadline may have: its nanoseconds fit an int64. */
#define MPQ_DEADLINE_SEC_MAX	(INT64_MAX / 1000000000LL)

struct mpq_wait {
	__u32 flags;
	struct __kernel_timespec deadline;
};

/*
 * @w for a wait of at most @timeout seconds (>= 0, not NaN) from now: an
 * absolute CLOCK_MONOTONIC deadline, computed once per call, so that a
 * call retried after EINTR waits only for the time left (PEP 475). A
 * timeout past any representable deadline means no timeout. 0 or -errno.
 */
static inline int mpq_wait_timeout(struct mpq_wait *w, double timeout)
{
	struct timespec now;
	int64_t sec;
	long nsec;

	memset(w, 0, sizeof(*w));
	if (clock_gettime(CLOCK_MONOTONIC, &now))
		return -errno;
	if (timeout >= (double)(MPQ_DEADLINE_SEC_MAX - now.tv_sec - 1))
		return 0;
	sec = (int64_t)timeout;
	nsec = (long)((timeout - (double)sec) * 1e9);
	w->deadline.tv_sec = now.tv_sec + sec;
	w->deadline.tv_nsec = now.tv_nsec + nsec;
	if (w->deadline.tv_nsec >= 1000000000L) {
		w->deadline.tv_sec++;
		w->deadline.tv_nsec -= 1000000000L;
	}
	w->flags = MPQ_XFER_TIMEOUT;
	return 0;
}

/* A batch ioctl's argument: @n messages of @vec, waiting as @w says. */
static inline void mpq_wait_batch(struct mpq_batch *b,
				  const struct mpq_msgvec *vec, __u32 n,
				  const struct mpq_wait *w)
{
	memset(b, 0, sizeof(*b));
	b->vec = (uintptr_t)vec;
	b->count = n;
	b->flags = w->flags;
	b->deadline = w->deadline;
}

#endif /* MPQDEV_WAIT_H */
