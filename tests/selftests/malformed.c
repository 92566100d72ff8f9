// SPDX-License-Identifier: GPL-2.0
/*
 * Malformed requests get an error and change nothing: bad pointers are
 * EFAULT (and a message being read through one stays queued), unknown
 * commands ENOTTY, unknown flags and non-zero reserved fields EINVAL,
 * absurd sizes are refused. Kernel warnings are caught by tests/run-tests,
 * which fails on any report in the kernel log.
 */
#include "mpq_test.h"
#include "harness.h"

/* An address in the kernel half, for 64-bit and compat tasks alike. */
#define KERNEL_ADDR	0xffff888000000000ULL

FIXTURE(mf) {
	int ctl;
	int fd;
	__u64 unmapped;		/* a user address with nothing mapped */
};

FIXTURE_SETUP(mf)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_TRUE(p != MAP_FAILED);
	ASSERT_EQ(0, munmap(p, 4096));
	self->unmapped = PTR(p);
	self->ctl = mpq_control();
	ASSERT_LE(0, self->ctl);
	self->fd = mpq_new(0, 0, 0, 0);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(mf)
{
	close(self->fd);
	close(self->ctl);
}

static int ioc(int fd, unsigned long cmd, __u64 arg)
{
	return sys_ret(ioctl(fd, cmd, (void *)(uintptr_t)arg));
}

/* The queue holds exactly @qsize messages and has seen no get. */
static void unchanged(struct __test_metadata *_metadata, int fd, __u64 qsize)
{
	struct mpq_stat st;

	ASSERT_EQ(0, q_stat(fd, &st));
	EXPECT_EQ(qsize, st.qsize);
	EXPECT_EQ(qsize, st.unfinished);
	EXPECT_EQ(qsize, st.total_puts);
	EXPECT_EQ(0ULL, st.total_gets);
	EXPECT_EQ((__u32)MPQ_STATE_OPEN, st.state);
}

TEST_F(mf, control_read_write)
{
	char buf[8] = {};

	EXPECT_EQ(-EINVAL, q_read(self->ctl, buf, sizeof(buf)));
	EXPECT_EQ(-EINVAL, q_write(self->ctl, buf, sizeof(buf)));
}

TEST_F(mf, unknown_commands)
{
	int n;

	/* Unknown numbers, foreign magic, known numbers with a wrong size. */
	EXPECT_EQ(-ENOTTY, ioc(self->ctl, _IO(MPQ_IOC_MAGIC, 0x7f), 0));
	EXPECT_EQ(-ENOTTY, ioc(self->fd, _IO(MPQ_IOC_MAGIC, 0x7f), 0));
	EXPECT_EQ(-ENOTTY, ioc(self->fd, _IOW(MPQ_IOC_MAGIC, 0x10, int), 0));
	EXPECT_EQ(-ENOTTY, ioc(self->fd, _IOR(MPQ_IOC_MAGIC, 0x15, int), 0));
	EXPECT_EQ(-ENOTTY, ioc(self->ctl, _IOW(MPQ_IOC_MAGIC, 0x01, __u64), 0));
	EXPECT_EQ(-ENOTTY, ioc(self->fd, 0xdeadbeef, 0));
	EXPECT_FALSE(isatty(self->fd));
	EXPECT_EQ(ENOTTY, errno);

	/* Queue commands on control and control commands on a queue. */
	EXPECT_EQ(-ENOTTY, ioc(self->ctl, MPQ_IOC_STAT, 0));
	EXPECT_EQ(-ENOTTY, ioc(self->ctl, MPQ_IOC_PUT, 0));
	EXPECT_EQ(-ENOTTY, ioc(self->ctl, MPQ_IOC_SHUTDOWN, 0));
	EXPECT_EQ(-ENOTTY, ioc(self->fd, MPQ_IOC_CREATE, 0));
	EXPECT_EQ(-ENOTTY, ioc(self->fd, MPQ_IOC_LIST, 0));
	EXPECT_EQ(-ENOTTY, ioc(self->fd, MPQ_IOC_REMOVE, 0));
	EXPECT_EQ(-ENOTTY, sys_ret(ioctl(self->ctl, FIONREAD, &n)));
}

static void bad_pointers(struct __test_metadata *_metadata,
			 FIXTURE_DATA(mf) *self, __u64 bad)
{
	struct mpq_msgvec v = { .buf = bad, .len = 8 };
	struct mpq_batch b = { .vec = PTR(&v), .count = 1 };
	struct mpq_xfer x = { .buf = bad, .len = 8 };
	struct mpq_list l = { .buf = bad, .size = 4096 };
	char name[MPQ_NAME_SIZE];
	char buf[8];

	/* Control: every argument structure, and the LIST buffer. */
	EXPECT_EQ(-EFAULT, ioc(self->ctl, MPQ_IOC_CREATE, bad));
	EXPECT_EQ(-EFAULT, ioc(self->ctl, MPQ_IOC_CREATE_NAMED, bad));
	EXPECT_EQ(-EFAULT, ioc(self->ctl, MPQ_IOC_REMOVE, bad));
	EXPECT_EQ(-EFAULT, ioc(self->ctl, MPQ_IOC_LIST, bad));
	mpq_test_name(name, sizeof(name), "mf");
	ASSERT_EQ(0, mpq_new_named(name, 0, 0));
	EXPECT_EQ(-EFAULT, sys_ret(ioctl(self->ctl, MPQ_IOC_LIST, &l)));
	EXPECT_EQ(0, mpq_remove(name));

	/* Empty queue: puts through bad pointers queue nothing. */
	EXPECT_EQ(-EFAULT, ioc(self->fd, MPQ_IOC_PUT, bad));
	EXPECT_EQ(-EFAULT, sys_ret(ioctl(self->fd, MPQ_IOC_PUT, &x)));
	EXPECT_EQ(-EFAULT, q_write(self->fd, (void *)(uintptr_t)bad, 8));
	EXPECT_EQ(-EFAULT, ioc(self->fd, MPQ_IOC_PUT_MANY, bad));
	EXPECT_EQ(-EFAULT, sys_ret(ioctl(self->fd, MPQ_IOC_PUT_MANY, &b)));
	b.vec = bad;
	EXPECT_EQ(-EFAULT, sys_ret(ioctl(self->fd, MPQ_IOC_PUT_MANY, &b)));
	unchanged(_metadata, self->fd, 0);

	/* One message queued: gets through bad pointers leave it there. */
	ASSERT_EQ(5L, q_write(self->fd, "stays", 5));
	EXPECT_EQ(-EFAULT, ioc(self->fd, MPQ_IOC_GET, bad));
	EXPECT_EQ(-EFAULT, sys_ret(ioctl(self->fd, MPQ_IOC_GET, &x)));
	EXPECT_EQ(-EFAULT, q_read(self->fd, (void *)(uintptr_t)bad, 8));
	EXPECT_EQ(-EFAULT, ioc(self->fd, MPQ_IOC_GET_MANY, bad));
	EXPECT_EQ(-EFAULT, sys_ret(ioctl(self->fd, MPQ_IOC_GET_MANY, &b)));
	b.vec = PTR(&v);
	EXPECT_EQ(-EFAULT, sys_ret(ioctl(self->fd, MPQ_IOC_GET_MANY, &b)));
	unchanged(_metadata, self->fd, 1);

	/* The other commands. */
	EXPECT_EQ(-EFAULT, ioc(self->fd, MPQ_IOC_TASK_DONE, bad));
	EXPECT_EQ(-EFAULT, ioc(self->fd, MPQ_IOC_JOIN, bad));
	EXPECT_EQ(-EFAULT, ioc(self->fd, MPQ_IOC_SHUTDOWN, bad));
	EXPECT_EQ(-EFAULT, ioc(self->fd, MPQ_IOC_STAT, bad));
	EXPECT_EQ(-EFAULT, ioc(self->fd, FIONREAD, bad));
	unchanged(_metadata, self->fd, 1);

	ASSERT_EQ(5L, q_read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "stays", 5));
}

TEST_F(mf, null_pointers)
{
	bad_pointers(_metadata, self, 0);
}

TEST_F(mf, unmapped_pointers)
{
	bad_pointers(_metadata, self, self->unmapped);
}

TEST_F(mf, kernel_pointers)
{
	bad_pointers(_metadata, self, KERNEL_ADDR);
}

/* A message straddling into an unmapped page is not half-put. */
TEST_F(mf, partly_unmapped_buffer)
{
	char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char buf[16];

	ASSERT_TRUE(p != MAP_FAILED);
	ASSERT_EQ(0, munmap(p + 4096, 4096));
	memset(p, 'p', 4096);
	EXPECT_EQ(-EFAULT, q_write(self->fd, p + 4090, 16));
	EXPECT_EQ(-EFAULT, q_put(self->fd, p + 4090, 16, 0, NULL));
	unchanged(_metadata, self->fd, 0);

	/* Nor half-got: the message stays whole at the head. */
	ASSERT_EQ(16L, q_write(self->fd, "0123456789abcdef", 16));
	EXPECT_EQ(-EFAULT, q_read(self->fd, p + 4090, 16));
	EXPECT_EQ(-EFAULT, q_get(self->fd, p + 4090, 16, 0, NULL));
	unchanged(_metadata, self->fd, 1);
	ASSERT_EQ(16L, q_read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "0123456789abcdef", 16));
	munmap(p, 4096);
}

TEST_F(mf, create_reserved_and_flags)
{
	char name[MPQ_NAME_SIZE];
	struct mpq_create c;
	struct stat st;
	char path[128];
	int i;

	mpq_test_name(name, sizeof(name), "rsv");
	snprintf(path, sizeof(path), MPQ_DEV_DIR "/%s", name);
	for (i = 0; i < 3; i++) {
		memset(&c, 0, sizeof(c));
		if (i < 2)
			c.__reserved[i] = 1ULL << 63;
		else
			c.__reserved0 = 1U << 31;
		EXPECT_EQ(-EINVAL, control_ioctl(MPQ_IOC_CREATE, &c));
		memcpy(c.name, name, strlen(name));
		EXPECT_EQ(-EINVAL, control_ioctl(MPQ_IOC_CREATE_NAMED, &c));
		EXPECT_EQ(-ENOENT, stat(path, &st) ? -errno : 0);
	}
	memset(&c, 0, sizeof(c));
	c.flags = 1U << 3;
	EXPECT_EQ(-EINVAL, control_ioctl(MPQ_IOC_CREATE, &c));
	c.flags = 1U << 31;
	EXPECT_EQ(-EINVAL, control_ioctl(MPQ_IOC_CREATE, &c));
	c.flags = ~0U;
	EXPECT_EQ(-EINVAL, control_ioctl(MPQ_IOC_CREATE, &c));
	/* Unknown flags make a named queue fail as well. */
	memcpy(c.name, name, strlen(name));
	c.flags = 1U << 3;
	EXPECT_EQ(-EINVAL, control_ioctl(MPQ_IOC_CREATE_NAMED, &c));
	/* Of the known ones, a named queue takes MPQ_CREATE_REDELIVER only. */
	c.flags = MPQ_CREATE_CLOEXEC;
	EXPECT_EQ(-EINVAL, control_ioctl(MPQ_IOC_CREATE_NAMED, &c));
	EXPECT_EQ(-ENOENT, stat(path, &st) ? -errno : 0);
}

TEST_F(mf, absurd_sizes)
{
	struct mpq_xfer x = { .buf = PTR("abc") };
	char buf[8];
	long ret;

	EXPECT_EQ(-EINVAL, mpq_new(0, ~0ULL, 0, 0));
	EXPECT_EQ(-EINVAL, mpq_new(0, 0, ~0ULL, 0));
	EXPECT_EQ(-EINVAL, mpq_new(0, ~0ULL, ~0ULL, 0));
	EXPECT_EQ(-EINVAL, mpq_new(0, 1ULL << 32, 1ULL << 40, 0));

	/* Lengths past msgsize_max, also ones that truncate to small ones. */
	x.len = ~0ULL;
	EXPECT_EQ(-EMSGSIZE, sys_ret(ioctl(self->fd, MPQ_IOC_PUT, &x)));
	x.len = (1ULL << 32) + 3;
	EXPECT_EQ(-EMSGSIZE, sys_ret(ioctl(self->fd, MPQ_IOC_PUT, &x)));
	x.len = 1ULL << 63;
	EXPECT_EQ(-EMSGSIZE, sys_ret(ioctl(self->fd, MPQ_IOC_PUT, &x)));
	unchanged(_metadata, self->fd, 0);

	/* A huge capacity for a small message: no error, or one that keeps it. */
	ASSERT_EQ(3L, q_write(self->fd, "abc", 3));
	memset(buf, 0, sizeof(buf));
	x.buf = PTR(buf);
	x.len = ~0ULL >> 1;
	ret = sys_ret(ioctl(self->fd, MPQ_IOC_GET, &x));
	if (ret < 0) {
		unchanged(_metadata, self->fd, 1);
		ASSERT_EQ(3L, q_read(self->fd, buf, sizeof(buf)));
	} else {
		EXPECT_EQ(3L, ret);
	}
	EXPECT_EQ(0, memcmp(buf, "abc", 3));
}

TEST_F(mf, list_huge_size)
{
	char name[MPQ_NAME_SIZE];
	struct mpq_list l = {};
	long need;
	char *buf;

	mpq_test_name(name, sizeof(name), "big");
	ASSERT_EQ(0, mpq_new_named(name, 0, 0));
	need = control_ioctl(MPQ_IOC_LIST, &l);
	ASSERT_LT(0L, need);
	buf = calloc(1, need);
	ASSERT_TRUE(buf != NULL);
	/* size is the buffer's capacity, and only what is needed is written. */
	l.buf = PTR(buf);
	l.size = ~0ULL;
	EXPECT_EQ(need, control_ioctl(MPQ_IOC_LIST, &l));
	free(buf);
	EXPECT_EQ(0, mpq_remove(name));
}

TEST_F(mf, xfer_reserved_and_flags)
{
	struct mpq_xfer x = { .buf = PTR("abc"), .len = 3 };
	struct mpq_join j = {};
	char buf[8];

	x.deliveries = 1;	/* an output of GET only */
	EXPECT_EQ(-EINVAL, sys_ret(ioctl(self->fd, MPQ_IOC_PUT, &x)));
	x.deliveries = 0;
	x.flags = 1U << 2;
	EXPECT_EQ(-EINVAL, sys_ret(ioctl(self->fd, MPQ_IOC_PUT, &x)));
	x.flags = 1U << 31;
	EXPECT_EQ(-EINVAL, sys_ret(ioctl(self->fd, MPQ_IOC_PUT, &x)));
	unchanged(_metadata, self->fd, 0);

	ASSERT_EQ(3L, q_write(self->fd, "abc", 3));
	x.buf = PTR(buf);
	x.len = sizeof(buf);
	x.flags = 1U << 2;
	EXPECT_EQ(-EINVAL, sys_ret(ioctl(self->fd, MPQ_IOC_GET, &x)));
	unchanged(_metadata, self->fd, 1);

	j.__reserved = 1;
	EXPECT_EQ(-EINVAL, sys_ret(ioctl(self->fd, MPQ_IOC_JOIN, &j)));
	j.__reserved = 0;
	j.flags = 1U << 3;
	EXPECT_EQ(-EINVAL, sys_ret(ioctl(self->fd, MPQ_IOC_JOIN, &j)));
}

TEST_F(mf, batch_reserved_flags_counts)
{
	struct mpq_msgvec v = { .buf = PTR("abc"), .len = 3 };
	struct mpq_batch b = { .vec = PTR(&v), .count = 1 };
	int i;

	b.__reserved = 1;
	EXPECT_EQ(-EINVAL, sys_ret(ioctl(self->fd, MPQ_IOC_PUT_MANY, &b)));
	EXPECT_EQ(-EINVAL, sys_ret(ioctl(self->fd, MPQ_IOC_GET_MANY, &b)));
	b.__reserved = 0;
	/* Delivery counts are an output of GET_MANY only. */
	b.deliveries = PTR(&i);
	EXPECT_EQ(-EINVAL, sys_ret(ioctl(self->fd, MPQ_IOC_PUT_MANY, &b)));
	b.deliveries = 0;
	b.flags = 1U << 2;
	EXPECT_EQ(-EINVAL, sys_ret(ioctl(self->fd, MPQ_IOC_PUT_MANY, &b)));
	EXPECT_EQ(-EINVAL, sys_ret(ioctl(self->fd, MPQ_IOC_GET_MANY, &b)));
	b.flags = 0;
	b.count = 0;
	EXPECT_EQ(-EINVAL, sys_ret(ioctl(self->fd, MPQ_IOC_PUT_MANY, &b)));
	EXPECT_EQ(-EINVAL, sys_ret(ioctl(self->fd, MPQ_IOC_GET_MANY, &b)));
	/* Too many entries is refused before the vector is even read. */
	b.count = MPQ_BATCH_MAX + 1;
	EXPECT_EQ(-EINVAL, sys_ret(ioctl(self->fd, MPQ_IOC_PUT_MANY, &b)));
	EXPECT_EQ(-EINVAL, sys_ret(ioctl(self->fd, MPQ_IOC_GET_MANY, &b)));
	b.count = ~0U;
	EXPECT_EQ(-EINVAL, sys_ret(ioctl(self->fd, MPQ_IOC_PUT_MANY, &b)));
	EXPECT_EQ(-EINVAL, sys_ret(ioctl(self->fd, MPQ_IOC_GET_MANY, &b)));
	unchanged(_metadata, self->fd, 0);
}

TEST_F(mf, stat_argument_is_output_only)
{
	struct mpq_stat st;

	/* Garbage in the output structure does not matter. */
	memset(&st, 0xff, sizeof(st));
	ASSERT_EQ(0, sys_ret(ioctl(self->fd, MPQ_IOC_STAT, &st)));
	EXPECT_EQ(0ULL, st.qsize);
	EXPECT_EQ(0ULL, st.in_flight | st.redelivered | st.dead_lettered);
}

TEST_HARNESS_MAIN
