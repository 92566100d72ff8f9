// SPDX-License-Identifier: GPL-2.0
/*
 * PEP 475: a signal that interrupts a wait is handled and the wait goes on
 * with the time left. Callers never see EINTR, nothing is lost, and a
 * stream of signals does not stretch a timeout (the library computes the
 * absolute deadline once).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib_test.h"
#include "harness.h"

#define LATE_MS		10000

static volatile sig_atomic_t handled;

static void on_signal(int sig)
{
	(void)sig;
	handled++;
}

/*
 * Pesters one thread with SIGUSR1 every 10 ms. With @act set, calls it
 * once the target has handled more than 3 signals and the kernel counts
 * it asleep again in the call (@act_when: ST_GETTERS, ST_PUTTERS or
 * ST_JOINERS), so the call has gone on through the signals.
 */
struct pest {
	pthread_t target, thread;
	atomic_bool stop;
	enum mpq_stat_field act_when;
	void (*act)(mpq_t *q);
	mpq_t *q;
};

static bool target_waits(struct pest *p)
{
	struct mpq_stat st;

	return handled > 3 && q_stat(mpq_fileno(p->q), &st) == 0 &&
	       stat_field(&st, p->act_when) == 1;
}

static void *pester(void *arg)
{
	struct pest *p = arg;

	while (!atomic_load(&p->stop)) {
		sleep_ms(10);
		pthread_kill(p->target, SIGUSR1);
		if (p->act && target_waits(p)) {
			p->act(p->q);
			p->act = NULL;
		}
	}
	return NULL;
}

static void put_one(mpq_t *q)
{
	mpq_put(q, "wake", 4, true, -1);
}

static void get_one(mpq_t *q)
{
	char buf[8];

	mpq_get(q, buf, sizeof(buf), true, -1);
}

static void task_done(mpq_t *q)
{
	mpq_task_done(q);
}

FIXTURE(q) {
	mpq_t *q;
	struct pest p;
	char buf[8];
};

FIXTURE_SETUP(q)
{
	/* No SA_RESTART: every signal makes the ioctl fail with EINTR. */
	struct sigaction sa = { .sa_handler = on_signal };

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	handled = 0;
	self->q = mpq_joinable_new(1);
	ASSERT_NE(NULL, self->q);
	self->p.target = pthread_self();
	self->p.q = self->q;
}

static void start(struct __test_metadata *_metadata, struct pest *p)
{
	atomic_init(&p->stop, false);
	ASSERT_EQ(0, pthread_create(&p->thread, NULL, pester, p));
}

static void stop(struct __test_metadata *_metadata, struct pest *p)
{
	atomic_store(&p->stop, true);
	ASSERT_EQ(0, pthread_join(p->thread, NULL));
}

FIXTURE_TEARDOWN(q)
{
	mpq_free(self->q);
}

TEST_F(q, get_survives_signals)
{
	self->p.act = put_one;
	self->p.act_when = ST_GETTERS;
	start(_metadata, &self->p);
	EXPECT_EQ(4, mpq_get(self->q, self->buf, sizeof(self->buf), true, -1));
	stop(_metadata, &self->p);
	EXPECT_EQ(0, memcmp(self->buf, "wake", 4));
	EXPECT_LT(3, handled);
	EXPECT_EQ(0, mpq_qsize(self->q));
}

TEST_F(q, get_alloc_survives_signals)
{
	void *item = NULL;

	self->p.act = put_one;
	self->p.act_when = ST_GETTERS;
	start(_metadata, &self->p);
	EXPECT_EQ(4, mpq_get_alloc(self->q, &item, true, 10.0));
	stop(_metadata, &self->p);
	EXPECT_STREQ("wake", (char *)item);
	free(item);
	EXPECT_LT(3, handled);
}

TEST_F(q, put_survives_signals)
{
	ASSERT_EQ(0, mpq_put_nowait(self->q, "full", 4));
	self->p.act = get_one;
	self->p.act_when = ST_PUTTERS;
	start(_metadata, &self->p);
	EXPECT_EQ(0, mpq_put(self->q, "next", 4, true, -1));
	stop(_metadata, &self->p);
	EXPECT_LT(3, handled);
	EXPECT_EQ(1, mpq_qsize(self->q));
	EXPECT_EQ(4, mpq_get_nowait(self->q, self->buf, sizeof(self->buf)));
	EXPECT_EQ(0, memcmp(self->buf, "next", 4));
}

TEST_F(q, join_survives_signals)
{
	ASSERT_EQ(0, mpq_put_nowait(self->q, "task", 4));
	ASSERT_EQ(4, mpq_get_nowait(self->q, self->buf, sizeof(self->buf)));
	self->p.act = task_done;
	self->p.act_when = ST_JOINERS;
	start(_metadata, &self->p);
	EXPECT_EQ(0, mpq_join(self->q));
	stop(_metadata, &self->p);
	EXPECT_LT(3, handled);
}

/* If each EINTR restarted a fresh 0.5 s, these would never return. */
TEST_F(q, get_timeout_not_stretched)
{
	long t0, ms;

	start(_metadata, &self->p);
	t0 = now_ms();
	EXPECT_EQ(-ETIMEDOUT, mpq_get(self->q, self->buf, sizeof(self->buf),
				      true, 0.5));
	ms = now_ms() - t0;
	stop(_metadata, &self->p);
	EXPECT_LE(499, ms);
	EXPECT_GT(500 + LATE_MS, ms);
	EXPECT_LT(3, handled);
}

TEST_F(q, put_timeout_not_stretched)
{
	long t0, ms;

	ASSERT_EQ(0, mpq_put_nowait(self->q, "full", 4));
	start(_metadata, &self->p);
	t0 = now_ms();
	EXPECT_EQ(-ETIMEDOUT, mpq_put(self->q, "more", 4, true, 0.5));
	ms = now_ms() - t0;
	stop(_metadata, &self->p);
	EXPECT_LE(499, ms);
	EXPECT_GT(500 + LATE_MS, ms);
	EXPECT_LT(3, handled);
	EXPECT_EQ(1, mpq_qsize(self->q));
}

TEST_F(q, join_timeout_not_stretched)
{
	long t0, ms;

	ASSERT_EQ(0, mpq_put_nowait(self->q, "task", 4));
	start(_metadata, &self->p);
	t0 = now_ms();
	EXPECT_EQ(-ETIMEDOUT, mpq_join_timeout(self->q, 0.5));
	ms = now_ms() - t0;
	stop(_metadata, &self->p);
	EXPECT_LE(499, ms);
	EXPECT_GT(500 + LATE_MS, ms);
	EXPECT_LT(3, handled);
}

TEST_F(q, batch_timeout_not_stretched)
{
	struct mpq_msg m = { .buf = self->buf, .len = sizeof(self->buf) };
	long t0, ms;

	start(_metadata, &self->p);
	t0 = now_ms();
	EXPECT_EQ(-ETIMEDOUT, mpq_get_many(self->q, &m, 1, true, 0.5));
	ms = now_ms() - t0;
	stop(_metadata, &self->p);
	EXPECT_LE(499, ms);
	EXPECT_GT(500 + LATE_MS, ms);
	EXPECT_LT(3, handled);
}

TEST_HARNESS_MAIN
