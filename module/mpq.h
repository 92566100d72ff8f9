/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mpq internals: the queue core (queue.c) knows nothing of files, devices
 * or user memory; main.c does the character devices and the copies.
 */
#ifndef _MPQ_H
#define _MPQ_H

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/poll.h>
#include <linux/refcount.h>
#include <linux/cache.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <linux/mpq.h>

/*
 * A message. A small one is a single kmalloc() allocation, its payload
 * right after the header; any other has its header from a cache of its
 * own (mpq_msg_cache in queue.c, exactly sizeof(struct mpq_msg) per
 * object) and its payload apart, in chunks (struct mpq_chunk): a page from
 * the page allocator for each whole page of it, then the tail from
 * kmalloc(). A page's page_private() points at the chunk after it. No
 * allocation is larger than a page, and a queued message costs its
 * payload as kmalloc() would round it plus at most 64 bytes inline (up to
 * 128 bytes of payload), 40 otherwise (see mpq_msg_inline()).
 */
struct mpq_msg {
	struct list_head link;
	u32 len;			/* at most MPQ_MSGSIZE_HARD_MAX */
	u32 redeliveries;		/* times it came back to the queue */
	struct mpq_user *user;		/* charged for it: its charge keeps it */
	union {
		char *ext;		/* the payload apart: its first chunk */
		DECLARE_FLEX_ARRAY(char, data);	/* the payload inline */
	};
};

#define MPQ_MSG_HDRLEN		offsetof(struct mpq_msg, data)

/*
 * kmalloc_size_roundup() of the sizes up to MPQ_KMALLOC_TABLE_MAX, every
 * bucket being a multiple of 8, looked up at init (mpq_msg_cache_init()):
 * a message's cost is asked for at every put and get, and the kmalloc
 * caches do not change once the kernel has booted.
 */
#define MPQ_KMALLOC_TABLE_MAX	4096
extern u16 mpq_kmalloc_sizes[MPQ_KMALLOC_TABLE_MAX / 8];

static inline size_t mpq_kmalloc_size(size_t size)
{
	if (size && size <= MPQ_KMALLOC_TABLE_MAX)
		return mpq_kmalloc_sizes[(size - 1) / 8];
	return kmalloc_size_roundup(size);
}

/**
 * mpq_msg_inline() - is the payload of a message of @len bytes inline?
 * @len: the message's length.
 *
 * Up to 128 bytes always, so that a small message is one allocation;
 * above, when the header fits in what kmalloc() would round the payload
 * up to anyway. Otherwise the header apart costs less: 1 KiB inline would
 * take the 2 KiB bucket.
 *
 * Return: true if the payload follows the header in one allocation.
 */
static inline bool mpq_msg_inline(size_t len)
{
	return len <= 128 ||
	       (len <= PAGE_SIZE - MPQ_MSG_HDRLEN &&
		MPQ_MSG_HDRLEN + len <= mpq_kmalloc_size(len));
}

/* A piece of a message's payload, walked with mpq_chunk_first()/_next(). */
struct mpq_chunk {
	char *buf;
	size_t len;			/* of this piece; 0: no more */
	size_t left;			/* of the payload, from @buf on */
};

static inline void mpq_chunk_set(struct mpq_chunk *c, char *buf, size_t left)
{
	c->buf = buf;
	c->left = left;
	c->len = min_t(size_t, left, PAGE_SIZE);
}

/**
 * mpq_chunk_first() - the first piece of @msg's payload.
 * @c: set to it.
 * @msg: the message.
 */
static inline void mpq_chunk_first(struct mpq_chunk *c,
				   const struct mpq_msg *msg)
{
	mpq_chunk_set(c, mpq_msg_inline(msg->len) ? (char *)msg->data :
		      msg->ext, msg->len);
}

/**
 * mpq_chunk_next() - the piece after @c, a length of 0 after the last.
 * @c: the piece; set to the next.
 *
 * Only the last piece may be shorter than a page, and only a whole page
 * has a successor, which its page_private() names.
 */
static inline void mpq_chunk_next(struct mpq_chunk *c)
{
	size_t left = c->left - c->len;

	mpq_chunk_set(c, left ? (char *)page_private(virt_to_page(c->buf)) :
		      NULL, left);
}

int mpq_msg_cache_init(void);
void mpq_msg_cache_exit(void);

/*
 * The kernel memory one user pins (user.c), in the spirit of
 * RLIMIT_MSGQUEUE: a queue is charged to its owner, who created it, and a
 * message to whoever put it (the opener of the file it was put through),
 * from its allocation (a putter blocked with its message counts) until it
 * is freed, whoever gets it. A charge past mpq_bytes_per_user fails with
 * ENOSPC unless the one charged had CAP_SYS_RESOURCE when creating the
 * queue or opening the file. Users in a user namespace that an
 * unprivileged user made are charged to that user (mpq_user_current()).
 * An entry lives while it has references or charges (see user.c).
 */
struct mpq_user {
	struct hlist_node node;		/* in mpq_users, under mpq_users_lock */
	kuid_t uid;
	refcount_t ref;			/* one per queue, file and lookup */
	atomic_long_t bytes;		/* kernel memory charged */
	atomic_t queues;		/* queues owned, anonymous included */
	unsigned int named;		/* named queues owned, under mpq_lock */
	struct rcu_head rcu;
};

extern unsigned long long mpq_bytes_per_user;

struct mpq_user *mpq_user_get(kuid_t uid);
struct mpq_user *mpq_user_find(kuid_t uid);
kuid_t mpq_user_current(void);
void mpq_user_put(struct mpq_user *u);
int mpq_user_charge(struct mpq_user *u, size_t bytes, bool limited);
void mpq_user_uncharge(struct mpq_user *u, size_t bytes);

struct mpq_attr_k {
	u64 maxsize;		/* 0: no count limit */
	u64 msgsize_max;
	u64 maxbytes;
	u32 flags;		/* MPQ_CREATE_REDELIVER or 0 */
	u32 max_deliveries;	/* 0: no limit */
};

/*
 * On a redelivery queue, the messages one open file took and has not
 * acknowledged, oldest first. Both fields are under the queue's lock.
 */
struct mpq_owner {
	struct list_head msgs;
	u64 count;
};

/**
 * mpq_owner_init() - an owner with nothing in flight.
 * @o: the owner.
 */
static inline void mpq_owner_init(struct mpq_owner *o)
{
	INIT_LIST_HEAD(&o->msgs);
	o->count = 0;
}

/*
 * A queue. @lock protects every field below it, except @held, @spare and
 * @state: @held is atomic (see mpq_queue_consume()), @spare is only ever
 * exchanged with xchg() (see mpq_queue_msg_alloc()) and @state, written
 * under the lock with WRITE_ONCE(), may be read without it to fail a put
 * early. The
 * limits, @user and @limited are set at creation and never change.
 * Blocked getters, putters and joiners sleep on their own lists of struct
 * mpq_waiter, so a put hands its message to exactly one getter and a get
 * admits exactly the putters that now fit.
 * @pollq and @idleq only carry poll/epoll/io_uring pollers and are woken
 * only if they have any.
 * The fields read on every operation but written rarely come first; the
 * lock and what it protects start a cache line of their own, so that
 * checking @pollq for sleepers does not bounce the line the lock lives in.
 * @dlq and @dlq_name are set before the queue is published and never
 * change; @unlinked is set once, with WRITE_ONCE(), by mpq_queue_unlink().
 * @spare is in the lock's cache line, which a put and a get take anyway.
 */
struct mpq_queue {
	struct kref ref;
	struct mpq_attr_k attr;
	struct mpq_user *user;		/* owner, charged for the queue */
	bool limited;			/* the owner's charges are capped */
	wait_queue_head_t pollq;
	wait_queue_head_t idleq;	/* pollers of EPOLLPRI, see mpq_notify() */
	struct fasync_struct *fasync;
	struct mpq_queue *dlq;		/* dead-letter queue, with a reference */
	char *dlq_name;			/* its name, kmalloc()ed */
	bool unlinked;			/* named, and removed */

	spinlock_t lock ____cacheline_aligned_in_smp; /* all below but @spare */
	struct mpq_msg *spare;		/* a freed message's memory, xchg() */
	struct list_head msgs;		/* FIFO of struct mpq_msg */
	struct list_head getters;	/* FIFO of struct mpq_waiter */
	struct list_head putters;
	struct list_head joiners;
	u64 qsize;
	u64 bytes;
	u64 unfinished;
	u64 total_puts;
	u64 total_gets;
	u64 discarded;
	u64 in_flight;			/* redelivery: owned, not acknowledged */
	u64 redelivered;
	u64 dead_lettered;
	atomic_t held;			/* taken by readers, not yet delivered */
	u32 nr_getters;
	u32 nr_putters;
	u32 nr_joiners;
	u32 state;			/* MPQ_STATE_* */
};

size_t mpq_msg_cost(size_t len);
struct mpq_msg *mpq_msg_alloc(struct mpq_user *user, bool limited, size_t len);
void mpq_msg_free(struct mpq_msg *msg);
unsigned int mpq_msg_free_list(struct list_head *msgs);

/*
 * The queue core. "Send" and "receive" move messages (Python's put and
 * get); "get_ref" and "put_ref" count references, as everywhere in the
 * kernel. Deadlines are absolute CLOCK_MONOTONIC times, NULL for none.
 * Every wait is interruptible and returns -ERESTARTSYS on a signal.
 */

/**
 * mpq_queue_alloc() - make an empty, open queue.
 * @attr: its limits, already checked against the module's caps.
 * @user: its owner, charged for the queue; the queue takes the reference.
 * @limited: whether @user's charges through this queue are capped.
 *
 * Return: the queue with one reference, or NULL.
 */
struct mpq_queue *mpq_queue_alloc(const struct mpq_attr_k *attr,
				  struct mpq_user *user, bool limited);

/**
 * mpq_queue_get_ref() - take a reference on @q.
 * @q: the queue.
 */
void mpq_queue_get_ref(struct mpq_queue *q);

/**
 * mpq_queue_put_ref() - drop a reference; the last frees @q and whatever
 * it still holds, and drops its reference on its dead-letter queue.
 * @q: the queue.
 */
void mpq_queue_put_ref(struct mpq_queue *q);

/**
 * mpq_queue_msg_alloc() - a message to put into @q.
 * @q: the queue it is for.
 * @user: charged for it, as by mpq_msg_alloc().
 * @limited: whether @user's charge is capped.
 * @len: its length.
 *
 * As mpq_msg_alloc(), but made from the memory of the last small message
 * a get from @q freed, if @q keeps it and it is of the same cost.
 *
 * Return: the message, or ERR_PTR(-ENOSPC) or ERR_PTR(-ENOMEM).
 */
struct mpq_msg *mpq_queue_msg_alloc(struct mpq_queue *q,
				    struct mpq_user *user, bool limited,
				    size_t len);

/**
 * mpq_queue_would_block() - would a send of @len bytes wait?
 * @q: the queue.
 * @len: the message's length.
 *
 * A look without the lock, so that a send that may not wait fails before
 * it allocates and copies a message the queue has no room for (an io_uring
 * write retried from poll would do that each time). The answer may be
 * stale either way: a send let through is decided under the lock as ever;
 * an EAGAIN sends the caller to poll, which looks under the lock.
 *
 * Return: true if it would wait.
 */
bool mpq_queue_would_block(struct mpq_queue *q, size_t len);

/**
 * mpq_queue_send() - queue the messages on @msgs, in order.
 * @q: the queue.
 * @msgs: messages from mpq_msg_alloc(); those queued leave the list, the
 *        caller frees what is left.
 * @nonblock: fail with -EAGAIN rather than wait.
 * @deadline: when to give up waiting, or NULL.
 *
 * Only the first message may wait; the rest go in while they fit without
 * waiting. Wakes one blocked receiver per message.
 *
 * Return: how many were queued, or -EPIPE (shut down), -EAGAIN,
 * -ETIMEDOUT or -ERESTARTSYS if none was.
 */
int mpq_queue_send(struct mpq_queue *q, struct list_head *msgs, bool nonblock,
		   const ktime_t *deadline);

/**
 * mpq_queue_receive() - take messages from the head.
 * @q: the queue.
 * @caps: @caps[i] is the largest the i-th message may be.
 * @n: the most to take, at least 1.
 * @nonblock: fail with -EAGAIN rather than wait.
 * @deadline: when to give up waiting, or NULL.
 * @out: where the messages taken go, in order.
 * @needed: set to the head's length on -EMSGSIZE.
 *
 * Only the first may wait. The messages taken are held until the caller
 * hands them to mpq_queue_consume() or mpq_queue_requeue(): until then the
 * stream has not ended, even if shut down and empty.
 *
 * Return: how many were taken; 0 at end of stream (shut down, empty and
 * nothing held); or -EMSGSIZE (the head stays), -EAGAIN, -ETIMEDOUT or
 * -ERESTARTSYS if none was.
 */
int mpq_queue_receive(struct mpq_queue *q, const size_t *caps, unsigned int n,
		      bool nonblock, const ktime_t *deadline,
		      struct list_head *out, size_t *needed);

/**
 * mpq_queue_requeue() - put received messages back at the head.
 * @q: the queue.
 * @msgs: from mpq_queue_receive(), in the order taken; emptied.
 *
 * For messages that could not be delivered (a failed copy to the reader).
 * This may leave the queue one batch over maxsize until the next receive;
 * nothing is lost. After an immediate shutdown they are discarded.
 */
void mpq_queue_requeue(struct mpq_queue *q, struct list_head *msgs);

/**
 * mpq_queue_consume() - the reader copied @msgs out: free them.
 * @q: the queue.
 * @msgs: from mpq_queue_receive(); emptied.
 *
 * If they were the last held after a shutdown, the stream ends now for
 * blocked receivers and pollers.
 */
void mpq_queue_consume(struct mpq_queue *q, struct list_head *msgs);

/**
 * mpq_queue_redelivers() - was @q created with MPQ_CREATE_REDELIVER?
 * @q: the queue.
 *
 * Return: true if what a get takes must be owned and acknowledged.
 */
static inline bool mpq_queue_redelivers(const struct mpq_queue *q)
{
	return q->attr.flags & MPQ_CREATE_REDELIVER;
}

/**
 * mpq_queue_own() - the reader copied @msgs out of a redelivery queue.
 * @q: the queue.
 * @o: the owner they now belong to, the file they were taken through.
 * @msgs: from mpq_queue_receive(), in order; emptied.
 *
 * Instead of mpq_queue_consume(): they stay in flight, owned by @o, until
 * mpq_queue_ack(), mpq_queue_nack() or mpq_queue_disown().
 */
void mpq_queue_own(struct mpq_queue *q, struct mpq_owner *o,
		   struct list_head *msgs);

/**
 * mpq_queue_ack() - task done on a redelivery queue.
 * @q: the queue.
 * @o: the owner acknowledging.
 * @count: how many of @o's oldest messages, at least 1.
 *
 * Frees them and marks @count tasks finished.
 *
 * Return: 0, or -EINVAL and no change if @o owns fewer than @count.
 */
int mpq_queue_ack(struct mpq_queue *q, struct mpq_owner *o, u64 count);

/**
 * mpq_queue_nack() - give messages back for redelivery.
 * @q: the queue.
 * @o: the owner giving back.
 * @count: how many of @o's oldest messages, at least 1.
 *
 * They go back to the head of the queue, in order and ahead of what is
 * queued, their delivery count one higher; those that were delivered
 * max_deliveries times are dead-lettered instead. May sleep.
 *
 * Return: 0, or -EINVAL and no change if @o owns fewer than @count.
 */
int mpq_queue_nack(struct mpq_queue *q, struct mpq_owner *o, u64 count);

/**
 * mpq_queue_disown() - @o's file is released: give back all it owns.
 * @q: the queue.
 * @o: the owner, with no other user left.
 *
 * As mpq_queue_nack() for every message @o owns. May sleep.
 */
void mpq_queue_disown(struct mpq_queue *q, struct mpq_owner *o);

/**
 * mpq_queue_unlink() - @q, a named queue, was removed: no more dead
 * letters go to it.
 * @q: the queue.
 */
void mpq_queue_unlink(struct mpq_queue *q);

/**
 * mpq_queue_task_done() - mark @count tasks finished (Python's task_done()).
 * @q: the queue.
 * @count: how many, at least 1.
 *
 * Not for redelivery queues, where a task done is mpq_queue_ack().
 *
 * Return: 0, or -EINVAL and no change if @count exceeds the unfinished
 * count.
 */
int mpq_queue_task_done(struct mpq_queue *q, u64 count);

/**
 * mpq_queue_join() - wait until no task is unfinished.
 * @q: the queue.
 * @deadline: when to give up, or NULL.
 *
 * Return: 0, -ETIMEDOUT or -ERESTARTSYS.
 */
int mpq_queue_join(struct mpq_queue *q, const ktime_t *deadline);

/**
 * mpq_queue_shutdown() - shut the queue down for good.
 * @q: the queue.
 * @immediate: also discard what is queued, which counts as done for join.
 *
 * Blocked senders fail with -EPIPE, blocked receivers look again and find
 * end of stream once nothing is queued or held, nor, after a plain
 * shutdown of a redelivery queue, in flight: what a consumer dying during
 * the drain owned is still delivered to the others. Messages in flight
 * at an immediate shutdown stay with their owners, to be acknowledged,
 * or discarded (and counted done) if given back.
 */
void mpq_queue_shutdown(struct mpq_queue *q, bool immediate);

/**
 * mpq_queue_stat() - a consistent snapshot of @q's counters.
 * @q: the queue.
 * @st: filled in whole; its reserved fields are zeroed.
 */
void mpq_queue_stat(struct mpq_queue *q, struct mpq_stat *st);

/**
 * mpq_queue_head_len() - FIONREAD: the length of the message at the head.
 * @q: the queue.
 *
 * Return: the length, 0 if empty.
 */
size_t mpq_queue_head_len(struct mpq_queue *q);

/**
 * mpq_queue_poll() - poll/epoll events of @q for @file.
 * @q: the queue.
 * @file: the file polled, for poll_wait().
 * @pt: the poll table.
 *
 * Return: EPOLLIN a receive would not block, EPOLLOUT a send would not,
 * EPOLLHUP shut down, EPOLLPRI a join would not block.
 */
__poll_t mpq_queue_poll(struct mpq_queue *q, struct file *file,
			poll_table *pt);

#endif /* _MPQ_H */
