// SPDX-License-Identifier: GPL-2.0
/*
 * Timeouts of mpq_put(), mpq_get(), mpq_join_timeout(): -ETIMEDOUT once the
 * time has passed, never early; 0 means "try once"; negative, infinite and
 * absurdly large timeouts mean "wait for ever"; NaN is -EINVAL.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "lib_test.h"
#include "harness.h"

/* Under TCG on a busy host a wakeup can be seconds late; never early. */
#define LATE_MS		10000

FIXTURE(q) {
	mpq_t *q;
	char buf[16];
};

FIXTURE_SETUP(q)
{
	self->q = mpq_joinable_new(1);
	ASSERT_NE(NULL, self->q);
}

FIXTURE_TEARDOWN(q)
{
	mpq_free(self->q);
}

TEST_F(q, get_times_out)
{
	long t0 = now_ms(), ms;

	EXPECT_EQ(-ETIMEDOUT, mpq_get(self->q, self->buf, sizeof(self->buf),
				      true, 0.3));
	ms = now_ms() - t0;
	EXPECT_LE(299, ms);
	EXPECT_GT(300 + LATE_MS, ms);
}

TEST_F(q, get_alloc_times_out)
{
	void *item = (void *)1;
	long t0 = now_ms(), ms;

	EXPECT_EQ(-ETIMEDOUT, mpq_get_alloc(self->q, &item, true, 0.2));
	EXPECT_EQ(NULL, item);
	ms = now_ms() - t0;
	EXPECT_LE(199, ms);
	EXPECT_GT(200 + LATE_MS, ms);
}

TEST_F(q, put_times_out)
{
	long t0, ms;

	ASSERT_EQ(0, mpq_put_nowait(self->q, "a", 1));
	t0 = now_ms();
	EXPECT_EQ(-ETIMEDOUT, mpq_put(self->q, "b", 1, true, 0.3));
	ms = now_ms() - t0;
	EXPECT_LE(299, ms);
	EXPECT_GT(300 + LATE_MS, ms);
	EXPECT_EQ(1, mpq_qsize(self->q));
}

TEST_F(q, join_times_out)
{
	long t0, ms;

	ASSERT_EQ(0, mpq_put_nowait(self->q, "a", 1));
	t0 = now_ms();
	EXPECT_EQ(-ETIMEDOUT, mpq_join_timeout(self->q, 0.3));
	ms = now_ms() - t0;
	EXPECT_LE(299, ms);
	EXPECT_GT(300 + LATE_MS, ms);
}

/* A timeout of 0 still takes what is there, else fails at once. */
TEST_F(q, zero_timeout)
{
	EXPECT_EQ(-ETIMEDOUT, mpq_get(self->q, self->buf, sizeof(self->buf),
				      true, 0));
	EXPECT_EQ(0, mpq_put(self->q, "a", 1, true, 0));
	EXPECT_EQ(-ETIMEDOUT, mpq_put(self->q, "b", 1, true, 0));
	EXPECT_EQ(-ETIMEDOUT, mpq_join_timeout(self->q, 0));
	EXPECT_EQ(1, mpq_get(self->q, self->buf, sizeof(self->buf), true, 0));
	EXPECT_EQ(0, mpq_task_done(self->q));
	EXPECT_EQ(0, mpq_join_timeout(self->q, 0));
}

TEST_F(q, nan_timeout)
{
	void *item;

	EXPECT_EQ(-EINVAL, mpq_get(self->q, self->buf, sizeof(self->buf),
				   true, NAN));
	EXPECT_EQ(-EINVAL, mpq_put(self->q, "a", 1, true, NAN));
	EXPECT_EQ(-EINVAL, mpq_get_alloc(self->q, &item, true, NAN));
	EXPECT_EQ(-EINVAL, mpq_join_timeout(self->q, NAN));
	EXPECT_EQ(0, mpq_qsize(self->q));
}

/* Negative, infinite and too large timeouts all mean no timeout. */
TEST_F(q, no_timeout)
{
	const double timeouts[] = { -1, -0.001, INFINITY, 1e300 };
	struct lib_call put = PUT_WHEN_GETTER(self->q, "late");
	size_t i;

	for (i = 0; i < ARRAY_SIZE(timeouts); i++) {
		ASSERT_EQ(0, lib_call_start(&put));
		EXPECT_EQ(4, mpq_get(self->q, self->buf, sizeof(self->buf),
				     true, timeouts[i]));
		ASSERT_EQ(0, lib_call_end(&put));
		EXPECT_EQ(0L, put.ret);
	}
}

/* A wait with a long timeout ends as soon as the message is there. */
TEST_F(q, message_before_timeout)
{
	struct lib_call put = PUT_WHEN_GETTER(self->q, "late");
	long t0 = now_ms();

	ASSERT_EQ(0, lib_call_start(&put));
	EXPECT_EQ(4, mpq_get(self->q, self->buf, sizeof(self->buf), true,
			     30.0));
	EXPECT_GT(30000, now_ms() - t0);
	ASSERT_EQ(0, lib_call_end(&put));
	EXPECT_EQ(0L, put.ret);
}

TEST_HARNESS_MAIN
