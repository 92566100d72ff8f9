// SPDX-License-Identifier: GPL-2.0
/*
 * mpq_close(), mpq_join_thread(), mpq_cancel_join_thread(): a closed
 * handle answers -EBADF to everything; its descriptor number is not
 * handed out again while the handle exists, so a call racing the close
 * can never act on some other file; a call already waiting completes.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lib_test.h"
#include "harness.h"

TEST(everything_ebadf)
{
	mpq_t *q = mpq_joinable_new(0);
	struct mpq_msg m = { .buf = "x", .len = 1 };
	struct mpq_stat st;
	char buf[8];
	void *item = (void *)1;

	ASSERT_NE(NULL, q);
	ASSERT_EQ(0, mpq_put_nowait(q, "x", 1));
	ASSERT_EQ(0, mpq_close(q));
	EXPECT_EQ(-EBADF, mpq_put(q, "x", 1, true, -1));
	EXPECT_EQ(-EBADF, mpq_put_nowait(q, "x", 1));
	EXPECT_EQ(-EBADF, mpq_get(q, buf, sizeof(buf), true, -1));
	EXPECT_EQ(-EBADF, mpq_get_nowait(q, buf, sizeof(buf)));
	EXPECT_EQ(-EBADF, mpq_get_alloc(q, &item, true, -1));
	EXPECT_EQ(NULL, item);
	EXPECT_EQ(-EBADF, mpq_put_many(q, &m, 1, true, -1));
	EXPECT_EQ(-EBADF, mpq_get_many(q, &m, 1, true, -1));
	EXPECT_EQ(-EBADF, mpq_qsize(q));
	EXPECT_EQ(-EBADF, mpq_stat(q, &st));
	EXPECT_EQ(-EBADF, mpq_task_done(q));
	EXPECT_EQ(-EBADF, mpq_task_done_many(q, 1));
	EXPECT_EQ(-EBADF, mpq_join(q));
	EXPECT_EQ(-EBADF, mpq_join_timeout(q, 1));
	EXPECT_EQ(-EBADF, mpq_shutdown(q, false));
	EXPECT_EQ(-EBADF, mpq_fileno(q));
	EXPECT_EQ(-EBADF, mpq_close(q));
	mpq_free(q);
}

/* Python asserts that close() came first; nothing to flush either way. */
TEST(join_thread)
{
	mpq_t *q = mpq_queue_new(0);

	ASSERT_NE(NULL, q);
	ASSERT_EQ(0, mpq_put_nowait(q, "x", 1));
	mpq_cancel_join_thread(q);
	EXPECT_EQ(-EINVAL, mpq_join_thread(q));
	ASSERT_EQ(0, mpq_close(q));
	EXPECT_EQ(0, mpq_join_thread(q));
	mpq_cancel_join_thread(q);
	EXPECT_EQ(-EINVAL, mpq_join_thread(NULL));
	mpq_free(q);
}

/* The number stays taken (by an inert file) until mpq_free(). */
TEST(number_not_reused)
{
	mpq_t *q = mpq_queue_new(0);
	int fd, other, n;

	ASSERT_NE(NULL, q);
	fd = mpq_fileno(q);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mpq_close(q));
	EXPECT_LE(0, fcntl(fd, F_GETFD));
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* Not the queue any more: its ioctls fail there. */
	EXPECT_EQ(-1, ioctl(fd, FIONREAD, &n));
	other = open("/dev/null", O_RDONLY);
	ASSERT_LE(0, other);
	EXPECT_NE(fd, other);
	close(other);
	mpq_free(q);
	EXPECT_EQ(-1, fcntl(fd, F_GETFD));
}

/* The queue lives on for other descriptors; this handle lets go of it. */
TEST(close_releases_only_this_handle)
{
	mpq_t *q = mpq_queue_new(0);
	char buf[8];
	int other;

	ASSERT_NE(NULL, q);
	other = dup(mpq_fileno(q));
	ASSERT_LE(0, other);
	ASSERT_EQ(0, mpq_put_nowait(q, "kept", 4));
	ASSERT_EQ(0, mpq_close(q));
	EXPECT_EQ(4, read(other, buf, sizeof(buf)));
	close(other);
	mpq_free(q);
}

/*
 * Like read(2) on a descriptor another thread closes: the waiting call
 * keeps its own reference and completes when a message comes.
 */
TEST(waiting_call_completes)
{
	struct lib_call g = { .q = mpq_queue_new(0), .op = LIB_GET };
	struct mpq_stat st;
	int other;

	ASSERT_NE(NULL, g.q);
	other = dup(mpq_fileno(g.q));
	ASSERT_LE(0, other);
	ASSERT_EQ(0, lib_call_start(&g));
	ASSERT_EQ(0, q_wait_stat(other, ST_GETTERS, 1));
	ASSERT_EQ(0, ioctl(other, MPQ_IOC_STAT, &st));
	ASSERT_EQ(1U, st.getters);
	ASSERT_EQ(0, mpq_close(g.q));
	EXPECT_EQ(-EBADF, mpq_get_nowait(g.q, g.buf, sizeof(g.buf)));
	ASSERT_EQ(3, write(other, "msg", 3));
	ASSERT_EQ(0, lib_call_end(&g));
	EXPECT_EQ(3, g.ret);
	close(other);
	mpq_free(g.q);
}

struct racer {
	pthread_t t;
	mpq_t *q;
	atomic_bool *go;
	int id;
	long calls, odd;	/* odd: results that should be impossible */
	int last;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	char buf[8];
	int ret;

	while (!atomic_load(r->go))
		;
	do {
		switch (r->calls++ % 3) {
		case 0:
			ret = mpq_put_nowait(r->q, "x", 1);
			break;
		case 1:
			ret = (int)mpq_get_nowait(r->q, buf, sizeof(buf));
			break;
		default:
			ret = (int)mpq_qsize(r->q);
			break;
		}
		if (ret < 0 && ret != -EAGAIN && ret != -EBADF)
			r->odd++;
		r->last = ret;
	} while (ret != -EBADF);
	return NULL;
}

/* Opens and closes files so that a freed number would be reused at once. */
static void *churn(void *arg)
{
	atomic_bool *stop = arg;
	int fd;

	while (!atomic_load(stop)) {
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			close(fd);
	}
	return NULL;
}

TEST(close_races_calls)
{
	struct racer r[4];
	atomic_bool go, stop;
	pthread_t churner;
	int i, round;

	for (round = 0; round < 20; round++) {
		mpq_t *q = mpq_queue_new(4);

		ASSERT_NE(NULL, q);
		atomic_init(&go, false);
		atomic_init(&stop, false);
		ASSERT_EQ(0, pthread_create(&churner, NULL, churn, &stop));
		for (i = 0; i < 4; i++) {
			r[i] = (struct racer){ .q = q, .go = &go, .id = i };
			ASSERT_EQ(0, pthread_create(&r[i].t, NULL, race, &r[i]));
		}
		atomic_store(&go, true);
		sleep_ms(2);	/* let the calls run a little before the close */
		ASSERT_EQ(0, mpq_close(q));
		for (i = 0; i < 4; i++) {
			ASSERT_EQ(0, pthread_join(r[i].t, NULL));
			EXPECT_EQ(0, r[i].odd);
			EXPECT_EQ(-EBADF, r[i].last);
		}
		atomic_store(&stop, true);
		ASSERT_EQ(0, pthread_join(churner, NULL));
		mpq_free(q);
	}
}

TEST_HARNESS_MAIN
