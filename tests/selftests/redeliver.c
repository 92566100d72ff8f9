// SPDX-License-Identifier: GPL-2.0
/*
 * Redelivery (MPQ_CREATE_REDELIVER): a message a get takes belongs to the
 * open file it was taken through until a task done through that file
 * acknowledges it, oldest first. When the file is released (close, exit,
 * kill -9) or gives it back (MPQ_IOC_NACK), it goes back to the head of
 * the queue in order, its delivery count one higher, and a blocked getter
 * gets it; past max_deliveries it is dead-lettered and counted done. So
 * join() returns even when a consumer dies mid-task.
 */
#include "mpq_test.h"
#include "harness.h"

#define RQ_SYSFS	MPQ_SYSFS_DIR

/* A redelivery queue: anonymous if @name is NULL; its fd, 0, or -errno. */
static int rq_create(const char *name, __u32 max, const char *dlq)
{
	struct mpq_create c = {
		.flags = MPQ_CREATE_REDELIVER,
		.max_deliveries = max,
		.dead_letter = dlq ? PTR(dlq) : 0,
	};

	if (!name)
		return control_ioctl(MPQ_IOC_CREATE, &c);
	memcpy(c.name, name, strnlen(name, sizeof(c.name)));
	return control_ioctl(MPQ_IOC_CREATE_NAMED, &c);
}

static int rq_new(__u32 max)
{
	return rq_create(NULL, max, NULL);
}

/* A get that also returns the delivery count: length, 0 or -errno. */
static long rq_get(int fd, char *buf, size_t cap, __u32 flags, __u32 *deliveries)
{
	struct mpq_xfer x = {
		.buf = PTR(buf),
		.len = cap - 1,
		.flags = flags,
		.deliveries = 0xdead,	/* ignored on entry */
	};
	long ret = ioctl(fd, MPQ_IOC_GET, &x);

	if (ret < 0)
		return -errno;
	buf[ret] = '\0';
	if (deliveries)
		*deliveries = x.deliveries;
	return ret;
}

/* Expect @s next, delivered for the @n-th time. */
static int rq_expect(int fd, const char *s, __u32 n)
{
	__u32 deliveries = 0;
	char buf[64];
	long ret = rq_get(fd, buf, sizeof(buf), MPQ_XFER_NONBLOCK, &deliveries);

	if (ret < 0)
		return (int)ret;
	if (strcmp(buf, s) || deliveries != n) {
		fprintf(stderr, "# got \"%s\" (delivery %u), want \"%s\" (%u)\n",
			buf, deliveries, s, n);
		return -EBADMSG;
	}
	return 0;
}

static int rq_nack(int fd, __u64 count)
{
	return sys_ret(ioctl(fd, MPQ_IOC_NACK, &count));
}

static int rq_reopen(int fd, __u32 flags)
{
	return sys_ret(ioctl(fd, MPQ_IOC_REOPEN, &flags));
}

static __u64 rq_stat(int fd, const char *field)
{
	struct mpq_stat st;

	if (q_stat(fd, &st))
		return ~0ULL;
	if (!strcmp(field, "in_flight"))
		return st.in_flight;
	if (!strcmp(field, "redelivered"))
		return st.redelivered;
	if (!strcmp(field, "dead_lettered"))
		return st.dead_lettered;
	if (!strcmp(field, "qsize"))
		return st.qsize;
	if (!strcmp(field, "unfinished"))
		return st.unfinished;
	if (!strcmp(field, "discarded"))
		return st.discarded;
	return ~0ULL;
}

/* Wait until @fd's stat @field reads @want (another process's doing). */
static int rq_wait(int fd, const char *field, __u64 want)
{
	int64_t end = now_ns() + MPQ_TEST_WAIT_MS * NSEC_PER_MSEC;

	while (rq_stat(fd, field) != want) {
		if (now_ns() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

static bool stat_consistent(int fd)
{
	struct mpq_stat st;

	return !q_stat(fd, &st) &&
	       st.total_puts + st.redelivered ==
	       st.total_gets + st.qsize + st.discarded;
}

static __u64 usage_bytes(void)
{
	struct mpq_usage u = {};

	return control_ioctl(MPQ_IOC_USAGE, &u) ? ~0ULL : u.bytes;
}

FIXTURE(rq) {
	int fd;
	char *shared;
};

FIXTURE_SETUP(rq)
{
	self->fd = rq_new(0);
	ASSERT_LE(0, self->fd);
	self->shared = shared_alloc(4096);
	ASSERT_TRUE(self->shared != NULL);
}

FIXTURE_TEARDOWN(rq)
{
	close(self->fd);
	munmap(self->shared, 4096);
}

TEST(creation_checks)
{
	char name[MPQ_NAME_SIZE], dlq[MPQ_NAME_SIZE];
	struct mpq_create c = { .max_deliveries = 3 };
	struct mpq_info info;
	int fd;

	mpq_test_name(name, sizeof(name), "rq");
	mpq_test_name(dlq, sizeof(dlq), "rq-dlq");
	/* max_deliveries and dead_letter need the flag... */
	EXPECT_EQ(-EINVAL, control_ioctl(MPQ_IOC_CREATE, &c));
	c.max_deliveries = 0;
	c.dead_letter = PTR(dlq);
	EXPECT_EQ(-EINVAL, control_ioctl(MPQ_IOC_CREATE, &c));
	/* ...and a dead-letter queue needs max_deliveries. */
	EXPECT_EQ(-EINVAL, rq_create(NULL, 0, dlq));
	EXPECT_EQ(-ENOENT, rq_create(NULL, 2, dlq));
	EXPECT_EQ(-EINVAL, rq_create(NULL, 2, "bad/name"));
	c.flags = MPQ_CREATE_REDELIVER;
	c.max_deliveries = 1;
	c.dead_letter = 8;	/* unmapped */
	EXPECT_EQ(-EFAULT, control_ioctl(MPQ_IOC_CREATE, &c));
	/* A queue is never its own dead-letter queue. */
	EXPECT_EQ(-EINVAL, rq_create(name, 2, name));

	ASSERT_EQ(0, mpq_new_named(dlq, 0600, 0));
	ASSERT_EQ(0, rq_create(name, 5, dlq));
	fd = mpq_open_named(name, O_RDWR);
	ASSERT_LE(0, fd);
	memset(&info, 0xa5, sizeof(info));
	ASSERT_EQ(0, sys_ret(ioctl(fd, MPQ_IOC_INFO, &info)));
	EXPECT_EQ(MPQ_CREATE_REDELIVER, info.flags);
	EXPECT_EQ(5U, info.max_deliveries);
	EXPECT_STREQ(dlq, info.dead_letter);
	EXPECT_EQ(MPQ_DEFAULT_MSGSIZE_MAX, info.msgsize_max);
	close(fd);

	/* A plain queue says it is one. */
	fd = mpq_new(7, 0, 0, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sys_ret(ioctl(fd, MPQ_IOC_INFO, &info)));
	EXPECT_EQ(0U, info.flags);
	EXPECT_EQ(7ULL, info.maxsize);
	EXPECT_STREQ("", info.dead_letter);
	EXPECT_EQ(-EOPNOTSUPP, rq_nack(fd, 1));
	close(fd);

	EXPECT_EQ(0, mpq_remove(name));
	EXPECT_EQ(0, mpq_remove(dlq));
}

TEST(sysfs_attributes)
{
	char name[MPQ_NAME_SIZE], dlq[MPQ_NAME_SIZE], path[256], line[80];
	unsigned long long v;
	char buf[8];
	int fd;

	mpq_test_name(name, sizeof(name), "rqs");
	mpq_test_name(dlq, sizeof(dlq), "rqs-dlq");
	ASSERT_EQ(0, mpq_new_named(dlq, 0600, 0));
	ASSERT_EQ(0, rq_create(name, 4, dlq));
	fd = mpq_open_named(name, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1L, q_puts(fd, "a"));
	ASSERT_EQ(1L, q_puts(fd, "b"));
	ASSERT_EQ(1L, q_read(fd, buf, sizeof(buf)));
	ASSERT_EQ(1L, q_read(fd, buf, sizeof(buf)));
	ASSERT_EQ(0, rq_nack(fd, 1));

#define ATTR(a) (snprintf(path, sizeof(path), RQ_SYSFS "/%s/" a, name), path)
	EXPECT_EQ(0, read_file_u64(ATTR("in_flight"), &v));
	EXPECT_EQ(1ULL, v);
	EXPECT_EQ(0, read_file_u64(ATTR("redelivered"), &v));
	EXPECT_EQ(1ULL, v);
	EXPECT_EQ(0, read_file_u64(ATTR("dead_lettered"), &v));
	EXPECT_EQ(0ULL, v);
	EXPECT_EQ(0, read_file_u64(ATTR("redeliver"), &v));
	EXPECT_EQ(1ULL, v);
	EXPECT_EQ(0, read_file_u64(ATTR("max_deliveries"), &v));
	EXPECT_EQ(4ULL, v);
	EXPECT_EQ(0, read_file_line(ATTR("dead_letter"), line, sizeof(line)));
	EXPECT_STREQ(dlq, line);
	/* Once the dead-letter queue is removed, none is named. */
	EXPECT_EQ(0, mpq_remove(dlq));
	EXPECT_EQ(0, read_file_line(ATTR("dead_letter"), line, sizeof(line)));
	EXPECT_STREQ("", line);
	snprintf(path, sizeof(path), RQ_SYSFS "/%s/redeliver", dlq);
	EXPECT_EQ(-ENOENT, read_file_line(path, line, sizeof(line)));
#undef ATTR
	close(fd);
	EXPECT_EQ(0, mpq_remove(name));
}

/* A task done acknowledges through the file that took: its oldest. */
TEST_F(rq, task_done_acks_the_owners_oldest)
{
	int other = rq_reopen(self->fd, MPQ_CREATE_CLOEXEC);
	char buf[8];

	ASSERT_LE(0, other);
	ASSERT_EQ(1L, q_puts(self->fd, "1"));
	ASSERT_EQ(1L, q_puts(self->fd, "2"));
	ASSERT_EQ(1L, q_puts(self->fd, "3"));
	ASSERT_EQ(1L, q_read(other, buf, sizeof(buf)));
	ASSERT_EQ(1L, q_read(other, buf, sizeof(buf)));
	EXPECT_EQ(2ULL, rq_stat(self->fd, "in_flight"));
	EXPECT_EQ(1ULL, rq_stat(self->fd, "qsize"));
	/* Not through a file that owns nothing, nor more than it owns. */
	EXPECT_EQ(-EINVAL, q_task_done(self->fd, 1));
	EXPECT_EQ(-EINVAL, q_task_done(other, 3));
	EXPECT_EQ(-EINVAL, q_task_done(other, 0));
	EXPECT_EQ(3ULL, rq_stat(self->fd, "unfinished"));
	ASSERT_EQ(0, q_task_done(other, 1));		/* "1" */
	EXPECT_EQ(2ULL, rq_stat(self->fd, "unfinished"));
	EXPECT_EQ(1ULL, rq_stat(self->fd, "in_flight"));
	/* Closing gives back what is left: "2", ahead of "3". */
	close(other);
	EXPECT_EQ(0ULL, rq_stat(self->fd, "in_flight"));
	EXPECT_EQ(2ULL, rq_stat(self->fd, "qsize"));
	EXPECT_EQ(0, rq_expect(self->fd, "2", 2));
	EXPECT_EQ(0, rq_expect(self->fd, "3", 1));
	EXPECT_EQ(0, q_task_done(self->fd, 2));
	EXPECT_EQ(0, q_join_soon(self->fd));
	EXPECT_TRUE(stat_consistent(self->fd));
}

TEST_F(rq, release_puts_back_at_the_head_in_order)
{
	int taker = rq_reopen(self->fd, 0);
	char buf[8];
	int i;

	ASSERT_LE(0, taker);
	for (i = 1; i <= 4; i++) {
		snprintf(buf, sizeof(buf), "%d", i);
		ASSERT_EQ(1L, q_puts(self->fd, buf));
	}
	ASSERT_EQ(1L, q_read(taker, buf, sizeof(buf)));
	ASSERT_EQ(1L, q_read(taker, buf, sizeof(buf)));
	ASSERT_EQ(1L, q_read(taker, buf, sizeof(buf)));
	ASSERT_EQ(0, q_task_done(taker, 1));
	ASSERT_EQ(1L, q_puts(self->fd, "5"));
	close(taker);
	EXPECT_EQ(2ULL, rq_stat(self->fd, "redelivered"));
	EXPECT_EQ(0, rq_expect(self->fd, "2", 2));
	EXPECT_EQ(0, rq_expect(self->fd, "3", 2));
	EXPECT_EQ(0, rq_expect(self->fd, "4", 1));
	EXPECT_EQ(0, rq_expect(self->fd, "5", 1));
	EXPECT_EQ(0, q_task_done(self->fd, 4));
	EXPECT_EQ(0ULL, rq_stat(self->fd, "unfinished"));
	EXPECT_TRUE(stat_consistent(self->fd));
}

/* A getter blocked on the empty queue gets what a release gives back. */
TEST_F(rq, release_wakes_a_blocked_getter)
{
	int taker = rq_reopen(self->fd, 0);
	char buf[8];
	pid_t pid;

	ASSERT_LE(0, taker);
	ASSERT_EQ(3L, q_puts(self->fd, "job"));
	ASSERT_EQ(3L, q_read(taker, buf, sizeof(buf)));
	pid = spawn();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		__u32 n = 0;
		int own = rq_reopen(self->fd, 0);
		long ret;

		close(taker);	/* the parent's file, not ours to keep */
		ret = rq_get(own, self->shared, 64, 0, &n);

		_exit(ret == 3 && !strcmp(self->shared, "job") && n == 2 &&
		      q_task_done(own, 1) == 0 ? 0 : 1);
	}
	ASSERT_EQ(0, q_wait_blocked(self->fd, ST_GETTERS, 1, pid));
	close(taker);
	EXPECT_EQ(0, reap_timeout(pid));
	EXPECT_EQ(0, q_join_soon(self->fd));
}

/*
 * The case redelivery exists for: a worker killed between get and task
 * done. Its message comes back, another worker finishes it, join returns.
 */
TEST_F(rq, kill9_mid_task_and_join_returns)
{
	pid_t pid, joiner;
	char buf[16];

	ASSERT_EQ(4L, q_puts(self->fd, "task"));
	pid = spawn();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int own = rq_reopen(self->fd, 0);

		if (own < 0 || q_read(own, buf, sizeof(buf)) != 4)
			_exit(1);
		for (;;)
			pause();	/* "working" */
	}
	joiner = spawn();
	ASSERT_LE(0, joiner);
	if (joiner == 0)
		_exit(q_join(self->fd, NULL) ? 1 : 0);
	ASSERT_EQ(0, rq_wait(self->fd, "in_flight", 1));
	ASSERT_EQ(0, q_wait_blocked(self->fd, ST_JOINERS, 1, joiner));
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, reap(pid));
	EXPECT_EQ(0ULL, rq_stat(self->fd, "in_flight"));
	EXPECT_EQ(0, rq_expect(self->fd, "task", 2));
	EXPECT_FALSE(has_exited(joiner));
	EXPECT_EQ(0, q_task_done(self->fd, 1));
	EXPECT_EQ(0, reap_timeout(joiner));
}

/*
 * A forked child shares its parent's file: it must take its own (REOPEN)
 * for its messages to come back when it dies while the parent lives on.
 * The parent's own messages stay with the parent.
 */
TEST_F(rq, forked_child_with_its_own_file)
{
	char buf[8];
	pid_t pid;

	ASSERT_EQ(1L, q_puts(self->fd, "p"));
	ASSERT_EQ(2L, q_puts(self->fd, "c1"));
	ASSERT_EQ(2L, q_puts(self->fd, "c2"));
	ASSERT_EQ(1L, q_read(self->fd, buf, sizeof(buf)));	/* "p" */
	pid = spawn();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int own = rq_reopen(self->fd, MPQ_CREATE_CLOEXEC);

		if (own < 0 || q_read(own, buf, sizeof(buf)) != 2 ||
		    q_read(own, buf, sizeof(buf)) != 2)
			_exit(1);
		for (;;)
			pause();
	}
	ASSERT_EQ(0, rq_wait(self->fd, "in_flight", 3));
	kill(pid, SIGKILL);
	reap(pid);
	EXPECT_EQ(1ULL, rq_stat(self->fd, "in_flight"));
	EXPECT_EQ(2ULL, rq_stat(self->fd, "qsize"));
	EXPECT_EQ(0, q_task_done(self->fd, 1));		/* "p", still ours */
	EXPECT_EQ(0, rq_expect(self->fd, "c1", 2));
	EXPECT_EQ(0, rq_expect(self->fd, "c2", 2));
	EXPECT_EQ(0, q_task_done(self->fd, 2));
	EXPECT_EQ(0, q_join_soon(self->fd));
}

/* Without its own file a child's messages are the shared file's. */
TEST_F(rq, forked_child_on_the_inherited_file)
{
	char buf[8];
	pid_t pid;

	ASSERT_EQ(1L, q_puts(self->fd, "c"));
	pid = spawn();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (q_read(self->fd, buf, sizeof(buf)) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	ASSERT_EQ(0, rq_wait(self->fd, "in_flight", 1));
	kill(pid, SIGKILL);
	reap(pid);
	/* The file lives on in the parent: nothing comes back... */
	EXPECT_EQ(1ULL, rq_stat(self->fd, "in_flight"));
	/* ...and the parent may acknowledge it, as the same file. */
	EXPECT_EQ(0, q_task_done(self->fd, 1));
}

TEST_F(rq, nack_gives_back_the_oldest)
{
	char buf[8];

	ASSERT_EQ(1L, q_puts(self->fd, "a"));
	ASSERT_EQ(1L, q_puts(self->fd, "b"));
	ASSERT_EQ(1L, q_puts(self->fd, "c"));
	ASSERT_EQ(1L, q_read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(1L, q_read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(-EINVAL, rq_nack(self->fd, 0));
	EXPECT_EQ(-EINVAL, rq_nack(self->fd, 3));
	ASSERT_EQ(0, rq_nack(self->fd, 1));			/* "a" */
	EXPECT_EQ(1ULL, rq_stat(self->fd, "in_flight"));
	EXPECT_EQ(0, rq_expect(self->fd, "a", 2));
	ASSERT_EQ(0, rq_nack(self->fd, 2));			/* "b", "a" */
	EXPECT_EQ(0, rq_expect(self->fd, "b", 2));
	EXPECT_EQ(0, rq_expect(self->fd, "a", 3));
	EXPECT_EQ(0, rq_expect(self->fd, "c", 1));
	EXPECT_EQ(3ULL, rq_stat(self->fd, "redelivered"));
	EXPECT_EQ(3ULL, rq_stat(self->fd, "unfinished"));
	EXPECT_EQ(0, q_task_done(self->fd, 3));
	EXPECT_EQ(0, q_join_soon(self->fd));
	EXPECT_TRUE(stat_consistent(self->fd));
}

/* A nack loop grows nothing: the message and its charge stay one. */
TEST_F(rq, nack_loop_is_bounded)
{
	__u64 before;
	char buf[8];
	int i;

	ASSERT_EQ(1L, q_puts(self->fd, "x"));
	before = usage_bytes();
	for (i = 0; i < 2000; i++) {
		ASSERT_EQ(1L, q_read(self->fd, buf, sizeof(buf)));
		ASSERT_EQ(0, rq_nack(self->fd, 1));
	}
	EXPECT_EQ(before, usage_bytes());
	EXPECT_EQ(1ULL, rq_stat(self->fd, "qsize"));
	EXPECT_EQ(2000ULL, rq_stat(self->fd, "redelivered"));
	EXPECT_EQ(0, rq_expect(self->fd, "x", 2001));
	EXPECT_EQ(0, q_task_done(self->fd, 1));
}

/* In flight and back again, a message stays charged to its putter. */
TEST_F(rq, charge_follows_the_message)
{
	__u64 base = usage_bytes(), charged;
	int taker = rq_reopen(self->fd, 0);
	char buf[8];

	ASSERT_LE(0, taker);
	ASSERT_EQ(1L, q_puts(self->fd, "m"));
	charged = usage_bytes();
	EXPECT_LT(base, charged);
	ASSERT_EQ(1L, q_read(taker, buf, sizeof(buf)));
	EXPECT_EQ(charged, usage_bytes());
	close(taker);
	EXPECT_EQ(charged, usage_bytes());
	ASSERT_EQ(0, rq_expect(self->fd, "m", 2));
	EXPECT_EQ(charged, usage_bytes());
	ASSERT_EQ(0, q_task_done(self->fd, 1));
	EXPECT_EQ(base, usage_bytes());
}

TEST_F(rq, get_many_returns_delivery_counts)
{
	struct mpq_msgvec v[3];
	char bufs[3][8];
	__u32 del[3] = { 0, 0, 0 };
	struct mpq_batch b = {
		.vec = PTR(v), .count = 3, .flags = MPQ_XFER_NONBLOCK,
		.deliveries = PTR(del),
	};
	int i;

	for (i = 0; i < 3; i++) {
		v[i].buf = PTR(bufs[i]);
		v[i].len = sizeof(bufs[i]);
	}
	ASSERT_EQ(1L, q_puts(self->fd, "a"));
	ASSERT_EQ(1L, q_puts(self->fd, "b"));
	ASSERT_EQ(1L, q_read(self->fd, bufs[0], sizeof(bufs[0])));
	ASSERT_EQ(0, rq_nack(self->fd, 1));
	ASSERT_EQ(1L, q_puts(self->fd, "c"));
	ASSERT_EQ(3, sys_ret(ioctl(self->fd, MPQ_IOC_GET_MANY, &b)));
	EXPECT_EQ(2U, del[0]);
	EXPECT_EQ(1U, del[1]);
	EXPECT_EQ(1U, del[2]);
	EXPECT_EQ(0, memcmp(bufs[0], "a", 1));
	EXPECT_EQ(3ULL, rq_stat(self->fd, "in_flight"));
	/* A bad deliveries pointer: nothing is taken. */
	ASSERT_EQ(0, rq_nack(self->fd, 3));
	b.deliveries = 8;
	EXPECT_EQ(-EFAULT, sys_ret(ioctl(self->fd, MPQ_IOC_GET_MANY, &b)));
	EXPECT_EQ(3ULL, rq_stat(self->fd, "qsize"));
	EXPECT_EQ(0ULL, rq_stat(self->fd, "in_flight"));
}

/* Past max_deliveries with no dead-letter queue: discarded, counted done. */
TEST(max_deliveries_discards)
{
	int fd = rq_new(2);
	char buf[8];
	pid_t pid;

	ASSERT_LE(0, fd);
	ASSERT_EQ(6L, q_puts(fd, "poison"));
	ASSERT_EQ(2L, q_puts(fd, "ok"));
	pid = spawn();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(q_join(fd, NULL) ? 1 : 0);
	ASSERT_EQ(0, q_wait_blocked(fd, ST_JOINERS, 1, pid));
	ASSERT_EQ(6L, q_read(fd, buf, sizeof(buf)));
	ASSERT_EQ(0, rq_nack(fd, 1));
	ASSERT_EQ(0, rq_expect(fd, "poison", 2));
	ASSERT_EQ(0, rq_nack(fd, 1));
	EXPECT_EQ(1ULL, rq_stat(fd, "dead_lettered"));
	EXPECT_EQ(1ULL, rq_stat(fd, "unfinished"));
	EXPECT_EQ(0, rq_expect(fd, "ok", 1));
	EXPECT_FALSE(has_exited(pid));
	EXPECT_EQ(0, q_task_done(fd, 1));
	EXPECT_EQ(0, reap_timeout(pid));
	EXPECT_TRUE(stat_consistent(fd));
	close(fd);
}

/*
 * Dead letters go to the named queue given at creation, with a fresh
 * delivery count; if it is full, shut down or removed they are dropped,
 * counted done all the same.
 */
TEST(dead_letter_queue)
{
	char name[MPQ_NAME_SIZE];
	struct mpq_stat st;
	int fd, dfd, i;
	char buf[8];

	mpq_test_name(name, sizeof(name), "dlq");
	ASSERT_EQ(0, mpq_new_named(name, 0600, 2));
	dfd = mpq_open_named(name, O_RDWR);
	ASSERT_LE(0, dfd);
	fd = rq_create(NULL, 1, name);
	ASSERT_LE(0, fd);

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(1L, q_puts(fd, "d"));
		ASSERT_EQ(1L, q_read(fd, buf, sizeof(buf)));
		ASSERT_EQ(0, rq_nack(fd, 1));
	}
	/* Two fit the dead-letter queue (maxsize 2); the third is dropped. */
	EXPECT_EQ(3ULL, rq_stat(fd, "dead_lettered"));
	EXPECT_EQ(0ULL, rq_stat(fd, "unfinished"));
	EXPECT_EQ(0ULL, rq_stat(fd, "redelivered"));
	ASSERT_EQ(0, q_stat(dfd, &st));
	EXPECT_EQ(2ULL, st.qsize);
	EXPECT_EQ(2ULL, st.unfinished);
	EXPECT_EQ(1L, q_read(dfd, buf, sizeof(buf)));
	EXPECT_EQ(1L, q_read(dfd, buf, sizeof(buf)));

	/* Shut down: dropped. */
	ASSERT_EQ(0, q_shutdown(dfd, 0));
	ASSERT_EQ(1L, q_puts(fd, "d"));
	ASSERT_EQ(1L, q_read(fd, buf, sizeof(buf)));
	close(fd);	/* the release dead-letters it */
	ASSERT_EQ(0, q_stat(dfd, &st));
	EXPECT_EQ(2ULL, st.total_puts);

	/* Removed: dropped, though a descriptor keeps it. */
	fd = rq_create(NULL, 1, name);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, mpq_remove(name));
	ASSERT_EQ(1L, q_puts(fd, "d"));
	ASSERT_EQ(1L, q_read(fd, buf, sizeof(buf)));
	ASSERT_EQ(0, rq_nack(fd, 1));
	EXPECT_EQ(1ULL, rq_stat(fd, "dead_lettered"));
	EXPECT_EQ(0ULL, rq_stat(fd, "unfinished"));
	ASSERT_EQ(0, q_stat(dfd, &st));
	EXPECT_EQ(2ULL, st.total_puts);
	close(fd);
	close(dfd);
}

/*
 * A dead-letter queue must be writable by whoever names it: as for
 * open(2) of its node.
 */
static int create_with_dlq(const char *name)
{
	return rq_create(NULL, 1, name);
}

TEST(dead_letter_needs_write_permission)
{
	char name[MPQ_NAME_SIZE];
	int ret;

	mpq_test_name(name, sizeof(name), "dlqp");
	ASSERT_EQ(0, mpq_new_named(name, 0644, 0));
	EXPECT_EQ(-EACCES, run_as(NOBODY_UID, NOBODY_GID, create_with_dlq,
				  name));
	EXPECT_EQ(0, mpq_remove(name));
	ASSERT_EQ(0, mpq_new_named(name, 0622, 0));
	ret = run_as(NOBODY_UID, NOBODY_GID, create_with_dlq, name);
	EXPECT_LE(0, ret);
	EXPECT_EQ(0, mpq_remove(name));
}

/*
 * After a plain shutdown the stream ends only when nothing is queued and
 * nothing is in flight: a consumer dying during the drain still gets its
 * messages delivered to the others.
 */
TEST_F(rq, shutdown_drain_waits_for_in_flight)
{
	int taker = rq_reopen(self->fd, 0);
	char buf[8];
	pid_t pid;

	ASSERT_LE(0, taker);
	ASSERT_EQ(1L, q_puts(self->fd, "m"));
	ASSERT_EQ(1L, q_read(taker, buf, sizeof(buf)));
	ASSERT_EQ(0, q_shutdown(self->fd, 0));
	EXPECT_EQ(-EAGAIN, rq_get(self->fd, buf, sizeof(buf),
				  MPQ_XFER_NONBLOCK, NULL));
	pid = spawn();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int own = rq_reopen(self->fd, 0);

		close(taker);	/* the parent's file, not ours to keep */
		if (rq_get(own, buf, sizeof(buf), 0, NULL) != 1 ||
		    q_task_done(own, 1) ||
		    rq_get(own, buf, sizeof(buf), 0, NULL) != 0)
			_exit(1);
		_exit(0);
	}
	ASSERT_EQ(0, q_wait_blocked(self->fd, ST_GETTERS, 1, pid));
	close(taker);	/* dies during the drain */
	EXPECT_EQ(0, reap_timeout(pid));
	EXPECT_EQ(0, rq_get(self->fd, buf, sizeof(buf), MPQ_XFER_NONBLOCK,
			    NULL));
	EXPECT_EQ(0, q_join_soon(self->fd));
}

/* The last acknowledgment after a shutdown ends the stream for getters. */
TEST_F(rq, last_ack_after_shutdown_ends_the_stream)
{
	char buf[8];
	pid_t pid;

	ASSERT_EQ(1L, q_puts(self->fd, "m"));
	ASSERT_EQ(1L, q_read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, q_shutdown(self->fd, 0));
	pid = spawn();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int own = rq_reopen(self->fd, 0);

		_exit(rq_get(own, buf, sizeof(buf), 0, NULL) == 0 ? 0 : 1);
	}
	ASSERT_EQ(0, q_wait_blocked(self->fd, ST_GETTERS, 1, pid));
	EXPECT_EQ(0, q_task_done(self->fd, 1));
	EXPECT_EQ(0, reap_timeout(pid));
}

/*
 * An immediate shutdown ends the stream at once; what is in flight stays
 * unfinished until acknowledged, or until given back, which discards it
 * and counts it done.
 */
TEST_F(rq, immediate_shutdown_with_in_flight)
{
	int taker = rq_reopen(self->fd, 0);
	char buf[8];

	ASSERT_LE(0, taker);
	ASSERT_EQ(1L, q_puts(self->fd, "a"));
	ASSERT_EQ(1L, q_puts(self->fd, "b"));
	ASSERT_EQ(1L, q_puts(self->fd, "c"));
	ASSERT_EQ(1L, q_read(taker, buf, sizeof(buf)));
	ASSERT_EQ(1L, q_read(taker, buf, sizeof(buf)));
	ASSERT_EQ(0, q_shutdown(self->fd, MPQ_SHUTDOWN_IMMEDIATE));
	EXPECT_EQ(0, rq_get(self->fd, buf, sizeof(buf), 0, NULL));
	EXPECT_EQ(2ULL, rq_stat(self->fd, "unfinished"));
	EXPECT_EQ(1ULL, rq_stat(self->fd, "discarded"));
	EXPECT_EQ(0, q_task_done(taker, 1));
	close(taker);
	EXPECT_EQ(0ULL, rq_stat(self->fd, "unfinished"));
	EXPECT_EQ(2ULL, rq_stat(self->fd, "discarded"));
	EXPECT_EQ(0ULL, rq_stat(self->fd, "in_flight"));
	EXPECT_EQ(0, q_join_soon(self->fd));
	EXPECT_TRUE(stat_consistent(self->fd));
}

/* A file closed after its queue was removed gives back to the queue. */
TEST(close_after_remove)
{
	char name[MPQ_NAME_SIZE], buf[8];
	int a, b;

	mpq_test_name(name, sizeof(name), "rqr");
	ASSERT_EQ(0, rq_create(name, 0, NULL));
	a = mpq_open_named(name, O_RDWR);
	b = mpq_open_named(name, O_RDWR);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_EQ(1L, q_puts(a, "m"));
	ASSERT_EQ(1L, q_read(a, buf, sizeof(buf)));
	ASSERT_EQ(0, mpq_remove(name));
	close(a);
	EXPECT_EQ(0, rq_expect(b, "m", 2));
	close(b);	/* the last file: the queue goes, with the message */
}

TEST_F(rq, reopen_keeps_access_mode)
{
	char name[MPQ_NAME_SIZE], buf[8];
	int ro, fd;

	EXPECT_EQ(-EINVAL, rq_reopen(self->fd, 1U << 7));
	fd = rq_reopen(self->fd, MPQ_CREATE_CLOEXEC | MPQ_CREATE_NONBLOCK);
	ASSERT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_NONBLOCK, fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(-EAGAIN, q_read(fd, buf, sizeof(buf)));
	close(fd);
	fd = rq_reopen(self->fd, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);

	mpq_test_name(name, sizeof(name), "rqo");
	ASSERT_EQ(0, rq_create(name, 0, NULL));
	ro = mpq_open_named(name, O_RDONLY);
	ASSERT_LE(0, ro);
	fd = rq_reopen(ro, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EBADF, q_puts(fd, "x"));
	EXPECT_EQ(O_RDONLY, fcntl(fd, F_GETFL) & O_ACCMODE);
	close(fd);
	close(ro);
	EXPECT_EQ(0, mpq_remove(name));
}

/* A queue without the flag works as ever: no ownership. */
TEST(plain_queue_unchanged)
{
	int fd = mpq_new(0, 0, 0, 0), other;
	char buf[8];

	ASSERT_LE(0, fd);
	other = rq_reopen(fd, 0);
	ASSERT_LE(0, other);
	ASSERT_EQ(1L, q_puts(fd, "x"));
	ASSERT_EQ(1L, q_read(other, buf, sizeof(buf)));
	close(other);
	EXPECT_EQ(0ULL, rq_stat(fd, "qsize"));
	EXPECT_EQ(0ULL, rq_stat(fd, "in_flight"));
	EXPECT_EQ(0, q_task_done(fd, 1));
	close(fd);
}

TEST_HARNESS_MAIN
