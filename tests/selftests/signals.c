// SPDX-License-Identifier: GPL-2.0
/*
 * Signals during every kind of wait (get, put, join, each plain and timed,
 * through read/write and the ioctls): without SA_RESTART the call fails
 * with EINTR, with SA_RESTART it sleeps again and completes later; either
 * way no message is lost, duplicated or half-transferred. SIGKILL in a wait
 * leaves the queue intact, and a storm of signals over a stream of puts and
 * gets neither loses nor duplicates anything.
 */
#include <sys/time.h>

#include "mpq_test.h"
#include "harness.h"

struct result {
	long ret;
	int handled;
	char buf[16];
};

static struct result *shared_res;

static void on_signal(int sig)
{
	(void)sig;
	__atomic_add_fetch(&shared_res->handled, 1, __ATOMIC_SEQ_CST);
}

enum op {
	OP_READ, OP_IOCTL_GET, OP_TIMED_GET,
	OP_WRITE, OP_IOCTL_PUT, OP_TIMED_PUT,
	OP_JOIN, OP_TIMED_JOIN,
};

static bool op_gets(enum op op)
{
	return op <= OP_TIMED_GET;
}

static bool op_puts(enum op op)
{
	return op >= OP_WRITE && op <= OP_TIMED_PUT;
}

/* The call under test; a put sends "new", and every call returns 0 or a length. */
static long run_op(enum op op, int fd, char *buf, size_t cap)
{
	struct __kernel_timespec dl = deadline_in_ms(MPQ_TEST_WAIT_MS);
	long ret;

	switch (op) {
	case OP_READ:
		return q_read(fd, buf, cap);
	case OP_IOCTL_GET:
		return q_get(fd, buf, cap, 0, NULL);
	case OP_TIMED_GET:
		return q_get(fd, buf, cap, MPQ_XFER_TIMEOUT, &dl);
	case OP_WRITE:
		ret = q_write(fd, "new", 3);
		return ret == 3 ? 0 : ret;
	case OP_IOCTL_PUT:
		return q_put(fd, "new", 3, 0, NULL);
	case OP_TIMED_PUT:
		return q_put(fd, "new", 3, MPQ_XFER_TIMEOUT, &dl);
	case OP_JOIN:
		return q_join(fd, NULL);
	case OP_TIMED_JOIN:
		return q_join(fd, &dl);
	}
	return -ENOSYS;
}

static int wait_handled(int want)
{
	int64_t end = now_ns() + MPQ_TEST_WAIT_MS * NSEC_PER_MSEC;

	while (__atomic_load_n(&shared_res->handled, __ATOMIC_SEQ_CST) < want) {
		if (now_ns() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

FIXTURE(sig) {
	int fd;
};

FIXTURE_VARIANT(sig) {
	int signo;
	bool restart;
};

FIXTURE_VARIANT_ADD(sig, usr1_eintr) {
	.signo = SIGUSR1,
	.restart = false,
};

FIXTURE_VARIANT_ADD(sig, usr1_restart) {
	.signo = SIGUSR1,
	.restart = true,
};

FIXTURE_VARIANT_ADD(sig, alrm_eintr) {
	.signo = SIGALRM,
	.restart = false,
};

FIXTURE_VARIANT_ADD(sig, alrm_restart) {
	.signo = SIGALRM,
	.restart = true,
};

FIXTURE_SETUP(sig)
{
	shared_res = shared_alloc(sizeof(*shared_res));
	ASSERT_TRUE(shared_res != NULL);
	/* maxsize 1: one message makes a put wait. */
	self->fd = mpq_new(1, 0, 0, 0);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(sig)
{
	close(self->fd);
	munmap(shared_res, sizeof(*shared_res));
}

/*
 * Put a child to sleep in @op, signal it, and check the outcome. Gets start
 * on an empty queue; puts and joins on a queue holding "old" (full, one
 * unfinished task).
 */
static void interrupt_wait(struct __test_metadata *_metadata,
			   FIXTURE_DATA(sig) *self,
			   const FIXTURE_VARIANT(sig) *variant, enum op op)
{
	enum mpq_stat_field waiters = op_gets(op) ? ST_GETTERS :
				      op_puts(op) ? ST_PUTTERS : ST_JOINERS;
	struct result *res = shared_res;
	struct mpq_stat st;
	char buf[16];
	pid_t pid;

	if (!op_gets(op))
		ASSERT_EQ(0, q_put(self->fd, "old", 3, 0, NULL));

	pid = spawn();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (set_handler(variant->signo, on_signal, variant->restart))
			_exit(1);
		res->ret = run_op(op, self->fd, res->buf, sizeof(res->buf));
		_exit(0);
	}
	ASSERT_EQ(0, q_wait_blocked(self->fd, waiters, 1, pid));
	ASSERT_EQ(0, kill(pid, variant->signo));
	ASSERT_EQ(0, wait_handled(1));

	if (!variant->restart) {
		ASSERT_EQ(0, reap_timeout(pid));
		EXPECT_EQ(-EINTR, res->ret);
		ASSERT_EQ(0, q_stat(self->fd, &st));
		EXPECT_EQ(0U, st.getters + st.putters + st.joiners);
		if (op_gets(op)) {
			/* The interrupted get took nothing, now or later. */
			EXPECT_EQ(0ULL, st.total_gets);
			ASSERT_EQ(0, q_put(self->fd, "late", 4, 0, NULL));
			ASSERT_EQ(4L, q_get(self->fd, buf, sizeof(buf),
					    MPQ_XFER_NONBLOCK, NULL));
			EXPECT_EQ(0, memcmp(buf, "late", 4));
		} else {
			/* The interrupted put added nothing; join changed nothing. */
			EXPECT_EQ(1ULL, st.qsize);
			EXPECT_EQ(1ULL, st.total_puts);
			EXPECT_EQ(1ULL, st.unfinished);
			ASSERT_EQ(3L, q_get(self->fd, buf, sizeof(buf), 0, NULL));
			EXPECT_EQ(0, memcmp(buf, "old", 3));
			EXPECT_EQ(-EAGAIN, q_get(self->fd, buf, sizeof(buf),
						 MPQ_XFER_NONBLOCK, NULL));
		}
		return;
	}

	/* Restarted: asleep again (the handler ran, the call did not return). */
	ASSERT_EQ(0, q_wait_blocked(self->fd, waiters, 1, pid))
		TH_LOG("not restarted: returned %ld", res->ret);
	sleep_ms(50);
	ASSERT_FALSE(has_exited(pid));
	EXPECT_EQ(1, res->handled);

	if (op_gets(op)) {
		ASSERT_EQ(0, q_put(self->fd, "late", 4, 0, NULL));
		ASSERT_EQ(0, reap_timeout(pid));
		EXPECT_EQ(4L, res->ret);
		EXPECT_EQ(0, memcmp(res->buf, "late", 4));
		ASSERT_EQ(0, q_stat(self->fd, &st));
		EXPECT_EQ(0ULL, st.qsize);
		EXPECT_EQ(1ULL, st.total_gets);
	} else if (op_puts(op)) {
		ASSERT_EQ(3L, q_get(self->fd, buf, sizeof(buf), 0, NULL));
		EXPECT_EQ(0, memcmp(buf, "old", 3));
		ASSERT_EQ(0, reap_timeout(pid));
		EXPECT_EQ(0L, res->ret);
		ASSERT_EQ(3L, q_get(self->fd, buf, sizeof(buf),
				    MPQ_XFER_NONBLOCK, NULL));
		EXPECT_EQ(0, memcmp(buf, "new", 3));
		ASSERT_EQ(0, q_stat(self->fd, &st));
		EXPECT_EQ(0ULL, st.qsize);
		EXPECT_EQ(2ULL, st.total_puts);
		EXPECT_EQ(2ULL, st.unfinished);
	} else {
		ASSERT_EQ(3L, q_get(self->fd, buf, sizeof(buf), 0, NULL));
		ASSERT_EQ(0, q_task_done(self->fd, 1));
		ASSERT_EQ(0, reap_timeout(pid));
		EXPECT_EQ(0L, res->ret);
	}
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(0U, st.getters + st.putters + st.joiners);
}

TEST_F(sig, read)
{
	interrupt_wait(_metadata, self, variant, OP_READ);
}

TEST_F(sig, ioctl_get)
{
	interrupt_wait(_metadata, self, variant, OP_IOCTL_GET);
}

TEST_F(sig, timed_get)
{
	interrupt_wait(_metadata, self, variant, OP_TIMED_GET);
}

TEST_F(sig, write)
{
	interrupt_wait(_metadata, self, variant, OP_WRITE);
}

TEST_F(sig, ioctl_put)
{
	interrupt_wait(_metadata, self, variant, OP_IOCTL_PUT);
}

TEST_F(sig, timed_put)
{
	interrupt_wait(_metadata, self, variant, OP_TIMED_PUT);
}

TEST_F(sig, join)
{
	interrupt_wait(_metadata, self, variant, OP_JOIN);
}

TEST_F(sig, timed_join)
{
	interrupt_wait(_metadata, self, variant, OP_TIMED_JOIN);
}

/*
 * A restarted timed wait keeps its deadline: signalled while waiting, with
 * SA_RESTART, it still ends with ETIMEDOUT, and not early.
 */
TEST(restarted_timed_get_times_out)
{
	struct result *res = shared_alloc(sizeof(*res));
	int fd = mpq_new(0, 0, 0, 0);
	pid_t pid;

	ASSERT_TRUE(res != NULL);
	ASSERT_LE(0, fd);
	shared_res = res;
	pid = spawn();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct __kernel_timespec dl = deadline_in_ms(400);
		char buf[8];

		if (set_handler(SIGUSR1, on_signal, true))
			_exit(1);
		res->ret = q_get(fd, buf, sizeof(buf), MPQ_XFER_TIMEOUT, &dl);
		_exit(now_ns() >= kts_to_ns(&dl) ? 0 : 2);
	}
	ASSERT_EQ(0, q_wait_blocked(fd, ST_GETTERS, 1, pid));
	ASSERT_EQ(0, kill(pid, SIGUSR1));
	ASSERT_EQ(0, wait_handled(1));
	/* 2: returned before the deadline. */
	EXPECT_EQ(0, reap_timeout(pid));
	EXPECT_EQ(-ETIMEDOUT, res->ret);
	close(fd);
}

/* SIGKILL in a wait: the queue is left exactly as it was. */
TEST(sigkill_in_waits)
{
	struct mpq_stat st;
	char buf[8];
	pid_t pid;
	int fd = mpq_new(1, 0, 0, 0);

	ASSERT_LE(0, fd);

	/* A killed getter takes nothing with it. */
	pid = spawn();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(q_read(fd, buf, sizeof(buf)) > 0 ? 0 : 1);
	ASSERT_EQ(0, q_wait_blocked(fd, ST_GETTERS, 1, pid));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(128 + SIGKILL, reap(pid));
	ASSERT_EQ(0, q_wait_stat(fd, ST_GETTERS, 0));
	ASSERT_EQ(1L, q_write(fd, "x", 1));

	/* A killed putter adds nothing. */
	pid = spawn();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(q_write(fd, "y", 1) == 1 ? 0 : 1);
	ASSERT_EQ(0, q_wait_blocked(fd, ST_PUTTERS, 1, pid));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(128 + SIGKILL, reap(pid));
	ASSERT_EQ(0, q_wait_stat(fd, ST_PUTTERS, 0));

	/* A killed joiner changes no count. */
	pid = spawn();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(q_join(fd, NULL) == 0 ? 0 : 1);
	ASSERT_EQ(0, q_wait_blocked(fd, ST_JOINERS, 1, pid));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(128 + SIGKILL, reap(pid));
	ASSERT_EQ(0, q_wait_stat(fd, ST_JOINERS, 0));

	ASSERT_EQ(0, q_stat(fd, &st));
	EXPECT_EQ(1ULL, st.qsize);
	EXPECT_EQ(1ULL, st.bytes);
	EXPECT_EQ(1ULL, st.unfinished);
	EXPECT_EQ(1ULL, st.total_puts);
	EXPECT_EQ(0ULL, st.total_gets);
	ASSERT_EQ(1L, q_read(fd, buf, sizeof(buf)));
	EXPECT_EQ('x', buf[0]);
	close(fd);
}

#define STORM_MSGS	1000

static void on_storm(int sig)
{
	(void)sig;
}

/* A SIGALRM every millisecond, no SA_RESTART: waits keep failing with EINTR. */
static int start_storm(void)
{
	struct itimerval it = {
		.it_interval = { .tv_usec = 1000 },
		.it_value = { .tv_usec = 1000 },
	};

	if (set_handler(SIGALRM, on_storm, false))
		return -1;
	return setitimer(ITIMER_REAL, &it, NULL);
}

/*
 * Reap two workers; when one fails the other would wait forever for its
 * partner, so end it. Returns 0 if both succeeded.
 */
static int reap_pair(pid_t a, pid_t b)
{
	pid_t pids[2] = { a, b };
	int i, status, failed = 0, left = 2;

	while (left) {
		pid_t pid = wait(&status);

		if (pid < 0)
			return -1;
		for (i = 0; i < 2; i++) {
			if (pids[i] != pid)
				continue;
			pids[i] = 0;
			left--;
			if (!WIFEXITED(status) || WEXITSTATUS(status)) {
				failed = 1;
				if (pids[!i])
					kill(pids[!i], SIGKILL);
			}
		}
	}
	return failed;
}

/*
 * Producer and consumer both under a signal storm, retrying on EINTR as
 * PEP 475 code does: if an interrupted call had moved its message anyway,
 * the retry would duplicate it; if a restarted one had lost it, a number
 * would be missing.
 */
TEST(signal_storm)
{
	int fd = mpq_new(4, 0, 0, 0);
	struct mpq_stat st;
	pid_t prod, cons;

	ASSERT_LE(0, fd);
	prod = spawn();
	ASSERT_LE(0, prod);
	if (prod == 0) {
		unsigned int i;
		long ret;

		if (start_storm())
			_exit(1);
		for (i = 0; i < STORM_MSGS; i++) {
			do
				ret = q_write(fd, &i, sizeof(i));
			while (ret == -EINTR);
			if (ret != sizeof(i))
				_exit(2);
		}
		_exit(0);
	}
	cons = spawn();
	ASSERT_LE(0, cons);
	if (cons == 0) {
		unsigned int i, got;
		long ret;

		if (start_storm())
			_exit(1);
		for (i = 0; i < STORM_MSGS; i++) {
			do
				ret = q_read(fd, &got, sizeof(got));
			while (ret == -EINTR);
			if (ret != sizeof(got))
				_exit(2);
			if (got != i)
				_exit(3);	/* lost, duplicated or reordered */
		}
		_exit(0);
	}
	EXPECT_EQ(0, reap_pair(prod, cons));
	ASSERT_EQ(0, q_stat(fd, &st));
	EXPECT_EQ(0ULL, st.qsize);
	EXPECT_EQ((__u64)STORM_MSGS, st.total_puts);
	EXPECT_EQ((__u64)STORM_MSGS, st.total_gets);
	EXPECT_EQ((__u64)STORM_MSGS, st.unfinished);
	close(fd);
}

TEST_HARNESS_MAIN
