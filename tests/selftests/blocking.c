// SPDX-License-Identifier: GPL-2.0
/*
 * Blocking and non-blocking put/get: a get on an empty queue sleeps until a
 * put, a put on a full queue (by count or by bytes) sleeps until a get,
 * O_NONBLOCK and MPQ_XFER_NONBLOCK answer EAGAIN, and one put wakes one
 * getter, one get one putter. Every case runs through read/write and
 * through the ioctls.
 */
#include "mpq_test.h"
#include "harness.h"

struct result {
	long ret;
	char buf[64];
};

static long do_put(bool use_ioctl, int fd, const char *msg)
{
	size_t len = strlen(msg);
	int ret;

	if (!use_ioctl)
		return q_write(fd, msg, len);
	ret = q_put(fd, msg, len, 0, NULL);
	return ret ? ret : (long)len;
}

static long do_get(bool use_ioctl, int fd, char *buf, size_t cap)
{
	if (!use_ioctl)
		return q_read(fd, buf, cap);
	return q_get(fd, buf, cap, 0, NULL);
}

FIXTURE(blk) {
	int fd;
	struct result *res;
};

FIXTURE_VARIANT(blk) {
	bool use_ioctl;
};

FIXTURE_VARIANT_ADD(blk, rw) {
	.use_ioctl = false,
};

FIXTURE_VARIANT_ADD(blk, ioctl) {
	.use_ioctl = true,
};

FIXTURE_SETUP(blk)
{
	self->fd = -1;
	self->res = shared_alloc(4 * sizeof(*self->res));
	ASSERT_TRUE(self->res != NULL);
}

FIXTURE_TEARDOWN(blk)
{
	if (self->fd >= 0)
		close(self->fd);
	munmap(self->res, 4 * sizeof(*self->res));
}

/* Fork a child that gets one message into self->res[i]. */
static pid_t spawn_getter(FIXTURE_DATA(blk) *self, bool use_ioctl, int i)
{
	pid_t pid = spawn();

	if (pid == 0) {
		struct result *r = &self->res[i];

		r->ret = do_get(use_ioctl, self->fd, r->buf, sizeof(r->buf));
		_exit(0);
	}
	return pid;
}

static pid_t spawn_putter(FIXTURE_DATA(blk) *self, bool use_ioctl, int i,
			  const char *msg)
{
	pid_t pid = spawn();

	if (pid == 0) {
		self->res[i].ret = do_put(use_ioctl, self->fd, msg);
		_exit(0);
	}
	return pid;
}

TEST_F(blk, get_blocks_until_put)
{
	struct mpq_stat st;
	pid_t pid;

	self->fd = mpq_new(0, 0, 0, 0);
	ASSERT_LE(0, self->fd);
	pid = spawn_getter(self, variant->use_ioctl, 0);
	ASSERT_LE(0, pid);

	ASSERT_EQ(0, q_wait_blocked(self->fd, ST_GETTERS, 1, pid));
	sleep_ms(50);
	ASSERT_FALSE(has_exited(pid));

	ASSERT_EQ(4L, do_put(variant->use_ioctl, self->fd, "wake"));
	ASSERT_EQ(0, reap_timeout(pid));
	EXPECT_EQ(4L, self->res[0].ret);
	EXPECT_EQ(0, memcmp(self->res[0].buf, "wake", 4));

	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(0ULL, st.qsize);
	EXPECT_EQ(0U, st.getters);
	EXPECT_EQ(1ULL, st.total_gets);
}

TEST_F(blk, put_blocks_until_get)
{
	struct mpq_stat st;
	char buf[64];
	pid_t pid;

	self->fd = mpq_new(1, 0, 0, 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(3L, do_put(variant->use_ioctl, self->fd, "one"));
	pid = spawn_putter(self, variant->use_ioctl, 0, "two");
	ASSERT_LE(0, pid);

	ASSERT_EQ(0, q_wait_blocked(self->fd, ST_PUTTERS, 1, pid));
	sleep_ms(50);
	ASSERT_FALSE(has_exited(pid));
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(1ULL, st.qsize);
	EXPECT_EQ(1ULL, st.unfinished);

	ASSERT_EQ(3L, do_get(variant->use_ioctl, self->fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "one", 3));
	ASSERT_EQ(0, reap_timeout(pid));
	EXPECT_EQ(3L, self->res[0].ret);

	ASSERT_EQ(3L, do_get(variant->use_ioctl, self->fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "two", 3));
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(0U, st.putters);
	EXPECT_EQ(2ULL, st.unfinished);
}

TEST_F(blk, put_blocks_on_maxbytes)
{
	char big[61], mid[51], buf[64];
	struct mpq_stat st;
	pid_t pid;

	memset(big, 'b', 60);
	big[60] = '\0';
	memset(mid, 'm', 50);
	mid[50] = '\0';

	/* No count limit: only the 100-byte budget makes it full. */
	self->fd = mpq_new(0, 100, 100, 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(60L, do_put(variant->use_ioctl, self->fd, big));
	EXPECT_EQ(-EAGAIN, q_put(self->fd, mid, 50, MPQ_XFER_NONBLOCK, NULL));

	pid = spawn_putter(self, variant->use_ioctl, 0, mid);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, q_wait_blocked(self->fd, ST_PUTTERS, 1, pid));
	sleep_ms(50);
	ASSERT_FALSE(has_exited(pid));
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(1ULL, st.qsize);
	EXPECT_EQ(60ULL, st.bytes);

	ASSERT_EQ(60L, do_get(variant->use_ioctl, self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, reap_timeout(pid));
	EXPECT_EQ(50L, self->res[0].ret);

	/* Filling the budget exactly is allowed. */
	ASSERT_EQ(0, q_put(self->fd, big, 50, MPQ_XFER_NONBLOCK, NULL));
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(2ULL, st.qsize);
	EXPECT_EQ(100ULL, st.bytes);
	/* Now not even one more byte fits. */
	EXPECT_EQ(-EAGAIN, q_put(self->fd, "x", 1, MPQ_XFER_NONBLOCK, NULL));
}

TEST_F(blk, o_nonblock)
{
	struct mpq_stat st;
	char buf[64];

	self->fd = mpq_new(1, 0, 0, 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));

	EXPECT_EQ(-EAGAIN, do_get(variant->use_ioctl, self->fd, buf,
				  sizeof(buf)));
	ASSERT_EQ(4L, do_put(variant->use_ioctl, self->fd, "full"));
	EXPECT_EQ(-EAGAIN, do_put(variant->use_ioctl, self->fd, "more"));

	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(1ULL, st.qsize);
	EXPECT_EQ(1ULL, st.unfinished);
	EXPECT_EQ(1ULL, st.total_puts);
	EXPECT_EQ(0U, st.getters);
	EXPECT_EQ(0U, st.putters);

	/* Clearing O_NONBLOCK makes calls block again: a get now succeeds. */
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, 0));
	ASSERT_EQ(4L, do_get(variant->use_ioctl, self->fd, buf, sizeof(buf)));
}

TEST_F(blk, create_nonblock)
{
	char buf[8];

	self->fd = mpq_new(1, 0, 0, MPQ_CREATE_NONBLOCK);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(-EAGAIN, do_get(variant->use_ioctl, self->fd, buf,
				  sizeof(buf)));
	ASSERT_EQ(1L, do_put(variant->use_ioctl, self->fd, "x"));
	EXPECT_EQ(-EAGAIN, do_put(variant->use_ioctl, self->fd, "y"));
}

TEST_F(blk, one_put_wakes_one_getter)
{
	pid_t pid[3];
	int i, seen = 0;

	self->fd = mpq_new(0, 0, 0, 0);
	ASSERT_LE(0, self->fd);
	for (i = 0; i < 3; i++) {
		pid[i] = spawn_getter(self, variant->use_ioctl, i);
		ASSERT_LE(0, pid[i]);
	}
	ASSERT_EQ(0, q_wait_stat(self->fd, ST_GETTERS, 3));

	for (i = 0; i < 3; i++) {
		char msg[2] = { (char)('a' + i), '\0' };

		ASSERT_EQ(1L, do_put(variant->use_ioctl, self->fd, msg));
		/* Exactly one more getter leaves; the others sleep on. */
		ASSERT_EQ(0, wait_exited(pid, 3, i + 1));
		sleep_ms(50);
		ASSERT_EQ(i + 1, count_exited(pid, 3));
		ASSERT_EQ(0, q_wait_stat(self->fd, ST_GETTERS, 2 - i));
		EXPECT_EQ(0, q_fionread(self->fd));
	}
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, reap(pid[i]));
		ASSERT_EQ(1L, self->res[i].ret);
		seen |= 1 << (self->res[i].buf[0] - 'a');
	}
	/* Each message went to exactly one getter. */
	EXPECT_EQ(7, seen);
}

TEST_F(blk, one_get_wakes_one_putter)
{
	char buf[8];
	pid_t pid[3];
	int i, seen = 0;

	self->fd = mpq_new(1, 0, 0, 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(1L, do_put(variant->use_ioctl, self->fd, "0"));
	for (i = 0; i < 3; i++) {
		char msg[2] = { (char)('a' + i), '\0' };

		pid[i] = spawn_putter(self, variant->use_ioctl, i, msg);
		ASSERT_LE(0, pid[i]);
	}
	ASSERT_EQ(0, q_wait_stat(self->fd, ST_PUTTERS, 3));

	ASSERT_EQ(1L, do_get(variant->use_ioctl, self->fd, buf, sizeof(buf)));
	EXPECT_EQ('0', buf[0]);
	for (i = 0; i < 3; i++) {
		/* The freed slot goes to exactly one putter. */
		ASSERT_EQ(0, wait_exited(pid, 3, i + 1));
		sleep_ms(50);
		ASSERT_EQ(i + 1, count_exited(pid, 3));
		ASSERT_EQ(0, q_wait_stat(self->fd, ST_PUTTERS, 2 - i));
		EXPECT_EQ(1, q_fionread(self->fd));

		ASSERT_EQ(1L, do_get(variant->use_ioctl, self->fd, buf,
				     sizeof(buf)));
		seen |= 1 << (buf[0] - 'a');
	}
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, reap(pid[i]));
		EXPECT_EQ(1L, self->res[i].ret);
	}
	EXPECT_EQ(7, seen);
	EXPECT_EQ(0, q_fionread(self->fd));
}

TEST(xfer_nonblock_flag)
{
	struct mpq_stat st;
	char buf[8];
	int fd = mpq_new(1, 0, 0, 0);

	/* The per-call flag on a blocking descriptor. */
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EAGAIN, q_get(fd, buf, sizeof(buf), MPQ_XFER_NONBLOCK, NULL));
	ASSERT_EQ(0, q_put(fd, "x", 1, MPQ_XFER_NONBLOCK, NULL));
	EXPECT_EQ(-EAGAIN, q_put(fd, "y", 1, MPQ_XFER_NONBLOCK, NULL));
	ASSERT_EQ(1L, q_get(fd, buf, sizeof(buf), MPQ_XFER_NONBLOCK, NULL));
	EXPECT_EQ('x', buf[0]);

	ASSERT_EQ(0, q_stat(fd, &st));
	EXPECT_EQ(0ULL, st.qsize);
	EXPECT_EQ(1ULL, st.total_puts);
	EXPECT_EQ(1ULL, st.total_gets);
	close(fd);
}

TEST(full_means_one_byte_would_block)
{
	char buf[8];
	int fd = mpq_new(2, 0, 0, MPQ_CREATE_NONBLOCK);

	ASSERT_LE(0, fd);
	ASSERT_EQ(1L, q_write(fd, "a", 1));
	ASSERT_EQ(1L, q_write(fd, "b", 1));
	EXPECT_EQ(-EAGAIN, q_write(fd, "c", 1));
	ASSERT_EQ(1L, q_read(fd, buf, sizeof(buf)));
	EXPECT_EQ(1L, q_write(fd, "c", 1));
	close(fd);
}

/*
 * A woken getter whose buffer is too small for the new head message fails
 * with EMSGSIZE, and does not swallow the wakeup: the getter behind it,
 * with room, gets the message.
 */
TEST(small_getter_passes_wakeup_on)
{
	struct result *res = shared_alloc(2 * sizeof(*res));
	int fd = mpq_new(0, 0, 0, 0);
	pid_t small, big;

	ASSERT_TRUE(res != NULL);
	ASSERT_LE(0, fd);
	small = spawn();
	ASSERT_LE(0, small);
	if (small == 0) {
		res[0].ret = q_read(fd, res[0].buf, 4);
		_exit(0);
	}
	ASSERT_EQ(0, q_wait_blocked(fd, ST_GETTERS, 1, small));
	big = spawn();
	ASSERT_LE(0, big);
	if (big == 0) {
		res[1].ret = q_read(fd, res[1].buf, sizeof(res[1].buf));
		_exit(0);
	}
	ASSERT_EQ(0, q_wait_blocked(fd, ST_GETTERS, 2, big));

	ASSERT_EQ(10L, q_write(fd, "0123456789", 10));
	EXPECT_EQ(0, reap_timeout(big));
	EXPECT_EQ(10L, res[1].ret);
	EXPECT_EQ(0, memcmp(res[1].buf, "0123456789", 10));
	/* The first getter was served first: its buffer was too small. */
	EXPECT_EQ(0, reap_timeout(small));
	EXPECT_EQ(-EMSGSIZE, res[0].ret);
	close(fd);
}

/*
 * Blocked putters are served in the order they came, so that messages stay
 * FIFO across producers: a small put that would fit does not overtake a
 * large one waiting for room, and once both fit both go in, in order.
 */
TEST(putters_do_not_overtake)
{
	char big[60], mid[50], small[20], buf[64];
	int fd = mpq_new(0, 100, 100, 0);
	pid_t large, little;
	struct mpq_stat st;

	memset(big, 'b', sizeof(big));
	memset(mid, 'm', sizeof(mid));
	memset(small, 's', sizeof(small));
	ASSERT_LE(0, fd);
	ASSERT_EQ(30L, q_write(fd, big, 30));
	ASSERT_EQ(60L, q_write(fd, big, 60));

	/* 90 + 50 and 90 + 20 bytes: both wait, the larger one first. */
	large = spawn();
	ASSERT_LE(0, large);
	if (large == 0)
		_exit(q_write(fd, mid, sizeof(mid)) == sizeof(mid) ? 0 : 1);
	ASSERT_EQ(0, q_wait_blocked(fd, ST_PUTTERS, 1, large));
	little = spawn();
	ASSERT_LE(0, little);
	if (little == 0)
		_exit(q_write(fd, small, sizeof(small)) == sizeof(small) ? 0 : 1);
	ASSERT_EQ(0, q_wait_blocked(fd, ST_PUTTERS, 2, little));

	/* 60 bytes queued: 20 more would fit, but not ahead of the 50. */
	ASSERT_EQ(30L, q_read(fd, buf, sizeof(buf)));
	sleep_ms(100);
	ASSERT_EQ(0, q_stat(fd, &st));
	EXPECT_EQ(60ULL, st.bytes);
	EXPECT_EQ(2U, st.putters);
	EXPECT_EQ(0, count_exited((pid_t[]){ large, little }, 2));
	/* Nor does a new non-blocking put get ahead of them. */
	EXPECT_EQ(-EAGAIN, q_put(fd, "x", 1, MPQ_XFER_NONBLOCK, NULL));

	/* Room for both: both go in, the first waiter's message first. */
	ASSERT_EQ(60L, q_read(fd, buf, sizeof(buf)));
	EXPECT_EQ(0, reap_timeout(large));
	EXPECT_EQ(0, reap_timeout(little));
	ASSERT_EQ(50L, q_read(fd, buf, sizeof(buf)));
	EXPECT_EQ('m', buf[0]);
	ASSERT_EQ(20L, q_read(fd, buf, sizeof(buf)));
	EXPECT_EQ('s', buf[0]);
	close(fd);
}

/* Blocked getters and putters are served in the order they came. */
TEST(waiters_served_in_order)
{
	struct result *res = shared_alloc(3 * sizeof(*res));
	int fd = mpq_new(1, 0, 0, 0);
	char buf[8];
	pid_t pid[3];
	int i;

	ASSERT_TRUE(res != NULL);
	ASSERT_LE(0, fd);
	for (i = 0; i < 3; i++) {
		pid[i] = spawn();
		ASSERT_LE(0, pid[i]);
		if (pid[i] == 0) {
			res[i].ret = q_read(fd, res[i].buf, sizeof(res[i].buf));
			_exit(0);
		}
		ASSERT_EQ(0, q_wait_stat(fd, ST_GETTERS, i + 1));
	}
	for (i = 0; i < 3; i++) {
		char msg[2] = { (char)('a' + i), '\0' };

		ASSERT_EQ(1L, q_write(fd, msg, 1));
		ASSERT_EQ(0, reap_timeout(pid[i]));
		EXPECT_EQ(1L, res[i].ret);
		EXPECT_EQ('a' + i, res[i].buf[0]);
	}

	ASSERT_EQ(1L, q_write(fd, "0", 1));
	for (i = 0; i < 3; i++) {
		pid[i] = spawn();
		ASSERT_LE(0, pid[i]);
		if (pid[i] == 0) {
			char msg[2] = { (char)('a' + i), '\0' };

			_exit(q_write(fd, msg, 1) == 1 ? 0 : 1);
		}
		ASSERT_EQ(0, q_wait_stat(fd, ST_PUTTERS, i + 1));
	}
	ASSERT_EQ(1L, q_read(fd, buf, sizeof(buf)));
	EXPECT_EQ('0', buf[0]);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, reap_timeout(pid[i]));
		ASSERT_EQ(1L, q_read(fd, buf, sizeof(buf)));
		EXPECT_EQ('a' + i, buf[0]);
	}
	close(fd);
}

TEST_HARNESS_MAIN
