// SPDX-License-Identifier: GPL-2.0
/*
 * Shutdown: puts fail with EPIPE (no SIGPIPE), gets drain what is left and
 * then read end of file; immediate shutdown discards the queued messages
 * and their unfinished count. Blocked getters, putters and joiners are
 * woken as the contract says, through every kind of call. End of stream
 * waits for a message a reader has taken but not yet copied out.
 */
#include <poll.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>

#include "mpq_test.h"
#include "harness.h"

struct result {
	long ret;
};

FIXTURE(sd) {
	int fd;
	struct result *res;
};

FIXTURE_SETUP(sd)
{
	self->res = shared_alloc(4 * sizeof(*self->res));
	ASSERT_TRUE(self->res != NULL);
	self->fd = mpq_new(0, 0, 0, 0);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(sd)
{
	close(self->fd);
	munmap(self->res, 4 * sizeof(*self->res));
}

static void put3(struct __test_metadata *_metadata, int fd)
{
	ASSERT_EQ(1L, q_write(fd, "a", 1));
	ASSERT_EQ(1L, q_write(fd, "b", 1));
	ASSERT_EQ(1L, q_write(fd, "c", 1));
}

/* Check that every way of putting fails with EPIPE and queues nothing. */
static void puts_fail(struct __test_metadata *_metadata, int fd)
{
	struct __kernel_timespec dl = deadline_in_ms(1000);
	struct mpq_stat before, after;
	sigset_t set;

	ASSERT_EQ(0, q_stat(fd, &before));
	/* SIGPIPE blocked, so that a wrongly sent one stays pending to see. */
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, &set, NULL));
	EXPECT_EQ(-EPIPE, q_write(fd, "x", 1));
	EXPECT_EQ(-EPIPE, q_put(fd, "x", 1, 0, NULL));
	EXPECT_EQ(-EPIPE, q_put(fd, "x", 1, MPQ_XFER_NONBLOCK, NULL));
	EXPECT_EQ(-EPIPE, q_put(fd, "x", 1, MPQ_XFER_TIMEOUT, &dl));
	ASSERT_EQ(0, sigpending(&set));
	EXPECT_FALSE(sigismember(&set, SIGPIPE));
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	ASSERT_EQ(0, sigprocmask(SIG_UNBLOCK, &set, NULL));

	ASSERT_EQ(0, q_stat(fd, &after));
	EXPECT_EQ(before.qsize, after.qsize);
	EXPECT_EQ(before.unfinished, after.unfinished);
	EXPECT_EQ(before.total_puts, after.total_puts);
}

/* Check that every way of getting reads end of file, without blocking. */
static void gets_eof(struct __test_metadata *_metadata, int fd)
{
	struct __kernel_timespec dl = deadline_in_ms(MPQ_TEST_WAIT_MS);
	char buf[8];

	EXPECT_EQ(0L, q_read(fd, buf, sizeof(buf)));
	EXPECT_EQ(0L, q_get(fd, buf, sizeof(buf), 0, NULL));
	EXPECT_EQ(0L, q_get(fd, buf, sizeof(buf), MPQ_XFER_NONBLOCK, NULL));
	EXPECT_EQ(0L, q_get(fd, buf, sizeof(buf), MPQ_XFER_TIMEOUT, &dl));
	EXPECT_EQ(0, q_fionread(fd));
	/* O_NONBLOCK too: end of file, not EAGAIN. */
	ASSERT_EQ(0, fcntl(fd, F_SETFL, O_NONBLOCK));
	EXPECT_EQ(0L, q_read(fd, buf, sizeof(buf)));
	ASSERT_EQ(0, fcntl(fd, F_SETFL, 0));
}

TEST_F(sd, drain)
{
	struct mpq_stat st;
	char buf[8];

	put3(_metadata, self->fd);
	ASSERT_EQ(0, q_shutdown(self->fd, 0));
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ((__u32)MPQ_STATE_SHUTDOWN, st.state);
	EXPECT_EQ(3ULL, st.qsize);
	EXPECT_EQ(3ULL, st.unfinished);
	EXPECT_EQ(0ULL, st.discarded);

	puts_fail(_metadata, self->fd);

	/* What was queued before is still delivered, in order. */
	ASSERT_EQ(1L, q_read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ('a', buf[0]);
	ASSERT_EQ(1L, q_get(self->fd, buf, sizeof(buf), 0, NULL));
	EXPECT_EQ('b', buf[0]);
	ASSERT_EQ(1L, q_read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ('c', buf[0]);
	gets_eof(_metadata, self->fd);

	/* Task accounting goes on after shutdown. */
	EXPECT_EQ(0, q_task_done(self->fd, 3));
	EXPECT_EQ(0, q_join_soon(self->fd));
}

TEST_F(sd, immediate)
{
	struct mpq_stat st;
	char buf[8];

	put3(_metadata, self->fd);
	ASSERT_EQ(1L, q_read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, q_shutdown(self->fd, MPQ_SHUTDOWN_IMMEDIATE));

	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ((__u32)MPQ_STATE_IMMEDIATE, st.state);
	EXPECT_EQ(0ULL, st.qsize);
	EXPECT_EQ(0ULL, st.bytes);
	/* Only the two discarded messages are taken off: 'a' was got. */
	EXPECT_EQ(1ULL, st.unfinished);
	EXPECT_EQ(2ULL, st.discarded);
	EXPECT_EQ(st.total_puts, st.total_gets + st.qsize + st.discarded);

	puts_fail(_metadata, self->fd);
	gets_eof(_metadata, self->fd);
	EXPECT_EQ(-EINVAL, q_task_done(self->fd, 2));
	EXPECT_EQ(0, q_task_done(self->fd, 1));
	EXPECT_EQ(0, q_join_soon(self->fd));
}

TEST_F(sd, idempotent_and_permanent)
{
	struct mpq_stat st;
	char buf[8];

	put3(_metadata, self->fd);
	ASSERT_EQ(0, q_shutdown(self->fd, 0));
	ASSERT_EQ(0, q_shutdown(self->fd, 0));
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ((__u32)MPQ_STATE_SHUTDOWN, st.state);
	EXPECT_EQ(3ULL, st.qsize);

	/* Immediate after a drain shutdown discards what is left. */
	ASSERT_EQ(1L, q_read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, q_shutdown(self->fd, MPQ_SHUTDOWN_IMMEDIATE));
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ((__u32)MPQ_STATE_IMMEDIATE, st.state);
	EXPECT_EQ(0ULL, st.qsize);
	EXPECT_EQ(1ULL, st.unfinished);
	EXPECT_EQ(2ULL, st.discarded);

	/* There is no way back. */
	ASSERT_EQ(0, q_shutdown(self->fd, 0));
	ASSERT_EQ(0, q_shutdown(self->fd, MPQ_SHUTDOWN_IMMEDIATE));
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ((__u32)MPQ_STATE_IMMEDIATE, st.state);
	EXPECT_EQ(2ULL, st.discarded);
	puts_fail(_metadata, self->fd);
}

TEST_F(sd, unknown_flags)
{
	struct mpq_stat st;

	EXPECT_EQ(-EINVAL, q_shutdown(self->fd, 1U << 1));
	EXPECT_EQ(-EINVAL, q_shutdown(self->fd, ~0U));
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ((__u32)MPQ_STATE_OPEN, st.state);
	EXPECT_EQ(1L, q_write(self->fd, "x", 1));
}

/* A getter asleep in read, in GET, and in a timed GET. */
static pid_t spawn_getter(FIXTURE_DATA(sd) *self, int i)
{
	pid_t pid = spawn();

	if (pid == 0) {
		struct __kernel_timespec dl = deadline_in_ms(MPQ_TEST_WAIT_MS);
		char buf[8];

		switch (i) {
		case 0:
			self->res[i].ret = q_read(self->fd, buf, sizeof(buf));
			break;
		case 1:
			self->res[i].ret = q_get(self->fd, buf, sizeof(buf),
						 0, NULL);
			break;
		default:
			self->res[i].ret = q_get(self->fd, buf, sizeof(buf),
						 MPQ_XFER_TIMEOUT, &dl);
			break;
		}
		_exit(0);
	}
	return pid;
}

static pid_t spawn_putter(FIXTURE_DATA(sd) *self, int i)
{
	pid_t pid = spawn();

	if (pid == 0) {
		struct __kernel_timespec dl = deadline_in_ms(MPQ_TEST_WAIT_MS);

		/* EPIPE must not come with a SIGPIPE that kills us. */
		switch (i) {
		case 0:
			self->res[i].ret = q_write(self->fd, "p", 1);
			break;
		case 1:
			self->res[i].ret = q_put(self->fd, "p", 1, 0, NULL);
			break;
		default:
			self->res[i].ret = q_put(self->fd, "p", 1,
						 MPQ_XFER_TIMEOUT, &dl);
			break;
		}
		_exit(0);
	}
	return pid;
}

static void wake_getters(struct __test_metadata *_metadata,
			 FIXTURE_DATA(sd) *self, __u32 how)
{
	pid_t pid[3];
	int i;

	for (i = 0; i < 3; i++) {
		pid[i] = spawn_getter(self, i);
		ASSERT_LE(0, pid[i]);
	}
	ASSERT_EQ(0, q_wait_stat(self->fd, ST_GETTERS, 3));
	ASSERT_EQ(0, q_shutdown(self->fd, how));
	/* All of them at once: no sentinel per consumer. */
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, reap_timeout(pid[i]));
		EXPECT_EQ(0L, self->res[i].ret);
	}
	ASSERT_EQ(0, q_wait_stat(self->fd, ST_GETTERS, 0));
}

TEST_F(sd, wakes_getters)
{
	wake_getters(_metadata, self, 0);
}

TEST_F(sd, immediate_wakes_getters)
{
	wake_getters(_metadata, self, MPQ_SHUTDOWN_IMMEDIATE);
}

static void wake_putters(struct __test_metadata *_metadata,
			 FIXTURE_DATA(sd) *self, __u32 how)
{
	struct mpq_stat st;
	char buf[8];
	pid_t pid[3];
	int i;

	close(self->fd);
	self->fd = mpq_new(1, 0, 0, 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(4L, q_write(self->fd, "keep", 4));
	for (i = 0; i < 3; i++) {
		pid[i] = spawn_putter(self, i);
		ASSERT_LE(0, pid[i]);
	}
	ASSERT_EQ(0, q_wait_stat(self->fd, ST_PUTTERS, 3));
	ASSERT_EQ(0, q_shutdown(self->fd, how));
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, reap_timeout(pid[i]));
		EXPECT_EQ((long)-EPIPE, self->res[i].ret);
	}

	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(0U, st.putters);
	EXPECT_EQ(1ULL, st.total_puts);
	if (how & MPQ_SHUTDOWN_IMMEDIATE) {
		EXPECT_EQ(0ULL, st.qsize);
		EXPECT_EQ(0ULL, st.unfinished);
		EXPECT_EQ(1ULL, st.discarded);
	} else {
		/* The queued message survives the drain shutdown. */
		EXPECT_EQ(1ULL, st.qsize);
		EXPECT_EQ(1ULL, st.unfinished);
		ASSERT_EQ(4L, q_read(self->fd, buf, sizeof(buf)));
		EXPECT_EQ(0, memcmp(buf, "keep", 4));
	}
	EXPECT_EQ(0L, q_read(self->fd, buf, sizeof(buf)));
}

TEST_F(sd, wakes_putters)
{
	wake_putters(_metadata, self, 0);
}

TEST_F(sd, immediate_wakes_putters)
{
	wake_putters(_metadata, self, MPQ_SHUTDOWN_IMMEDIATE);
}

TEST_F(sd, drain_keeps_joiners_waiting)
{
	char buf[8];
	pid_t pid;

	ASSERT_EQ(1L, q_write(self->fd, "a", 1));
	ASSERT_EQ(1L, q_write(self->fd, "b", 1));
	pid = spawn();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		self->res[0].ret = q_join(self->fd, NULL);
		_exit(0);
	}
	ASSERT_EQ(0, q_wait_blocked(self->fd, ST_JOINERS, 1, pid));
	ASSERT_EQ(0, q_shutdown(self->fd, 0));

	/* Two tasks are still unfinished: the joiner has to wait for them. */
	sleep_ms(100);
	ASSERT_FALSE(has_exited(pid));
	ASSERT_EQ(0, q_wait_blocked(self->fd, ST_JOINERS, 1, pid));

	ASSERT_EQ(1L, q_read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(1L, q_read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, q_task_done(self->fd, 1));
	sleep_ms(50);
	ASSERT_FALSE(has_exited(pid));
	ASSERT_EQ(0, q_task_done(self->fd, 1));
	EXPECT_EQ(0, reap_timeout(pid));
	EXPECT_EQ(0L, self->res[0].ret);
}

TEST_F(sd, immediate_releases_joiners)
{
	struct mpq_stat st;
	pid_t pid[2];
	int i;

	ASSERT_EQ(1L, q_write(self->fd, "a", 1));
	ASSERT_EQ(1L, q_write(self->fd, "b", 1));
	for (i = 0; i < 2; i++) {
		pid[i] = spawn();
		ASSERT_LE(0, pid[i]);
		if (pid[i] == 0) {
			struct __kernel_timespec dl;

			dl = deadline_in_ms(MPQ_TEST_WAIT_MS);
			self->res[i].ret = i ? q_join(self->fd, &dl) :
					       q_join(self->fd, NULL);
			_exit(0);
		}
	}
	ASSERT_EQ(0, q_wait_stat(self->fd, ST_JOINERS, 2));
	/* Discarding both queued messages finishes both tasks. */
	ASSERT_EQ(0, q_shutdown(self->fd, MPQ_SHUTDOWN_IMMEDIATE));
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(0, reap_timeout(pid[i]));
		EXPECT_EQ(0L, self->res[i].ret);
	}
	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(0ULL, st.unfinished);
	EXPECT_EQ(0U, st.joiners);
}

/*
 * A message put just before a drain shutdown reaches the getter it woke,
 * whichever of the two the getter sees first.
 */
TEST_F(sd, drain_delivers_to_woken_getter)
{
	pid_t pid;

	pid = spawn_getter(self, 0);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, q_wait_blocked(self->fd, ST_GETTERS, 1, pid));
	ASSERT_EQ(1L, q_write(self->fd, "z", 1));
	ASSERT_EQ(0, q_shutdown(self->fd, 0));
	EXPECT_EQ(0, reap_timeout(pid));
	EXPECT_EQ(1L, self->res[0].ret);
	EXPECT_EQ(0L, q_read(self->fd, (char[8]){}, 8));
}

/*
 * A reader whose buffer is a userfaultfd page: its copy of the message to
 * user memory waits, in the kernel, until the test resolves the fault. That
 * holds a reader between taking a message and delivering it, for as long
 * as the test needs.
 */
struct held {
	int fd;			/* the queue */
	int uffd;
	char *page;
	size_t page_size;
	pthread_t reader;
	long ret;		/* the reader's read() */
};

static void *held_read(void *arg)
{
	struct held *h = arg;

	h->ret = q_read(h->fd, h->page, 64);
	return NULL;
}

/* Start the reader and wait until it holds a message: 0, or -errno. */
static int held_start(struct held *h, int fd)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct pollfd p = { .events = POLLIN };
	struct uffd_msg msg;

	h->fd = fd;
	h->page_size = sysconf(_SC_PAGESIZE);
	h->uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (h->uffd < 0)
		return -errno;
	h->page = mmap(NULL, h->page_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (h->page == MAP_FAILED)
		return -errno;
	reg.range.start = (uintptr_t)h->page;
	reg.range.len = h->page_size;
	if (ioctl(h->uffd, UFFDIO_API, &api) ||
	    ioctl(h->uffd, UFFDIO_REGISTER, &reg))
		return -errno;
	if (pthread_create(&h->reader, NULL, held_read, h))
		return -EAGAIN;
	/* The fault is reported once the kernel copies to the page. */
	p.fd = h->uffd;
	if (poll(&p, 1, MPQ_TEST_WAIT_MS) != 1 ||
	    read(h->uffd, &msg, sizeof(msg)) != sizeof(msg) ||
	    msg.event != UFFD_EVENT_PAGEFAULT)
		return -ETIMEDOUT;
	return 0;
}

/*
 * End the reader's copy: closing the userfaultfd lets the fault be served
 * as any other, so the copy succeeds; with @fail, the page is unmapped
 * first, so the copy fails with EFAULT. Returns the reader's result.
 */
static long held_finish(struct held *h, bool fail)
{
	if (fail)
		munmap(h->page, h->page_size);
	close(h->uffd);
	pthread_join(h->reader, NULL);
	return h->ret;
}

/* Queue "last", shut down, and have a reader take it and hold it. */
static int hold_the_last(struct held *h, int fd)
{
	if (q_puts(fd, "last") != 4 || q_shutdown(fd, 0))
		return -EIO;
	return held_start(h, fd);
}

/*
 * After a plain shutdown reader A takes the last message, and its copy
 * faults. Until A delivers or gives it back, the stream has not ended: B
 * must not read end of file, nor poll see it; when A's copy fails the
 * message is back at the head, and B gets it.
 */
TEST_F(sd, no_end_of_stream_while_a_reader_holds_the_last)
{
	struct held h;
	char buf[16];
	int ret;

	ret = hold_the_last(&h, self->fd);
	if (ret == -ENOSYS || ret == -EPERM)
		SKIP(return, "no userfaultfd here (%d)", ret);
	ASSERT_EQ(0, ret);
	EXPECT_EQ(-EAGAIN, q_get(self->fd, buf, sizeof(buf),
				 MPQ_XFER_NONBLOCK, NULL));
	{
		struct pollfd p = { .fd = self->fd, .events = POLLIN };

		/* Shut down (POLLHUP), but not readable. */
		EXPECT_EQ(1, poll(&p, 1, 0));
		EXPECT_EQ(POLLHUP, p.revents);
	}
	EXPECT_EQ(-EFAULT, held_finish(&h, true));
	EXPECT_EQ(4L, q_get(self->fd, buf, sizeof(buf), MPQ_XFER_NONBLOCK,
			    NULL));
	EXPECT_EQ(0, memcmp(buf, "last", 4));
	EXPECT_EQ(0L, q_read(self->fd, buf, sizeof(buf)));
}

/* A getter blocked behind the held message reads end of file once A delivers. */
TEST_F(sd, end_of_stream_once_the_held_message_is_delivered)
{
	struct __kernel_timespec dl;
	struct held h;
	pid_t pid;
	int ret;

	ret = hold_the_last(&h, self->fd);
	if (ret == -ENOSYS || ret == -EPERM)
		SKIP(return, "no userfaultfd here (%d)", ret);
	ASSERT_EQ(0, ret);
	dl = deadline_in_ms(30000);
	pid = spawn();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char buf[16];

		/* Only the parent's close may release the userfaultfd. */
		close(h.uffd);
		self->res[0].ret = q_get(self->fd, buf, sizeof(buf),
					 MPQ_XFER_TIMEOUT, &dl);
		_exit(0);
	}
	ASSERT_EQ(0, q_wait_blocked(self->fd, ST_GETTERS, 1, pid));
	EXPECT_EQ(4L, held_finish(&h, false));
	EXPECT_EQ(0, memcmp(h.page, "last", 4));
	EXPECT_EQ(0, reap(pid));
	EXPECT_EQ(0L, self->res[0].ret);
}

TEST_HARNESS_MAIN
