// SPDX-License-Identifier: GPL-2.0
/*
 * mpq queue core: a FIFO of messages with blocking, limits and task
 * accounting. No user memory is touched here, so everything runs under
 * one spinlock and never sleeps with it held.
 *
 * Waiting follows ipc/mqueue.c: a blocked task queues a struct mpq_waiter
 * and whoever changes the queue completes the waiter under the lock, handing
 * over a message (getters) or taking one (putters), and wakes it. A woken
 * task therefore never races for what it was woken for, exactly one task
 * wakes per message, and a task that gives up on a signal or timeout has
 * been handed nothing. Wakeups happen after unlocking, so the woken task
 * does not spin on a lock its waker still holds (wake_q is not exported to
 * modules: struct mpq_wake is its small on-stack stand-in).
 */

#include <linux/hrtimer.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include "mpq.h"

/* A waiter's outcome, besides 0 (done) and -EPIPE (shut down). */
#define MPQ_WAKE_RETRY	1	/* look at the queue again */

struct mpq_waiter {
	struct list_head link;
	struct task_struct *task;
	struct mpq_msg *msg;	/* getter: handed over; putter: to queue */
	size_t cap;		/* getter: largest message it can take */
	int result;
	bool done;
};

static struct kmem_cache *mpq_msg_cache;
u16 mpq_kmalloc_sizes[MPQ_KMALLOC_TABLE_MAX / 8];

/*
 * The headers of messages whose payload is apart (see mpq_msg_inline()),
 * and the table of kmalloc()'s buckets.
 */
int mpq_msg_cache_init(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(mpq_kmalloc_sizes); i++)
		mpq_kmalloc_sizes[i] = kmalloc_size_roundup((i + 1) * 8);
	/* Named for its module: mpq_kunit.ko has a cache of its own. */
	mpq_msg_cache = kmem_cache_create(KBUILD_MODNAME "_msg",
					  sizeof(struct mpq_msg),
					  __alignof__(struct mpq_msg),
					  SLAB_ACCOUNT, NULL);
	return mpq_msg_cache ? 0 : -ENOMEM;
}

void mpq_msg_cache_exit(void)
{
	kmem_cache_destroy(mpq_msg_cache);
}

/*
 * What mpq_msg_alloc(@len) takes from the allocators: a header with the
 * payload, or a header alone and the payload's whole pages and tail.
 */
size_t mpq_msg_cost(size_t len)
{
	size_t tail = len % PAGE_SIZE;

	if (mpq_msg_inline(len))
		return mpq_kmalloc_size(MPQ_MSG_HDRLEN + len);
	return sizeof(struct mpq_msg) + len - tail +
	       (tail ? mpq_kmalloc_size(tail) : 0);
}

/* Free the chunks of a payload of @len bytes apart, from @buf on. */
static void mpq_chunks_free(char *buf, size_t len)
{
	struct page *page;

	for (; len >= PAGE_SIZE; len -= PAGE_SIZE) {
		page = virt_to_page(buf);
		buf = (char *)page_private(page);
		set_page_private(page, 0);
		__free_page(page);
		/* As in mpq_chunks_alloc(): no caller holds a lock. */
		cond_resched();
	}
	kfree(buf);
}

/*
 * The chunks of a payload of @len bytes, built from the tail back so that
 * each page can name its successor: the first, or NULL without memory.
 */
static char *mpq_chunks_alloc(size_t len)
{
	size_t tail = len % PAGE_SIZE, done;
	char *next = NULL;
	struct page *page;

	if (tail) {
		next = kmalloc(tail, GFP_KERNEL_ACCOUNT);
		if (!next)
			return NULL;
	}
	for (done = tail; done < len; done += PAGE_SIZE) {
		page = alloc_page(GFP_KERNEL_ACCOUNT);
		if (!page) {
			mpq_chunks_free(next, done);
			return NULL;
		}
		set_page_private(page, (unsigned long)next);
		next = page_address(page);
		/* A message may be up to a GiB: thousands of pages. */
		cond_resched();
	}
	return next;
}

/* A new message's header, its memory and its charge in place. */
static void mpq_msg_init(struct mpq_msg *msg, struct mpq_user *user,
			 size_t len)
{
	msg->len = len;
	msg->redeliveries = 0;
	msg->user = user;
}

/*
 * A message of @len bytes, charged to @user (capped if @limited) and to
 * the putter's memory cgroup, like a pipe buffer, until mpq_msg_free().
 * Returns ERR_PTR(-ENOSPC) past @user's limit, -ENOMEM without memory.
 */
struct mpq_msg *mpq_msg_alloc(struct mpq_user *user, bool limited, size_t len)
{
	size_t cost = mpq_msg_cost(len);
	bool inl = mpq_msg_inline(len);
	struct mpq_msg *msg;
	int ret;

	ret = mpq_user_charge(user, cost, limited);
	if (ret)
		return ERR_PTR(ret);
	/* All of the bucket: a spare may hold a longer one (KASAN knows). */
	if (inl)
		msg = kmalloc(cost, GFP_KERNEL_ACCOUNT);
	else
		msg = kmem_cache_alloc(mpq_msg_cache, GFP_KERNEL_ACCOUNT);
	if (!msg)
		goto uncharge;
	if (!inl) {
		msg->ext = mpq_chunks_alloc(len);
		if (!msg->ext) {
			kmem_cache_free(mpq_msg_cache, msg);
			goto uncharge;
		}
	}
	mpq_msg_init(msg, user, len);
	return msg;

uncharge:
	mpq_user_uncharge(user, cost);
	return ERR_PTR(-ENOMEM);
}

/* Free @msg's memory; its charge is the caller's to give back. */
static void mpq_msg_release(struct mpq_msg *msg)
{
	if (mpq_msg_inline(msg->len)) {
		kfree(msg);
		return;
	}
	mpq_chunks_free(msg->ext, msg->len);
	kmem_cache_free(mpq_msg_cache, msg);
}

/* Free @msg and give back its charge on its putter. */
void mpq_msg_free(struct mpq_msg *msg)
{
	mpq_user_uncharge(msg->user, mpq_msg_cost(msg->len));
	mpq_msg_release(msg);
}

/*
 * Free @msgs; returns how many. A run of messages put by one user gives
 * back its charge at once, not an atomic each.
 */
unsigned int mpq_msg_free_list(struct list_head *msgs)
{
	struct mpq_msg *msg, *tmp;
	struct mpq_user *user = NULL;
	unsigned int n = 0;
	size_t cost = 0;

	list_for_each_entry_safe(msg, tmp, msgs, link) {
		if (msg->user != user && user) {
			mpq_user_uncharge(user, cost);
			cost = 0;
		}
		user = msg->user;
		cost += mpq_msg_cost(msg->len);
		n++;
		mpq_msg_release(msg);
	}
	if (user)
		mpq_user_uncharge(user, cost);
	INIT_LIST_HEAD(msgs);
	return n;
}

/*
 * A queue keeps the memory of one small message that a get freed for the
 * next put, as a pipe keeps a freed page for the next write (tmp_page in
 * fs/pipe.c): in a steady stream a put then allocates nothing and a get
 * frees nothing, and the memory does not go back to a slab of the
 * putter's CPU from the getter's. The spare is taken and given with xchg()
 * and is bounded: one inline message of at most MPQ_SPARE_MAX bytes per
 * queue, counted in the queue's charge to its owner (MPQ_QUEUE_COST). Its
 * memory cgroup charge stays with the cgroup that allocated it until the
 * queue frees it, at most one such object per queue, as with a pipe's
 * page. A message made from the spare is charged to its putter as any
 * other; only one of exactly the same cost is made from it.
 */
#define MPQ_SPARE_MAX	256

static bool mpq_msg_spareable(size_t len)
{
	return mpq_msg_inline(len) && mpq_msg_cost(len) <= MPQ_SPARE_MAX;
}

#define MPQ_QUEUE_COST	(kmalloc_size_roundup(sizeof(struct mpq_queue)) + \
			 MPQ_SPARE_MAX)

struct mpq_msg *mpq_queue_msg_alloc(struct mpq_queue *q,
				    struct mpq_user *user, bool limited,
				    size_t len)
{
	size_t cost = mpq_msg_cost(len);
	struct mpq_msg *msg;
	int ret;

	if (!mpq_msg_spareable(len) || !READ_ONCE(q->spare))
		return mpq_msg_alloc(user, limited, len);
	msg = xchg(&q->spare, NULL);
	if (msg && mpq_msg_cost(msg->len) != cost) {
		kfree(msg);
		msg = NULL;
	}
	if (!msg)
		return mpq_msg_alloc(user, limited, len);
	ret = mpq_user_charge(user, cost, limited);
	if (ret) {
		kfree(msg);
		return ERR_PTR(ret);
	}
	mpq_msg_init(msg, user, len);
	return msg;
}

/*
 * Free @msgs, as mpq_msg_free_list() does, but keep the last one's memory
 * as @q's spare if it may be; returns how many.
 */
static unsigned int mpq_queue_free_msgs(struct mpq_queue *q,
					struct list_head *msgs)
{
	struct mpq_msg *msg;
	unsigned int n;

	if (list_empty(msgs))
		return 0;
	msg = list_last_entry(msgs, struct mpq_msg, link);
	if (!mpq_msg_spareable(msg->len))
		return mpq_msg_free_list(msgs);
	list_del(&msg->link);
	n = mpq_msg_free_list(msgs) + 1;
	mpq_user_uncharge(msg->user, mpq_msg_cost(msg->len));
	kfree(xchg(&q->spare, msg));
	return n;
}

/*
 * A queue owned by @user, who is charged for it; @limited caps the charge
 * at mpq_bytes_per_user. The queue takes its own reference on @user.
 * Returns ERR_PTR(-ENOSPC) past the owner's limit, or ERR_PTR(-ENOMEM).
 */
struct mpq_queue *mpq_queue_alloc(const struct mpq_attr_k *attr,
				  struct mpq_user *user, bool limited)
{
	struct mpq_queue *q;
	int ret;

	ret = mpq_user_charge(user, MPQ_QUEUE_COST, limited);
	if (ret)
		return ERR_PTR(ret);
	q = kzalloc(sizeof(*q), GFP_KERNEL_ACCOUNT);
	if (!q) {
		mpq_user_uncharge(user, MPQ_QUEUE_COST);
		return ERR_PTR(-ENOMEM);
	}
	kref_init(&q->ref);
	q->attr = *attr;
	refcount_inc(&user->ref);
	atomic_inc(&user->queues);
	q->user = user;
	q->limited = limited;
	init_waitqueue_head(&q->pollq);
	init_waitqueue_head(&q->idleq);
	spin_lock_init(&q->lock);
	INIT_LIST_HEAD(&q->msgs);
	INIT_LIST_HEAD(&q->getters);
	INIT_LIST_HEAD(&q->putters);
	INIT_LIST_HEAD(&q->joiners);
	return q;
}

/* mpq_queue_put_ref() frees after kref_put() says it was the last. */
static void mpq_kref_noop(struct kref *ref)
{
}

void mpq_queue_get_ref(struct mpq_queue *q)
{
	kref_get(&q->ref);
}

/* Free @q; returns its dead-letter queue, whose reference is the caller's. */
static struct mpq_queue *mpq_queue_free(struct mpq_queue *q)
{
	struct mpq_queue *dlq = q->dlq;

	/* No file refers to the queue any more, so nobody waits on it. */
	mpq_msg_free_list(&q->msgs);
	kfree(q->spare);
	mpq_user_uncharge(q->user, MPQ_QUEUE_COST);
	atomic_dec(&q->user->queues);
	mpq_user_put(q->user);
	kfree(q->dlq_name);
	kfree(q);
	return dlq;
}

void mpq_queue_put_ref(struct mpq_queue *q)
{
	/* A loop, not a recursion: dead-letter queues may chain. */
	while (q && kref_put(&q->ref, mpq_kref_noop))
		q = mpq_queue_free(q);
}

static bool mpq_fits(const struct mpq_queue *q, size_t len)
{
	if (q->attr.maxsize && q->qsize >= q->attr.maxsize)
		return false;
	return q->bytes + len <= q->attr.maxbytes;
}

#define MPQ_WAKE_BATCH	8

/*
 * Tasks to wake once the queue lock is dropped; each holds a reference.
 * @pollers is sampled under the lock: mpq_queue_poll() queues itself on
 * @pollq before it takes the lock to look, so either it sees our change or
 * we see it, without the full barrier wq_has_sleeper() pays on every call.
 */
struct mpq_wake {
	unsigned int n;
	bool pollers;
	bool idle_pollers;
	struct task_struct *tasks[MPQ_WAKE_BATCH];
};

/*
 * The waiter only looks at @done under the lock, so plain stores do. Once
 * the lock is dropped it may return and its stack frame go: only the task
 * reference taken here survives to mpq_unlock_wake().
 */
static void mpq_complete(struct mpq_waiter *w, int result,
			 struct mpq_wake *wake)
{
	list_del(&w->link);
	w->result = result;
	w->done = true;
	if (wake->n < MPQ_WAKE_BATCH) {
		get_task_struct(w->task);
		wake->tasks[wake->n++] = w->task;
	} else {
		/* Only a shutdown or the last task done wakes this many. */
		wake_up_process(w->task);
	}
}

static void mpq_complete_all(struct list_head *waiters, int result,
			     struct mpq_wake *wake)
{
	struct mpq_waiter *w, *tmp;

	list_for_each_entry_safe(w, tmp, waiters, link)
		mpq_complete(w, result, wake);
}

/* A task woken early finds @done unset under the lock and sleeps again. */
static void mpq_unlock_wake(struct mpq_queue *q, struct mpq_wake *wake)
	__releases(&q->lock)
{
	unsigned int i;

	/* No barrier needed: pollers queue before taking q->lock to look. */
	wake->pollers = waitqueue_active(&q->pollq);
	/* The same for @idleq. */
	wake->idle_pollers = waitqueue_active(&q->idleq);
	spin_unlock(&q->lock);

	for (i = 0; i < wake->n; i++) {
		wake_up_process(wake->tasks[i]);
		put_task_struct(wake->tasks[i]);
	}
}

static void mpq_count_in(struct mpq_queue *q, const struct mpq_msg *msg)
{
	q->qsize++;
	q->bytes += msg->len;
	q->unfinished++;
	q->total_puts++;
}

/*
 * The message goes to a reader, who holds it until it is consumed or ungot;
 * the caller adds it to @held, once for a whole run.
 */
static void mpq_count_out(struct mpq_queue *q, const struct mpq_msg *msg)
{
	q->qsize--;
	q->bytes -= msg->len;
	q->total_gets++;
}

/*
 * End of stream: shut down, nothing queued and nothing in a reader's hands,
 * for a message whose copy faults goes back to the head; after a plain
 * shutdown nothing in flight either, for a redelivery may come. An
 * immediate shutdown would discard what comes back. mpq_queue_consume()
 * drops @held without the lock, then reads @state; the barrier here pairs
 * with the one implied by its atomic_sub_and_test(): either this sees @held
 * at 0, or it sees our @state and wakes us.
 */
static bool mpq_ended(struct mpq_queue *q)
{
	if (q->qsize || q->state == MPQ_STATE_OPEN)
		return false;
	if (q->in_flight && q->state == MPQ_STATE_SHUTDOWN)
		return false;
	smp_mb();	/* pairs with atomic_sub_and_test() in consume */
	return !atomic_read(&q->held);
}

static void mpq_enqueue(struct mpq_queue *q, struct mpq_msg *msg)
{
	list_add_tail(&msg->link, &q->msgs);
	mpq_count_in(q, msg);
}

static void mpq_dequeue(struct mpq_queue *q, struct mpq_msg *msg)
{
	list_del(&msg->link);
	mpq_count_out(q, msg);
	atomic_inc(&q->held);
}

/*
 * Batches move between lists in one splice each, not a list_del() and a
 * list_add() per message: with CONFIG_DEBUG_LIST each of those checks its
 * neighbours, which profiled at a fifth of a batched put and get.
 */

/* Queue the leading messages of @msgs that fit; returns how many. */
static unsigned int mpq_enqueue_run(struct mpq_queue *q, struct list_head *msgs)
{
	struct mpq_msg *msg, *last = NULL;
	unsigned int n = 0;
	LIST_HEAD(run);

	list_for_each_entry(msg, msgs, link) {
		if (!mpq_fits(q, msg->len))
			break;
		mpq_count_in(q, msg);
		last = msg;
		n++;
	}
	if (last) {
		list_cut_position(&run, msgs, &last->link);
		list_splice_tail(&run, &q->msgs);
	}
	return n;
}

/* Take up to @n head messages, the i-th no longer than @caps[i], onto @out. */
static unsigned int mpq_dequeue_run(struct mpq_queue *q, const size_t *caps,
				    unsigned int n, struct list_head *out)
{
	struct mpq_msg *msg, *last = NULL;
	unsigned int got = 0;
	LIST_HEAD(run);

	list_for_each_entry(msg, &q->msgs, link) {
		if (got == n || msg->len > caps[got])
			break;
		mpq_count_out(q, msg);
		last = msg;
		got++;
	}
	if (last) {
		list_cut_position(&run, &q->msgs, &last->link);
		list_splice_tail(&run, out);
		atomic_add(got, &q->held);
	}
	return got;
}

/*
 * Give queued messages to blocked getters, oldest first. Getters only sleep
 * on an empty queue, so this normally hands a fresh message straight over.
 * A getter whose buffer is too small for the head is sent back to find out
 * (EMSGSIZE); it calls us again on its way out, so nobody is left asleep
 * next to a message.
 */
static void __mpq_feed_getters(struct mpq_queue *q, struct mpq_wake *wake)
{
	struct mpq_waiter *w;
	struct mpq_msg *msg;

	while (!list_empty(&q->getters) && !list_empty(&q->msgs)) {
		w = list_first_entry(&q->getters, struct mpq_waiter, link);
		msg = list_first_entry(&q->msgs, struct mpq_msg, link);
		if (msg->len > w->cap) {
			mpq_complete(w, MPQ_WAKE_RETRY, wake);
			return;
		}
		mpq_dequeue(q, msg);
		w->msg = msg;
		mpq_complete(w, 0, wake);
	}
}

/* Most puts and gets find nobody waiting: no call for that. */
static inline void mpq_feed_getters(struct mpq_queue *q, struct mpq_wake *wake)
{
	if (!list_empty(&q->getters))
		__mpq_feed_getters(q, wake);
}

static bool __mpq_admit_putters(struct mpq_queue *q, struct mpq_wake *wake)
{
	struct mpq_waiter *w;
	bool admitted = false;

	while (!list_empty(&q->putters)) {
		w = list_first_entry(&q->putters, struct mpq_waiter, link);
		if (!mpq_fits(q, w->msg->len))
			break;
		mpq_enqueue(q, w->msg);
		mpq_complete(w, 0, wake);
		admitted = true;
	}
	return admitted;
}

/* Queue the messages of blocked putters, oldest first, while they fit. */
static inline bool mpq_admit_putters(struct mpq_queue *q,
				     struct mpq_wake *wake)
{
	bool admitted = false;

	if (!list_empty(&q->putters))
		admitted = __mpq_admit_putters(q, wake);
	mpq_feed_getters(q, wake);
	return admitted;
}

/*
 * Move every queued message to @dead and count them as done, as Python's
 * shutdown(immediate=True) does: never below zero, since task_done() may
 * already have been called for messages still queued.
 */
static void mpq_discard_all(struct mpq_queue *q, struct list_head *dead,
			    struct mpq_wake *wake)
{
	list_splice_tail_init(&q->msgs, dead);
	q->discarded += q->qsize;
	q->unfinished -= min(q->qsize, q->unfinished);
	q->qsize = 0;
	q->bytes = 0;
	if (!q->unfinished)
		mpq_complete_all(&q->joiners, 0, wake);
}

/*
 * Sleep until @w is completed, a signal arrives or @deadline (absolute,
 * CLOCK_MONOTONIC) passes. Called and returns with q->lock held. A waiter
 * completed before it saw the signal or the timeout takes its result: what
 * it was handed must not be lost.
 */
static int mpq_sleep(struct mpq_queue *q, struct mpq_waiter *w,
		     const ktime_t *deadline)
	__must_hold(&q->lock)
{
	ktime_t expires;
	int timer;

	w->task = current;
	w->done = false;
	for (;;) {
		__set_current_state(TASK_INTERRUPTIBLE);
		spin_unlock(&q->lock);
		if (deadline)
			expires = *deadline;
		timer = schedule_hrtimeout_range_clock(deadline ? &expires : NULL,
						       current->timer_slack_ns,
						       HRTIMER_MODE_ABS,
						       CLOCK_MONOTONIC);
		spin_lock(&q->lock);
		if (w->done)
			return w->result;
		if (signal_pending(current)) {
			list_del(&w->link);
			return -ERESTARTSYS;
		}
		if (!timer) {
			list_del(&w->link);
			return -ETIMEDOUT;
		}
	}
}

/*
 * Tell pollers of @events. EPOLLPRI (a join would not block) also goes to
 * @idleq unkeyed: io_uring (6.1) drops a wakeup keyed with EPOLLPRI alone,
 * so an IORING_OP_POLL_ADD of EPOLLPRI would never hear of it on @pollq,
 * and an unkeyed wakeup there would make every read io_uring waits for
 * try again, each try spending one of its 128.
 */
static void mpq_notify(struct mpq_queue *q, const struct mpq_wake *wake,
		       __poll_t events)
{
	if (wake->pollers)
		wake_up_interruptible_poll(&q->pollq, events);
	if ((events & EPOLLPRI) && wake->idle_pollers)
		wake_up_interruptible(&q->idleq);
	/* kill_fasync() looks the same way, after a call. */
	if ((events & EPOLLIN) && READ_ONCE(q->fasync))
		kill_fasync(&q->fasync, SIGIO, POLL_IN);
}

/*
 * Sleep until a get makes room for the first message of @msgs and queues
 * it for us, then queue what else fits. Returns how many were queued, or an
 * error with @msgs as it was; @events gets what pollers should hear of.
 */
static int mpq_send_wait(struct mpq_queue *q, struct list_head *msgs,
			 const ktime_t *deadline, struct mpq_wake *wake,
			__poll_t *events)
	__must_hold(&q->lock)
{
	struct mpq_msg *msg = list_first_entry(msgs, struct mpq_msg, link);
	struct mpq_waiter w = { .msg = msg };
	int ret;

	list_del(&msg->link);
	list_add_tail(&w.link, &q->putters);
	q->nr_putters++;
	ret = mpq_sleep(q, &w, deadline);
	q->nr_putters--;
	if (ret) {
		list_add(&msg->link, msgs);
		if (ret == -EPIPE)
			return ret;
		/* Leaving from the head may let the next putters in... */
		if (mpq_admit_putters(q, wake))
			*events |= EPOLLIN | EPOLLRDNORM;
		/* ...and the last putter to leave may leave room to poll for. */
		if (list_empty(&q->putters) && mpq_fits(q, 1))
			*events |= EPOLLOUT | EPOLLWRNORM;
		return ret;
	}
	if (q->state != MPQ_STATE_OPEN || !list_empty(&q->putters))
		return 1;
	return 1 + mpq_enqueue_run(q, msgs);
}

bool mpq_queue_would_block(struct mpq_queue *q, size_t len)
{
	u64 maxsize = q->attr.maxsize;

	if (!list_empty_careful(&q->putters))
		return true;
	/* Racy reads on purpose, see above. */
	if (maxsize && data_race(q->qsize) >= maxsize)
		return true;
	/* Racy on purpose, see above. */
	return data_race(q->bytes) + len > q->attr.maxbytes;
}

int mpq_queue_send(struct mpq_queue *q, struct list_head *msgs, bool nonblock,
		   const ktime_t *deadline)
{
	struct mpq_wake wake = { .n = 0 };
	__poll_t events = 0;
	int ret = 0;

	spin_lock(&q->lock);
	if (q->state != MPQ_STATE_OPEN)
		ret = -EPIPE;
	else if (list_empty(&q->putters))
		ret = mpq_enqueue_run(q, msgs);
	/* FIFO among putters: a small put never overtakes a big one. */
	if (!ret)
		ret = nonblock ? -EAGAIN :
		      mpq_send_wait(q, msgs, deadline, &wake, &events);
	if (ret > 0) {
		mpq_feed_getters(q, &wake);
		events |= EPOLLIN | EPOLLRDNORM;
	}
	mpq_unlock_wake(q, &wake);
	if (events)
		mpq_notify(q, &wake, events);
	return ret;
}

/*
 * Sleep until a send hands us a message no longer than @caps[0], then take
 * what else has come, up to @n in all, without waiting; *@got says how
 * many were taken. Returns 0, MPQ_WAKE_RETRY when the queue must be looked
 * at again, or an error.
 */
static int mpq_receive_wait(struct mpq_queue *q, const size_t *caps,
			    unsigned int n, const ktime_t *deadline,
			    struct list_head *out, unsigned int *got)
	__must_hold(&q->lock)
{
	struct mpq_waiter w = { .cap = caps[0] };
	int ret;

	list_add_tail(&w.link, &q->getters);
	q->nr_getters++;
	ret = mpq_sleep(q, &w, deadline);
	q->nr_getters--;
	if (ret)
		return ret;
	list_add_tail(&w.msg->link, out);
	*got = 1 + mpq_dequeue_run(q, caps + 1, n - 1, out);
	return 0;
}

int mpq_queue_receive(struct mpq_queue *q, const size_t *caps, unsigned int n,
		      bool nonblock, const ktime_t *deadline,
		  struct list_head *out, size_t *needed)
{
	struct mpq_wake wake = { .n = 0 };
	__poll_t events = EPOLLOUT | EPOLLWRNORM;
	unsigned int got = 0;
	struct mpq_msg *msg;
	int ret = 0;

	spin_lock(&q->lock);
	for (;;) {
		msg = list_first_entry_or_null(&q->msgs, struct mpq_msg, link);
		if (msg) {
			got = mpq_dequeue_run(q, caps, n, out);
			if (!got) {
				*needed = msg->len;
				ret = -EMSGSIZE;
				/* Someone else may take it. */
				mpq_feed_getters(q, &wake);
			}
			break;
		}
		if (mpq_ended(q)) {
			ret = 0;	/* end of stream */
			break;
		}
		if (nonblock) {
			ret = -EAGAIN;
			break;
		}
		ret = mpq_receive_wait(q, caps, n, deadline, out, &got);
		if (ret != MPQ_WAKE_RETRY)
			break;
	}
	/* The room made may let blocked putters in: they are news too. */
	if (got && mpq_admit_putters(q, &wake))
		events |= EPOLLIN | EPOLLRDNORM;
	mpq_unlock_wake(q, &wake);
	if (got)
		mpq_notify(q, &wake, events);
	return got ? got : ret;
}

void mpq_queue_requeue(struct mpq_queue *q, struct list_head *msgs)
{
	struct mpq_wake wake = { .n = 0 };
	struct mpq_msg *msg;
	int n = 0;

	spin_lock(&q->lock);
	list_for_each_entry(msg, msgs, link) {
		q->qsize++;
		q->bytes += msg->len;
		q->total_gets--;
		n++;
	}
	list_splice_init(msgs, &q->msgs);
	atomic_sub(n, &q->held);
	/* Shut down while we held them: they go the way of the rest. */
	if (q->state == MPQ_STATE_IMMEDIATE)
		mpq_discard_all(q, msgs, &wake);
	mpq_feed_getters(q, &wake);
	if (mpq_ended(q))
		mpq_complete_all(&q->getters, MPQ_WAKE_RETRY, &wake);
	mpq_unlock_wake(q, &wake);
	mpq_msg_free_list(msgs);
	mpq_notify(q, &wake, EPOLLIN | EPOLLRDNORM);
}

void mpq_queue_consume(struct mpq_queue *q, struct list_head *msgs)
{
	struct mpq_wake wake = { .n = 0 };
	unsigned int n = mpq_queue_free_msgs(q, msgs);

	/* Fully ordered: pairs with the barrier in mpq_ended(). */
	if (!n || !atomic_sub_and_test(n, &q->held) ||
	    READ_ONCE(q->state) == MPQ_STATE_OPEN)
		return;
	spin_lock(&q->lock);
	mpq_complete_all(&q->getters, MPQ_WAKE_RETRY, &wake);
	mpq_unlock_wake(q, &wake);
	mpq_notify(q, &wake, EPOLLIN | EPOLLRDNORM);
}

/* Cut @o's @count oldest messages onto @msgs. */
static void mpq_owner_cut(struct mpq_owner *o, u64 count,
			  struct list_head *msgs)
{
	struct list_head *last = &o->msgs;
	u64 i;

	if (count == o->count) {
		list_splice_init(&o->msgs, msgs);
	} else {
		for (i = 0; i < count; i++)
			last = last->next;
		list_cut_position(msgs, &o->msgs, last);
	}
	o->count -= count;
}

/* Tasks finished: wake the joiners if none is left; true if so. */
static bool mpq_tasks_done(struct mpq_queue *q, u64 count,
			   struct mpq_wake *wake)
{
	q->unfinished -= count;
	if (q->unfinished)
		return false;
	mpq_complete_all(&q->joiners, 0, wake);
	return true;
}

/*
 * Put @msgs, given back from flight, at the head in their order, those
 * delivered max_deliveries times onto @dead instead, counted done. After
 * an immediate shutdown what came back is discarded onto @drop at once.
 */
static void mpq_redeliver(struct mpq_queue *q, struct list_head *msgs,
			  u64 count, struct list_head *dead,
			  struct list_head *drop, struct mpq_wake *wake)
	__must_hold(&q->lock)
{
	u32 max = q->attr.max_deliveries;
	struct mpq_msg *msg, *tmp;
	u64 back = 0;

	q->in_flight -= count;
	list_for_each_entry_safe(msg, tmp, msgs, link) {
		if (max && msg->redeliveries + 1 >= max) {
			list_move_tail(&msg->link, dead);
			continue;
		}
		/* Saturated: the delivery count is one more, in a u32. */
		if (msg->redeliveries < U32_MAX - 1)
			msg->redeliveries++;
		q->qsize++;
		q->bytes += msg->len;
		back++;
	}
	q->redelivered += back;
	list_splice_init(msgs, &q->msgs);
	if (count > back) {
		q->dead_lettered += count - back;
		mpq_tasks_done(q, count - back, wake);
	}
	if (q->state == MPQ_STATE_IMMEDIATE)
		mpq_discard_all(q, drop, wake);
	mpq_feed_getters(q, wake);
	if (mpq_ended(q))
		mpq_complete_all(&q->getters, MPQ_WAKE_RETRY, wake);
}

/*
 * Queue @dead on the dead-letter queue if it takes them without waiting
 * and they fit its msgsize_max; free the rest. They keep their charge on
 * their putter. No lock is held:
 * two queues' locks are never nested.
 */
static void mpq_dead_letter(struct mpq_queue *q, struct list_head *dead)
{
	struct mpq_queue *dlq = q->dlq;
	struct mpq_msg *msg, *tmp;
	LIST_HEAD(big);

	if (list_empty(dead))
		return;
	if (dlq && !READ_ONCE(dlq->unlinked)) {
		list_for_each_entry_safe(msg, tmp, dead, link) {
			msg->redeliveries = 0;
			/* Its readers size their buffers by its msgsize_max. */
			if (msg->len > dlq->attr.msgsize_max)
				list_move_tail(&msg->link, &big);
		}
		mpq_queue_send(dlq, dead, true, NULL);
	}
	mpq_msg_free_list(&big);
	mpq_msg_free_list(dead);
}

/* Give back @count of @o's oldest messages, all of them if @count is 0. */
static int mpq_give_back(struct mpq_queue *q, struct mpq_owner *o, u64 count)
{
	struct mpq_wake wake = { .n = 0 };
	LIST_HEAD(msgs);
	LIST_HEAD(dead);
	LIST_HEAD(drop);

	spin_lock(&q->lock);
	if (!count)
		count = o->count;
	if (count > o->count) {
		spin_unlock(&q->lock);
		return -EINVAL;
	}
	mpq_owner_cut(o, count, &msgs);
	mpq_redeliver(q, &msgs, count, &dead, &drop, &wake);
	mpq_unlock_wake(q, &wake);
	mpq_msg_free_list(&drop);
	mpq_dead_letter(q, &dead);
	mpq_notify(q, &wake, EPOLLIN | EPOLLRDNORM | EPOLLPRI);
	return 0;
}

void mpq_queue_own(struct mpq_queue *q, struct mpq_owner *o,
		   struct list_head *msgs)
{
	struct mpq_wake wake = { .n = 0 };
	struct mpq_msg *msg;
	bool ended = false;
	unsigned int n = 0;

	list_for_each_entry(msg, msgs, link)
		n++;
	spin_lock(&q->lock);
	list_splice_tail_init(msgs, &o->msgs);
	o->count += n;
	q->in_flight += n;
	atomic_sub(n, &q->held);
	/* After an immediate shutdown, in flight does not hold the stream. */
	if (q->state == MPQ_STATE_IMMEDIATE && mpq_ended(q)) {
		mpq_complete_all(&q->getters, MPQ_WAKE_RETRY, &wake);
		ended = true;
	}
	mpq_unlock_wake(q, &wake);
	if (ended)
		mpq_notify(q, &wake, EPOLLIN | EPOLLRDNORM);
}

int mpq_queue_ack(struct mpq_queue *q, struct mpq_owner *o, u64 count)
{
	struct mpq_wake wake = { .n = 0 };
	__poll_t events = 0;
	LIST_HEAD(done);

	spin_lock(&q->lock);
	if (!count || count > o->count) {
		spin_unlock(&q->lock);
		return -EINVAL;
	}
	mpq_owner_cut(o, count, &done);
	q->in_flight -= count;
	if (mpq_tasks_done(q, count, &wake))
		events |= EPOLLPRI;
	/* The last in flight after a shutdown: the stream ends now. */
	if (!q->in_flight && mpq_ended(q)) {
		mpq_complete_all(&q->getters, MPQ_WAKE_RETRY, &wake);
		events |= EPOLLIN | EPOLLRDNORM;
	}
	mpq_unlock_wake(q, &wake);
	mpq_queue_free_msgs(q, &done);
	if (events)
		mpq_notify(q, &wake, events);
	return 0;
}

int mpq_queue_nack(struct mpq_queue *q, struct mpq_owner *o, u64 count)
{
	return count ? mpq_give_back(q, o, count) : -EINVAL;
}

void mpq_queue_disown(struct mpq_queue *q, struct mpq_owner *o)
{
	/* The file is being released: nobody else reaches @o. */
	if (o->count)
		mpq_give_back(q, o, 0);
}

void mpq_queue_unlink(struct mpq_queue *q)
{
	WRITE_ONCE(q->unlinked, true);
}

int mpq_queue_task_done(struct mpq_queue *q, u64 count)
{
	struct mpq_wake wake = { .n = 0 };
	bool idle;

	spin_lock(&q->lock);
	if (!count || count > q->unfinished) {
		spin_unlock(&q->lock);
		return -EINVAL;
	}
	q->unfinished -= count;
	idle = !q->unfinished;
	if (idle)
		mpq_complete_all(&q->joiners, 0, &wake);
	mpq_unlock_wake(q, &wake);
	if (idle)
		mpq_notify(q, &wake, EPOLLPRI);
	return 0;
}

int mpq_queue_join(struct mpq_queue *q, const ktime_t *deadline)
{
	struct mpq_waiter w;
	int ret = 0;

	spin_lock(&q->lock);
	if (q->unfinished) {
		list_add_tail(&w.link, &q->joiners);
		q->nr_joiners++;
		ret = mpq_sleep(q, &w, deadline);
		q->nr_joiners--;
	}
	spin_unlock(&q->lock);
	return ret;
}

void mpq_queue_shutdown(struct mpq_queue *q, bool immediate)
{
	struct mpq_wake wake = { .n = 0 };
	LIST_HEAD(dead);

	spin_lock(&q->lock);
	if (immediate) {
		WRITE_ONCE(q->state, MPQ_STATE_IMMEDIATE);
		mpq_discard_all(q, &dead, &wake);
	} else if (q->state == MPQ_STATE_OPEN) {
		WRITE_ONCE(q->state, MPQ_STATE_SHUTDOWN);
	}
	mpq_complete_all(&q->putters, -EPIPE, &wake);
	mpq_complete_all(&q->getters, MPQ_WAKE_RETRY, &wake);
	if (!q->unfinished)
		mpq_complete_all(&q->joiners, 0, &wake);
	mpq_unlock_wake(q, &wake);
	mpq_msg_free_list(&dead);
	mpq_notify(q, &wake, EPOLLIN | EPOLLOUT | EPOLLHUP | EPOLLPRI);
}

void mpq_queue_stat(struct mpq_queue *q, struct mpq_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->maxsize = q->attr.maxsize;
	st->msgsize_max = q->attr.msgsize_max;
	st->maxbytes = q->attr.maxbytes;
	spin_lock(&q->lock);
	st->qsize = q->qsize;
	st->bytes = q->bytes;
	st->unfinished = q->unfinished;
	st->total_puts = q->total_puts;
	st->total_gets = q->total_gets;
	st->discarded = q->discarded;
	st->in_flight = q->in_flight;
	st->redelivered = q->redelivered;
	st->dead_lettered = q->dead_lettered;
	st->state = q->state;
	st->getters = q->nr_getters;
	st->putters = q->nr_putters;
	st->joiners = q->nr_joiners;
	spin_unlock(&q->lock);
}

size_t mpq_queue_head_len(struct mpq_queue *q)
{
	struct mpq_msg *msg;
	size_t len;

	spin_lock(&q->lock);
	msg = list_first_entry_or_null(&q->msgs, struct mpq_msg, link);
	len = msg ? msg->len : 0;
	spin_unlock(&q->lock);
	return len;
}

/*
 * io_uring waits for a read or write that would block by polling for
 * EPOLLIN or EPOLLOUT with EPOLLPRI | EPOLLET added, and retries it on any
 * of them; after 128 retries the request goes to an io-wq worker. "A join
 * would not block" is a level, true whenever the queue is idle, so such a
 * read would be retried at once, again and again. Edge-triggered pollers
 * of EPOLLIN or EPOLLOUT are therefore not told of EPOLLPRI: epoll users
 * who want it edge-triggered register it alone.
 */
static bool mpq_poll_wants_pri(poll_table *pt)
{
	__poll_t req = poll_requested_events(pt);

	return req == ~(__poll_t)0 || !(req & EPOLLET) ||
	       !(req & (EPOLLIN | EPOLLOUT));
}

__poll_t mpq_queue_poll(struct mpq_queue *q, struct file *file,
			poll_table *pt)
{
	bool pri = mpq_poll_wants_pri(pt);
	__poll_t mask = 0;

	/* Queued before looking under the lock: see struct mpq_wake. */
	poll_wait(file, &q->pollq, pt);
	if (pri && (poll_requested_events(pt) & EPOLLPRI))
		poll_wait(file, &q->idleq, pt);
	spin_lock(&q->lock);
	if (q->qsize || mpq_ended(q))
		mask |= EPOLLIN | EPOLLRDNORM;
	/* After shutdown a put fails at once, so it would not block. */
	if (q->state != MPQ_STATE_OPEN ||
	    (list_empty(&q->putters) && mpq_fits(q, 1)))
		mask |= EPOLLOUT | EPOLLWRNORM;
	if (q->state != MPQ_STATE_OPEN)
		mask |= EPOLLHUP;
	if (!q->unfinished && pri)
		mask |= EPOLLPRI;
	spin_unlock(&q->lock);
	return mask;
}
