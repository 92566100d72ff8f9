// SPDX-License-Identifier: GPL-2.0
/*
 * Message sizes: a buffer too small is -EMSGSIZE and the message stays at
 * the head; mpq_get_alloc() sizes its buffer whatever the message; a
 * message over msgsize_max is -EMSGSIZE for the putter.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mpqdev.h>

#include "pattern.h"
#include "harness.h"

FIXTURE(q) {
	mpq_t *q;
};

FIXTURE_SETUP(q)
{
	self->q = mpq_queue_new(0);
	ASSERT_NE(NULL, self->q);
}

FIXTURE_TEARDOWN(q)
{
	mpq_free(self->q);
}

TEST_F(q, buffer_too_small_keeps_message)
{
	char small[3], big[16];

	ASSERT_EQ(0, mpq_put_nowait(self->q, "hello", 5));
	ASSERT_EQ(0, mpq_put_nowait(self->q, "x", 1));
	EXPECT_EQ(-EMSGSIZE, mpq_get_nowait(self->q, small, sizeof(small)));
	EXPECT_EQ(-EMSGSIZE, mpq_get(self->q, small, sizeof(small), true, -1));
	EXPECT_EQ(-EMSGSIZE, mpq_get(self->q, small, 0, true, 1.0));
	EXPECT_EQ(2, mpq_qsize(self->q));
	/* Still first in line. */
	EXPECT_EQ(5, mpq_get_nowait(self->q, big, sizeof(big)));
	EXPECT_EQ(0, memcmp(big, "hello", 5));
	EXPECT_EQ(1, mpq_get_nowait(self->q, small, sizeof(small)));
}

TEST_F(q, exact_fit)
{
	char buf[5];

	ASSERT_EQ(0, mpq_put_nowait(self->q, "hello", 5));
	EXPECT_EQ(5, mpq_get_nowait(self->q, buf, sizeof(buf)));
}

TEST_F(q, get_alloc_sizes)
{
	const size_t sizes[] = { 1, 100, 4095, 4096, 4097, 100000,
				 MPQ_DEFAULT_MSGSIZE_MAX };
	char *msg = malloc(MPQ_DEFAULT_MSGSIZE_MAX);
	void *item;
	size_t i;

	ASSERT_NE(NULL, msg);
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		pattern_fill(msg, sizes[i], i);
		ASSERT_EQ(0, mpq_put_nowait(self->q, msg, sizes[i]));
	}
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		pattern_fill(msg, sizes[i], i);
		item = NULL;
		ASSERT_EQ((ssize_t)sizes[i],
			  mpq_get_alloc(self->q, &item, false, -1));
		ASSERT_NE(NULL, item);
		EXPECT_EQ(0, memcmp(msg, item, sizes[i]));
		/* NUL-terminated for convenience, not counted. */
		EXPECT_EQ('\0', ((char *)item)[sizes[i]]);
		free(item);
	}
	free(msg);
}

TEST_F(q, get_alloc_empty)
{
	void *item = (void *)1;

	EXPECT_EQ(-EAGAIN, mpq_get_alloc(self->q, &item, false, -1));
	EXPECT_EQ(NULL, item);
	EXPECT_EQ(-EINVAL, mpq_get_alloc(self->q, NULL, false, -1));
}

TEST_F(q, put_over_msgsize_max)
{
	size_t len = MPQ_DEFAULT_MSGSIZE_MAX + 1;
	char *msg = calloc(1, len);

	ASSERT_NE(NULL, msg);
	EXPECT_EQ(-EMSGSIZE, mpq_put_nowait(self->q, msg, len));
	EXPECT_EQ(-EMSGSIZE, mpq_put(self->q, msg, len, true, -1));
	EXPECT_EQ(0, mpq_put(self->q, msg, len - 1, true, -1));
	EXPECT_EQ(1, mpq_qsize(self->q));
	free(msg);
}

TEST(msgsize_max_attribute)
{
	const struct mpq_attr attr = { .msgsize_max = 100 };
	char name[64], msg[101] = { 0 };
	struct mpq_stat st;
	mpq_t *q;

	snprintf(name, sizeof(name), "libtest-%d-msgsize", getpid());
	q = mpq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
	ASSERT_NE(NULL, q);
	ASSERT_EQ(0, mpq_unlink(name));
	ASSERT_EQ(0, mpq_stat(q, &st));
	EXPECT_EQ(100ULL, st.msgsize_max);
	EXPECT_EQ(-EMSGSIZE, mpq_put_nowait(q, msg, 101));
	EXPECT_EQ(0, mpq_put_nowait(q, msg, 100));
	mpq_free(q);
}

TEST_HARNESS_MAIN
