// SPDX-License-Identifier: GPL-2.0
/*
 * Task accounting: every put adds an unfinished task, task_done(n) takes n
 * off (EINVAL and no change past zero, as Python's ValueError), and join
 * returns when the count reaches zero: at the last task_done, not before.
 */
#include "mpq_test.h"
#include "harness.h"

FIXTURE(jq) {
	int fd;
	long *ret;
};

FIXTURE_SETUP(jq)
{
	self->ret = shared_alloc(4 * sizeof(long));
	ASSERT_TRUE(self->ret != NULL);
	self->fd = mpq_new(0, 0, 0, 0);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(jq)
{
	close(self->fd);
	munmap(self->ret, 4 * sizeof(long));
}

static pid_t spawn_joiner(FIXTURE_DATA(jq) *self, int i)
{
	pid_t pid = spawn();

	if (pid == 0) {
		self->ret[i] = q_join(self->fd, NULL);
		_exit(0);
	}
	return pid;
}

static __u64 unfinished(int fd)
{
	struct mpq_stat st;

	return q_stat(fd, &st) ? ~0ULL : st.unfinished;
}

TEST_F(jq, nothing_unfinished)
{
	char buf[8];

	EXPECT_EQ(0, q_join(self->fd, NULL));
	ASSERT_EQ(1L, q_write(self->fd, "x", 1));
	ASSERT_EQ(1L, q_read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, q_task_done(self->fd, 1));
	EXPECT_EQ(0, q_join_soon(self->fd));
	EXPECT_EQ(0, q_join_soon(self->fd));
}

TEST_F(jq, returns_at_last_task_done)
{
	struct mpq_stat st;
	char buf[8];
	pid_t pid;
	int i;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(1L, q_write(self->fd, "t", 1));
	pid = spawn_joiner(self, 0);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, q_wait_blocked(self->fd, ST_JOINERS, 1, pid));

	/* Getting is not finishing: the queue is empty, the tasks are not. */
	for (i = 0; i < 3; i++)
		ASSERT_EQ(1L, q_read(self->fd, buf, sizeof(buf)));
	for (i = 0; i < 2; i++) {
		sleep_ms(50);
		ASSERT_FALSE(has_exited(pid));
		ASSERT_EQ(0, q_stat(self->fd, &st));
		ASSERT_EQ(1U, st.joiners);
		ASSERT_EQ((__u64)(3 - i), st.unfinished);
		ASSERT_EQ(0, q_task_done(self->fd, 1));
	}
	sleep_ms(50);
	ASSERT_FALSE(has_exited(pid));

	ASSERT_EQ(0, q_task_done(self->fd, 1));
	EXPECT_EQ(0, reap_timeout(pid));
	EXPECT_EQ(0L, self->ret[0]);
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(0ULL, st.unfinished);
	EXPECT_EQ(0U, st.joiners);
}

TEST_F(jq, new_put_keeps_joiner_waiting)
{
	char buf[8];
	pid_t pid;

	ASSERT_EQ(1L, q_write(self->fd, "a", 1));
	pid = spawn_joiner(self, 0);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, q_wait_blocked(self->fd, ST_JOINERS, 1, pid));

	ASSERT_EQ(1L, q_write(self->fd, "b", 1));
	ASSERT_EQ(1L, q_read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, q_task_done(self->fd, 1));
	sleep_ms(100);
	ASSERT_FALSE(has_exited(pid));

	ASSERT_EQ(1L, q_read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, q_task_done(self->fd, 1));
	EXPECT_EQ(0, reap_timeout(pid));
	EXPECT_EQ(0L, self->ret[0]);
}

TEST_F(jq, all_joiners_wake)
{
	pid_t pid[3];
	int i;

	ASSERT_EQ(1L, q_write(self->fd, "a", 1));
	for (i = 0; i < 3; i++) {
		pid[i] = spawn_joiner(self, i);
		ASSERT_LE(0, pid[i]);
	}
	ASSERT_EQ(0, q_wait_stat(self->fd, ST_JOINERS, 3));
	/* task_done without a get first is allowed, as in Python. */
	ASSERT_EQ(0, q_task_done(self->fd, 1));
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, reap_timeout(pid[i]));
		EXPECT_EQ(0L, self->ret[i]);
	}
}

TEST_F(jq, task_done_count)
{
	struct mpq_stat st;
	int i;

	for (i = 0; i < 5; i++)
		ASSERT_EQ(1L, q_write(self->fd, "t", 1));
	ASSERT_EQ(0, q_task_done(self->fd, 3));
	EXPECT_EQ(2ULL, unfinished(self->fd));
	ASSERT_EQ(0, q_task_done(self->fd, 2));
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(0ULL, st.unfinished);
	/* task_done does not touch the messages. */
	EXPECT_EQ(5ULL, st.qsize);
	EXPECT_EQ(0, q_join_soon(self->fd));
}

TEST_F(jq, task_done_too_often)
{
	EXPECT_EQ(-EINVAL, q_task_done(self->fd, 1));
	EXPECT_EQ(0ULL, unfinished(self->fd));

	ASSERT_EQ(1L, q_write(self->fd, "a", 1));
	ASSERT_EQ(1L, q_write(self->fd, "b", 1));
	EXPECT_EQ(-EINVAL, q_task_done(self->fd, 3));
	EXPECT_EQ(2ULL, unfinished(self->fd));
	EXPECT_EQ(-EINVAL, q_task_done(self->fd, 0));
	EXPECT_EQ(2ULL, unfinished(self->fd));
	EXPECT_EQ(-EINVAL, q_task_done(self->fd, ~0ULL));
	EXPECT_EQ(-EINVAL, q_task_done(self->fd, 1ULL << 32 | 1));
	EXPECT_EQ(2ULL, unfinished(self->fd));

	ASSERT_EQ(0, q_task_done(self->fd, 2));
	EXPECT_EQ(-EINVAL, q_task_done(self->fd, 1));
	EXPECT_EQ(0ULL, unfinished(self->fd));
}

TEST_F(jq, join_flags)
{
	struct mpq_join j = {};

	/* Only MPQ_XFER_TIMEOUT means something to join. */
	j.flags = MPQ_XFER_NONBLOCK;
	EXPECT_EQ(-EINVAL, sys_ret(ioctl(self->fd, MPQ_IOC_JOIN, &j)));
	j.flags = 1U << 7;
	EXPECT_EQ(-EINVAL, sys_ret(ioctl(self->fd, MPQ_IOC_JOIN, &j)));
	j.flags = 0;
	EXPECT_EQ(0, sys_ret(ioctl(self->fd, MPQ_IOC_JOIN, &j)));
}

TEST_HARNESS_MAIN
