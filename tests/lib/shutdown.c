// SPDX-License-Identifier: GPL-2.0
/*
 * mpq_shutdown(): Python's ShutDown is -EPIPE. Puts fail at once, gets
 * drain what is queued and then fail, every waiter wakes; "immediate"
 * discards the queue and settles the unfinished count.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include <mpqdev.h>

/*
 * The 6.1 harness has unused parameters, and prints compared pointers as
 * integers (a warning with -m32); -Wextra -Werror is on.
 */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wpointer-to-int-cast"
#include "kselftest_harness.h"

FIXTURE(q) {
	mpq_t *q;
	char buf[16];
};

FIXTURE_SETUP(q)
{
	self->q = mpq_joinable_new(2);
	ASSERT_NE(NULL, self->q);
}

FIXTURE_TEARDOWN(q)
{
	mpq_free(self->q);
}

/* Also proves there is no SIGPIPE: its default action would kill us. */
TEST_F(q, put_fails)
{
	struct mpq_msg m = { .buf = "x", .len = 1 };

	ASSERT_EQ(0, mpq_shutdown(self->q, false));
	EXPECT_EQ(-EPIPE, mpq_put(self->q, "x", 1, true, -1));
	EXPECT_EQ(-EPIPE, mpq_put_nowait(self->q, "x", 1));
	EXPECT_EQ(-EPIPE, mpq_put_many(self->q, &m, 1, true, -1));
	EXPECT_EQ(0, mpq_qsize(self->q));
}

TEST_F(q, get_drains_then_fails)
{
	struct mpq_msg m = { .buf = self->buf, .len = sizeof(self->buf) };
	void *item = (void *)1;

	ASSERT_EQ(0, mpq_put_nowait(self->q, "a", 1));
	ASSERT_EQ(0, mpq_put_nowait(self->q, "b", 1));
	ASSERT_EQ(0, mpq_shutdown(self->q, false));
	EXPECT_EQ(1, mpq_get(self->q, self->buf, sizeof(self->buf), true, -1));
	EXPECT_EQ('a', self->buf[0]);
	EXPECT_EQ(1, mpq_get_nowait(self->q, self->buf, sizeof(self->buf)));
	EXPECT_EQ('b', self->buf[0]);
	/* End of stream, whether blocking or not: never Empty. */
	EXPECT_EQ(-EPIPE, mpq_get(self->q, self->buf, sizeof(self->buf),
				  true, -1));
	EXPECT_EQ(-EPIPE, mpq_get_nowait(self->q, self->buf,
					 sizeof(self->buf)));
	EXPECT_EQ(-EPIPE, mpq_get(self->q, self->buf, sizeof(self->buf),
				  true, 0.1));
	EXPECT_EQ(-EPIPE, mpq_get_alloc(self->q, &item, true, -1));
	EXPECT_EQ(NULL, item);
	EXPECT_EQ(-EPIPE, mpq_get_many(self->q, &m, 1, true, -1));
	EXPECT_TRUE(mpq_empty(self->q));
}

TEST_F(q, idempotent)
{
	struct mpq_stat st;

	EXPECT_EQ(0, mpq_shutdown(self->q, false));
	EXPECT_EQ(0, mpq_shutdown(self->q, false));
	ASSERT_EQ(0, mpq_stat(self->q, &st));
	EXPECT_EQ((__u32)MPQ_STATE_SHUTDOWN, st.state);
	EXPECT_EQ(0, mpq_shutdown(self->q, true));
	ASSERT_EQ(0, mpq_stat(self->q, &st));
	EXPECT_EQ((__u32)MPQ_STATE_IMMEDIATE, st.state);
}

TEST_F(q, immediate_discards)
{
	struct mpq_stat st;

	ASSERT_EQ(0, mpq_put_nowait(self->q, "a", 1));
	ASSERT_EQ(0, mpq_put_nowait(self->q, "b", 1));
	ASSERT_EQ(1, mpq_get_nowait(self->q, self->buf, sizeof(self->buf)));
	ASSERT_EQ(0, mpq_shutdown(self->q, true));
	ASSERT_EQ(0, mpq_stat(self->q, &st));
	EXPECT_EQ(0ULL, st.qsize);
	EXPECT_EQ(0ULL, st.bytes);
	/* "b" was discarded, "a" was gotten but is not done yet. */
	EXPECT_EQ(1ULL, st.discarded);
	EXPECT_EQ(1ULL, st.unfinished);
	EXPECT_EQ(st.total_puts, st.total_gets + st.qsize + st.discarded);
	EXPECT_EQ(-EPIPE, mpq_get_nowait(self->q, self->buf,
					 sizeof(self->buf)));
	EXPECT_EQ(0, mpq_task_done(self->q));
	EXPECT_EQ(0, mpq_join_timeout(self->q, 5));
}

struct waiter {
	pthread_t t;
	mpq_t *q;
	long ret;
};

static void *blocked_get(void *arg)
{
	struct waiter *w = arg;
	char buf[8];

	w->ret = mpq_get(w->q, buf, sizeof(buf), true, -1);
	return NULL;
}

static void *blocked_put(void *arg)
{
	struct waiter *w = arg;

	w->ret = mpq_put(w->q, "x", 1, true, -1);
	return NULL;
}

static void *blocked_join(void *arg)
{
	struct waiter *w = arg;

	w->ret = mpq_join(w->q);
	return NULL;
}

/* Wait until the kernel counts n tasks blocked in get, put or join. */
static bool wait_blocked(mpq_t *q, int what, unsigned int n)
{
	struct mpq_stat st;
	int i;

	for (i = 0; i < 1000; i++) {
		if (mpq_stat(q, &st))
			return false;
		if ((what == 'g' ? st.getters : what == 'p' ? st.putters :
		     st.joiners) == n)
			return true;
		usleep(10000);
	}
	return false;
}

TEST_F(q, wakes_all_getters)
{
	struct waiter w[3];
	int i;

	for (i = 0; i < 3; i++) {
		w[i].q = self->q;
		ASSERT_EQ(0, pthread_create(&w[i].t, NULL, blocked_get, &w[i]));
	}
	ASSERT_TRUE(wait_blocked(self->q, 'g', 3));
	ASSERT_EQ(0, mpq_shutdown(self->q, false));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, pthread_join(w[i].t, NULL));
		EXPECT_EQ(-EPIPE, w[i].ret);
	}
}

TEST_F(q, wakes_all_putters)
{
	struct waiter w[3];
	int i;

	ASSERT_EQ(0, mpq_put_nowait(self->q, "a", 1));
	ASSERT_EQ(0, mpq_put_nowait(self->q, "b", 1));
	for (i = 0; i < 3; i++) {
		w[i].q = self->q;
		ASSERT_EQ(0, pthread_create(&w[i].t, NULL, blocked_put, &w[i]));
	}
	ASSERT_TRUE(wait_blocked(self->q, 'p', 3));
	ASSERT_EQ(0, mpq_shutdown(self->q, false));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, pthread_join(w[i].t, NULL));
		EXPECT_EQ(-EPIPE, w[i].ret);
	}
	/* What was queued before is still there to drain. */
	EXPECT_EQ(2, mpq_qsize(self->q));
}

/* Discarding the only unfinished items lets a joiner go. */
TEST_F(q, immediate_releases_join)
{
	struct waiter w = { .q = self->q };

	ASSERT_EQ(0, mpq_put_nowait(self->q, "a", 1));
	ASSERT_EQ(0, mpq_put_nowait(self->q, "b", 1));
	ASSERT_EQ(0, pthread_create(&w.t, NULL, blocked_join, &w));
	ASSERT_TRUE(wait_blocked(self->q, 'j', 1));
	ASSERT_EQ(0, mpq_shutdown(self->q, true));
	ASSERT_EQ(0, pthread_join(w.t, NULL));
	EXPECT_EQ(0, w.ret);
}

TEST_HARNESS_MAIN
