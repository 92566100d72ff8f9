// SPDX-License-Identifier: GPL-2.0
/*
 * One handle shared by many threads at once: every message is delivered
 * exactly once, each producer's messages in order; mpq_get_alloc() copes
 * with other consumers taking the message it was sizing for.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpqdev.h>

#include "pattern.h"
#include "harness.h"

#define PRODUCERS	4
#define CONSUMERS	4
#define PER_PRODUCER	2000

struct shared {
	mpq_t *q;
	pthread_mutex_t lock;
	unsigned char seen[PRODUCERS][PER_PRODUCER];
	long bad;		/* duplicates, out of order, garbage */
};

struct worker {
	pthread_t t;
	struct shared *s;
	int id;
	long count;
	int err;
};

static void *produce(void *arg)
{
	struct worker *w = arg;
	char msg[32];
	int i, len, ret;

	for (i = 0; i < PER_PRODUCER; i++) {
		len = snprintf(msg, sizeof(msg), "%d:%d", w->id, i);
		ret = mpq_put(w->s->q, msg, (size_t)len, true, -1);
		if (ret) {
			w->err = ret;
			break;
		}
	}
	return NULL;
}

static void *consume(void *arg)
{
	struct worker *w = arg;
	int last[PRODUCERS], p, i;
	char buf[32];
	ssize_t len;

	for (p = 0; p < PRODUCERS; p++)
		last[p] = -1;
	for (;;) {
		len = mpq_get(w->s->q, buf, sizeof(buf) - 1, true, -1);
		if (len < 0) {
			if (len != -EPIPE)
				w->err = (int)len;
			break;
		}
		buf[len] = '\0';
		pthread_mutex_lock(&w->s->lock);
		if (sscanf(buf, "%d:%d", &p, &i) != 2 || p < 0 ||
		    p >= PRODUCERS || i < 0 || i >= PER_PRODUCER ||
		    w->s->seen[p][i]++ || i <= last[p])
			w->s->bad++;
		else
			last[p] = i;
		pthread_mutex_unlock(&w->s->lock);
		w->count++;
	}
	return NULL;
}

TEST(many_producers_many_consumers)
{
	static struct shared s;
	struct worker prod[PRODUCERS], cons[CONSUMERS];
	long total = 0;
	int i, j;

	s.q = mpq_queue_new(16);
	ASSERT_NE(NULL, s.q);
	pthread_mutex_init(&s.lock, NULL);
	for (i = 0; i < CONSUMERS; i++) {
		cons[i] = (struct worker){ .s = &s, .id = i };
		ASSERT_EQ(0, pthread_create(&cons[i].t, NULL, consume, &cons[i]));
	}
	for (i = 0; i < PRODUCERS; i++) {
		prod[i] = (struct worker){ .s = &s, .id = i };
		ASSERT_EQ(0, pthread_create(&prod[i].t, NULL, produce, &prod[i]));
	}
	for (i = 0; i < PRODUCERS; i++) {
		ASSERT_EQ(0, pthread_join(prod[i].t, NULL));
		EXPECT_EQ(0, prod[i].err);
	}
	/* One shutdown ends the stream for every consumer. */
	ASSERT_EQ(0, mpq_shutdown(s.q, false));
	for (i = 0; i < CONSUMERS; i++) {
		ASSERT_EQ(0, pthread_join(cons[i].t, NULL));
		EXPECT_EQ(0, cons[i].err);
		total += cons[i].count;
	}
	EXPECT_EQ(0, s.bad);
	EXPECT_EQ(PRODUCERS * PER_PRODUCER, total);
	for (i = 0; i < PRODUCERS; i++)
		for (j = 0; j < PER_PRODUCER; j++)
			ASSERT_EQ(1, s.seen[i][j]);
	mpq_free(s.q);
}

/* Sizes that straddle mpq_get_alloc()'s first guess (4 KiB). */
static size_t size_of(int i)
{
	return sizeof(int) + (size_t)(i * 2654435761u % 20000);
}

static void *produce_sized(void *arg)
{
	struct worker *w = arg;
	char *buf = malloc(sizeof(int) + 20000);
	int i;

	for (i = w->id; i < 2000 && buf; i += PRODUCERS) {
		/* The index leads the message so consumers can check it. */
		pattern_fill(buf, size_of(i), i);
		memcpy(buf, &i, sizeof(i));
		if (mpq_put(w->s->q, buf, size_of(i), true, -1))
			w->err = -1;
	}
	free(buf);
	return NULL;
}

static void *consume_alloc(void *arg)
{
	struct worker *w = arg;
	char *expect = malloc(sizeof(int) + 20000);
	void *item;
	ssize_t len;
	int i;

	while (expect) {
		len = mpq_get_alloc(w->s->q, &item, true, -1);
		if (len < 0) {
			if (len != -EPIPE)
				w->err = (int)len;
			break;
		}
		memcpy(&i, item, sizeof(i));
		pattern_fill(expect, size_of(i), i);
		memcpy(expect, &i, sizeof(i));
		if ((size_t)len != size_of(i) || memcmp(expect, item, (size_t)len))
			w->err = -1000;
		free(item);
		w->count++;
	}
	free(expect);
	return NULL;
}

TEST(get_alloc_with_competing_consumers)
{
	static struct shared s;
	struct worker prod[PRODUCERS], cons[CONSUMERS];
	long total = 0;
	int i;

	s.q = mpq_queue_new(8);
	ASSERT_NE(NULL, s.q);
	for (i = 0; i < CONSUMERS; i++) {
		cons[i] = (struct worker){ .s = &s, .id = i };
		ASSERT_EQ(0, pthread_create(&cons[i].t, NULL, consume_alloc,
					    &cons[i]));
	}
	for (i = 0; i < PRODUCERS; i++) {
		prod[i] = (struct worker){ .s = &s, .id = i };
		ASSERT_EQ(0, pthread_create(&prod[i].t, NULL, produce_sized,
					    &prod[i]));
	}
	for (i = 0; i < PRODUCERS; i++) {
		ASSERT_EQ(0, pthread_join(prod[i].t, NULL));
		EXPECT_EQ(0, prod[i].err);
	}
	ASSERT_EQ(0, mpq_shutdown(s.q, false));
	for (i = 0; i < CONSUMERS; i++) {
		ASSERT_EQ(0, pthread_join(cons[i].t, NULL));
		EXPECT_EQ(0, cons[i].err);
		total += cons[i].count;
	}
	EXPECT_EQ(2000, total);
	mpq_free(s.q);
}

TEST_HARNESS_MAIN
