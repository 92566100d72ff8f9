// SPDX-License-Identifier: GPL-2.0
/*
 * MPQ_IOC_PUT_MANY / MPQ_IOC_GET_MANY: block only until the first message
 * moves, then move what can move without sleeping and return the count;
 * fail only if nothing moved. A message that does not fit (too large to
 * put, too large for its buffer to get) ends the batch and is not lost.
 */
#include "mpq_test.h"
#include "harness.h"

#define NVEC	8

struct batch {
	struct mpq_msgvec vec[NVEC];
	char bufs[NVEC][64];
};

/* PUT_MANY of @n strings; returns the count moved or -errno. */
static int put_many(int fd, const char *const *msgs, int n, __u32 flags,
		    const struct __kernel_timespec *dl)
{
	struct mpq_msgvec vec[MPQ_BATCH_MAX];
	struct mpq_batch b = { .vec = PTR(vec), .count = n, .flags = flags };
	int i;

	for (i = 0; i < n; i++) {
		vec[i].buf = PTR(msgs[i]);
		vec[i].len = strlen(msgs[i]);
		vec[i].result = 0;
	}
	if (dl)
		b.deadline = *dl;
	return q_put_many(fd, &b);
}

/* GET_MANY into @bt, @n buffers of capacity @cap each. */
static int get_many(int fd, struct batch *bt, int n, __u64 cap, __u32 flags,
		    const struct __kernel_timespec *dl)
{
	struct mpq_batch b = { .vec = PTR(bt->vec), .count = n, .flags = flags };
	int i;

	memset(bt, 0, sizeof(*bt));
	for (i = 0; i < n; i++) {
		bt->vec[i].buf = PTR(bt->bufs[i]);
		bt->vec[i].len = cap;
		bt->vec[i].result = ~0ULL;
	}
	if (dl)
		b.deadline = *dl;
	return q_get_many(fd, &b);
}

static bool got(const struct batch *bt, int i, const char *want)
{
	size_t len = strlen(want);

	return bt->vec[i].result == len && !memcmp(bt->bufs[i], want, len);
}

static const char *const five[] = { "m0", "m11", "m222", "m3333", "m44444" };

FIXTURE(bq) {
	int fd;
	struct batch *bt;	/* shared with children */
};

FIXTURE_SETUP(bq)
{
	self->bt = shared_alloc(sizeof(*self->bt));
	ASSERT_TRUE(self->bt != NULL);
	self->fd = -1;
}

FIXTURE_TEARDOWN(bq)
{
	if (self->fd >= 0)
		close(self->fd);
	munmap(self->bt, sizeof(*self->bt));
}

TEST_F(bq, put_and_get)
{
	struct batch *bt = self->bt;
	struct mpq_stat st;
	char buf[64];
	int i;

	self->fd = mpq_new(0, 0, 0, 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(5, put_many(self->fd, five, 5, 0, NULL));
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(5ULL, st.qsize);
	EXPECT_EQ(5ULL, st.unfinished);
	EXPECT_EQ(5ULL, st.total_puts);
	EXPECT_EQ(2 + 3 + 4 + 5 + 6ULL, st.bytes);

	/* A batch of single messages, in order, through read() too. */
	ASSERT_EQ(2L, q_read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "m0", 2));
	ASSERT_EQ(3, get_many(self->fd, bt, 3, 64, 0, NULL));
	for (i = 0; i < 3; i++)
		EXPECT_TRUE(got(bt, i, five[i + 1]));
	/* Entries past the count moved are not written. */
	ASSERT_EQ(1, get_many(self->fd, bt, NVEC, 64, 0, NULL));
	EXPECT_TRUE(got(bt, 0, "m44444"));
	EXPECT_EQ(~0ULL, bt->vec[1].result);

	EXPECT_EQ(-EAGAIN, get_many(self->fd, bt, NVEC, 64, MPQ_XFER_NONBLOCK,
				    NULL));
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(0ULL, st.qsize);
	EXPECT_EQ(5ULL, st.total_gets);
	EXPECT_EQ(5ULL, st.unfinished);
}

TEST_F(bq, partial_put_maxsize)
{
	char buf[64];
	int i;

	self->fd = mpq_new(3, 0, 0, 0);
	ASSERT_LE(0, self->fd);
	/* Blocking, but room for three: three move, without waiting. */
	ASSERT_EQ(3, put_many(self->fd, five, 5, 0, NULL));
	EXPECT_EQ(-EAGAIN, put_many(self->fd, five + 3, 2, MPQ_XFER_NONBLOCK,
				    NULL));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ((long)strlen(five[i]), q_read(self->fd, buf,
							 sizeof(buf)));
		EXPECT_EQ(0, memcmp(buf, five[i], strlen(five[i])));
	}
	EXPECT_EQ(0, q_fionread(self->fd));
}

TEST_F(bq, partial_put_maxbytes)
{
	static const char *const forty[] = {
		"0123456789012345678901234567890123456789",
		"1123456789012345678901234567890123456789",
		"2123456789012345678901234567890123456789",
	};
	struct mpq_stat st;

	self->fd = mpq_new(0, 100, 100, 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(2, put_many(self->fd, forty, 3, MPQ_XFER_NONBLOCK, NULL));
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(2ULL, st.qsize);
	EXPECT_EQ(80ULL, st.bytes);
}

TEST_F(bq, put_stops_at_bad_message)
{
	static const char *const mixed[] = { "ok", "this one is too long", "ok2" };
	static const char *const first_bad[] = { "this one is too long", "ok" };
	struct mpq_msgvec vec[3] = {
		{ .buf = PTR("a"), .len = 1 },
		{ .buf = PTR("b"), .len = 0 },
		{ .buf = PTR("c"), .len = 1 },
	};
	struct mpq_batch b = { .vec = PTR(vec), .count = 3 };
	struct mpq_stat st;
	char buf[64];

	self->fd = mpq_new(0, 10, 0, 0);
	ASSERT_LE(0, self->fd);
	/* The first moves, the second is refused: the batch stops there. */
	EXPECT_EQ(1, put_many(self->fd, mixed, 3, 0, NULL));
	/* Nothing moved: then the error is returned. */
	EXPECT_EQ(-EMSGSIZE, put_many(self->fd, first_bad, 2, 0, NULL));
	/* A zero-length message stops a batch the same way. */
	EXPECT_EQ(1, sys_ret(ioctl(self->fd, MPQ_IOC_PUT_MANY, &b)));
	b.vec = PTR(&vec[1]);
	b.count = 2;
	EXPECT_EQ(-EINVAL, sys_ret(ioctl(self->fd, MPQ_IOC_PUT_MANY, &b)));

	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(2ULL, st.qsize);
	EXPECT_EQ(2ULL, st.unfinished);
	ASSERT_EQ(2L, q_read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "ok", 2));
	ASSERT_EQ(1L, q_read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ('a', buf[0]);
}

TEST_F(bq, get_stops_at_message_too_large)
{
	static const char *const msgs[] = {
		"small", "this message is much larger than ten bytes", "tiny",
	};
	struct batch *bt = self->bt;
	struct mpq_stat st;
	char buf[64];

	self->fd = mpq_new(0, 0, 0, 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(3, put_many(self->fd, msgs, 3, 0, NULL));

	/* The large one ends the batch and stays at the head. */
	ASSERT_EQ(1, get_many(self->fd, bt, 3, 10, 0, NULL));
	EXPECT_TRUE(got(bt, 0, "small"));
	EXPECT_EQ((int)strlen(msgs[1]), q_fionread(self->fd));
	/* Now it is first: nothing moves and the error is EMSGSIZE. */
	EXPECT_EQ(-EMSGSIZE, get_many(self->fd, bt, 3, 10, 0, NULL));
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(2ULL, st.qsize);
	EXPECT_EQ(1ULL, st.total_gets);

	ASSERT_EQ((long)strlen(msgs[1]), q_read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, msgs[1], strlen(msgs[1])));
	ASSERT_EQ(1, get_many(self->fd, bt, 3, 10, 0, NULL));
	EXPECT_TRUE(got(bt, 0, "tiny"));
}

TEST_F(bq, batch_max)
{
	static char tiny[MPQ_BATCH_MAX][8];
	static const char *msgs[MPQ_BATCH_MAX + 1];
	static struct mpq_msgvec vec[MPQ_BATCH_MAX + 1];
	static char bufs[MPQ_BATCH_MAX][8];
	struct mpq_batch b = { .vec = PTR(vec) };
	int i;

	self->fd = mpq_new(0, 0, 0, 0);
	ASSERT_LE(0, self->fd);
	for (i = 0; i < MPQ_BATCH_MAX; i++) {
		snprintf(tiny[i], sizeof(tiny[i]), "%d", i);
		msgs[i] = tiny[i];
	}
	ASSERT_EQ(MPQ_BATCH_MAX, put_many(self->fd, msgs, MPQ_BATCH_MAX, 0,
					  NULL));

	for (i = 0; i <= MPQ_BATCH_MAX; i++) {
		vec[i].buf = PTR(bufs[i % MPQ_BATCH_MAX]);
		vec[i].len = sizeof(bufs[0]);
	}
	b.count = MPQ_BATCH_MAX + 1;
	EXPECT_EQ(-EINVAL, sys_ret(ioctl(self->fd, MPQ_IOC_GET_MANY, &b)));
	b.count = MPQ_BATCH_MAX;
	ASSERT_EQ(MPQ_BATCH_MAX, sys_ret(ioctl(self->fd, MPQ_IOC_GET_MANY, &b)));
	for (i = 0; i < MPQ_BATCH_MAX; i++) {
		ASSERT_EQ(strlen(tiny[i]), vec[i].result);
		ASSERT_EQ(0, memcmp(bufs[i], tiny[i], vec[i].result));
	}
}

TEST_F(bq, put_blocks_until_first_moves)
{
	int *ret = shared_alloc(sizeof(int));
	char buf[64];
	pid_t pid;

	ASSERT_TRUE(ret != NULL);
	self->fd = mpq_new(2, 0, 0, 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(2, put_many(self->fd, five, 2, 0, NULL));
	pid = spawn();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		*ret = put_many(self->fd, five + 2, 3, 0, NULL);
		_exit(0);
	}
	ASSERT_EQ(0, q_wait_blocked(self->fd, ST_PUTTERS, 1, pid));
	sleep_ms(50);
	ASSERT_FALSE(has_exited(pid));
	/* One slot frees: one message moves and the call returns. */
	ASSERT_EQ(2L, q_read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(0, reap_timeout(pid));
	EXPECT_EQ(1, *ret);
	ASSERT_EQ(3L, q_read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(4L, q_read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "m222", 4));
	EXPECT_EQ(0, q_fionread(self->fd));
}

TEST_F(bq, get_blocks_until_first_moves)
{
	struct batch mine;
	int *ret = shared_alloc(sizeof(int));
	int i, n;
	pid_t pid;

	ASSERT_TRUE(ret != NULL);
	self->fd = mpq_new(0, 0, 0, 0);
	ASSERT_LE(0, self->fd);
	pid = spawn();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		*ret = get_many(self->fd, self->bt, NVEC, 64, 0, NULL);
		_exit(0);
	}
	ASSERT_EQ(0, q_wait_blocked(self->fd, ST_GETTERS, 1, pid));
	sleep_ms(50);
	ASSERT_FALSE(has_exited(pid));
	ASSERT_EQ(3, put_many(self->fd, five, 3, 0, NULL));
	EXPECT_EQ(0, reap_timeout(pid));
	n = *ret;
	/* It woke at the first message and took what was there by then. */
	ASSERT_LE(1, n);
	ASSERT_GE(3, n);
	for (i = 0; i < n; i++)
		EXPECT_TRUE(got(self->bt, i, five[i]));
	if (n < 3) {
		ASSERT_EQ(3 - n, get_many(self->fd, &mine, NVEC, 64,
					  MPQ_XFER_NONBLOCK, NULL));
		for (i = 0; i < 3 - n; i++)
			EXPECT_TRUE(got(&mine, i, five[n + i]));
	}
	EXPECT_EQ(0, q_fionread(self->fd));
}

/* A batch put wakes as many single getters as it brings messages. */
TEST_F(bq, put_many_wakes_each_getter)
{
	pid_t pid[3];
	int i, seen = 0;

	self->fd = mpq_new(0, 0, 0, 0);
	ASSERT_LE(0, self->fd);
	for (i = 0; i < 3; i++) {
		pid[i] = spawn();
		ASSERT_LE(0, pid[i]);
		if (pid[i] == 0) {
			char buf[64];
			long n = q_read(self->fd, buf, sizeof(buf));

			_exit(n == 2 && buf[0] == 'm' ? buf[1] - '0' : 9);
		}
	}
	ASSERT_EQ(0, q_wait_stat(self->fd, ST_GETTERS, 3));
	ASSERT_EQ(3, put_many(self->fd, (const char *const[]){ "m0", "m1", "m2" },
			      3, 0, NULL));
	for (i = 0; i < 3; i++) {
		int status = reap_timeout(pid[i]);

		ASSERT_LE(0, status);
		ASSERT_GT(3, status);
		seen |= 1 << status;
	}
	EXPECT_EQ(7, seen);
}

/* A batch get wakes as many single putters as it frees slots. */
TEST_F(bq, get_many_wakes_each_putter)
{
	struct batch *bt = self->bt;
	pid_t pid[3];
	int i;

	self->fd = mpq_new(3, 0, 0, 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(3, put_many(self->fd, five, 3, 0, NULL));
	for (i = 0; i < 3; i++) {
		pid[i] = spawn();
		ASSERT_LE(0, pid[i]);
		if (pid[i] == 0)
			_exit(q_write(self->fd, "late", 4) == 4 ? 0 : 1);
	}
	ASSERT_EQ(0, q_wait_stat(self->fd, ST_PUTTERS, 3));
	ASSERT_EQ(3, get_many(self->fd, bt, 3, 64, 0, NULL));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, reap_timeout(pid[i]));
	EXPECT_EQ(3, get_many(self->fd, bt, NVEC, 64, MPQ_XFER_NONBLOCK, NULL));
	for (i = 0; i < 3; i++)
		EXPECT_TRUE(got(bt, i, "late"));
}

TEST_F(bq, timeouts)
{
	struct __kernel_timespec dl, bad = { .tv_nsec = NSEC_PER_SEC };
	struct batch *bt = self->bt;

	self->fd = mpq_new(1, 0, 0, 0);
	ASSERT_LE(0, self->fd);
	dl = deadline_in_ms(100);
	EXPECT_EQ(-ETIMEDOUT, get_many(self->fd, bt, 2, 64, MPQ_XFER_TIMEOUT,
				       &dl));
	EXPECT_LE(kts_to_ns(&dl), now_ns());
	EXPECT_EQ(-EINVAL, get_many(self->fd, bt, 2, 64, MPQ_XFER_TIMEOUT,
				    &bad));

	ASSERT_EQ(1, put_many(self->fd, five, 1, 0, NULL));
	dl = deadline_in_ms(100);
	EXPECT_EQ(-ETIMEDOUT, put_many(self->fd, five + 1, 2, MPQ_XFER_TIMEOUT,
				       &dl));
	EXPECT_LE(kts_to_ns(&dl), now_ns());
	EXPECT_EQ(-EINVAL, put_many(self->fd, five + 1, 2, MPQ_XFER_TIMEOUT,
				    &bad));
	EXPECT_EQ(2, q_fionread(self->fd));
}

TEST_F(bq, after_shutdown)
{
	struct batch *bt = self->bt;

	self->fd = mpq_new(0, 0, 0, 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(3, put_many(self->fd, five, 3, 0, NULL));
	ASSERT_EQ(0, q_shutdown(self->fd, 0));
	EXPECT_EQ(-EPIPE, put_many(self->fd, five, 2, 0, NULL));
	/* Drain what is left, then end of file (0 moved), even non-blocking. */
	ASSERT_EQ(3, get_many(self->fd, bt, NVEC, 64, 0, NULL));
	EXPECT_EQ(0, get_many(self->fd, bt, NVEC, 64, 0, NULL));
	EXPECT_EQ(0, get_many(self->fd, bt, NVEC, 64, MPQ_XFER_NONBLOCK, NULL));
}

TEST_F(bq, o_nonblock)
{
	struct batch *bt = self->bt;

	self->fd = mpq_new(1, 0, 0, MPQ_CREATE_NONBLOCK);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(-EAGAIN, get_many(self->fd, bt, 2, 64, 0, NULL));
	ASSERT_EQ(1, put_many(self->fd, five, 2, 0, NULL));
	EXPECT_EQ(-EAGAIN, put_many(self->fd, five, 2, 0, NULL));
}

TEST_HARNESS_MAIN
