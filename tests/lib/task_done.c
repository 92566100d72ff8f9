// SPDX-License-Identifier: GPL-2.0
/*
 * mpq_task_done(), mpq_task_done_many(), mpq_join(), mpq_join_timeout():
 * JoinableQueue's accounting; ValueError is -EINVAL and changes nothing.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "lib_test.h"
#include "harness.h"

FIXTURE(q) {
	mpq_t *q;
	char buf[16];
};

FIXTURE_SETUP(q)
{
	self->q = mpq_joinable_new(0);
	ASSERT_NE(NULL, self->q);
}

FIXTURE_TEARDOWN(q)
{
	mpq_free(self->q);
}

static unsigned long long unfinished(mpq_t *q)
{
	struct mpq_stat st;

	return mpq_stat(q, &st) ? ~0ULL : st.unfinished;
}

TEST_F(q, join_with_nothing_put)
{
	EXPECT_EQ(0, mpq_join(self->q));
	EXPECT_EQ(0, mpq_join_timeout(self->q, 0));
}

/* ValueError: task_done() called too many times. */
TEST_F(q, too_many)
{
	EXPECT_EQ(-EINVAL, mpq_task_done(self->q));
	ASSERT_EQ(0, mpq_put_nowait(self->q, "a", 1));
	ASSERT_EQ(1, mpq_get_nowait(self->q, self->buf, sizeof(self->buf)));
	EXPECT_EQ(1ULL, unfinished(self->q));
	EXPECT_EQ(0, mpq_task_done(self->q));
	EXPECT_EQ(0ULL, unfinished(self->q));
	EXPECT_EQ(-EINVAL, mpq_task_done(self->q));
	EXPECT_EQ(0ULL, unfinished(self->q));
}

/* Each put counts, whether gotten yet or not. */
TEST_F(q, counts_puts)
{
	int i;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, mpq_put_nowait(self->q, "a", 1));
	EXPECT_EQ(3ULL, unfinished(self->q));
	EXPECT_EQ(-ETIMEDOUT, mpq_join_timeout(self->q, 0.05));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, mpq_task_done(self->q));
	EXPECT_EQ(0, mpq_join(self->q));
}

TEST_F(q, many_all_or_nothing)
{
	int i;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, mpq_put_nowait(self->q, "a", 1));
	EXPECT_EQ(-EINVAL, mpq_task_done_many(self->q, 4));
	EXPECT_EQ(3ULL, unfinished(self->q));
	EXPECT_EQ(-EINVAL, mpq_task_done_many(self->q, 0));
	EXPECT_EQ(3ULL, unfinished(self->q));
	EXPECT_EQ(0, mpq_task_done_many(self->q, 2));
	EXPECT_EQ(1ULL, unfinished(self->q));
	EXPECT_EQ(0, mpq_task_done_many(self->q, 1));
	EXPECT_EQ(0, mpq_join(self->q));
}

struct consumer {
	mpq_t *q;
	atomic_int processed;
};

/* A daemon-style worker: get, "work", task_done, for ever. */
static void *worker(void *arg)
{
	struct consumer *c = arg;
	char buf[16];

	while (mpq_get(c->q, buf, sizeof(buf), true, -1) > 0) {
		sleep_ms(20);	/* the work, which join() must wait for */
		atomic_fetch_add(&c->processed, 1);
		mpq_task_done(c->q);
	}
	return NULL;
}

/* join() returns only after every item has been processed. */
TEST_F(q, join_waits_for_workers)
{
	struct consumer c = { .q = self->q };
	pthread_t t[2];
	int i;

	atomic_init(&c.processed, 0);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, worker, &c));
	for (i = 0; i < 10; i++)
		ASSERT_EQ(0, mpq_put(self->q, "job", 3, true, -1));
	EXPECT_EQ(0, mpq_join(self->q));
	EXPECT_EQ(10, atomic_load(&c.processed));
	EXPECT_EQ(0ULL, unfinished(self->q));
	/* Second round on the same queue, with a timeout this time. */
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, mpq_put(self->q, "job", 3, true, -1));
	EXPECT_EQ(0, mpq_join_timeout(self->q, 30));
	EXPECT_EQ(14, atomic_load(&c.processed));
	ASSERT_EQ(0, mpq_shutdown(self->q, false));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
}

TEST_HARNESS_MAIN
