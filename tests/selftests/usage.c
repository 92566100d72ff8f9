// SPDX-License-Identifier: GPL-2.0
/*
 * Per-user limits on kernel memory: every queue is charged to its owner
 * for the queue and each message it holds; past bytes_per_user a put or a
 * creation fails with ENOSPC (never blocks), CAP_SYS_RESOURCE is exempt,
 * and MPQ_IOC_USAGE tells a user what they hold and may hold.
 */
#include "mpq_test.h"
#include "harness.h"

#define KIB		1024ULL

/* A check in a child: the failing line, reported by the parent. */
#define CHECK(cond)	do { if (!(cond)) return __LINE__; } while (0)

static int usage(struct mpq_usage *u)
{
	memset(u, 0xa5, sizeof(*u));
	return control_ioctl(MPQ_IOC_USAGE, u);
}

/* Run @fn as nobody in a child: its result (0 or a failing line). */
static int as_nobody(int (*fn)(void))
{
	int *ret = shared_alloc(sizeof(int));
	pid_t pid;
	int val;

	if (!ret)
		return -ENOMEM;
	*ret = -ECHILD;
	pid = spawn();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (drop_privs(NOBODY_UID, NOBODY_GID))
			_exit(1);
		*ret = fn();
		_exit(0);
	}
	val = reap(pid) ? -ECHILD : *ret;
	munmap(ret, sizeof(int));
	return val;
}

FIXTURE(us) {
	unsigned long long saved;
	char name[MPQ_NAME_SIZE];
};

FIXTURE_SETUP(us)
{
	ASSERT_EQ(0, param_read("bytes_per_user", &self->saved));
	mpq_test_name(self->name, sizeof(self->name), "usage");
	mpq_remove(self->name);
}

FIXTURE_TEARDOWN(us)
{
	mpq_remove(self->name);
	param_write("bytes_per_user", self->saved);
}

static char usage_name[MPQ_NAME_SIZE];

/* What nobody holds follows their queues and messages, up and down. */
static int nobody_counts(void)
{
	static char msg[1000];
	struct mpq_usage u0, u1, u2;
	int fd, nfd;

	CHECK(usage(&u0) == 0);
	CHECK(u0.bytes == 0 && u0.queues == 0 && u0.named == 0);
	CHECK(u0.bytes_max == param_u64("bytes_per_user"));
	CHECK(u0.named_max == param_u64("queues_per_user"));
	CHECK(u0.__reserved == 0 && u0.__reserved2[0] == 0 &&
	      u0.__reserved2[3] == 0);

	fd = mpq_new(0, 0, 0, 0);
	CHECK(fd >= 0);
	CHECK(usage(&u1) == 0);
	/* The queue itself is charged. */
	CHECK(u1.queues == 1 && u1.named == 0 && u1.bytes > 0);

	CHECK(q_write(fd, msg, sizeof(msg)) == sizeof(msg));
	CHECK(usage(&u2) == 0);
	/* The payload and its header, rounded to kmalloc's buckets. */
	CHECK(u2.bytes >= u1.bytes + sizeof(msg));
	CHECK(u2.bytes <= u1.bytes + 2 * sizeof(msg));
	CHECK(q_read(fd, msg, sizeof(msg)) == sizeof(msg));
	CHECK(usage(&u2) == 0 && u2.bytes == u1.bytes);

	CHECK(mpq_new_named(usage_name, 0600, 0) == 0);
	CHECK(usage(&u2) == 0 && u2.queues == 2 && u2.named == 1);
	/* An open descriptor of a removed queue still holds it. */
	nfd = mpq_open_named(usage_name, O_RDWR);
	CHECK(nfd >= 0);
	CHECK(mpq_remove(usage_name) == 0);
	CHECK(usage(&u2) == 0 && u2.queues == 2 && u2.named == 0);
	close(nfd);
	close(fd);
	CHECK(usage(&u2) == 0);
	CHECK(u2.bytes == 0 && u2.queues == 0 && u2.named == 0);
	return 0;
}

TEST_F(us, counts_what_a_user_holds)
{
	strcpy(usage_name, self->name);
	EXPECT_EQ(0, as_nobody(nobody_counts));
}

/*
 * Past the limit a put fails with ENOSPC whether or not it may block (the
 * queue is not full: waiting would not help), and queues nothing; a get
 * frees room for the next put. Nothing is ever charged past the limit.
 */
static int nobody_fills(void)
{
	static char msg[16 * KIB];
	struct mpq_usage u;
	struct mpq_stat st;
	int fd, n = 0, ret;

	fd = mpq_new(0, 0, 0, 0);
	CHECK(fd >= 0);
	while ((ret = q_put(fd, msg, sizeof(msg), MPQ_XFER_NONBLOCK,
			    NULL)) == 0)
		CHECK(++n < 64);
	CHECK(ret == -ENOSPC);
	CHECK(n >= 8 && n < 16);
	CHECK(q_put(fd, msg, sizeof(msg), 0, NULL) == -ENOSPC);
	CHECK(q_write(fd, msg, sizeof(msg)) == -ENOSPC);
	CHECK(q_stat(fd, &st) == 0 && st.qsize == (unsigned int)n);
	CHECK(usage(&u) == 0 && u.bytes <= u.bytes_max);
	CHECK(u.bytes_max == 256 * KIB);

	CHECK(q_read(fd, msg, sizeof(msg)) == sizeof(msg));
	CHECK(q_write(fd, msg, sizeof(msg)) == sizeof(msg));
	CHECK(q_write(fd, msg, sizeof(msg)) == -ENOSPC);
	close(fd);
	CHECK(usage(&u) == 0 && u.bytes == 0);
	return 0;
}

TEST_F(us, bytes_per_user_limits_puts)
{
	ASSERT_EQ(0, param_write("bytes_per_user", 256 * KIB));
	EXPECT_EQ(0, as_nobody(nobody_fills));
}

/* With no room even for a queue, creating one fails, anonymous or named. */
static int nobody_creates(void)
{
	CHECK(mpq_new(0, 0, 0, 0) == -ENOSPC);
	CHECK(mpq_new_named(usage_name, 0600, 0) == -ENOSPC);
	CHECK(mpq_open_named(usage_name, O_RDWR) == -ENOENT);
	return 0;
}

TEST_F(us, bytes_per_user_limits_creation)
{
	strcpy(usage_name, self->name);
	ASSERT_EQ(0, param_write("bytes_per_user", 1));
	EXPECT_EQ(0, as_nobody(nobody_creates));
}

/* CAP_SYS_RESOURCE is exempt, and told that no limit applies. */
TEST_F(us, root_is_exempt)
{
	static char msg[64 * KIB];
	struct mpq_usage u;
	int fd, i;

	ASSERT_EQ(0, param_write("bytes_per_user", 1));
	fd = mpq_new(0, 0, 0, 0);
	ASSERT_LE(0, fd);
	for (i = 0; i < 4; i++)
		ASSERT_EQ((long)sizeof(msg), q_write(fd, msg, sizeof(msg)));
	ASSERT_EQ(0, usage(&u));
	EXPECT_EQ(0ULL, u.bytes_max);
	EXPECT_EQ(0U, u.named_max);
	EXPECT_LE(4 * sizeof(msg), u.bytes);
	EXPECT_LE(1U, u.queues);
	close(fd);
}

static int nobody_creates_0666(void)
{
	return mpq_new_named(usage_name, 0666, 0) ? __LINE__ : 0;
}

static int nobody_holds_more_than(void)
{
	struct mpq_usage u;

	CHECK(usage(&u) == 0);
	return u.bytes >= 100 * KIB ? 0 : __LINE__;
}

/* The owner pays for what others put in their queue, as with mqueue. */
TEST_F(us, owner_is_charged)
{
	static char msg[100 * KIB];
	int fd;

	strcpy(usage_name, self->name);
	ASSERT_EQ(0, as_nobody(nobody_creates_0666));
	fd = mpq_open_named(self->name, O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ((long)sizeof(msg), q_write(fd, msg, sizeof(msg)));
	EXPECT_EQ(0, as_nobody(nobody_holds_more_than));
	close(fd);
}

TEST_HARNESS_MAIN
