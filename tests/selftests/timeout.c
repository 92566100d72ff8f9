// SPDX-License-Identifier: GPL-2.0
/*
 * Timed put, get and join: the deadline is an absolute CLOCK_MONOTONIC
 * time, a call never returns ETIMEDOUT before it, a call that need not
 * wait succeeds even past its deadline, and a timed waiter is woken early
 * by the event it waits for. Malformed deadlines are EINVAL.
 */
#include "mpq_test.h"
#include "harness.h"

/* Odd nanoseconds, so a deadline rounded to jiffies or µs would show. */
#define WAIT_NS		(150 * NSEC_PER_MSEC + 123457)

FIXTURE(tq) {
	int fd;
};

FIXTURE_SETUP(tq)
{
	self->fd = mpq_new(1, 0, 0, 0);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(tq)
{
	close(self->fd);
}

TEST_F(tq, get_times_out)
{
	struct __kernel_timespec dl = ns_to_kts(now_ns() + WAIT_NS);
	struct mpq_stat st;
	char buf[8];

	EXPECT_EQ(-ETIMEDOUT, q_get(self->fd, buf, sizeof(buf),
				    MPQ_XFER_TIMEOUT, &dl));
	/* Never early, measured on the clock the deadline is given in. */
	EXPECT_LE(kts_to_ns(&dl), now_ns());
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(0U, st.getters);
	EXPECT_EQ(0ULL, st.total_gets);
}

TEST_F(tq, put_times_out)
{
	struct __kernel_timespec dl;
	struct mpq_stat st;

	ASSERT_EQ(0, q_put(self->fd, "x", 1, 0, NULL));
	dl = ns_to_kts(now_ns() + WAIT_NS);
	EXPECT_EQ(-ETIMEDOUT, q_put(self->fd, "y", 1, MPQ_XFER_TIMEOUT, &dl));
	EXPECT_LE(kts_to_ns(&dl), now_ns());
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(1ULL, st.qsize);
	EXPECT_EQ(1ULL, st.unfinished);
	EXPECT_EQ(1ULL, st.total_puts);
	EXPECT_EQ(0U, st.putters);
}

TEST_F(tq, join_times_out)
{
	struct __kernel_timespec dl;
	struct mpq_stat st;

	ASSERT_EQ(0, q_put(self->fd, "x", 1, 0, NULL));
	dl = ns_to_kts(now_ns() + WAIT_NS);
	EXPECT_EQ(-ETIMEDOUT, q_join(self->fd, &dl));
	EXPECT_LE(kts_to_ns(&dl), now_ns());
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(1ULL, st.unfinished);
	EXPECT_EQ(0U, st.joiners);
}

TEST_F(tq, never_early_repeatedly)
{
	char buf[8];
	int i;

	for (i = 0; i < 8; i++) {
		struct __kernel_timespec dl;

		dl = ns_to_kts(now_ns() + (i + 1) * 3 * NSEC_PER_MSEC + 7777 * i);
		ASSERT_EQ(-ETIMEDOUT, q_get(self->fd, buf, sizeof(buf),
					    MPQ_XFER_TIMEOUT, &dl));
		ASSERT_LE(kts_to_ns(&dl), now_ns());
	}
}

TEST_F(tq, past_deadline_without_waiting)
{
	struct __kernel_timespec past = ns_to_kts(now_ns() - NSEC_PER_SEC);
	struct __kernel_timespec zero = {};
	char buf[8];

	/* Nothing to wait for: the deadline does not matter. */
	EXPECT_EQ(0, q_put(self->fd, "a", 1, MPQ_XFER_TIMEOUT, &past));
	EXPECT_EQ(1L, q_get(self->fd, buf, sizeof(buf), MPQ_XFER_TIMEOUT,
			    &zero));
	EXPECT_EQ(0, q_task_done(self->fd, 1));
	EXPECT_EQ(0, q_join(self->fd, &past));

	/* Something to wait for: an expired deadline fails at once. */
	EXPECT_EQ(-ETIMEDOUT, q_get(self->fd, buf, sizeof(buf),
				    MPQ_XFER_TIMEOUT, &past));
	EXPECT_EQ(0, q_put(self->fd, "b", 1, 0, NULL));
	EXPECT_EQ(-ETIMEDOUT, q_put(self->fd, "c", 1, MPQ_XFER_TIMEOUT, &zero));
	EXPECT_EQ(-ETIMEDOUT, q_join(self->fd, &zero));
}

TEST_F(tq, get_woken_before_deadline)
{
	long *ret = shared_alloc(sizeof(long));
	pid_t pid;

	ASSERT_TRUE(ret != NULL);
	pid = spawn();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct __kernel_timespec dl = deadline_in_ms(20000);
		char buf[8];

		*ret = q_get(self->fd, buf, sizeof(buf), MPQ_XFER_TIMEOUT, &dl);
		_exit(*ret == 2 && !memcmp(buf, "hi", 2) ? 0 : 1);
	}
	ASSERT_EQ(0, q_wait_blocked(self->fd, ST_GETTERS, 1, pid));
	ASSERT_EQ(0, q_put(self->fd, "hi", 2, 0, NULL));
	EXPECT_EQ(0, reap_timeout(pid));
	EXPECT_EQ(2L, *ret);
}

TEST_F(tq, put_woken_before_deadline)
{
	long *ret = shared_alloc(sizeof(long));
	char buf[8];
	pid_t pid;

	ASSERT_TRUE(ret != NULL);
	ASSERT_EQ(0, q_put(self->fd, "1", 1, 0, NULL));
	pid = spawn();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct __kernel_timespec dl = deadline_in_ms(20000);

		*ret = q_put(self->fd, "2", 1, MPQ_XFER_TIMEOUT, &dl);
		_exit(0);
	}
	ASSERT_EQ(0, q_wait_blocked(self->fd, ST_PUTTERS, 1, pid));
	ASSERT_EQ(1L, q_get(self->fd, buf, sizeof(buf), 0, NULL));
	EXPECT_EQ('1', buf[0]);
	EXPECT_EQ(0, reap_timeout(pid));
	EXPECT_EQ(0L, *ret);
	ASSERT_EQ(1L, q_get(self->fd, buf, sizeof(buf), 0, NULL));
	EXPECT_EQ('2', buf[0]);
}

TEST_F(tq, join_woken_before_deadline)
{
	long *ret = shared_alloc(sizeof(long));
	char buf[8];
	pid_t pid;

	ASSERT_TRUE(ret != NULL);
	ASSERT_EQ(0, q_put(self->fd, "1", 1, 0, NULL));
	pid = spawn();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct __kernel_timespec dl = deadline_in_ms(20000);

		*ret = q_join(self->fd, &dl);
		_exit(0);
	}
	ASSERT_EQ(0, q_wait_blocked(self->fd, ST_JOINERS, 1, pid));
	ASSERT_EQ(1L, q_get(self->fd, buf, sizeof(buf), 0, NULL));
	ASSERT_EQ(0, q_task_done(self->fd, 1));
	EXPECT_EQ(0, reap_timeout(pid));
	EXPECT_EQ(0L, *ret);
}

/* A deadline far away (no overflow in the kernel's conversion) still works. */
TEST_F(tq, far_deadline)
{
	struct __kernel_timespec far = { .tv_sec = INT64_MAX,
					 .tv_nsec = NSEC_PER_SEC - 1 };
	long *ret = shared_alloc(sizeof(long));
	char buf[8];
	pid_t pid;

	ASSERT_TRUE(ret != NULL);
	ASSERT_EQ(0, q_put(self->fd, "a", 1, MPQ_XFER_TIMEOUT, &far));
	ASSERT_EQ(1L, q_get(self->fd, buf, sizeof(buf), MPQ_XFER_TIMEOUT, &far));

	pid = spawn();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		*ret = q_get(self->fd, buf, sizeof(buf), MPQ_XFER_TIMEOUT, &far);
		_exit(0);
	}
	ASSERT_EQ(0, q_wait_blocked(self->fd, ST_GETTERS, 1, pid));
	sleep_ms(50);
	ASSERT_FALSE(has_exited(pid));
	ASSERT_EQ(0, q_put(self->fd, "b", 1, 0, NULL));
	EXPECT_EQ(0, reap_timeout(pid));
	EXPECT_EQ(1L, *ret);
}

TEST_F(tq, bad_deadlines)
{
	static const struct __kernel_timespec bad[] = {
		{ .tv_sec = 0, .tv_nsec = -1 },
		{ .tv_sec = 0, .tv_nsec = NSEC_PER_SEC },
		{ .tv_sec = 1, .tv_nsec = INT64_MAX },
		{ .tv_sec = -1, .tv_nsec = 0 },
		{ .tv_sec = INT64_MIN, .tv_nsec = 0 },
	};
	struct mpq_stat st;
	char buf[8];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		/* Empty: a get would wait, a put would not. */
		EXPECT_EQ(-EINVAL, q_get(self->fd, buf, sizeof(buf),
					 MPQ_XFER_TIMEOUT, &bad[i]))
			TH_LOG("get, bad[%u]", i);
		EXPECT_EQ(-EINVAL, q_put(self->fd, "x", 1, MPQ_XFER_TIMEOUT,
					 &bad[i]))
			TH_LOG("put, bad[%u]", i);
		EXPECT_EQ(-EINVAL, q_join(self->fd, &bad[i]))
			TH_LOG("join, bad[%u]", i);
	}
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(0ULL, st.qsize);
	EXPECT_EQ(0ULL, st.unfinished);
	EXPECT_EQ(0ULL, st.total_puts);
}

TEST_HARNESS_MAIN
