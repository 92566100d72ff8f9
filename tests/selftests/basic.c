// SPDX-License-Identifier: GPL-2.0
/*
 * Creating anonymous queues, and the put/get/FIONREAD/stat rows of the
 * operations table on an uncontended queue; sharing a queue by fork(),
 * exec() and SCM_RIGHTS.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include "mpq_test.h"
#include "harness.h"

TEST(create_defaults)
{
	struct mpq_stat st;
	int fd = mpq_new(0, 0, 0, 0);

	ASSERT_LE(0, fd);
	ASSERT_EQ(O_RDWR, fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK));
	ASSERT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);

	ASSERT_EQ(0, q_stat(fd, &st));
	EXPECT_EQ(0ULL, st.qsize);
	EXPECT_EQ(0ULL, st.bytes);
	EXPECT_EQ(0ULL, st.unfinished);
	EXPECT_EQ(0ULL, st.maxsize);
	EXPECT_EQ(MPQ_DEFAULT_MSGSIZE_MAX, st.msgsize_max);
	EXPECT_EQ(MPQ_DEFAULT_MAXBYTES, st.maxbytes);
	EXPECT_EQ(0ULL, st.total_puts);
	EXPECT_EQ(0ULL, st.total_gets);
	EXPECT_EQ((__u32)MPQ_STATE_OPEN, st.state);
	EXPECT_EQ(0U, st.getters);
	EXPECT_EQ(0U, st.putters);
	EXPECT_EQ(0U, st.joiners);
	close(fd);
}

TEST(create_flags)
{
	int fd;

	fd = mpq_new(0, 0, 0, MPQ_CREATE_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(0, fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);

	fd = mpq_new(0, 0, 0, MPQ_CREATE_NONBLOCK);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_RDWR | O_NONBLOCK,
		  fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK));
	close(fd);
}

TEST(create_attributes)
{
	struct mpq_stat st;
	int fd = mpq_new(5, 100, 1000, 0);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, q_stat(fd, &st));
	EXPECT_EQ(5ULL, st.maxsize);
	EXPECT_EQ(100ULL, st.msgsize_max);
	EXPECT_EQ(1000ULL, st.maxbytes);
	close(fd);

	/* A message may be as large as the whole byte budget. */
	fd = mpq_new(0, 4096, 4096, 0);
	ASSERT_LE(0, fd);
	close(fd);
}

TEST(create_attribute_limits)
{
	unsigned long long msgsize_limit = param_u64("msgsize_limit");
	unsigned long long maxbytes_limit = param_u64("maxbytes_limit");
	int fd;

	ASSERT_NE(0ULL, msgsize_limit);
	ASSERT_NE(0ULL, maxbytes_limit);

	/* The limits themselves are accepted (nothing is allocated up front). */
	fd = mpq_new(0, msgsize_limit, maxbytes_limit, 0);
	ASSERT_LE(0, fd);
	close(fd);

	EXPECT_EQ(-EINVAL, mpq_new(0, msgsize_limit + 1, maxbytes_limit, 0));
	EXPECT_EQ(-EINVAL, mpq_new(0, 0, maxbytes_limit + 1, 0));
	/* An explicit msgsize_max must fit in maxbytes... */
	EXPECT_EQ(-EINVAL, mpq_new(0, 1001, 1000, 0));
}

TEST(default_msgsize_fits_maxbytes)
{
	struct mpq_stat st;
	int fd;

	/* ...while the 1 MiB default shrinks to a smaller maxbytes. */
	fd = mpq_new(0, 0, 1000, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, q_stat(fd, &st));
	EXPECT_EQ(1000ULL, st.msgsize_max);
	EXPECT_EQ(1000ULL, st.maxbytes);
	close(fd);
}

TEST(anonymous_with_name)
{
	struct mpq_create c = {};

	strcpy(c.name, "anon");
	EXPECT_EQ(-EINVAL, control_ioctl(MPQ_IOC_CREATE, &c));
	/* Any byte of the name counts, not only the first. */
	memset(c.name, 0, sizeof(c.name));
	c.name[MPQ_NAME_SIZE - 1] = 'x';
	EXPECT_EQ(-EINVAL, control_ioctl(MPQ_IOC_CREATE, &c));
}

FIXTURE(anon) {
	int fd;
};

FIXTURE_SETUP(anon)
{
	self->fd = mpq_new(0, 64, 0, 0);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(anon)
{
	close(self->fd);
}

TEST_F(anon, write_read)
{
	struct mpq_stat st;
	char buf[64];

	ASSERT_EQ(5L, q_write(self->fd, "hello", 5));
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(1ULL, st.qsize);
	EXPECT_EQ(5ULL, st.bytes);
	EXPECT_EQ(1ULL, st.unfinished);
	EXPECT_EQ(1ULL, st.total_puts);
	EXPECT_EQ(0ULL, st.total_gets);

	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(5L, q_read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "hello", 5));
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(0ULL, st.qsize);
	EXPECT_EQ(0ULL, st.bytes);
	/* A get does not finish the task: task_done does. */
	EXPECT_EQ(1ULL, st.unfinished);
	EXPECT_EQ(1ULL, st.total_puts);
	EXPECT_EQ(1ULL, st.total_gets);
}

/* One writev() is one message, as on a datagram socket: never one per iovec. */
TEST_F(anon, writev_is_one_message)
{
	struct iovec iov[3] = {
		{ .iov_base = "ab", .iov_len = 2 },
		{ .iov_base = "", .iov_len = 0 },
		{ .iov_base = "cd", .iov_len = 2 },
	};
	struct mpq_stat st;
	char buf[64];

	ASSERT_EQ(4L, sys_ret(writev(self->fd, iov, 3)));
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(1ULL, st.qsize);
	EXPECT_EQ(4ULL, st.bytes);
	ASSERT_EQ(4L, q_read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "abcd", 4));
}

/* A writev() that faults half-way queues nothing: not half a message. */
TEST_F(anon, writev_fault_queues_nothing)
{
	struct iovec iov[2] = {
		{ .iov_base = "ab", .iov_len = 2 },
		{ .iov_base = (void *)8, .iov_len = 2 },
	};
	struct mpq_stat st;

	EXPECT_EQ(-EFAULT, sys_ret(writev(self->fd, iov, 2)));
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(0ULL, st.qsize);
	EXPECT_EQ(0ULL, st.total_puts);
}

/* A writev() past msgsize_max in total is refused whole. */
TEST_F(anon, writev_too_big_emsgsize)
{
	char half[40] = {};
	struct iovec iov[2] = {
		{ .iov_base = half, .iov_len = sizeof(half) },
		{ .iov_base = half, .iov_len = sizeof(half) },
	};
	struct mpq_stat st;

	EXPECT_EQ(-EMSGSIZE, sys_ret(writev(self->fd, iov, 2)));
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(0ULL, st.qsize);
}

/* One readv() takes one message, spread over the iovecs in order. */
TEST_F(anon, readv_takes_one_message)
{
	char a[2], b[8];
	struct iovec iov[2] = {
		{ .iov_base = a, .iov_len = sizeof(a) },
		{ .iov_base = b, .iov_len = sizeof(b) },
	};

	ASSERT_EQ(5L, q_puts(self->fd, "hello"));
	ASSERT_EQ(5L, q_puts(self->fd, "world"));
	ASSERT_EQ(5L, sys_ret(readv(self->fd, iov, 2)));
	EXPECT_EQ(0, memcmp(a, "he", 2));
	EXPECT_EQ(0, memcmp(b, "llo", 3));
	/* The second message is whole and next. */
	ASSERT_EQ(5L, sys_ret(readv(self->fd, iov, 2)));
	EXPECT_EQ(0, memcmp(a, "wo", 2));
	EXPECT_EQ(0, memcmp(b, "rld", 3));
}

/* A readv() whose iovecs are too small in total keeps the message. */
TEST_F(anon, readv_too_small_keeps_message)
{
	char a[2], b[2];
	struct iovec iov[2] = {
		{ .iov_base = a, .iov_len = sizeof(a) },
		{ .iov_base = b, .iov_len = sizeof(b) },
	};

	ASSERT_EQ(5L, q_puts(self->fd, "hello"));
	EXPECT_EQ(-EMSGSIZE, sys_ret(readv(self->fd, iov, 2)));
	EXPECT_EQ(5, q_fionread(self->fd));
}

/*
 * RWF_NOWAIT (IOCB_NOWAIT, what io_uring tries first) never sleeps, on a
 * descriptor opened blocking: EAGAIN where a plain call would block.
 */
TEST_F(anon, rwf_nowait_never_sleeps)
{
	struct iovec iov = { .iov_base = (void *)"x", .iov_len = 1 };
	char buf[64];
	struct iovec riov = { .iov_base = buf, .iov_len = sizeof(buf) };
	int fd = mpq_new(1, 0, 0, 0);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-EAGAIN, sys_ret(preadv2(fd, &riov, 1, -1, RWF_NOWAIT)));
	EXPECT_EQ(1L, sys_ret(pwritev2(fd, &iov, 1, -1, RWF_NOWAIT)));
	EXPECT_EQ(-EAGAIN, sys_ret(pwritev2(fd, &iov, 1, -1, RWF_NOWAIT)));
	EXPECT_EQ(1L, sys_ret(preadv2(fd, &riov, 1, -1, RWF_NOWAIT)));
	close(fd);
}

TEST_F(anon, fifo_and_boundaries)
{
	char buf[64], want[64];
	int i;

	/* Messages keep their boundaries: no merging, no splitting. */
	for (i = 0; i < 100; i++) {
		memset(want, 'a' + i % 26, sizeof(want));
		ASSERT_EQ((long)(i % 64 + 1), q_write(self->fd, want, i % 64 + 1));
	}
	for (i = 0; i < 100; i++) {
		memset(want, 'a' + i % 26, sizeof(want));
		ASSERT_EQ((long)(i % 64 + 1), q_read(self->fd, buf, sizeof(buf)));
		ASSERT_EQ(0, memcmp(buf, want, i % 64 + 1));
	}
}

TEST_F(anon, binary_payload)
{
	unsigned char out[64], in[64];
	int i;

	for (i = 0; i < 64; i++)
		out[i] = (unsigned char)(i * 37);
	out[0] = 0;
	out[10] = '\n';
	ASSERT_EQ(64L, q_write(self->fd, out, 64));
	ASSERT_EQ(64L, q_read(self->fd, in, sizeof(in)));
	EXPECT_EQ(0, memcmp(in, out, 64));
}

TEST_F(anon, write_zero_einval)
{
	struct mpq_stat st;

	EXPECT_EQ(-EINVAL, q_write(self->fd, "x", 0));
	EXPECT_EQ(-EINVAL, q_put(self->fd, "x", 0, 0, NULL));
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(0ULL, st.qsize);
	EXPECT_EQ(0ULL, st.unfinished);
	EXPECT_EQ(0ULL, st.total_puts);
}

TEST_F(anon, write_too_big_emsgsize)
{
	char buf[65] = {};
	struct mpq_stat st;

	EXPECT_EQ(-EMSGSIZE, q_write(self->fd, buf, 65));
	EXPECT_EQ(-EMSGSIZE, q_put(self->fd, buf, 65, 0, NULL));
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(0ULL, st.qsize);
	EXPECT_EQ(0ULL, st.bytes);
	EXPECT_EQ(0ULL, st.unfinished);
	/* msgsize_max itself fits. */
	EXPECT_EQ(64L, q_write(self->fd, buf, 64));
}

TEST_F(anon, read_too_small_keeps_message)
{
	char buf[16];
	struct mpq_stat st;
	__u64 len = 0;

	ASSERT_EQ(10L, q_write(self->fd, "0123456789", 10));
	ASSERT_EQ(3L, q_write(self->fd, "abc", 3));

	EXPECT_EQ(-EMSGSIZE, q_read(self->fd, buf, 9));
	EXPECT_EQ(-EMSGSIZE, q_read(self->fd, buf, 0));
	EXPECT_EQ(-EMSGSIZE, q_get_len(self->fd, buf, 9, 0, NULL, &len));
	/* ioctl GET tells how large a buffer the head message needs. */
	EXPECT_EQ(10ULL, len);
	EXPECT_EQ(10, q_fionread(self->fd));

	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(2ULL, st.qsize);
	EXPECT_EQ(13ULL, st.bytes);
	EXPECT_EQ(0ULL, st.total_gets);

	/* Exactly the message size is enough, and order is unchanged. */
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(10L, q_read(self->fd, buf, 10));
	EXPECT_EQ(0, memcmp(buf, "0123456789", 10));
	ASSERT_EQ(3L, q_get(self->fd, buf, 3, 0, NULL));
	EXPECT_EQ(0, memcmp(buf, "abc", 3));
}

TEST_F(anon, fionread)
{
	char buf[64];

	EXPECT_EQ(0, q_fionread(self->fd));
	ASSERT_EQ(7L, q_write(self->fd, "1234567", 7));
	EXPECT_EQ(7, q_fionread(self->fd));
	ASSERT_EQ(3L, q_write(self->fd, "123", 3));
	/* The head message, not the total. */
	EXPECT_EQ(7, q_fionread(self->fd));
	ASSERT_EQ(7L, q_read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(3, q_fionread(self->fd));
	ASSERT_EQ(3L, q_read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(0, q_fionread(self->fd));
}

TEST_F(anon, ioctl_put_get)
{
	struct mpq_xfer x = {};
	char buf[64];

	ASSERT_EQ(0, q_put(self->fd, "first", 5, 0, NULL));
	ASSERT_EQ(6L, q_write(self->fd, "second", 6));

	/* The ioctls and read/write share one queue. */
	ASSERT_EQ(5L, q_read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "first", 5));

	/* GET returns the length and writes nothing past the message. */
	memset(buf, '#', sizeof(buf));
	x.buf = PTR(buf);
	x.len = sizeof(buf);
	ASSERT_EQ(6, ioctl(self->fd, MPQ_IOC_GET, &x));
	EXPECT_EQ(0, memcmp(buf, "second", 6));
	EXPECT_EQ('#', buf[6]);
}

TEST_F(anon, stat_counters)
{
	struct mpq_stat st;
	char buf[64];
	int i;

	for (i = 0; i < 10; i++)
		ASSERT_EQ(0, q_put(self->fd, "abcd", 4, 0, NULL));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(4L, q_get(self->fd, buf, sizeof(buf), 0, NULL));
	ASSERT_EQ(0, q_task_done(self->fd, 3));

	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(6ULL, st.qsize);
	EXPECT_EQ(24ULL, st.bytes);
	EXPECT_EQ(7ULL, st.unfinished);
	EXPECT_EQ(10ULL, st.total_puts);
	EXPECT_EQ(4ULL, st.total_gets);
	EXPECT_EQ(0U, st.getters);
	EXPECT_EQ(0U, st.putters);
	EXPECT_EQ(0U, st.joiners);
	EXPECT_EQ(0ULL, st.discarded);
	EXPECT_EQ(0ULL, st.in_flight | st.redelivered | st.dead_lettered);
}

TEST_F(anon, shared_by_fork)
{
	char buf[64];
	pid_t pid;

	pid = spawn();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(q_puts(self->fd, "from child") == 10 ? 0 : 1);
	ASSERT_EQ(0, reap(pid));
	/* The producer is gone; its message is not. */
	ASSERT_EQ(10L, q_read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "from child", 10));
}

TEST_F(anon, shared_across_exec)
{
	char buf[64];
	pid_t pid;

	pid = spawn();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* echo writes its whole output with one write(2). */
		if (dup2(self->fd, STDOUT_FILENO) < 0)
			_exit(1);
		execl("/bin/echo", "echo", "-n", "from exec", (char *)NULL);
		_exit(2);
	}
	ASSERT_EQ(0, reap(pid));
	ASSERT_EQ(9L, q_read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "from exec", 9));
}

static int send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {};
	char dummy = 'q';
	struct iovec iov = { .iov_base = &dummy, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {};
	char dummy;
	struct iovec iov = { .iov_base = &dummy, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg;
	int fd;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}

TEST(shared_by_scm_rights)
{
	char buf[64];
	int sv[2], fd;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = spawn();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/*
		 * The child's queue outlives the child: the descriptor in
		 * flight is a reference.
		 */
		int q = mpq_new(0, 0, 0, 0);

		if (q < 0 || q_puts(q, "passed") != 6 || send_fd(sv[1], q))
			_exit(1);
		_exit(0);
	}
	ASSERT_EQ(0, reap(pid));
	fd = recv_fd(sv[0]);
	ASSERT_LE(0, fd);
	ASSERT_EQ(6L, q_read(fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "passed", 6));
	close(fd);
	close(sv[0]);
	close(sv[1]);
}

TEST(queues_are_independent)
{
	char buf[8];
	int a = mpq_new(0, 0, 0, MPQ_CREATE_NONBLOCK);
	int b = mpq_new(0, 0, 0, MPQ_CREATE_NONBLOCK);

	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_EQ(1L, q_write(a, "a", 1));
	EXPECT_EQ(-EAGAIN, q_read(b, buf, sizeof(buf)));
	EXPECT_EQ(1L, q_read(a, buf, sizeof(buf)));
	close(a);
	close(b);
}

TEST_HARNESS_MAIN
