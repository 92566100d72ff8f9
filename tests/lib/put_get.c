// SPDX-License-Identifier: GPL-2.0
/*
 * mpq_put(), mpq_put_nowait(), mpq_get(), mpq_get_nowait(): one message
 * per call, whole, in order; Empty and Full as -EAGAIN; bad sizes.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "lib_test.h"
#include "harness.h"

FIXTURE(q) {
	mpq_t *q;
};

FIXTURE_SETUP(q)
{
	self->q = mpq_queue_new(2);
	ASSERT_NE(NULL, self->q);
}

FIXTURE_TEARDOWN(q)
{
	mpq_free(self->q);
}

TEST_F(q, get_returns_length)
{
	char buf[64];

	ASSERT_EQ(0, mpq_put(self->q, "hello", 5, true, -1));
	EXPECT_EQ(5, mpq_get(self->q, buf, sizeof(buf), true, -1));
	EXPECT_EQ(0, memcmp(buf, "hello", 5));
}

TEST_F(q, binary_message)
{
	const char msg[] = { 0, 1, '\n', 0, (char)0xff };
	char buf[16];

	ASSERT_EQ(0, mpq_put_nowait(self->q, msg, sizeof(msg)));
	ASSERT_EQ((ssize_t)sizeof(msg),
		  mpq_get_nowait(self->q, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(msg, buf, sizeof(msg)));
}

TEST_F(q, messages_stay_separate)
{
	char buf[64];

	ASSERT_EQ(0, mpq_put_nowait(self->q, "ab", 2));
	ASSERT_EQ(0, mpq_put_nowait(self->q, "cde", 3));
	EXPECT_EQ(2, mpq_get_nowait(self->q, buf, sizeof(buf)));
	EXPECT_EQ(3, mpq_get_nowait(self->q, buf, sizeof(buf)));
}

/* queue.Empty */
TEST_F(q, get_nowait_empty)
{
	char buf[4];

	EXPECT_EQ(-EAGAIN, mpq_get_nowait(self->q, buf, sizeof(buf)));
	EXPECT_EQ(-EAGAIN, mpq_get(self->q, buf, sizeof(buf), false, -1));
	/* Python ignores timeout when block is false. */
	EXPECT_EQ(-EAGAIN, mpq_get(self->q, buf, sizeof(buf), false, 5.0));
}

/* queue.Full */
TEST_F(q, put_nowait_full)
{
	char buf[4];

	ASSERT_EQ(0, mpq_put_nowait(self->q, "1", 1));
	ASSERT_EQ(0, mpq_put_nowait(self->q, "2", 1));
	EXPECT_EQ(-EAGAIN, mpq_put_nowait(self->q, "3", 1));
	EXPECT_EQ(-EAGAIN, mpq_put(self->q, "3", 1, false, 5.0));
	EXPECT_EQ(2, mpq_qsize(self->q));
	ASSERT_EQ(1, mpq_get_nowait(self->q, buf, sizeof(buf)));
	EXPECT_EQ('1', buf[0]);
	EXPECT_EQ(0, mpq_put_nowait(self->q, "3", 1));
}

/* A message has at least one byte. */
TEST_F(q, empty_message)
{
	EXPECT_EQ(-EINVAL, mpq_put_nowait(self->q, "", 0));
	EXPECT_EQ(0, mpq_qsize(self->q));
}

/* A blocking put into a full queue finishes when a getter makes room. */
TEST_F(q, put_blocks_while_full)
{
	struct lib_call get = GET_WHEN_PUTTER(self->q);

	ASSERT_EQ(0, mpq_put_nowait(self->q, "1", 1));
	ASSERT_EQ(0, mpq_put_nowait(self->q, "2", 1));
	ASSERT_EQ(0, lib_call_start(&get));
	EXPECT_EQ(0, mpq_put(self->q, "3", 1, true, -1));
	ASSERT_EQ(0, lib_call_end(&get));
	EXPECT_EQ(1, get.ret);
	EXPECT_EQ(2, mpq_qsize(self->q));
}

TEST_F(q, get_blocks_while_empty)
{
	struct lib_call put = PUT_WHEN_GETTER(self->q, "late");
	char buf[8];

	ASSERT_EQ(0, lib_call_start(&put));
	EXPECT_EQ(4, mpq_get(self->q, buf, sizeof(buf), true, -1));
	EXPECT_EQ(0, memcmp(buf, "late", 4));
	ASSERT_EQ(0, lib_call_end(&put));
	EXPECT_EQ(0L, put.ret);
}

TEST_HARNESS_MAIN
