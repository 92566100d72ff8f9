// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the mpq queue core. Built as mpq_kunit.ko when the target
 * kernel has CONFIG_KUNIT; it carries its own copy of the core, so it can be
 * loaded with or without mpq.ko and tests no device code.
 */

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/sizes.h>

#include "queue.c"
#include "user.c"

static const struct mpq_attr_k test_attr = {
	.maxsize = 4,
	.msgsize_max = 64,
	.maxbytes = 128,
};

static struct mpq_msg *test_msg(struct kunit *test, struct mpq_queue *q,
				const char *s)
{
	struct mpq_msg *msg = mpq_msg_alloc(q->user, false, strlen(s));

	KUNIT_ASSERT_FALSE(test, IS_ERR(msg));
	memcpy(msg->data, s, msg->len);
	return msg;
}

static int test_put(struct kunit *test, struct mpq_queue *q, const char *s,
		    bool nonblock)
{
	LIST_HEAD(msgs);
	int ret;

	list_add_tail(&test_msg(test, q, s)->link, &msgs);
	ret = mpq_queue_send(q, &msgs, nonblock, NULL);
	mpq_msg_free_list(&msgs);
	return ret;
}

/* Get one message and compare it with @s; NULL expects end of stream. */
static void expect_get(struct kunit *test, struct mpq_queue *q, const char *s)
{
	size_t cap = 64, needed;
	struct mpq_msg *msg;
	LIST_HEAD(out);
	int ret;

	ret = mpq_queue_receive(q, &cap, 1, true, NULL, &out, &needed);
	if (!s) {
		KUNIT_EXPECT_EQ(test, ret, 0);
		return;
	}
	KUNIT_ASSERT_EQ(test, ret, 1);
	msg = list_first_entry(&out, struct mpq_msg, link);
	KUNIT_EXPECT_EQ(test, msg->len, strlen(s));
	KUNIT_EXPECT_EQ(test, memcmp(msg->data, s, msg->len), 0);
	mpq_queue_consume(q, &out);
}

static void expect_invariant(struct kunit *test, struct mpq_queue *q)
{
	struct mpq_stat st;

	mpq_queue_stat(q, &st);
	KUNIT_EXPECT_EQ(test, st.total_puts + st.redelivered,
			st.total_gets + st.qsize + st.discarded);
}

static bool polled(struct mpq_queue *q, __poll_t event)
{
	return mpq_queue_poll(q, NULL, NULL) & event;
}

/* A queue of @test_attr owned by @uid, with its charges capped if @limited. */
static struct mpq_queue *test_queue_of(struct kunit *test, kuid_t uid,
				       bool limited)
{
	struct mpq_user *user = mpq_user_get(uid);
	struct mpq_queue *q;

	KUNIT_ASSERT_NOT_NULL(test, user);
	q = mpq_queue_alloc(&test_attr, user, limited);
	mpq_user_put(user);
	KUNIT_ASSERT_FALSE(test, IS_ERR(q));
	return q;
}

static struct mpq_queue *test_queue(struct kunit *test)
{
	return test_queue_of(test, GLOBAL_ROOT_UID, false);
}

static void mpq_test_fifo(struct kunit *test)
{
	struct mpq_queue *q = test_queue(test);

	KUNIT_EXPECT_EQ(test, test_put(test, q, "one", true), 1);
	KUNIT_EXPECT_EQ(test, test_put(test, q, "two", true), 1);
	KUNIT_EXPECT_EQ(test, mpq_queue_head_len(q), 3);
	expect_get(test, q, "one");
	expect_get(test, q, "two");
	KUNIT_EXPECT_EQ(test, mpq_queue_head_len(q), 0);
	expect_invariant(test, q);
	mpq_queue_put_ref(q);
}

static void mpq_test_limits(struct kunit *test)
{
	struct mpq_queue *q = test_queue(test);
	char big[65];
	int i;

	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ(test, test_put(test, q, "x", true), 1);
	/* maxsize reached */
	KUNIT_EXPECT_EQ(test, test_put(test, q, "x", true), -EAGAIN);
	for (i = 0; i < 4; i++)
		expect_get(test, q, "x");

	/* maxbytes: 64 + 64 fit, one more byte does not */
	memset(big, 'b', 64);
	big[64] = '\0';
	KUNIT_EXPECT_EQ(test, test_put(test, q, big, true), 1);
	KUNIT_EXPECT_EQ(test, test_put(test, q, big, true), 1);
	KUNIT_EXPECT_EQ(test, test_put(test, q, "x", true), -EAGAIN);
	KUNIT_EXPECT_FALSE(test, polled(q, EPOLLOUT));
	expect_invariant(test, q);
	mpq_queue_put_ref(q);
}

static void mpq_test_emsgsize_keeps_head(struct kunit *test)
{
	struct mpq_queue *q = test_queue(test);
	size_t cap = 2, needed = 0;
	LIST_HEAD(out);

	test_put(test, q, "hello", true);
	KUNIT_EXPECT_EQ(test, mpq_queue_receive(q, &cap, 1, true, NULL, &out,
						&needed), -EMSGSIZE);
	KUNIT_EXPECT_EQ(test, needed, 5);
	KUNIT_EXPECT_TRUE(test, list_empty(&out));
	expect_get(test, q, "hello");
	mpq_queue_put_ref(q);
}

static void mpq_test_batch(struct kunit *test)
{
	struct mpq_queue *q = test_queue(test);
	size_t caps[3] = { 64, 64, 1 };
	size_t needed;
	LIST_HEAD(msgs);
	LIST_HEAD(out);
	int i;

	for (i = 0; i < 6; i++)
		list_add_tail(&test_msg(test, q, "abc")->link, &msgs);
	/* maxsize 4: a batch of six queues four and leaves two */
	KUNIT_EXPECT_EQ(test, mpq_queue_send(q, &msgs, true, NULL), 4);
	KUNIT_EXPECT_EQ(test, list_count_nodes(&msgs), 2);
	mpq_msg_free_list(&msgs);
	/* the third capacity is too small: the batch stops before it */
	KUNIT_EXPECT_EQ(test, mpq_queue_receive(q, caps, 3, true, NULL, &out,
						&needed), 2);
	/* a failed copy puts them back at the head, in order */
	mpq_queue_requeue(q, &out);
	KUNIT_EXPECT_TRUE(test, list_empty(&out));
	for (i = 0; i < 4; i++)
		expect_get(test, q, "abc");
	expect_invariant(test, q);
	mpq_queue_put_ref(q);
}

static void mpq_test_task_done(struct kunit *test)
{
	struct mpq_queue *q = test_queue(test);
	ktime_t past = ktime_get();
	struct mpq_stat st;

	KUNIT_EXPECT_EQ(test, mpq_queue_join(q, NULL), 0);
	KUNIT_EXPECT_TRUE(test, polled(q, EPOLLPRI));
	test_put(test, q, "a", true);
	test_put(test, q, "b", true);
	KUNIT_EXPECT_FALSE(test, polled(q, EPOLLPRI));
	KUNIT_EXPECT_EQ(test, mpq_queue_join(q, &past), -ETIMEDOUT);
	KUNIT_EXPECT_EQ(test, mpq_queue_task_done(q, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, mpq_queue_task_done(q, 3), -EINVAL);
	mpq_queue_stat(q, &st);
	KUNIT_EXPECT_EQ(test, st.unfinished, 2);
	KUNIT_EXPECT_EQ(test, mpq_queue_task_done(q, 2), 0);
	KUNIT_EXPECT_EQ(test, mpq_queue_join(q, &past), 0);
	mpq_queue_put_ref(q);
}

static void mpq_test_shutdown(struct kunit *test)
{
	struct mpq_queue *q = test_queue(test);
	struct mpq_stat st;

	test_put(test, q, "a", true);
	test_put(test, q, "b", true);
	mpq_queue_shutdown(q, false);
	KUNIT_EXPECT_EQ(test, test_put(test, q, "c", true), -EPIPE);
	KUNIT_EXPECT_TRUE(test, polled(q, EPOLLHUP));
	expect_get(test, q, "a");
	mpq_queue_shutdown(q, true);
	expect_get(test, q, NULL);
	mpq_queue_stat(q, &st);
	KUNIT_EXPECT_EQ(test, st.state, MPQ_STATE_IMMEDIATE);
	KUNIT_EXPECT_EQ(test, st.discarded, 1);
	/* "b" was discarded: only "a" is still unfinished */
	KUNIT_EXPECT_EQ(test, st.unfinished, 1);
	expect_invariant(test, q);
	mpq_queue_put_ref(q);
}

/* task_done() may run ahead of get(): discarding must not underflow. */
static void mpq_test_discard_done_tasks(struct kunit *test)
{
	struct mpq_queue *q = test_queue(test);
	struct mpq_stat st;

	test_put(test, q, "a", true);
	test_put(test, q, "b", true);
	KUNIT_EXPECT_EQ(test, mpq_queue_task_done(q, 2), 0);
	mpq_queue_shutdown(q, true);
	mpq_queue_stat(q, &st);
	KUNIT_EXPECT_EQ(test, st.unfinished, 0);
	KUNIT_EXPECT_EQ(test, st.discarded, 2);
	KUNIT_EXPECT_EQ(test, mpq_queue_join(q, NULL), 0);
	expect_invariant(test, q);
	mpq_queue_put_ref(q);
}

static void mpq_test_deadline(struct kunit *test)
{
	struct mpq_queue *q = test_queue(test);
	ktime_t deadline = ktime_add_ms(ktime_get(), 20);
	size_t cap = 64, needed;
	LIST_HEAD(out);

	KUNIT_EXPECT_EQ(test, mpq_queue_receive(q, &cap, 1, false, &deadline,
						&out, &needed), -ETIMEDOUT);
	/* never early */
	KUNIT_EXPECT_GE(test, ktime_get(), deadline);
	mpq_queue_put_ref(q);
}

struct getter {
	struct mpq_queue *q;
	struct completion done;
	char data[8];
	int ret;
};

static int getter_fn(void *arg)
{
	struct getter *g = arg;
	size_t cap = sizeof(g->data), needed;
	struct mpq_msg *msg;
	LIST_HEAD(out);

	g->ret = mpq_queue_receive(g->q, &cap, 1, false, NULL, &out, &needed);
	if (g->ret == 1) {
		msg = list_first_entry(&out, struct mpq_msg, link);
		memcpy(g->data, msg->data, msg->len);
		mpq_queue_consume(g->q, &out);
	}
	complete(&g->done);
	return 0;
}

/* A blocked getter is handed the next put directly. */
static void mpq_test_handoff(struct kunit *test)
{
	struct getter g = { .q = test_queue(test) };
	struct task_struct *t;
	struct mpq_stat st;
	int i;

	init_completion(&g.done);
	t = kthread_run(getter_fn, &g, "mpq-kunit-get");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	for (i = 0; i < 1000; i++) {
		mpq_queue_stat(g.q, &st);
		if (st.getters)
			break;
		usleep_range(1000, 2000);
	}
	KUNIT_EXPECT_EQ(test, st.getters, 1);
	KUNIT_EXPECT_EQ(test, test_put(test, g.q, "hand", true), 1);
	wait_for_completion(&g.done);
	KUNIT_EXPECT_EQ(test, g.ret, 1);
	KUNIT_EXPECT_EQ(test, memcmp(g.data, "hand", 4), 0);
	mpq_queue_stat(g.q, &st);
	KUNIT_EXPECT_EQ(test, st.qsize, 0);
	KUNIT_EXPECT_EQ(test, st.getters, 0);
	mpq_queue_put_ref(g.q);
}

/*
 * Every length is carried by its pieces exactly, no allocation exceeds a
 * page, and the owner is charged what the allocators gave. A message
 * costs its payload as kmalloc() alone would round it plus at most 64
 * bytes (the 32-byte header inline, or the 40-byte one apart), and the
 * sizes the benchmarks name cost payload + 40 at most: 64 bytes inline in
 * the 96-byte bucket, 1 KiB and 16 KiB with their header apart.
 */
static void mpq_test_msg_layout(struct kunit *test)
{
	static const size_t lens[] = {
		1, 64, 128, 129, 160, 200, 257, 480, 993, 1000, 1024, 2048,
		4064, 4065, 4096, 5000, 8192, 16384, 65536, 262144, 262145,
	};
	struct mpq_queue *q = test_queue(test);
	long charged = atomic_long_read(&q->user->bytes);
	struct mpq_chunk c;
	struct mpq_msg *msg;
	size_t carried, cost;
	unsigned int i, pieces;

	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		msg = mpq_msg_alloc(q->user, false, lens[i]);
		KUNIT_ASSERT_FALSE(test, IS_ERR(msg));
		if (mpq_msg_inline(lens[i]))
			cost = ksize(msg);
		else
			cost = kmem_cache_size(mpq_msg_cache);
		KUNIT_EXPECT_LE(test, cost, PAGE_SIZE);
		carried = 0;
		pieces = 0;
		for (mpq_chunk_first(&c, msg); c.len; mpq_chunk_next(&c)) {
			/* Each piece is writable, all of it. */
			memset(c.buf, 0x5a, c.len);
			carried += c.len;
			pieces++;
			if (mpq_msg_inline(lens[i]))
				continue;
			/* A whole page is a page; only the tail is kmalloc()ed. */
			if (c.len == PAGE_SIZE) {
				cost += PAGE_SIZE;
				continue;
			}
			KUNIT_EXPECT_EQ(test, c.left, c.len);
			KUNIT_EXPECT_LE(test, ksize(c.buf), PAGE_SIZE);
			cost += ksize(c.buf);
		}
		KUNIT_EXPECT_EQ_MSG(test, carried, lens[i], "len %zu", lens[i]);
		KUNIT_EXPECT_EQ_MSG(test, pieces, DIV_ROUND_UP(lens[i], PAGE_SIZE),
				    "len %zu", lens[i]);
		KUNIT_EXPECT_LE_MSG(test, cost,
				    kmalloc_size_roundup(lens[i]) + 64,
				    "len %zu", lens[i]);
		if (lens[i] == 64 || lens[i] == SZ_1K || lens[i] == SZ_16K)
			KUNIT_EXPECT_LE_MSG(test, cost, lens[i] + 40,
					    "len %zu", lens[i]);
		KUNIT_EXPECT_EQ_MSG(test, mpq_msg_cost(lens[i]), cost,
				    "len %zu", lens[i]);
		KUNIT_EXPECT_EQ(test, atomic_long_read(&q->user->bytes),
				charged + cost);
		mpq_msg_free(msg);
		KUNIT_EXPECT_EQ(test, atomic_long_read(&q->user->bytes),
				charged);
	}
	/* The table of buckets says what kmalloc() says, at every size. */
	for (i = 1; i <= MPQ_KMALLOC_TABLE_MAX + 64; i++)
		KUNIT_EXPECT_EQ_MSG(test, mpq_kmalloc_size(i),
				    kmalloc_size_roundup(i), "size %u", i);
	mpq_queue_put_ref(q);
}

/* Put @msg, made with mpq_queue_msg_alloc(), holding @s. */
static void spare_put(struct kunit *test, struct mpq_queue *q,
		      struct mpq_msg *msg, const char *s)
{
	LIST_HEAD(msgs);

	KUNIT_ASSERT_FALSE(test, IS_ERR(msg));
	memcpy(msg->data, s, msg->len);
	list_add_tail(&msg->link, &msgs);
	KUNIT_ASSERT_EQ(test, mpq_queue_send(q, &msgs, true, NULL), 1);
}

/*
 * The memory of a small message a get freed makes the queue's next
 * message of the same cost, charged to its putter as a new one would be;
 * one of another cost is made anew and the spare freed; the queue frees
 * the spare it keeps at the end (kmemleak would see it otherwise).
 */
static void mpq_test_spare(struct kunit *test)
{
	struct mpq_queue *q = test_queue(test);
	long charged = atomic_long_read(&q->user->bytes);
	struct mpq_msg *msg, *again;

	KUNIT_ASSERT_EQ(test, mpq_msg_cost(3), mpq_msg_cost(5));
	KUNIT_ASSERT_NE(test, mpq_msg_cost(3), mpq_msg_cost(100));
	msg = mpq_queue_msg_alloc(q, q->user, false, 3);
	spare_put(test, q, msg, "one");
	expect_get(test, q, "one");
	KUNIT_EXPECT_PTR_EQ(test, q->spare, msg);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&q->user->bytes), charged);

	again = mpq_queue_msg_alloc(q, q->user, false, 5);
	KUNIT_EXPECT_PTR_EQ(test, again, msg);
	KUNIT_EXPECT_NULL(test, q->spare);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&q->user->bytes),
			charged + mpq_msg_cost(5));
	spare_put(test, q, again, "three");
	expect_get(test, q, "three");
	KUNIT_EXPECT_PTR_EQ(test, q->spare, again);

	msg = mpq_queue_msg_alloc(q, q->user, false, 100);
	KUNIT_ASSERT_FALSE(test, IS_ERR(msg));
	KUNIT_EXPECT_NULL(test, q->spare);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&q->user->bytes),
			charged + mpq_msg_cost(100));
	mpq_msg_free(msg);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&q->user->bytes), charged);
	/* Leave one for the queue to free. */
	spare_put(test, q, mpq_queue_msg_alloc(q, q->user, false, 3), "two");
	expect_get(test, q, "two");
	KUNIT_EXPECT_NOT_NULL(test, q->spare);
	expect_invariant(test, q);
	mpq_queue_put_ref(q);
}

/*
 * A putter past its limit gets ENOSPC from a spare as from kmalloc(), and
 * its charge does not move; the spare is freed.
 */
static void mpq_test_spare_limit(struct kunit *test)
{
	unsigned long long saved = mpq_bytes_per_user;
	struct mpq_queue *q = test_queue_of(test, KUIDT_INIT(4243), true);
	struct mpq_msg *msg;
	long charged;

	msg = mpq_queue_msg_alloc(q, q->user, true, 3);
	spare_put(test, q, msg, "one");
	expect_get(test, q, "one");
	KUNIT_ASSERT_PTR_EQ(test, q->spare, msg);
	charged = atomic_long_read(&q->user->bytes);
	mpq_bytes_per_user = charged;
	KUNIT_EXPECT_EQ(test, PTR_ERR(mpq_queue_msg_alloc(q, q->user, true, 3)),
			-ENOSPC);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&q->user->bytes), charged);
	KUNIT_EXPECT_NULL(test, q->spare);
	mpq_bytes_per_user = saved;
	mpq_queue_put_ref(q);
}

/*
 * A limited user holds at most mpq_bytes_per_user, queues and messages
 * together: past it a message cannot be made (ENOSPC) and a queue neither;
 * what is freed may be charged again; unlimited charges count but are
 * never refused.
 */
static void mpq_test_user_limit(struct kunit *test)
{
	unsigned long long saved = mpq_bytes_per_user;
	kuid_t uid = KUIDT_INIT(4242);
	struct mpq_user *user = mpq_user_get(uid);
	struct mpq_queue *q, *r;
	struct mpq_msg *msg;

	KUNIT_ASSERT_NOT_NULL(test, user);
	mpq_bytes_per_user = MPQ_QUEUE_COST + mpq_msg_cost(64);
	q = mpq_queue_alloc(&test_attr, user, true);
	KUNIT_ASSERT_FALSE(test, IS_ERR(q));
	KUNIT_EXPECT_EQ(test, atomic_read(&user->queues), 1);
	msg = mpq_msg_alloc(user, true, 64);
	KUNIT_ASSERT_FALSE(test, IS_ERR(msg));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&user->bytes),
			mpq_bytes_per_user);
	KUNIT_EXPECT_EQ(test, PTR_ERR(mpq_msg_alloc(user, true, 1)), -ENOSPC);
	KUNIT_EXPECT_EQ(test, PTR_ERR(mpq_queue_alloc(&test_attr, user, true)),
			-ENOSPC);
	/* An exempt creator's queue is charged all the same. */
	r = mpq_queue_alloc(&test_attr, user, false);
	KUNIT_ASSERT_FALSE(test, IS_ERR(r));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&user->bytes),
			mpq_bytes_per_user + MPQ_QUEUE_COST);
	mpq_queue_put_ref(r);
	mpq_msg_free(msg);
	msg = mpq_msg_alloc(user, true, 64);
	KUNIT_ASSERT_FALSE(test, IS_ERR(msg));
	mpq_msg_free(msg);
	mpq_queue_put_ref(q);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&user->bytes), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&user->queues), 0);
	mpq_user_put(user);
	mpq_bytes_per_user = saved;
	/* The last reference took the entry away. */
	KUNIT_EXPECT_NULL(test, mpq_user_find(uid));
}

/*
 * A message holds its putter's charge, not a reference: the entry outlives
 * its last reference while charged, is found again with its charge, and
 * goes with the last charge given back.
 */
static void mpq_test_user_kept_by_charge(struct kunit *test)
{
	kuid_t uid = KUIDT_INIT(4243);
	struct mpq_user *user = mpq_user_get(uid), *found;
	struct mpq_msg *msg, *again;

	KUNIT_ASSERT_NOT_NULL(test, user);
	msg = mpq_msg_alloc(user, false, 64);
	KUNIT_ASSERT_FALSE(test, IS_ERR(msg));
	KUNIT_EXPECT_EQ(test, refcount_read(&user->ref), 1);
	mpq_user_put(user);
	/* Kept by the charge alone, and found with it. */
	found = mpq_user_find(uid);
	KUNIT_ASSERT_PTR_EQ(test, found, user);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&found->bytes),
			mpq_msg_cost(64));
	/* Charged again with a reference, and given back twice. */
	again = mpq_msg_alloc(found, false, 64);
	KUNIT_ASSERT_FALSE(test, IS_ERR(again));
	mpq_user_put(found);
	mpq_msg_free(again);
	KUNIT_EXPECT_PTR_EQ(test, mpq_user_find(uid), user);
	mpq_user_put(user);
	/* The last charge takes the entry with it. */
	mpq_msg_free(msg);
	KUNIT_EXPECT_NULL(test, mpq_user_find(uid));
}

/*
 * End of stream waits for what readers hold: a message taken but not yet
 * copied out may come back (unget) and must be found by the next get.
 */
static void mpq_test_eos_waits_for_held(struct kunit *test)
{
	struct mpq_queue *q = test_queue(test);
	size_t cap = 64, needed;
	LIST_HEAD(out);

	test_put(test, q, "last", true);
	mpq_queue_shutdown(q, false);
	KUNIT_ASSERT_EQ(test, mpq_queue_receive(q, &cap, 1, true, NULL, &out,
						&needed), 1);
	KUNIT_EXPECT_EQ(test, mpq_queue_receive(q, &cap, 1, true, NULL, &out,
						&needed), -EAGAIN);
	KUNIT_EXPECT_FALSE(test, polled(q, EPOLLIN));
	mpq_queue_requeue(q, &out);
	expect_get(test, q, "last");
	KUNIT_EXPECT_TRUE(test, polled(q, EPOLLIN));
	expect_get(test, q, NULL);
	expect_invariant(test, q);
	mpq_queue_put_ref(q);
}

/* A redelivery queue of @test_attr, at most @max deliveries, into @dlq. */
static struct mpq_queue *test_redeliver_queue(struct kunit *test, u32 max,
					      struct mpq_queue *dlq)
{
	struct mpq_attr_k attr = test_attr;
	struct mpq_user *user = mpq_user_get(GLOBAL_ROOT_UID);
	struct mpq_queue *q;

	KUNIT_ASSERT_NOT_NULL(test, user);
	attr.flags = MPQ_CREATE_REDELIVER;
	attr.max_deliveries = max;
	q = mpq_queue_alloc(&attr, user, false);
	mpq_user_put(user);
	KUNIT_ASSERT_FALSE(test, IS_ERR(q));
	if (dlq) {
		mpq_queue_get_ref(dlq);
		q->dlq = dlq;
	}
	return q;
}

/* Take one message for @o; returns its delivery count, 0 if none came. */
static u32 expect_take(struct kunit *test, struct mpq_queue *q,
		       struct mpq_owner *o, const char *s)
{
	size_t cap = 64, needed;
	struct mpq_msg *msg;
	LIST_HEAD(out);
	u32 deliveries;

	if (mpq_queue_receive(q, &cap, 1, true, NULL, &out, &needed) != 1) {
		KUNIT_FAIL(test, "nothing to take, expected %s", s);
		return 0;
	}
	msg = list_first_entry(&out, struct mpq_msg, link);
	KUNIT_EXPECT_EQ(test, msg->len, strlen(s));
	KUNIT_EXPECT_EQ(test, memcmp(msg->data, s, msg->len), 0);
	deliveries = msg->redeliveries + 1;
	mpq_queue_own(q, o, &out);
	return deliveries;
}

/*
 * What a file took is its own until it acknowledges it, oldest first; its
 * release puts the rest back at the head in order, ahead of newer ones,
 * with their delivery counts raised; a nack does the same for one.
 */
static void mpq_test_redeliver(struct kunit *test)
{
	struct mpq_queue *q = test_redeliver_queue(test, 0, NULL);
	struct mpq_owner a, b;
	struct mpq_stat st;

	mpq_owner_init(&a);
	mpq_owner_init(&b);
	test_put(test, q, "one", true);
	test_put(test, q, "two", true);
	test_put(test, q, "three", true);
	KUNIT_EXPECT_EQ(test, expect_take(test, q, &a, "one"), 1U);
	KUNIT_EXPECT_EQ(test, expect_take(test, q, &a, "two"), 1U);
	test_put(test, q, "four", true);
	mpq_queue_stat(q, &st);
	KUNIT_EXPECT_EQ(test, st.in_flight, 2ULL);
	KUNIT_EXPECT_EQ(test, st.qsize, 2ULL);
	KUNIT_EXPECT_EQ(test, mpq_queue_ack(q, &b, 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, mpq_queue_ack(q, &a, 3), -EINVAL);
	KUNIT_EXPECT_EQ(test, mpq_queue_ack(q, &a, 1), 0);	/* "one" */
	mpq_queue_disown(q, &a);				/* "two" back */
	mpq_queue_stat(q, &st);
	KUNIT_EXPECT_EQ(test, st.in_flight, 0ULL);
	KUNIT_EXPECT_EQ(test, st.redelivered, 1ULL);
	KUNIT_EXPECT_EQ(test, st.unfinished, 3ULL);
	KUNIT_EXPECT_EQ(test, expect_take(test, q, &b, "two"), 2U);
	KUNIT_EXPECT_EQ(test, mpq_queue_nack(q, &b, 1), 0);
	KUNIT_EXPECT_EQ(test, mpq_queue_nack(q, &b, 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, expect_take(test, q, &b, "two"), 3U);
	KUNIT_EXPECT_EQ(test, expect_take(test, q, &b, "three"), 1U);
	KUNIT_EXPECT_EQ(test, expect_take(test, q, &b, "four"), 1U);
	KUNIT_EXPECT_EQ(test, mpq_queue_ack(q, &b, 3), 0);
	KUNIT_EXPECT_EQ(test, mpq_queue_join(q, NULL), 0);
	expect_invariant(test, q);
	mpq_queue_put_ref(q);
}

/*
 * Past max_deliveries a message goes to the dead-letter queue, counted
 * done; a full dead-letter queue drops it, counted done all the same.
 */
static void mpq_test_dead_letter(struct kunit *test)
{
	struct mpq_queue *dlq = test_queue(test);
	struct mpq_queue *q = test_redeliver_queue(test, 2, dlq);
	struct mpq_owner o;
	struct mpq_stat st;
	int i;

	mpq_owner_init(&o);
	test_put(test, q, "poison", true);
	KUNIT_EXPECT_EQ(test, expect_take(test, q, &o, "poison"), 1U);
	mpq_queue_disown(q, &o);
	KUNIT_EXPECT_EQ(test, expect_take(test, q, &o, "poison"), 2U);
	mpq_queue_disown(q, &o);
	mpq_queue_stat(q, &st);
	KUNIT_EXPECT_EQ(test, st.qsize, 0ULL);
	KUNIT_EXPECT_EQ(test, st.unfinished, 0ULL);
	KUNIT_EXPECT_EQ(test, st.dead_lettered, 1ULL);
	KUNIT_EXPECT_EQ(test, st.redelivered, 1ULL);
	expect_get(test, dlq, "poison");
	expect_invariant(test, q);

	for (i = 0; i < 4; i++)
		test_put(test, dlq, "x", true);
	test_put(test, q, "lost", true);
	expect_take(test, q, &o, "lost");
	mpq_queue_disown(q, &o);
	expect_take(test, q, &o, "lost");
	mpq_queue_disown(q, &o);
	mpq_queue_stat(q, &st);
	KUNIT_EXPECT_EQ(test, st.dead_lettered, 2ULL);
	KUNIT_EXPECT_EQ(test, st.unfinished, 0ULL);
	mpq_queue_stat(dlq, &st);
	KUNIT_EXPECT_EQ(test, st.qsize, 4ULL);
	mpq_queue_put_ref(q);
	mpq_queue_put_ref(dlq);
}

/*
 * After a plain shutdown the stream ends only when nothing is in flight
 * either; after an immediate one, what comes back is discarded, done.
 */
static void mpq_test_redeliver_shutdown(struct kunit *test)
{
	struct mpq_queue *q = test_redeliver_queue(test, 0, NULL);
	struct mpq_owner o;
	struct mpq_stat st;

	mpq_owner_init(&o);
	test_put(test, q, "a", true);
	test_put(test, q, "b", true);
	expect_take(test, q, &o, "a");
	mpq_queue_shutdown(q, false);
	expect_take(test, q, &o, "b");
	KUNIT_EXPECT_FALSE(test, polled(q, EPOLLIN));
	mpq_queue_disown(q, &o);
	KUNIT_EXPECT_TRUE(test, polled(q, EPOLLIN));
	expect_take(test, q, &o, "a");
	expect_take(test, q, &o, "b");
	KUNIT_EXPECT_EQ(test, mpq_queue_ack(q, &o, 1), 0);
	KUNIT_EXPECT_FALSE(test, polled(q, EPOLLIN));
	mpq_queue_shutdown(q, true);
	KUNIT_EXPECT_TRUE(test, polled(q, EPOLLIN));
	expect_get(test, q, NULL);
	mpq_queue_stat(q, &st);
	KUNIT_EXPECT_EQ(test, st.unfinished, 1ULL);
	mpq_queue_disown(q, &o);
	mpq_queue_stat(q, &st);
	KUNIT_EXPECT_EQ(test, st.unfinished, 0ULL);
	KUNIT_EXPECT_EQ(test, st.discarded, 1ULL);
	KUNIT_EXPECT_EQ(test, st.in_flight, 0ULL);
	expect_invariant(test, q);
	mpq_queue_put_ref(q);
}

static struct kunit_case mpq_test_cases[] = {
	KUNIT_CASE(mpq_test_msg_layout),
	KUNIT_CASE(mpq_test_spare),
	KUNIT_CASE(mpq_test_spare_limit),
	KUNIT_CASE(mpq_test_user_limit),
	KUNIT_CASE(mpq_test_user_kept_by_charge),
	KUNIT_CASE(mpq_test_eos_waits_for_held),
	KUNIT_CASE(mpq_test_fifo),
	KUNIT_CASE(mpq_test_limits),
	KUNIT_CASE(mpq_test_emsgsize_keeps_head),
	KUNIT_CASE(mpq_test_batch),
	KUNIT_CASE(mpq_test_task_done),
	KUNIT_CASE(mpq_test_shutdown),
	KUNIT_CASE(mpq_test_discard_done_tasks),
	KUNIT_CASE(mpq_test_deadline),
	KUNIT_CASE(mpq_test_handoff),
	KUNIT_CASE(mpq_test_redeliver),
	KUNIT_CASE(mpq_test_dead_letter),
	KUNIT_CASE(mpq_test_redeliver_shutdown),
	{}
};

/* This module carries its own copy of the core, and of its cache. */
static int mpq_test_suite_init(struct kunit_suite *suite)
{
	return mpq_msg_cache_init();
}

static void mpq_test_suite_exit(struct kunit_suite *suite)
{
	mpq_msg_cache_exit();
}

static struct kunit_suite mpq_test_suite = {
	.name = "mpq_queue",
	.suite_init = mpq_test_suite_init,
	.suite_exit = mpq_test_suite_exit,
	.test_cases = mpq_test_cases,
};

kunit_test_suite(mpq_test_suite);

MODULE_DESCRIPTION("KUnit tests for the mpq queue core");
MODULE_LICENSE("GPL");
