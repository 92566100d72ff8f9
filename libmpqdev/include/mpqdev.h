/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libmpqdev: Python's multiprocessing.Queue and JoinableQueue in C, on top
 * of the mpq kernel module (/dev/mpq).
 *
 * Every function is thread-safe and keeps no global state. Functions that
 * return int, long or ssize_t return 0 or a count on success and a
 * negative errno on failure; functions that return a pointer return NULL
 * and set errno; mpq_empty() and mpq_full() return false and set errno.
 * A timeout is in seconds; a negative timeout means none. EINTR never
 * reaches the caller: interrupted waits are resumed with the time left.
 *
 * Python exception        C return
 *   queue.Empty/Full      -EAGAIN (would block) or -ETIMEDOUT (timed out)
 *   ShutDown              -EPIPE (also: get at end of stream)
 *   ValueError            -EINVAL
 *   closed queue          -EBADF
 *   (buffer too small)    -EMSGSIZE, the message stays queued
 *
 * See libmpqdev(3) and one page per function.
 */
#ifndef MPQDEV_H
#define MPQDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <mpqdev/mpq.h>
#include "mpqdev_version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A queue handle; one handle may be used by many threads at once. */
typedef struct mpq mpq_t;

/*
 * Attributes of a queue created by mpq_open(), mpq_create() or
 * mpq_joinable_new_attr(). The fields from flags on are new in 1.2:
 * binaries built against 1.0 and 1.1 keep their own, shorter, struct
 * (symbol versions mpq_open@LIBMPQDEV_1.0, mpq_create@LIBMPQDEV_1.0).
 */
struct mpq_attr {
	long maxsize;		/* most messages held; <= 0: no limit */
	size_t msgsize_max;	/* largest message; 0: 1 MiB */
	size_t maxbytes;	/* most payload bytes held; 0: 64 MiB */
	unsigned int flags;	/* MPQ_ATTR_REDELIVER */
	unsigned int max_deliveries;	/* redelivery cap; 0: none */
	const char *dead_letter;	/* named queue for dead letters, or NULL */
};

/*
 * struct mpq_attr.flags: a message a get takes is this handle's until a
 * task done acknowledges it (oldest first); if the process dies first, or
 * gives it back with mpq_nack(), it is delivered again. See libmpqdev(3).
 */
#define MPQ_ATTR_REDELIVER	(1U << 0)

/* One message of mpq_put_many() / mpq_get_many(). */
struct mpq_msg {
	void *buf;		/* put: the message; get: where to store one */
	size_t len;		/* put: its length; get: capacity of buf */
	size_t result;		/* get: length of the message stored */
};

/* Queue([maxsize]): a new anonymous queue, shared by fork(). */
mpq_t *mpq_queue_new(long maxsize);

/* JoinableQueue([maxsize]): as mpq_queue_new(), with task_done()/join(). */
mpq_t *mpq_joinable_new(long maxsize);

/*
 * A new anonymous JoinableQueue with the attributes attr (NULL: defaults),
 * e.g. JoinableQueue(redeliver=True) with MPQ_ATTR_REDELIVER.
 */
mpq_t *mpq_joinable_new_attr(const struct mpq_attr *attr);

/*
 * Open the named queue /dev/mpq/NAME like mq_open(3): oflag is O_RDONLY,
 * O_WRONLY or O_RDWR with O_CREAT, O_EXCL, O_NONBLOCK, O_CLOEXEC; mode and
 * attr are used only when O_CREAT creates it (mode 0: 0600; attr NULL:
 * defaults). The handle is joinable.
 */
mpq_t *mpq_open(const char *name, int oflag, mode_t mode,
		const struct mpq_attr *attr);

/* Create the named queue NAME without opening it (-EEXIST if it exists). */
int mpq_create(const char *name, mode_t mode, const struct mpq_attr *attr);

/* Remove the named queue NAME; open handles keep working. */
int mpq_unlink(const char *name);

/*
 * Names of the named queues, each NUL-terminated, packed into buf like
 * listxattr(2): returns the bytes stored, or with size 0 the bytes needed;
 * -ERANGE if size is too small.
 */
ssize_t mpq_list(char *buf, size_t size);

/*
 * What the calling user's queues hold and may hold (struct mpq_usage): the
 * kernel memory charged to them, their queues and named queues, and the
 * per-user limits (0: none applies). 0 or -errno.
 */
int mpq_usage(struct mpq_usage *u);

/* put(item, block, timeout): 0 or -EAGAIN/-ETIMEDOUT/-EPIPE/-EMSGSIZE. */
int mpq_put(mpq_t *q, const void *item, size_t len, bool block,
	    double timeout);

/* put_nowait(item): mpq_put(q, item, len, false, -1). */
int mpq_put_nowait(mpq_t *q, const void *item, size_t len);

/*
 * get(block, timeout) into buf: the message length, or -EAGAIN/-ETIMEDOUT,
 * -EPIPE (shut down and empty), -EMSGSIZE (cap too small, message kept).
 */
ssize_t mpq_get(mpq_t *q, void *buf, size_t cap, bool block, double timeout);

/*
 * mpq_get() that also stores the message's delivery count in *deliveries
 * (if not NULL): 1 the first time it is taken, one more each time it came
 * back on a redelivery queue; always 1 on other queues.
 */
ssize_t mpq_get_counted(mpq_t *q, void *buf, size_t cap, bool block,
			double timeout, unsigned int *deliveries);

/* get_nowait(): mpq_get(q, buf, cap, false, -1). */
ssize_t mpq_get_nowait(mpq_t *q, void *buf, size_t cap);

/*
 * get(block, timeout) into a buffer from malloc(3), stored in *item and
 * followed by a NUL byte not counted in the returned length; the caller
 * frees it. On failure *item is NULL.
 */
ssize_t mpq_get_alloc(mpq_t *q, void **item, bool block, double timeout);

/*
 * Put count messages in order, like sendmmsg(2): wait (per block/timeout)
 * only until the first one is queued, then queue as many more as fit
 * without waiting. Returns the number queued, or an error if none was.
 */
ssize_t mpq_put_many(mpq_t *q, const struct mpq_msg *msgs, size_t count,
		     bool block, double timeout);

/*
 * Get up to count messages, like recvmmsg(2): wait only for the first,
 * then take what is queued. msgs[i].result gets each length. Returns the
 * number received, or an error if none was (-EPIPE at end of stream).
 */
ssize_t mpq_get_many(mpq_t *q, struct mpq_msg *msgs, size_t count,
		     bool block, double timeout);

/* mpq_get_many() that stores each message's delivery count too. */
ssize_t mpq_get_many_counted(mpq_t *q, struct mpq_msg *msgs, size_t count,
			     bool block, double timeout,
			     unsigned int *deliveries);

/* qsize(): messages queued now (exact). */
long mpq_qsize(mpq_t *q);

/* empty(): no message is queued. */
bool mpq_empty(mpq_t *q);

/* full(): a 1-byte put would block (maxsize or maxbytes reached). */
bool mpq_full(mpq_t *q);

/* A consistent snapshot of the queue's counters (struct mpq_stat). */
int mpq_stat(mpq_t *q, struct mpq_stat *st);

/* close(): end this handle's use; later calls on it return -EBADF. */
int mpq_close(mpq_t *q);

/* join_thread(): nothing to flush; -EINVAL unless the handle is closed. */
int mpq_join_thread(mpq_t *q);

/* cancel_join_thread(): nothing is ever buffered; does nothing. */
void mpq_cancel_join_thread(mpq_t *q);

/* task_done(): -EINVAL if called more times than items were put. */
int mpq_task_done(mpq_t *q);

/* task_done() count times at once, all or nothing. */
int mpq_task_done_many(mpq_t *q, uint64_t count);

/*
 * Give back the oldest message this handle got and has not acknowledged,
 * on a redelivery queue, for delivery again (to any consumer): -EINVAL if
 * it holds none, -EOPNOTSUPP on another queue.
 */
int mpq_nack(mpq_t *q);

/* mpq_nack() count times at once, all or nothing. */
int mpq_nack_many(mpq_t *q, uint64_t count);

/* How the queue was created (struct mpq_info): limits, redelivery. */
int mpq_info(mpq_t *q, struct mpq_info *info);

/* join(): wait until every item put has been marked done. */
int mpq_join(mpq_t *q);

/* join() with a timeout in seconds: -ETIMEDOUT when it passes. */
int mpq_join_timeout(mpq_t *q, double timeout);

/*
 * shutdown(immediate): puts fail with -EPIPE from now on; gets drain what
 * is queued, then fail with -EPIPE. immediate discards what is queued.
 */
int mpq_shutdown(mpq_t *q, bool immediate);

/* The queue's file descriptor (for poll(2)), owned by the handle. */
int mpq_fileno(mpq_t *q);

/* Close the handle if still open and free it. NULL is ignored. */
void mpq_free(mpq_t *q);

/*
 * Message ids of mpq-bridge(8) (added in 1.2, libmpqdev/bridge.c).
 *
 * mpq-bridge out gives every message it moves into a Redis stream an id,
 * "HOST/QUEUE/SEQ": the origin host, the local queue and a sequence number
 * that grows for each message from that queue and host. A redelivered
 * message keeps its id, so a consumer drops duplicates by id. mpq-bridge in
 * --envelope puts the message into the local queue behind a one-line
 * envelope, "mpq-id HOST/QUEUE/SEQ\n", or "mpq-id HOST/QUEUE/SEQ
 * redelivered\n" when the stream delivered it before. See mpq-bridge(8) and
 * Documentation/userspace-api/bridge.rst.
 */
#define MPQ_MSGID_HOST_MAX	255	/* longest origin host name */
/* Longest "HOST/QUEUE/SEQ", without its NUL. */
#define MPQ_MSGID_MAX		(MPQ_MSGID_HOST_MAX + 1 + MPQ_NAME_MAX + 1 + 20)
/* Longest envelope line, newline included, without a NUL. */
#define MPQ_ENVELOPE_MAX	(7 + MPQ_MSGID_MAX + 12 + 1)

struct mpq_msgid {
	char host[MPQ_MSGID_HOST_MAX + 1];	/* origin host, NUL-terminated */
	char queue[MPQ_NAME_MAX + 1];		/* origin queue, NUL-terminated */
	uint64_t seq;				/* sequence from that queue */
	bool redelivered;	/* envelope: the stream delivered it before */
};

/*
 * Parse the id "HOST/QUEUE/SEQ" of len bytes (no NUL needed) into *id
 * (redelivered false): 0, or -EINVAL if it is not one.
 */
int mpq_msgid_parse(const char *s, size_t len, struct mpq_msgid *id);

/*
 * Write "HOST/QUEUE/SEQ" and a NUL into buf like snprintf(3): returns the
 * length without the NUL (at most MPQ_MSGID_MAX), -ERANGE if size is too
 * small, -EINVAL if *id is not valid.
 */
int mpq_msgid_format(const struct mpq_msgid *id, char *buf, size_t size);

/*
 * If the message msg of len bytes starts with an envelope, fill *id and
 * return the offset of the payload after it; -ENOMSG if it has none (a
 * plain message: the payload is all of it), -EBADMSG if the envelope is
 * malformed.
 */
ssize_t mpq_envelope_parse(const void *msg, size_t len, struct mpq_msgid *id);

/*
 * Write the envelope of *id (no NUL) into buf: returns its length (at most
 * MPQ_ENVELOPE_MAX), -ERANGE if size is too small, -EINVAL if *id is not
 * valid.
 */
ssize_t mpq_envelope_format(const struct mpq_msgid *id, char *buf,
			    size_t size);

#ifdef __cplusplus
}
#endif

#endif /* MPQDEV_H */
