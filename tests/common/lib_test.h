/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the libmpqdev tests (tests/lib), on top of mpq_test.h: a
 * blocking libmpqdev call run in a thread, and waiting until the kernel
 * counts a task asleep in the queue (MPQ_IOC_STAT's getters, putters or
 * joiners), never by sleeping for a while.
 *
 *   struct lib_call c = { .q = q, .op = LIB_GET };
 *
 *   ASSERT_EQ(0, lib_call_start(&c));      a thread calls mpq_get(q, ...)
 *   ASSERT_EQ(0, lib_wait_blocked(q, ST_GETTERS, 1));
 *   ...                                    wake it
 *   ASSERT_EQ(0, lib_call_end(&c));        join; c.ret is what it returned
 *
 * Operations, each blocking with no timeout:
 *   LIB_GET        mpq_get() into c.buf
 *   LIB_PUT        mpq_put() of c.msg, c.len bytes ("x" when c.msg is NULL)
 *   LIB_JOIN       mpq_join()
 * Set c.after (ST_GETTERS, ST_PUTTERS, ...) and c.after_n to make the
 * thread first wait until c.after_n tasks sleep in the queue: a put that
 * must find a getter waiting, a get that must find a blocked putter. If
 * they never come, c.ret is -ETIMEDOUT and the call is not made. The two
 * usual ones:
 *   PUT_WHEN_GETTER(q, "text")   put "text" once a getter waits in q
 *   GET_WHEN_PUTTER(q)           get once a putter waits in q
 */
#ifndef MPQ_LIB_TEST_H
#define MPQ_LIB_TEST_H

#include <pthread.h>
#include <string.h>

#include <mpqdev.h>

#include "mpq_test.h"

enum lib_op { LIB_GET, LIB_PUT, LIB_JOIN };

struct lib_call {
	mpq_t *q;
	enum lib_op op;
	const void *msg;
	size_t len;
	enum mpq_stat_field after;	/* with after_n > 0: wait first */
	unsigned int after_n;
	char buf[64];
	long ret;
	pthread_t thread;
};

#define PUT_WHEN_GETTER(queue, text) ((struct lib_call){ \
	.q = (queue), .op = LIB_PUT, .msg = (text), .len = strlen(text), \
	.after = ST_GETTERS, .after_n = 1 })

#define GET_WHEN_PUTTER(queue) ((struct lib_call){ \
	.q = (queue), .op = LIB_GET, .after = ST_PUTTERS, .after_n = 1 })

/*
 * Wait until @want tasks sleep in @q as field @f of its stat counts them:
 * 0, or -ETIMEDOUT after MPQ_TEST_WAIT_MS.
 */
static inline int lib_wait_blocked(mpq_t *q, enum mpq_stat_field f,
				   unsigned int want)
{
	return q_wait_stat(mpq_fileno(q), f, want);
}

static inline void *lib_call_run(void *arg)
{
	struct lib_call *c = arg;

	if (c->after_n) {
		c->ret = lib_wait_blocked(c->q, c->after, c->after_n);
		if (c->ret)
			return NULL;
	}
	switch (c->op) {
	case LIB_GET:
		c->ret = mpq_get(c->q, c->buf, sizeof(c->buf), true, -1);
		break;
	case LIB_PUT:
		c->ret = c->msg ? mpq_put(c->q, c->msg, c->len, true, -1) :
			mpq_put(c->q, "x", 1, true, -1);
		break;
	case LIB_JOIN:
		c->ret = mpq_join(c->q);
		break;
	}
	return NULL;
}

/* Start @c's call in a new thread: 0 or -errno. */
static inline int lib_call_start(struct lib_call *c)
{
	c->ret = -EINPROGRESS;
	return -pthread_create(&c->thread, NULL, lib_call_run, c);
}

/* Wait for @c's thread to end: 0 or -errno; the call's result is c->ret. */
static inline int lib_call_end(struct lib_call *c)
{
	return -pthread_join(c->thread, NULL);
}

#endif /* MPQ_LIB_TEST_H */
