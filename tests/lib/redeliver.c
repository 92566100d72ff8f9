// SPDX-License-Identifier: GPL-2.0
/*
 * libmpqdev on redelivery queues: MPQ_ATTR_REDELIVER at creation, delivery
 * counts from mpq_get_counted() and mpq_get_many_counted(), mpq_nack(),
 * mpq_info(), and a forked child that gets its own file on first use, so
 * that what it held comes back when it is killed while its parent, which
 * keeps what it took itself, lives on.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mpqdev.h>

#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wpointer-to-int-cast"
#include "kselftest_harness.h"

static const struct mpq_attr redeliver = { .flags = MPQ_ATTR_REDELIVER };

/* Wait until the queue's in-flight count reads @want: 0 or -ETIMEDOUT. */
static int wait_in_flight(mpq_t *q, unsigned long long want)
{
	struct timespec ts = { 0, 1000000 };
	struct mpq_stat st;
	int i;

	for (i = 0; i < 10000; i++) {
		if (mpq_stat(q, &st) == 0 && st.in_flight == want)
			return 0;
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

static int expect_counted(mpq_t *q, const char *s, unsigned int n)
{
	unsigned int deliveries = 0;
	char buf[32];
	ssize_t len = mpq_get_counted(q, buf, sizeof(buf) - 1, false, -1,
				      &deliveries);

	if (len < 0)
		return (int)len;
	buf[len] = '\0';
	return strcmp(buf, s) || deliveries != n ? -EBADMSG : 0;
}

FIXTURE(rq) {
	mpq_t *q;
};

FIXTURE_SETUP(rq)
{
	self->q = mpq_joinable_new_attr(&redeliver);
	ASSERT_NE(NULL, self->q);
}

FIXTURE_TEARDOWN(rq)
{
	mpq_free(self->q);
}

TEST_F(rq, info_says_redeliver)
{
	struct mpq_info info;
	mpq_t *plain = mpq_joinable_new(0);

	ASSERT_EQ(0, mpq_info(self->q, &info));
	EXPECT_EQ(MPQ_CREATE_REDELIVER, info.flags);
	ASSERT_NE(NULL, plain);
	ASSERT_EQ(0, mpq_info(plain, &info));
	EXPECT_EQ(0U, info.flags);
	EXPECT_EQ(-EOPNOTSUPP, mpq_nack(plain));
	EXPECT_EQ(0, mpq_put(plain, "x", 1, true, -1));
	EXPECT_EQ(0, expect_counted(plain, "x", 1));
	mpq_free(plain);
}

TEST_F(rq, nack_and_counts)
{
	struct mpq_msg m[2];
	unsigned int d[2] = { 0, 0 };
	char b0[8], b1[8];

	ASSERT_EQ(0, mpq_put(self->q, "a", 1, true, -1));
	ASSERT_EQ(0, mpq_put(self->q, "b", 1, true, -1));
	EXPECT_EQ(-EINVAL, mpq_nack(self->q));
	ASSERT_EQ(0, expect_counted(self->q, "a", 1));
	ASSERT_EQ(0, mpq_nack(self->q));
	m[0] = (struct mpq_msg){ .buf = b0, .len = sizeof(b0) };
	m[1] = (struct mpq_msg){ .buf = b1, .len = sizeof(b1) };
	ASSERT_EQ(2, mpq_get_many_counted(self->q, m, 2, false, -1, d));
	EXPECT_EQ(0, memcmp(b0, "a", 1));
	EXPECT_EQ(2U, d[0]);
	EXPECT_EQ(1U, d[1]);
	EXPECT_EQ(0, mpq_nack_many(self->q, 2));
	EXPECT_EQ(0, expect_counted(self->q, "a", 3));
	EXPECT_EQ(0, expect_counted(self->q, "b", 2));
	EXPECT_EQ(-EINVAL, mpq_task_done_many(self->q, 3));
	EXPECT_EQ(0, mpq_task_done_many(self->q, 2));
	EXPECT_EQ(0, mpq_join_timeout(self->q, 10));
}

/*
 * The child's first call takes a file of its own, under the same
 * descriptor number; killed with messages in hand, it gives them back.
 */
TEST_F(rq, forked_child_gets_its_own_file)
{
	int fd = mpq_fileno(self->q);
	struct mpq_stat st;
	char buf[8];
	pid_t pid;
	int status;

	ASSERT_EQ(0, mpq_put(self->q, "p", 1, true, -1));
	ASSERT_EQ(0, mpq_put(self->q, "c", 1, true, -1));
	ASSERT_EQ(1, mpq_get(self->q, buf, sizeof(buf), true, -1));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (mpq_get(self->q, buf, sizeof(buf), true, -1) != 1 ||
		    mpq_fileno(self->q) != fd)
			_exit(1);
		for (;;)
			pause();
	}
	ASSERT_EQ(0, wait_in_flight(self->q, 2));
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(0, mpq_stat(self->q, &st));
	EXPECT_EQ(1ULL, st.in_flight);		/* "p", the parent's */
	EXPECT_EQ(1ULL, st.qsize);		/* "c", back */
	EXPECT_EQ(0, expect_counted(self->q, "c", 2));
	EXPECT_EQ(0, mpq_task_done_many(self->q, 2));
	EXPECT_EQ(0, mpq_join_timeout(self->q, 10));
}

/* A child that exits normally after its task done leaves nothing. */
TEST_F(rq, child_acknowledges)
{
	char buf[8];
	pid_t pid;
	int status;

	ASSERT_EQ(0, mpq_put(self->q, "j", 1, true, -1));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(mpq_get(self->q, buf, sizeof(buf), true, 10) == 1 &&
		      mpq_task_done(self->q) == 0 ? 0 : 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, mpq_join_timeout(self->q, 10));
	EXPECT_EQ(0L, mpq_qsize(self->q));
}

TEST(named_with_dead_letter)
{
	char name[64], dlq[64];
	struct mpq_attr a = {
		.flags = MPQ_ATTR_REDELIVER, .max_deliveries = 1,
		.dead_letter = dlq,
	};
	struct mpq_info info;
	mpq_t *q, *d;
	char buf[8];

	snprintf(name, sizeof(name), "mpqt-%d-lrq", (int)getpid());
	snprintf(dlq, sizeof(dlq), "mpqt-%d-ldlq", (int)getpid());
	d = mpq_open(dlq, O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
	ASSERT_NE(NULL, d);
	q = mpq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
	ASSERT_NE(NULL, q);
	ASSERT_EQ(0, mpq_info(q, &info));
	EXPECT_EQ(1U, info.max_deliveries);
	EXPECT_STREQ(dlq, info.dead_letter);
	ASSERT_EQ(0, mpq_put(q, "bad", 3, true, -1));
	ASSERT_EQ(3, mpq_get(q, buf, sizeof(buf), true, -1));
	ASSERT_EQ(0, mpq_nack(q));
	EXPECT_EQ(0, mpq_join_timeout(q, 10));
	EXPECT_EQ(3, mpq_get(d, buf, sizeof(buf), false, -1));
	a.flags = 1U << 5;
	EXPECT_EQ(-EINVAL, mpq_create("mpqt-never", 0600, &a));
	mpq_free(q);
	mpq_free(d);
	EXPECT_EQ(0, mpq_unlink(name));
	EXPECT_EQ(0, mpq_unlink(dlq));
}

TEST_HARNESS_MAIN
