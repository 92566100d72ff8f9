// SPDX-License-Identifier: GPL-2.0
/*
 * Handles across fork(): the child's copy works on the same queue, a put
 * is complete when it returns (the child may exit at once), task
 * accounting spans processes, and closing in one process leaves the
 * other's handle alone, even with calls in flight at fork time.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib_test.h"
#include "harness.h"

FIXTURE(q) {
	mpq_t *q;
	char buf[32];
};

FIXTURE_SETUP(q)
{
	self->q = mpq_joinable_new(0);
	ASSERT_NE(NULL, self->q);
}

FIXTURE_TEARDOWN(q)
{
	mpq_free(self->q);
}

/* No feeder thread: the item is in the queue before the child exits. */
TEST_F(q, child_puts_and_exits)
{
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(mpq_put(self->q, "from child", 10, true, -1) ? 1 : 0);
	ASSERT_EQ(0, reap(pid));
	EXPECT_EQ(10, mpq_get_nowait(self->q, self->buf, sizeof(self->buf)));
	EXPECT_EQ(0, memcmp(self->buf, "from child", 10));
}

TEST_F(q, child_consumes_parent_joins)
{
	pid_t pid;
	int i;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, mpq_put_nowait(self->q, "job", 3));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		for (i = 0; i < 3; i++) {
			if (mpq_get(self->q, self->buf, sizeof(self->buf),
				    true, 10) != 3 || mpq_task_done(self->q))
				_exit(1);
		}
		_exit(0);
	}
	EXPECT_EQ(0, mpq_join_timeout(self->q, 30));
	EXPECT_EQ(0, reap(pid));
	EXPECT_TRUE(mpq_empty(self->q));
}

/* Blocking in both directions between two processes. */
TEST_F(q, ping_pong)
{
	mpq_t *back = mpq_queue_new(1);
	pid_t pid;
	int i;

	ASSERT_NE(NULL, back);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		for (i = 0; i < 100; i++) {
			ssize_t n = mpq_get(self->q, self->buf,
					    sizeof(self->buf), true, 10);

			if (n <= 0 || mpq_put(back, self->buf, (size_t)n,
					      true, 10))
				_exit(1);
		}
		_exit(0);
	}
	for (i = 0; i < 100; i++) {
		int len = snprintf(self->buf, sizeof(self->buf), "%d", i);
		char reply[32];

		ASSERT_EQ(0, mpq_put(self->q, self->buf, (size_t)len, true, 10));
		ASSERT_EQ(len, mpq_get(back, reply, sizeof(reply), true, 10));
		ASSERT_EQ(0, memcmp(self->buf, reply, (size_t)len));
	}
	EXPECT_EQ(0, reap(pid));
	mpq_free(back);
}

TEST_F(q, close_in_child_only)
{
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (mpq_close(self->q) ||
		    mpq_put_nowait(self->q, "x", 1) != -EBADF)
			_exit(1);
		_exit(0);
	}
	ASSERT_EQ(0, reap(pid));
	EXPECT_EQ(0, mpq_put_nowait(self->q, "x", 1));
	EXPECT_EQ(1, mpq_qsize(self->q));
}

/*
 * fork() while another thread waits in the handle: the child has no
 * such thread, and its copy of the handle must not behave as if it had.
 */
TEST_F(q, fork_during_call)
{
	struct lib_call get = { .q = self->q, .op = LIB_GET };
	struct mpq_stat st;
	pid_t pid;

	ASSERT_EQ(0, lib_call_start(&get));
	ASSERT_EQ(0, lib_wait_blocked(self->q, ST_GETTERS, 1));
	ASSERT_EQ(0, mpq_stat(self->q, &st));
	ASSERT_EQ(1U, st.getters);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = mpq_fileno(self->q);

		/* Feeds the parent's waiting thread, then closes for real. */
		if (mpq_put(self->q, "hi", 2, true, 10) || mpq_close(self->q) ||
		    fcntl(fd, F_GETFD) < 0 || mpq_fileno(self->q) != -EBADF)
			_exit(1);
		mpq_free(self->q);
		_exit(fcntl(fd, F_GETFD) < 0 ? 0 : 2);
	}
	EXPECT_EQ(0, reap(pid));
	ASSERT_EQ(0, lib_call_end(&get));
	EXPECT_EQ(2L, get.ret);
}

/* A named queue's handle is shared the same way. */
TEST(named_inherited)
{
	char name[64], buf[8];
	mpq_t *q;
	pid_t pid;

	snprintf(name, sizeof(name), "libtest-%d-fork", getpid());
	q = mpq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
	ASSERT_NE(NULL, q);
	ASSERT_EQ(0, mpq_unlink(name));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(mpq_put(q, "named", 5, true, -1) ? 1 : 0);
	ASSERT_EQ(0, reap(pid));
	EXPECT_EQ(5, mpq_get(q, buf, sizeof(buf), true, 10));
	mpq_free(q);
}

TEST_HARNESS_MAIN
