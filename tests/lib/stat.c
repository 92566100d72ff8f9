// SPDX-License-Identifier: GPL-2.0
/*
 * mpq_qsize(), mpq_empty(), mpq_full(), mpq_stat(): exact at the moment of
 * the call; full() means a 1-byte put would block, by count or by bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "lib_test.h"
#include "harness.h"

TEST(full_by_count)
{
	mpq_t *q = mpq_queue_new(2);
	char buf[4];

	ASSERT_NE(NULL, q);
	EXPECT_EQ(0, mpq_qsize(q));
	EXPECT_TRUE(mpq_empty(q));
	EXPECT_FALSE(mpq_full(q));
	ASSERT_EQ(0, mpq_put_nowait(q, "a", 1));
	EXPECT_EQ(1, mpq_qsize(q));
	EXPECT_FALSE(mpq_empty(q));
	EXPECT_FALSE(mpq_full(q));
	ASSERT_EQ(0, mpq_put_nowait(q, "b", 1));
	EXPECT_EQ(2, mpq_qsize(q));
	EXPECT_TRUE(mpq_full(q));
	ASSERT_EQ(1, mpq_get_nowait(q, buf, sizeof(buf)));
	EXPECT_FALSE(mpq_full(q));
	mpq_free(q);
}

TEST(unlimited_never_full)
{
	mpq_t *q = mpq_queue_new(0);
	int i;

	ASSERT_NE(NULL, q);
	for (i = 0; i < 1000; i++)
		ASSERT_EQ(0, mpq_put_nowait(q, "a", 1));
	EXPECT_EQ(1000, mpq_qsize(q));
	EXPECT_FALSE(mpq_full(q));
	mpq_free(q);
}

TEST(full_by_bytes)
{
	const struct mpq_attr attr = { .msgsize_max = 10, .maxbytes = 10 };
	char name[64], buf[16];
	mpq_t *q;

	snprintf(name, sizeof(name), "libtest-%d-bytes", getpid());
	q = mpq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
	ASSERT_NE(NULL, q);
	ASSERT_EQ(0, mpq_unlink(name));
	ASSERT_EQ(0, mpq_put_nowait(q, "12345678", 8));
	EXPECT_FALSE(mpq_full(q));	/* 9 bytes would fit */
	EXPECT_EQ(-EAGAIN, mpq_put_nowait(q, "abc", 3));
	ASSERT_EQ(0, mpq_put_nowait(q, "9", 1));
	EXPECT_FALSE(mpq_full(q));
	ASSERT_EQ(0, mpq_put_nowait(q, "0", 1));
	EXPECT_TRUE(mpq_full(q));	/* 10 of 10 bytes */
	EXPECT_EQ(3, mpq_qsize(q));
	ASSERT_EQ(8, mpq_get_nowait(q, buf, sizeof(buf)));
	EXPECT_FALSE(mpq_full(q));
	mpq_free(q);
}

/*
 * A put queues behind a blocked putter even when it would fit: full() says
 * so, as put_nowait() and EPOLLOUT do. maxbytes 100 with 50 queued: a
 * 60-byte put waits, and a 1-byte one would wait behind it.
 */
TEST(full_while_a_putter_waits)
{
	const struct mpq_attr attr = { .msgsize_max = 100, .maxbytes = 100 };
	static const char half[50], big[60];
	struct lib_call put = { .op = LIB_PUT, .msg = big, .len = sizeof(big) };
	char name[64], buf[64];
	struct mpq_stat st;
	mpq_t *q;

	snprintf(name, sizeof(name), "libtest-%d-putter", getpid());
	q = mpq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
	ASSERT_NE(NULL, q);
	ASSERT_EQ(0, mpq_unlink(name));
	ASSERT_EQ(0, mpq_put_nowait(q, half, sizeof(half)));
	EXPECT_FALSE(mpq_full(q));
	put.q = q;
	ASSERT_EQ(0, lib_call_start(&put));
	ASSERT_EQ(0, lib_wait_blocked(q, ST_PUTTERS, 1));
	ASSERT_EQ(0, mpq_stat(q, &st));
	ASSERT_EQ(1U, st.putters);
	EXPECT_TRUE(mpq_full(q));
	EXPECT_EQ(-EAGAIN, mpq_put_nowait(q, "x", 1));
	/* The get lets the putter in; 60 of 100 bytes then leave room. */
	ASSERT_EQ(50, mpq_get_nowait(q, buf, sizeof(buf)));
	ASSERT_EQ(0, lib_call_end(&put));
	EXPECT_EQ(0L, put.ret);
	EXPECT_FALSE(mpq_full(q));
	mpq_free(q);
}

TEST(counters)
{
	mpq_t *q = mpq_joinable_new(0);
	struct mpq_stat st;
	char buf[8];

	ASSERT_NE(NULL, q);
	ASSERT_EQ(0, mpq_put_nowait(q, "abc", 3));
	ASSERT_EQ(0, mpq_put_nowait(q, "de", 2));
	ASSERT_EQ(3, mpq_get_nowait(q, buf, sizeof(buf)));
	ASSERT_EQ(0, mpq_stat(q, &st));
	EXPECT_EQ(1ULL, st.qsize);
	EXPECT_EQ(2ULL, st.bytes);
	EXPECT_EQ(2ULL, st.unfinished);
	EXPECT_EQ(2ULL, st.total_puts);
	EXPECT_EQ(1ULL, st.total_gets);
	EXPECT_EQ(0U, st.getters);
	EXPECT_EQ(0U, st.putters);
	EXPECT_EQ(0U, st.joiners);
	EXPECT_EQ(-EINVAL, mpq_stat(q, NULL));
	mpq_free(q);
}

TEST(counts_waiters)
{
	struct lib_call get = { .q = mpq_queue_new(0), .op = LIB_GET };
	mpq_t *q = get.q;
	struct mpq_stat st;

	ASSERT_NE(NULL, q);
	ASSERT_EQ(0, lib_call_start(&get));
	ASSERT_EQ(0, lib_wait_blocked(q, ST_GETTERS, 1));
	ASSERT_EQ(0, mpq_stat(q, &st));
	EXPECT_EQ(1U, st.getters);
	ASSERT_EQ(0, mpq_put_nowait(q, "x", 1));
	ASSERT_EQ(0, lib_call_end(&get));
	EXPECT_EQ(1L, get.ret);
	ASSERT_EQ(0, mpq_stat(q, &st));
	EXPECT_EQ(0U, st.getters);
	mpq_free(q);
}

/* On error the bool functions return false and set errno. */
TEST(closed_handle)
{
	mpq_t *q = mpq_queue_new(1);
	struct mpq_stat st;

	ASSERT_NE(NULL, q);
	ASSERT_EQ(0, mpq_put_nowait(q, "x", 1));
	ASSERT_EQ(0, mpq_close(q));
	EXPECT_EQ(-EBADF, mpq_qsize(q));
	EXPECT_EQ(-EBADF, mpq_stat(q, &st));
	errno = 0;
	EXPECT_FALSE(mpq_empty(q));
	EXPECT_EQ(EBADF, errno);
	errno = 0;
	EXPECT_FALSE(mpq_full(q));
	EXPECT_EQ(EBADF, errno);
	mpq_free(q);
}

TEST_HARNESS_MAIN
