// SPDX-License-Identifier: GPL-2.0
/*
 * mpq_queue_new(), mpq_joinable_new(), mpq_fileno(), mpq_free(): what an
 * anonymous queue handle is, and what a plain Queue lacks.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <mpqdev.h>

#include "harness.h"

TEST(queue_new_defaults)
{
	struct mpq_stat st;
	mpq_t *q = mpq_queue_new(0);
	int fd;

	ASSERT_NE(NULL, q);
	fd = mpq_fileno(q);
	ASSERT_LE(0, fd);
	/* Readable and writable, not inherited by exec (PEP 446). */
	EXPECT_EQ(O_RDWR, fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK));
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(0, mpq_stat(q, &st));
	EXPECT_EQ(0ULL, st.maxsize);
	EXPECT_EQ(MPQ_DEFAULT_MSGSIZE_MAX, st.msgsize_max);
	EXPECT_EQ(MPQ_DEFAULT_MAXBYTES, st.maxbytes);
	EXPECT_EQ((__u32)MPQ_STATE_OPEN, st.state);
	mpq_free(q);
}

TEST(maxsize)
{
	struct mpq_stat st;
	mpq_t *q;

	q = mpq_queue_new(7);
	ASSERT_NE(NULL, q);
	ASSERT_EQ(0, mpq_stat(q, &st));
	EXPECT_EQ(7ULL, st.maxsize);
	mpq_free(q);

	/* Python: maxsize <= 0 means no limit. */
	q = mpq_joinable_new(-5);
	ASSERT_NE(NULL, q);
	ASSERT_EQ(0, mpq_stat(q, &st));
	EXPECT_EQ(0ULL, st.maxsize);
	mpq_free(q);
}

TEST(fifo)
{
	const char *items[] = { "one", "two", "three", "four" };
	mpq_t *q = mpq_queue_new(0);
	char buf[16];
	size_t i;

	ASSERT_NE(NULL, q);
	for (i = 0; i < ARRAY_SIZE(items); i++)
		ASSERT_EQ(0, mpq_put(q, items[i], strlen(items[i]), true, -1));
	for (i = 0; i < ARRAY_SIZE(items); i++) {
		memset(buf, 0, sizeof(buf));
		ASSERT_EQ((ssize_t)strlen(items[i]),
			  mpq_get(q, buf, sizeof(buf), true, -1));
		EXPECT_STREQ(items[i], buf);
	}
	mpq_free(q);
}

TEST(handles_are_independent_queues)
{
	mpq_t *a = mpq_queue_new(0), *b = mpq_queue_new(0);
	char buf[4];

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	ASSERT_EQ(0, mpq_put_nowait(a, "x", 1));
	EXPECT_EQ(-EAGAIN, mpq_get_nowait(b, buf, sizeof(buf)));
	EXPECT_EQ(1, mpq_get_nowait(a, buf, sizeof(buf)));
	mpq_free(a);
	mpq_free(b);
}

/* Python's Queue has no task_done()/join(): only JoinableQueue does. */
TEST(queue_has_no_task_accounting)
{
	mpq_t *q = mpq_queue_new(0);
	char buf[4];

	ASSERT_NE(NULL, q);
	ASSERT_EQ(0, mpq_put_nowait(q, "x", 1));
	ASSERT_EQ(1, mpq_get_nowait(q, buf, sizeof(buf)));
	EXPECT_EQ(-EOPNOTSUPP, mpq_task_done(q));
	EXPECT_EQ(-EOPNOTSUPP, mpq_task_done_many(q, 1));
	EXPECT_EQ(-EOPNOTSUPP, mpq_join(q));
	EXPECT_EQ(-EOPNOTSUPP, mpq_join_timeout(q, 0));
	mpq_free(q);
}

TEST(joinable_has_task_accounting)
{
	mpq_t *q = mpq_joinable_new(0);
	char buf[4];

	ASSERT_NE(NULL, q);
	ASSERT_EQ(0, mpq_put_nowait(q, "x", 1));
	ASSERT_EQ(1, mpq_get_nowait(q, buf, sizeof(buf)));
	EXPECT_EQ(0, mpq_task_done(q));
	EXPECT_EQ(0, mpq_join(q));
	mpq_free(q);
}

TEST(free_closes_descriptor)
{
	mpq_t *q = mpq_queue_new(0);
	int fd;

	ASSERT_NE(NULL, q);
	fd = mpq_fileno(q);
	ASSERT_LE(0, fd);
	mpq_free(q);
	EXPECT_EQ(-1, fcntl(fd, F_GETFD));
	EXPECT_EQ(EBADF, errno);
	mpq_free(NULL);		/* like free(NULL) */
}

TEST(null_handle)
{
	char buf[4];

	EXPECT_EQ(-EINVAL, mpq_put_nowait(NULL, "x", 1));
	EXPECT_EQ(-EINVAL, mpq_get_nowait(NULL, buf, sizeof(buf)));
	EXPECT_EQ(-EINVAL, mpq_qsize(NULL));
	EXPECT_EQ(-EINVAL, mpq_close(NULL));
	EXPECT_EQ(-EINVAL, mpq_fileno(NULL));
}

TEST_HARNESS_MAIN
