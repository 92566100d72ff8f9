// SPDX-License-Identifier: GPL-2.0
/*
 * io_uring on a queue descriptor: IORING_OP_READ/WRITE complete inline
 * when they can and otherwise wait through the file's poll, never in an
 * io-wq worker; IORING_OP_POLL_ADD waits for join (EPOLLPRI); a blocked
 * read can be cancelled, or its ring torn down, with nothing lost; and
 * IORING_OP_URING_CMD does put, get and task done, never waiting.
 *
 * "Never in a worker" is checked the way a user would see it: no thread
 * named iou-wrk-* appears in the process, and no getter or putter is
 * counted as blocked in the queue while the request is pending.
 */
#include <dirent.h>
#include <poll.h>
#include <liburing.h>

#include "mpq_test.h"
#include "harness.h"

#define RING_ENTRIES	16

/* Threads of this process that are io-wq workers (comm "iou-wrk-PID"). */
static int io_workers(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char path[300], comm[32];

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		if (!read_file_line(path, comm, sizeof(comm)) &&
		    !strncmp(comm, "iou-wrk", 7))
			n++;
	}
	closedir(d);
	return n;
}

static struct io_uring_sqe *sqe_get(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (sqe)
		memset(sqe, 0, sizeof(*sqe));
	return sqe;
}

/* An IORING_OP_URING_CMD of ours (liburing 2.3 has no helper for it). */
static struct io_uring_sqe *prep_cmd(struct io_uring *ring, int fd,
				     __u32 op, __u64 addr, __u32 len)
{
	struct io_uring_sqe *sqe = sqe_get(ring);
	struct mpq_uring_cmd c = { .addr = addr, .len = len };

	if (!sqe)
		return NULL;
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	sqe->cmd_op = op;
	memcpy(sqe->cmd, &c, sizeof(c));
	return sqe;
}

/*
 * The next completion, within MPQ_TEST_WAIT_MS; its res in *@res and its
 * user_data returned (~0 on timeout or error).
 */
static __u64 reap_cqe(struct io_uring *ring, int *res, __u64 *extra)
{
	struct __kernel_timespec ts = {
		.tv_sec = MPQ_TEST_WAIT_MS / 1000,
		.tv_nsec = (MPQ_TEST_WAIT_MS % 1000) * NSEC_PER_MSEC,
	};
	struct io_uring_cqe *cqe;
	__u64 data;

	if (io_uring_wait_cqe_timeout(ring, &cqe, &ts))
		return ~0ULL;
	*res = cqe->res;
	if (extra)
		*extra = (ring->flags & IORING_SETUP_CQE32) ? cqe->big_cqe[0] : 0;
	data = cqe->user_data;
	io_uring_cqe_seen(ring, cqe);
	return data;
}

/* Is a completion waiting, without waiting for one? */
static bool cqe_ready(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;

	return io_uring_peek_cqe(ring, &cqe) == 0;
}

FIXTURE(ur) {
	struct io_uring ring;
	int fd;
};

FIXTURE_SETUP(ur)
{
	ASSERT_EQ(0, io_uring_queue_init(RING_ENTRIES, &self->ring, 0));
	self->fd = mpq_new(1, 0, 0, 0);		/* maxsize 1 */
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(ur)
{
	io_uring_queue_exit(&self->ring);
	close(self->fd);
}

TEST_F(ur, read_completes_inline_when_queued)
{
	char buf[16] = "";
	int res = 0;

	ASSERT_EQ(3L, q_write(self->fd, "abc", 3));
	io_uring_prep_read(sqe_get(&self->ring), self->fd, buf, sizeof(buf), 0);
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	ASSERT_EQ(0ULL, reap_cqe(&self->ring, &res, NULL));
	EXPECT_EQ(3, res);
	EXPECT_EQ(0, memcmp(buf, "abc", 3));
	EXPECT_EQ(0, io_workers());
}

TEST_F(ur, read_waits_through_poll)
{
	struct io_uring_sqe *sqe = sqe_get(&self->ring);
	struct mpq_stat st;
	char buf[16] = "";
	int res = 0;

	io_uring_prep_read(sqe, self->fd, buf, sizeof(buf), 0);
	io_uring_sqe_set_data64(sqe, 7);
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	/* Pending, but nobody sleeps in the queue: it waits in poll. */
	EXPECT_FALSE(cqe_ready(&self->ring));
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(0U, st.getters);
	EXPECT_EQ(0, io_workers());

	ASSERT_EQ(5L, q_write(self->fd, "hello", 5));
	ASSERT_EQ(7ULL, reap_cqe(&self->ring, &res, NULL));
	EXPECT_EQ(5, res);
	EXPECT_EQ(0, memcmp(buf, "hello", 5));
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(0ULL, st.qsize);
	EXPECT_EQ(1ULL, st.total_gets);
	EXPECT_EQ(0, io_workers());
}

TEST_F(ur, write_waits_through_poll_while_full)
{
	struct mpq_stat st;
	char buf[16] = "";
	int res = 0;

	ASSERT_EQ(1L, q_write(self->fd, "1", 1));	/* full */
	io_uring_prep_write(sqe_get(&self->ring), self->fd, "22", 2, 0);
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	EXPECT_FALSE(cqe_ready(&self->ring));
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(0U, st.putters);
	EXPECT_EQ(1ULL, st.qsize);
	EXPECT_EQ(0, io_workers());

	ASSERT_EQ(1L, q_read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0ULL, reap_cqe(&self->ring, &res, NULL));
	EXPECT_EQ(2, res);
	ASSERT_EQ(2L, q_read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "22", 2));
	EXPECT_EQ(0, io_workers());
}

TEST_F(ur, poll_add_pri_waits_for_join)
{
	char buf[16];
	int res = 0;

	ASSERT_EQ(1L, q_write(self->fd, "x", 1));
	ASSERT_EQ(1L, q_read(self->fd, buf, sizeof(buf)));	/* unfinished 1 */
	io_uring_prep_poll_add(sqe_get(&self->ring), self->fd, POLLPRI);
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	EXPECT_FALSE(cqe_ready(&self->ring));

	ASSERT_EQ(0, q_task_done(self->fd, 1));
	ASSERT_EQ(0ULL, reap_cqe(&self->ring, &res, NULL));
	EXPECT_TRUE(res & POLLPRI);
}

/* Acknowledged on a redelivery queue: the same wakeup, by another path. */
TEST(poll_add_pri_waits_for_ack)
{
	struct io_uring ring;
	char buf[16];
	int fd = mpq_new(0, 0, 0, MPQ_CREATE_REDELIVER), res = 0;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, io_uring_queue_init(RING_ENTRIES, &ring, 0));
	ASSERT_EQ(1L, q_write(fd, "x", 1));
	ASSERT_EQ(1L, q_read(fd, buf, sizeof(buf)));
	io_uring_prep_poll_add(sqe_get(&ring), fd, POLLPRI);
	ASSERT_EQ(1, io_uring_submit(&ring));
	EXPECT_FALSE(cqe_ready(&ring));

	ASSERT_EQ(0, q_task_done(fd, 1));
	ASSERT_EQ(0ULL, reap_cqe(&ring, &res, NULL));
	EXPECT_TRUE(res & POLLPRI);
	io_uring_queue_exit(&ring);
	close(fd);
}

TEST_F(ur, cancel_blocked_read_loses_nothing)
{
	struct io_uring_sqe *sqe;
	struct mpq_stat st;
	char buf[16] = "";
	int i, res[2] = { 0, 0 };
	__u64 data;

	sqe = sqe_get(&self->ring);
	io_uring_prep_read(sqe, self->fd, buf, sizeof(buf), 0);
	io_uring_sqe_set_data64(sqe, 1);
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	EXPECT_FALSE(cqe_ready(&self->ring));

	sqe = sqe_get(&self->ring);
	io_uring_prep_cancel64(sqe, 1, 0);
	io_uring_sqe_set_data64(sqe, 2);
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	for (i = 0; i < 2; i++) {
		int r = 0;

		data = reap_cqe(&self->ring, &r, NULL);
		ASSERT_TRUE(data == 1 || data == 2);
		res[data - 1] = r;
	}
	EXPECT_EQ(-ECANCELED, res[0]);
	EXPECT_EQ(0, res[1]);

	/* The cancelled read took nothing: the next message is all there. */
	ASSERT_EQ(3L, q_write(self->fd, "msg", 3));
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(1ULL, st.qsize);
	EXPECT_EQ(0ULL, st.total_gets);
	ASSERT_EQ(3L, q_read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "msg", 3));
	EXPECT_EQ(0, io_workers());
}

TEST(ring_torn_down_with_reads_in_flight)
{
	char bufs[4][16], buf[16];
	struct io_uring ring;
	struct mpq_stat st;
	int fd = mpq_new(0, 0, 0, 0), i;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, io_uring_queue_init(RING_ENTRIES, &ring, 0));
	for (i = 0; i < 4; i++)
		io_uring_prep_read(sqe_get(&ring), fd, bufs[i], sizeof(bufs[i]), 0);
	ASSERT_EQ(4, io_uring_submit(&ring));
	EXPECT_FALSE(cqe_ready(&ring));
	io_uring_queue_exit(&ring);

	/* No read of the dead ring takes what comes now. */
	for (i = 0; i < 4; i++)
		ASSERT_EQ(2L, q_write(fd, (char[]){ 'm', '0' + i }, 2));
	ASSERT_EQ(0, q_stat(fd, &st));
	EXPECT_EQ(4ULL, st.qsize);
	EXPECT_EQ(0ULL, st.total_gets);
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(2L, q_read(fd, buf, sizeof(buf)));
		EXPECT_EQ('0' + i, buf[1]);
	}
	close(fd);
}

TEST_F(ur, cmd_put_get_task_done)
{
	struct mpq_stat st;
	char buf[16] = "";
	int res = 0;

	prep_cmd(&self->ring, self->fd, MPQ_URING_CMD_PUT, (uintptr_t)"ring", 4);
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	ASSERT_EQ(0ULL, reap_cqe(&self->ring, &res, NULL));
	EXPECT_EQ(0, res);

	/* maxsize 1: a second put would wait, so it fails at once. */
	prep_cmd(&self->ring, self->fd, MPQ_URING_CMD_PUT, (uintptr_t)"more", 4);
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	ASSERT_EQ(0ULL, reap_cqe(&self->ring, &res, NULL));
	EXPECT_EQ(-EAGAIN, res);

	prep_cmd(&self->ring, self->fd, MPQ_URING_CMD_GET, (uintptr_t)buf,
		 sizeof(buf));
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	ASSERT_EQ(0ULL, reap_cqe(&self->ring, &res, NULL));
	EXPECT_EQ(4, res);
	EXPECT_EQ(0, memcmp(buf, "ring", 4));

	/* Task done with a count, checked against unfinished. */
	ASSERT_EQ(1L, q_write(self->fd, "2", 1));
	ASSERT_EQ(1L, q_read(self->fd, buf, sizeof(buf)));
	prep_cmd(&self->ring, self->fd, MPQ_URING_CMD_TASK_DONE, 3, 0);
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	ASSERT_EQ(0ULL, reap_cqe(&self->ring, &res, NULL));
	EXPECT_EQ(-EINVAL, res);
	prep_cmd(&self->ring, self->fd, MPQ_URING_CMD_TASK_DONE, 2, 0);
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	ASSERT_EQ(0ULL, reap_cqe(&self->ring, &res, NULL));
	EXPECT_EQ(0, res);
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(0ULL, st.unfinished);
	EXPECT_EQ(0, io_workers());
}

TEST_F(ur, cmd_get_never_waits)
{
	struct mpq_stat st;
	char buf[16];
	int res = 0;

	prep_cmd(&self->ring, self->fd, MPQ_URING_CMD_GET, (uintptr_t)buf,
		 sizeof(buf));
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	ASSERT_EQ(0ULL, reap_cqe(&self->ring, &res, NULL));
	EXPECT_EQ(-EAGAIN, res);
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(0U, st.getters);
	EXPECT_EQ(0, io_workers());

	/* At end of stream a get reads 0, as read() does. */
	ASSERT_EQ(0, q_shutdown(self->fd, 0));
	prep_cmd(&self->ring, self->fd, MPQ_URING_CMD_GET, (uintptr_t)buf,
		 sizeof(buf));
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	ASSERT_EQ(0ULL, reap_cqe(&self->ring, &res, NULL));
	EXPECT_EQ(0, res);
}

TEST_F(ur, cmd_get_after_linked_poll)
{
	struct io_uring_sqe *sqe;
	char buf[16] = "";
	int res = 0;
	__u64 data;

	sqe = sqe_get(&self->ring);
	io_uring_prep_poll_add(sqe, self->fd, POLLIN);
	io_uring_sqe_set_data64(sqe, 1);
	sqe->flags |= IOSQE_IO_LINK;
	sqe = prep_cmd(&self->ring, self->fd, MPQ_URING_CMD_GET, (uintptr_t)buf,
		       sizeof(buf));
	io_uring_sqe_set_data64(sqe, 2);
	ASSERT_EQ(2, io_uring_submit(&self->ring));
	EXPECT_FALSE(cqe_ready(&self->ring));

	ASSERT_EQ(4L, q_write(self->fd, "late", 4));
	data = reap_cqe(&self->ring, &res, NULL);
	EXPECT_EQ(1ULL, data);
	EXPECT_TRUE(res & POLLIN);
	data = reap_cqe(&self->ring, &res, NULL);
	EXPECT_EQ(2ULL, data);
	EXPECT_EQ(4, res);
	EXPECT_EQ(0, memcmp(buf, "late", 4));
	EXPECT_EQ(0, io_workers());
}

TEST(cmd_get_short_buffer_tells_the_length)
{
	struct io_uring ring;
	char buf[4];
	__u64 need = 0;
	int fd = mpq_new(0, 0, 0, 0), res = 0;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, io_uring_queue_init(RING_ENTRIES, &ring, IORING_SETUP_CQE32));
	ASSERT_EQ(10L, q_write(fd, "0123456789", 10));
	prep_cmd(&ring, fd, MPQ_URING_CMD_GET, (uintptr_t)buf, sizeof(buf));
	ASSERT_EQ(1, io_uring_submit(&ring));
	ASSERT_EQ(0ULL, reap_cqe(&ring, &res, &need));
	EXPECT_EQ(-EMSGSIZE, res);
	EXPECT_EQ(10ULL, need);
	EXPECT_EQ(10, q_fionread(fd));		/* it stays at the head */
	io_uring_queue_exit(&ring);
	close(fd);
}

TEST_F(ur, cmd_bad_arguments)
{
	struct io_uring_sqe *sqe;
	char buf[16];
	int res = 0;

	sqe = prep_cmd(&self->ring, self->fd, MPQ_URING_CMD_GET, (uintptr_t)buf,
		       sizeof(buf));
	((struct mpq_uring_cmd *)sqe->cmd)->flags = 1;
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	ASSERT_EQ(0ULL, reap_cqe(&self->ring, &res, NULL));
	EXPECT_EQ(-EINVAL, res);

	prep_cmd(&self->ring, self->fd, _IO(MPQ_IOC_MAGIC, 0x2f), 0, 0);
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	ASSERT_EQ(0ULL, reap_cqe(&self->ring, &res, NULL));
	EXPECT_EQ(-ENOTTY, res);

	prep_cmd(&self->ring, self->fd, MPQ_URING_CMD_TASK_DONE, 1, 1);
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	ASSERT_EQ(0ULL, reap_cqe(&self->ring, &res, NULL));
	EXPECT_EQ(-EINVAL, res);

}

/* Access is the descriptor's, as for read, write and the ioctls. */
TEST(cmd_needs_the_access_it_uses)
{
	static const struct { int flags; __u32 op; } cases[] = {
		{ O_RDONLY, MPQ_URING_CMD_PUT },
		{ O_WRONLY, MPQ_URING_CMD_GET },
		{ O_WRONLY, MPQ_URING_CMD_TASK_DONE },
	};
	struct io_uring ring;
	char name[MPQ_NAME_SIZE], buf[16];
	unsigned int i;
	int res = 0;

	mpq_test_name(name, sizeof(name), "uring");
	ASSERT_EQ(0, mpq_new_named(name, 0600, 0));
	ASSERT_EQ(0, io_uring_queue_init(RING_ENTRIES, &ring, 0));
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int fd = mpq_open_named(name, cases[i].flags);

		ASSERT_LE(0, fd);
		prep_cmd(&ring, fd, cases[i].op,
			 cases[i].op == MPQ_URING_CMD_TASK_DONE ? 1 : (uintptr_t)buf,
			 cases[i].op == MPQ_URING_CMD_TASK_DONE ? 0 : 1);
		ASSERT_EQ(1, io_uring_submit(&ring));
		ASSERT_EQ(0ULL, reap_cqe(&ring, &res, NULL));
		EXPECT_EQ(-EBADF, res) TH_LOG("case %u", i);
		close(fd);
	}
	io_uring_queue_exit(&ring);
	EXPECT_EQ(0, mpq_remove(name));
}

TEST_HARNESS_MAIN
