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

#include "lib_test.h"
#include "harness.h"

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

TEST_F(q, wakes_all_getters)
{
	struct lib_call w[3];
	int i;

	for (i = 0; i < 3; i++) {
		w[i] = (struct lib_call){ .q = self->q, .op = LIB_GET };
		ASSERT_EQ(0, lib_call_start(&w[i]));
	}
	ASSERT_EQ(0, lib_wait_blocked(self->q, ST_GETTERS, 3));
	ASSERT_EQ(0, mpq_shutdown(self->q, false));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, lib_call_end(&w[i]));
		EXPECT_EQ(-EPIPE, w[i].ret);
	}
}

TEST_F(q, wakes_all_putters)
{
	struct lib_call w[3];
	int i;

	ASSERT_EQ(0, mpq_put_nowait(self->q, "a", 1));
	ASSERT_EQ(0, mpq_put_nowait(self->q, "b", 1));
	for (i = 0; i < 3; i++) {
		w[i] = (struct lib_call){ .q = self->q, .op = LIB_PUT };
		ASSERT_EQ(0, lib_call_start(&w[i]));
	}
	ASSERT_EQ(0, lib_wait_blocked(self->q, ST_PUTTERS, 3));
	ASSERT_EQ(0, mpq_shutdown(self->q, false));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, lib_call_end(&w[i]));
		EXPECT_EQ(-EPIPE, w[i].ret);
	}
	/* What was queued before is still there to drain. */
	EXPECT_EQ(2, mpq_qsize(self->q));
}

/* Discarding the only unfinished items lets a joiner go. */
TEST_F(q, immediate_releases_join)
{
	struct lib_call w = { .q = self->q, .op = LIB_JOIN };

	ASSERT_EQ(0, mpq_put_nowait(self->q, "a", 1));
	ASSERT_EQ(0, mpq_put_nowait(self->q, "b", 1));
	ASSERT_EQ(0, lib_call_start(&w));
	ASSERT_EQ(0, lib_wait_blocked(self->q, ST_JOINERS, 1));
	ASSERT_EQ(0, mpq_shutdown(self->q, true));
	ASSERT_EQ(0, lib_call_end(&w));
	EXPECT_EQ(0, w.ret);
}

TEST_HARNESS_MAIN
