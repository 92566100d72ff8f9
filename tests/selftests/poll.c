// SPDX-License-Identifier: GPL-2.0
/*
 * poll/epoll/select readiness: EPOLLIN when a get would not block (a
 * message or end of file), EPOLLOUT when a put would not block, EPOLLHUP
 * once shut down, EPOLLPRI when unfinished == 0; sleepers in poll and
 * epoll_wait are woken by the change. O_ASYNC delivers SIGIO on a put.
 */
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include "mpq_test.h"
#include "harness.h"

#define ALL_EVENTS	(POLLIN | POLLOUT | POLLPRI)

/* Readiness now, through poll(2) or epoll: the mask of POLL* bits. */
static int ready(int fd, bool use_epoll)
{
	if (use_epoll) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLPRI };
		int ep = epoll_create1(EPOLL_CLOEXEC), n;

		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
			return -errno;
		memset(&ev, 0, sizeof(ev));
		n = epoll_wait(ep, &ev, 1, 0);
		close(ep);
		if (n < 0)
			return -errno;
		return n ? (int)ev.events : 0;
	} else {
		struct pollfd p = { .fd = fd, .events = ALL_EVENTS };
		int n = poll(&p, 1, 0);

		if (n < 0)
			return -errno;
		return n ? p.revents : 0;
	}
}

FIXTURE(pq) {
	int fd;
	int *revents;
};

FIXTURE_VARIANT(pq) {
	bool use_epoll;
};

FIXTURE_VARIANT_ADD(pq, poll) {
	.use_epoll = false,
};

FIXTURE_VARIANT_ADD(pq, epoll) {
	.use_epoll = true,
};

FIXTURE_SETUP(pq)
{
	self->revents = shared_alloc(sizeof(int));
	ASSERT_TRUE(self->revents != NULL);
	/* Non-blocking: a readiness bug shows as EAGAIN, not as a hang. */
	self->fd = mpq_new(1, 0, 0, MPQ_CREATE_NONBLOCK);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(pq)
{
	close(self->fd);
	munmap(self->revents, sizeof(int));
}

TEST_F(pq, states)
{
	bool ep = variant->use_epoll;
	char buf[8];

	EXPECT_EQ(POLLOUT | POLLPRI, ready(self->fd, ep));
	ASSERT_EQ(1L, q_write(self->fd, "a", 1));
	/* Full (maxsize 1), one unfinished task. */
	EXPECT_EQ(POLLIN, ready(self->fd, ep));
	ASSERT_EQ(1L, q_read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(POLLOUT, ready(self->fd, ep));
	ASSERT_EQ(0, q_task_done(self->fd, 1));
	EXPECT_EQ(POLLOUT | POLLPRI, ready(self->fd, ep));

	/* Shut down with a message left: readable, hung up. */
	ASSERT_EQ(1L, q_write(self->fd, "b", 1));
	ASSERT_EQ(0, q_shutdown(self->fd, 0));
	EXPECT_EQ(POLLIN | POLLHUP, ready(self->fd, ep) & ~POLLOUT);
	ASSERT_EQ(1L, q_read(self->fd, buf, sizeof(buf)));
	/* Drained: still readable, since a get returns end of file at once. */
	EXPECT_EQ(POLLIN | POLLHUP, ready(self->fd, ep) & ~POLLOUT);
	ASSERT_EQ(0, q_task_done(self->fd, 1));
	EXPECT_EQ(POLLIN | POLLHUP | POLLPRI, ready(self->fd, ep) & ~POLLOUT);
}

TEST_F(pq, maxbytes_clears_pollout)
{
	bool ep = variant->use_epoll;
	char buf[16];

	close(self->fd);
	self->fd = mpq_new(0, 10, 10, MPQ_CREATE_NONBLOCK);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(9L, q_write(self->fd, "123456789", 9));
	/* One more byte fits. */
	EXPECT_EQ(POLLIN | POLLOUT, ready(self->fd, ep));
	ASSERT_EQ(1L, q_write(self->fd, "0", 1));
	EXPECT_EQ(POLLIN, ready(self->fd, ep));
	ASSERT_EQ(9L, q_read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(POLLIN | POLLOUT, ready(self->fd, ep));
}

TEST_F(pq, immediate_shutdown)
{
	bool ep = variant->use_epoll;

	ASSERT_EQ(1L, q_write(self->fd, "a", 1));
	ASSERT_EQ(0, q_shutdown(self->fd, MPQ_SHUTDOWN_IMMEDIATE));
	/* Discarded: end of file, and its task is finished. */
	EXPECT_EQ(POLLIN | POLLHUP | POLLPRI, ready(self->fd, ep) & ~POLLOUT);
}

/*
 * Sleep in poll or epoll_wait in a child for @events; make sure it sleeps;
 * then @trigger and check what it woke with.
 */
static void wakeup(struct __test_metadata *_metadata, FIXTURE_DATA(pq) *self,
		   const FIXTURE_VARIANT(pq) *variant, short events,
		   void (*trigger)(int fd))
{
	pid_t pid = spawn();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (variant->use_epoll) {
			struct epoll_event ev = { .events = (__u32)events };
			int ep = epoll_create1(EPOLL_CLOEXEC);

			if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, self->fd, &ev))
				_exit(1);
			if (epoll_wait(ep, &ev, 1, -1) != 1)
				_exit(2);
			*self->revents = (int)ev.events;
		} else {
			struct pollfd p = { .fd = self->fd, .events = events };

			if (poll(&p, 1, -1) != 1)
				_exit(2);
			*self->revents = p.revents;
		}
		_exit(0);
	}
	/* Nothing counts pollers; a child still there after 100 ms sleeps. */
	sleep_ms(100);
	ASSERT_FALSE(has_exited(pid));
	trigger(self->fd);
	ASSERT_EQ(0, reap_timeout(pid));
	EXPECT_NE(0, *self->revents & events)
		TH_LOG("revents %#x", *self->revents);
}

static void do_put(int fd)
{
	q_write(fd, "x", 1);
}

static void do_get(int fd)
{
	char buf[8];

	q_read(fd, buf, sizeof(buf));
}

static void do_task_done(int fd)
{
	q_task_done(fd, 1);
}

static void do_shutdown(int fd)
{
	q_shutdown(fd, 0);
}

TEST_F(pq, in_woken_by_put)
{
	wakeup(_metadata, self, variant, POLLIN, do_put);
	EXPECT_EQ(POLLIN, *self->revents);
}

TEST_F(pq, out_woken_by_get)
{
	ASSERT_EQ(1L, q_write(self->fd, "a", 1));
	wakeup(_metadata, self, variant, POLLOUT, do_get);
	EXPECT_EQ(POLLOUT, *self->revents);
}

TEST_F(pq, pri_woken_by_last_task_done)
{
	char buf[8];

	ASSERT_EQ(1L, q_write(self->fd, "a", 1));
	ASSERT_EQ(1L, q_read(self->fd, buf, sizeof(buf)));
	wakeup(_metadata, self, variant, POLLPRI, do_task_done);
	EXPECT_EQ(POLLPRI, *self->revents);
}

TEST_F(pq, hup_woken_by_shutdown)
{
	/* Asleep for input on an empty queue: the shutdown is end of file. */
	wakeup(_metadata, self, variant, POLLIN, do_shutdown);
	EXPECT_EQ(POLLIN | POLLHUP, *self->revents & ~(POLLOUT | POLLPRI));
}

/* Sleep in poll(2) or epoll_wait() for @events: revents, 0 on timeout. */
static int wait_events(int fd, short events, int ms, bool use_epoll)
{
	if (use_epoll) {
		struct epoll_event ev = { .events = (__u32)events };
		int ep = epoll_create1(EPOLL_CLOEXEC), n;

		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
			return -errno;
		n = epoll_wait(ep, &ev, 1, ms);
		close(ep);
		return n < 0 ? -errno : n ? (int)ev.events : 0;
	} else {
		struct pollfd p = { .fd = fd, .events = events };
		int n = poll(&p, 1, ms);

		return n < 0 ? -errno : n ? p.revents : 0;
	}
}

/*
 * A putter blocked at the head gives up (here on its timeout): if it was
 * the last one and the queue has room, a poller for EPOLLOUT must wake
 * then, not sleep on to its own timeout. maxbytes 100 with 50 queued: the
 * 60-byte put blocks, a 1-byte one would not but for the putter ahead.
 */
TEST_F(pq, out_woken_when_last_putter_leaves)
{
	struct __kernel_timespec dl;
	char big[60] = {};
	int64_t left;
	pid_t pid;
	int fd;

	fd = mpq_new(0, 0, 100, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(50L, q_write(fd, big, 50));
	dl = deadline_in_ms(3000);
	pid = spawn();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(q_put(fd, big, sizeof(big), MPQ_XFER_TIMEOUT, &dl) ==
		      -ETIMEDOUT ? 0 : 1);
	ASSERT_EQ(0, q_wait_blocked(fd, ST_PUTTERS, 1, pid));
	EXPECT_EQ(POLLIN, ready(fd, variant->use_epoll));
	/* The poll below must start sleeping before the putter leaves. */
	left = kts_to_ns(&dl) - now_ns();
	ASSERT_LT(500 * NSEC_PER_MSEC, left);
	EXPECT_EQ(POLLOUT, wait_events(fd, POLLOUT, 30000, variant->use_epoll));
	EXPECT_EQ(0, reap(pid));
	close(fd);
}

TEST(select_readable)
{
	struct timeval tv = {};
	fd_set rfds, wfds;
	int fd = mpq_new(1, 0, 0, 0);

	ASSERT_LE(0, fd);
	FD_ZERO(&rfds);
	FD_SET(fd, &rfds);
	FD_ZERO(&wfds);
	FD_SET(fd, &wfds);
	ASSERT_EQ(1, select(fd + 1, &rfds, &wfds, NULL, &tv));
	EXPECT_FALSE(FD_ISSET(fd, &rfds));
	EXPECT_TRUE(FD_ISSET(fd, &wfds));

	ASSERT_EQ(1L, q_write(fd, "a", 1));
	FD_ZERO(&rfds);
	FD_SET(fd, &rfds);
	FD_ZERO(&wfds);
	FD_SET(fd, &wfds);
	ASSERT_EQ(1, select(fd + 1, &rfds, &wfds, NULL, &tv));
	EXPECT_TRUE(FD_ISSET(fd, &rfds));
	EXPECT_FALSE(FD_ISSET(fd, &wfds));
	close(fd);
}

static int wait_sigio(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (ms % 1000) * NSEC_PER_MSEC };
	siginfo_t si;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGIO);
	return sigtimedwait(&set, &si, &ts) == SIGIO ? 0 : -errno;
}

TEST(o_async_sigio)
{
	sigset_t set;
	char buf[8];
	pid_t pid;
	int fd = mpq_new(0, 0, 0, 0);

	ASSERT_LE(0, fd);
	sigemptyset(&set);
	sigaddset(&set, SIGIO);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, &set, NULL));
	ASSERT_EQ(0, fcntl(fd, F_SETOWN, getpid()));
	ASSERT_EQ(0, fcntl(fd, F_SETFL, O_ASYNC));
	ASSERT_EQ(O_ASYNC, fcntl(fd, F_GETFL) & O_ASYNC);
	EXPECT_EQ(-EAGAIN, wait_sigio(50));

	/* A put by another process signals the owner. */
	pid = spawn();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(q_write(fd, "a", 1) == 1 ? 0 : 1);
	ASSERT_EQ(0, reap(pid));
	EXPECT_EQ(0, wait_sigio(MPQ_TEST_WAIT_MS));

	/* So does a put through the ioctl. */
	ASSERT_EQ(0, q_put(fd, "b", 1, 0, NULL));
	EXPECT_EQ(0, wait_sigio(MPQ_TEST_WAIT_MS));
	ASSERT_EQ(1L, q_read(fd, buf, sizeof(buf)));
	ASSERT_EQ(1L, q_read(fd, buf, sizeof(buf)));

	/* Without O_ASYNC, nothing. */
	ASSERT_EQ(0, fcntl(fd, F_SETFL, 0));
	ASSERT_EQ(1L, q_write(fd, "c", 1));
	EXPECT_EQ(-EAGAIN, wait_sigio(100));
	close(fd);
}

TEST_HARNESS_MAIN
