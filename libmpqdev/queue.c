// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmpqdev: queue handles and the operations on them.
 *
 * A handle is a descriptor plus two flags; blocking, limits and task
 * accounting all live in the kernel, so the library only translates calls
 * and keeps retrying waits that a signal interrupted.
 *
 * Closing and concurrent use. The descriptor number never changes while a
 * handle is open, so threads read it without locking. mpq_close() marks
 * the handle closed and then atomically replaces the queue file under
 * that number with an inert placeholder (dup3() of an eventfd), instead
 * of close()ing it: a thread that read the number just before the close
 * can therefore never reach an unrelated file that reused the number; it
 * hits the placeholder, where every ioctl fails, and reports -EBADF. The
 * number is released by mpq_free(). A call already asleep in the kernel
 * holds its own reference to the queue and completes normally, exactly
 * like a thread blocked in read(2) when another thread calls close(2):
 * mpq_shutdown() or a timeout is the way to wake it.
 *
 * After fork() the child has a copy of the handle and its own reference
 * to the same queue. On a redelivery queue that is not enough: what a get
 * takes belongs to the open file description, which the child shares with
 * its parent, so the child's death would give nothing back. The first use
 * of such a handle in a process that did not open it therefore takes a
 * file of its own (MPQ_IOC_REOPEN) and puts it under the same descriptor
 * number with dup3(), so mpq_fileno() stays true. The process is told by
 * its pid, cached and refreshed after every fork(3) by an atfork handler,
 * so that the check costs a load, not a getpid(2), on every call.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "wait.h"

struct mpq {
	atomic_int fd;		/* -1 only if mpq_close() had to close(2) it */
	atomic_bool closed;
	bool joinable;
	bool redeliver;		/* the queue was created MPQ_CREATE_REDELIVER */
	/*
	 * Redelivery: the pid of the process whose own file fd is, or minus
	 * the pid of one taking its own file now (see own_file()).
	 */
	atomic_int owner;
};

static pthread_once_t pid_once = PTHREAD_ONCE_INIT;
static atomic_int pid_cache;

static void pid_refresh(void)
{
	atomic_store_explicit(&pid_cache, (int)getpid(), memory_order_relaxed);
}

static void pid_init(void)
{
	pid_refresh();
	pthread_atfork(NULL, NULL, pid_refresh);
}

/* This process's pid, without a system call. */
static int self_pid(void)
{
	pthread_once(&pid_once, pid_init);
	return atomic_load_explicit(&pid_cache, memory_order_relaxed);
}

/*
 * Put a file of our own on the queue under @fd, keeping its flags. A
 * thread of another process that was doing so when we were forked left
 * -its pid behind: that is no claim here.
 */
static int own_file(mpq_t *q, int fd)
{
	int me = self_pid(), cur, nfd, fdfl, fl, ret;
	__u32 how;

	for (;;) {
		cur = atomic_load_explicit(&q->owner, memory_order_acquire);
		if (cur == me)
			return fd;
		if (cur == -me) {		/* another thread is at it */
			sched_yield();
			continue;
		}
		if (atomic_compare_exchange_weak_explicit(&q->owner, &cur, -me,
							  memory_order_acq_rel,
							  memory_order_acquire))
			break;
	}
	fl = fcntl(fd, F_GETFL);
	fdfl = fcntl(fd, F_GETFD);
	how = MPQ_CREATE_CLOEXEC;
	if (fl >= 0 && (fl & O_NONBLOCK))
		how |= MPQ_CREATE_NONBLOCK;
	nfd = ioctl(fd, MPQ_IOC_REOPEN, &how);
	ret = nfd < 0 ? -errno : 0;
	if (nfd >= 0) {
		while (dup3(nfd, fd, fdfl > 0 && (fdfl & FD_CLOEXEC) ?
			    O_CLOEXEC : 0) < 0) {
			if (errno != EINTR && errno != EBUSY) {
				ret = -errno;
				break;
			}
		}
		close(nfd);
	}
	atomic_store_explicit(&q->owner, ret ? cur : me, memory_order_release);
	return ret ? ret : fd;
}

/*
 * The kernel saturates deadlines at KTIME_MAX (INT64_MAX ns, about 292
 * years of uptime); a timeout reaching past that is no timeout at all.
 */

/* Messages up to this size are received by mpq_get_alloc() in one call. */
#define ALLOC_GUESS		4096

/* Batch entries converted per ioctl by mpq_put_many()/mpq_get_many(). */
#define BATCH_CHUNK		128

/*
 * Turn Python's (block, timeout) into flags and an absolute deadline (see
 * mpq_wait_timeout()); a negative timeout is none.
 */
static int wait_init(struct mpq_wait *w, bool block, double timeout)
{
	memset(w, 0, sizeof(*w));
	if (!block) {
		w->flags = MPQ_XFER_NONBLOCK;
		return 0;
	}
	if (isnan(timeout))
		return -EINVAL;
	if (timeout < 0)
		return 0;
	return mpq_wait_timeout(w, timeout);
}

/* ioctl(2) retried on EINTR: the argument carries an absolute deadline. */
static int q_ioctl(int fd, unsigned long request, void *arg)
{
	int ret;

	do
		ret = ioctl(fd, request, arg);
	while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

/* The descriptor of an open handle, or -EBADF. */
static int q_fd(mpq_t *q)
{
	int fd;

	if (!q)
		return -EINVAL;
	if (atomic_load_explicit(&q->closed, memory_order_acquire))
		return -EBADF;
	fd = atomic_load_explicit(&q->fd, memory_order_relaxed);
	if (q->redeliver &&
	    atomic_load_explicit(&q->owner, memory_order_acquire) != self_pid())
		return own_file(q, fd);
	return fd;
}

/* A call that failed because mpq_close() raced it reports -EBADF. */
static int q_err(mpq_t *q, int err)
{
	if (atomic_load_explicit(&q->closed, memory_order_acquire))
		return -EBADF;
	return err;
}

mpq_t *mpqdev_handle_new(int fd, bool joinable)
{
	mpq_t *q = malloc(sizeof(*q));
	struct mpq_info info;

	if (!q)
		return NULL;
	atomic_init(&q->fd, fd);
	atomic_init(&q->closed, false);
	q->joinable = joinable;
	/* A kernel without MPQ_IOC_INFO (ENOTTY) has no redelivery. */
	q->redeliver = ioctl(fd, MPQ_IOC_INFO, &info) == 0 &&
		       (info.flags & MPQ_CREATE_REDELIVER);
	atomic_init(&q->owner, self_pid());
	return q;
}

int mpqdev_create_attr(struct mpq_create *c, const struct mpq_attr *attr)
{
	if (!attr)
		return 0;
	if (attr->flags & ~MPQ_ATTR_REDELIVER)
		return -EINVAL;
	c->maxsize = attr->maxsize > 0 ? (__u64)attr->maxsize : 0;
	c->msgsize_max = attr->msgsize_max;
	c->maxbytes = attr->maxbytes;
	if (attr->flags & MPQ_ATTR_REDELIVER)
		c->flags |= MPQ_CREATE_REDELIVER;
	c->max_deliveries = attr->max_deliveries;
	c->dead_letter = (uintptr_t)attr->dead_letter;
	return 0;
}

int mpqdev_control_ioctl(unsigned long request, void *arg)
{
	int cfd, ret;

	cfd = open(MPQ_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	if (cfd < 0)
		return -errno;
	ret = q_ioctl(cfd, request, arg);
	close(cfd);
	return ret;
}

static mpq_t *anon_new(long maxsize, const struct mpq_attr *attr,
		       bool joinable)
{
	struct mpq_create c = {
		.maxsize = maxsize > 0 ? (__u64)maxsize : 0,
		.flags = MPQ_CREATE_CLOEXEC,
	};
	mpq_t *q;
	int fd;

	fd = mpqdev_create_attr(&c, attr);
	if (!fd)
		fd = mpqdev_control_ioctl(MPQ_IOC_CREATE, &c);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	q = mpqdev_handle_new(fd, joinable);
	if (!q)
		close(fd);
	return q;
}

mpq_t *mpq_queue_new(long maxsize)
{
	return anon_new(maxsize, NULL, false);
}

mpq_t *mpq_joinable_new(long maxsize)
{
	return anon_new(maxsize, NULL, true);
}

mpq_t *mpq_joinable_new_attr(const struct mpq_attr *attr)
{
	return anon_new(0, attr, true);
}

int mpq_put(mpq_t *q, const void *item, size_t len, bool block,
	    double timeout)
{
	struct mpq_xfer x = {
		.buf = (uintptr_t)item,
		.len = len,
	};
	struct mpq_wait w;
	int fd, ret;

	fd = q_fd(q);
	if (fd < 0)
		return fd;
	ret = wait_init(&w, block, timeout);
	if (ret)
		return ret;
	x.flags = w.flags;
	x.deadline = w.deadline;
	ret = q_ioctl(fd, MPQ_IOC_PUT, &x);
	return ret < 0 ? q_err(q, ret) : 0;
}

int mpq_put_nowait(mpq_t *q, const void *item, size_t len)
{
	return mpq_put(q, item, len, false, -1);
}

/*
 * One MPQ_IOC_GET. End of stream becomes -EPIPE, Python's ShutDown; on
 * -EMSGSIZE *need gets the size of the message at the head.
 */
static ssize_t get_once(mpq_t *q, int fd, void *buf, size_t cap,
			const struct mpq_wait *w, size_t *need,
			unsigned int *deliveries)
{
	struct mpq_xfer x = {
		.buf = (uintptr_t)buf,
		.len = cap,
		.flags = w->flags,
		.deadline = w->deadline,
		.deliveries = 1,	/* what a plain queue leaves */
	};
	int ret;

	ret = q_ioctl(fd, MPQ_IOC_GET, &x);
	if (ret > 0 && deliveries)
		*deliveries = x.deliveries;
	if (ret == 0)
		return -EPIPE;
	if (ret < 0) {
		if (ret == -EMSGSIZE && need)
			*need = x.len;
		return q_err(q, ret);
	}
	return ret;
}

ssize_t mpq_get_counted(mpq_t *q, void *buf, size_t cap, bool block,
			double timeout, unsigned int *deliveries)
{
	struct mpq_wait w;
	int fd, ret;

	fd = q_fd(q);
	if (fd < 0)
		return fd;
	ret = wait_init(&w, block, timeout);
	if (ret)
		return ret;
	return get_once(q, fd, buf, cap, &w, NULL, deliveries);
}

ssize_t mpq_get(mpq_t *q, void *buf, size_t cap, bool block, double timeout)
{
	return mpq_get_counted(q, buf, cap, block, timeout, NULL);
}

ssize_t mpq_get_nowait(mpq_t *q, void *buf, size_t cap)
{
	return mpq_get(q, buf, cap, false, -1);
}

ssize_t mpq_get_alloc(mpq_t *q, void **item, bool block, double timeout)
{
	size_t cap = ALLOC_GUESS, need;
	char *buf = NULL, *p;
	struct mpq_wait w;
	ssize_t ret;
	int fd;

	if (!item)
		return -EINVAL;
	*item = NULL;
	fd = q_fd(q);
	if (fd < 0)
		return fd;
	ret = wait_init(&w, block, timeout);
	if (ret)
		return ret;
	/*
	 * Guess, and on EMSGSIZE retry with the size the kernel reported.
	 * Another consumer may take that message first and leave a larger
	 * one at the head, hence the loop; the deadline stays the same.
	 */
	for (;;) {
		p = realloc(buf, cap + 1);
		if (!p) {
			free(buf);
			return -ENOMEM;
		}
		buf = p;
		need = 0;
		ret = get_once(q, fd, buf, cap, &w, &need, NULL);
		if (ret != -EMSGSIZE)
			break;
		if (need <= cap)	/* no size reported: do not spin */
			break;
		cap = need;
	}
	if (ret < 0) {
		free(buf);
		return ret;
	}
	if ((size_t)ret < cap) {
		p = realloc(buf, (size_t)ret + 1);
		if (p)
			buf = p;
	}
	buf[ret] = '\0';
	*item = buf;
	return ret;
}

/*
 * Move up to count messages through MPQ_IOC_PUT_MANY/GET_MANY. The kernel
 * waits only until the first message moves; later chunks must not wait
 * at all, so the whole call keeps the sendmmsg()-like contract however
 * many chunks it takes.
 */
static ssize_t batch(mpq_t *q, unsigned long request, bool get,
		     const struct mpq_msg *in, struct mpq_msg *out,
		     size_t count, bool block, double timeout,
		     unsigned int *deliveries)
{
	struct mpq_msgvec vec[BATCH_CHUNK];
	struct mpq_batch b;
	struct mpq_wait w;
	size_t done = 0, n, i;
	int fd, ret;

	fd = q_fd(q);
	if (fd < 0)
		return fd;
	if (!in || count == 0 || count > SSIZE_MAX)
		return -EINVAL;
	ret = wait_init(&w, block, timeout);
	if (ret)
		return ret;
	while (done < count) {
		n = count - done < BATCH_CHUNK ? count - done : BATCH_CHUNK;
		for (i = 0; i < n; i++) {
			vec[i].buf = (uintptr_t)in[done + i].buf;
			vec[i].len = in[done + i].len;
			vec[i].result = 0;
		}
		mpq_wait_batch(&b, vec, (__u32)n, &w);
		if (deliveries)
			b.deliveries = (uintptr_t)(deliveries + done);
		ret = q_ioctl(fd, request, &b);
		if (ret == 0)		/* GET_MANY at end of stream */
			ret = -EPIPE;
		if (ret < 0) {
			if (done)
				break;
			return q_err(q, ret);
		}
		if (get)
			for (i = 0; i < (size_t)ret; i++)
				out[done + i].result = vec[i].result;
		done += (size_t)ret;
		if ((size_t)ret < n)
			break;
		w.flags = MPQ_XFER_NONBLOCK;
	}
	return (ssize_t)done;
}

ssize_t mpq_put_many(mpq_t *q, const struct mpq_msg *msgs, size_t count,
		     bool block, double timeout)
{
	return batch(q, MPQ_IOC_PUT_MANY, false, msgs, NULL, count, block,
		     timeout, NULL);
}

ssize_t mpq_get_many(mpq_t *q, struct mpq_msg *msgs, size_t count,
		     bool block, double timeout)
{
	return batch(q, MPQ_IOC_GET_MANY, true, msgs, msgs, count, block,
		     timeout, NULL);
}

ssize_t mpq_get_many_counted(mpq_t *q, struct mpq_msg *msgs, size_t count,
			     bool block, double timeout,
			     unsigned int *deliveries)
{
	return batch(q, MPQ_IOC_GET_MANY, true, msgs, msgs, count, block,
		     timeout, deliveries);
}

/* One ioctl on the handle's queue that does not wait: 0 or -errno. */
static int handle_ioctl(mpq_t *q, unsigned long request, void *arg)
{
	int fd, ret;

	fd = q_fd(q);
	if (fd < 0)
		return fd;
	if (!arg)
		return -EINVAL;
	ret = q_ioctl(fd, request, arg);
	return ret < 0 ? q_err(q, ret) : 0;
}

int mpq_stat(mpq_t *q, struct mpq_stat *st)
{
	return handle_ioctl(q, MPQ_IOC_STAT, st);
}

long mpq_qsize(mpq_t *q)
{
	struct mpq_stat st;
	int ret;

	ret = mpq_stat(q, &st);
	if (ret)
		return ret;
	return st.qsize > LONG_MAX ? LONG_MAX : (long)st.qsize;
}

bool mpq_empty(mpq_t *q)
{
	struct mpq_stat st;
	int ret;

	ret = mpq_stat(q, &st);
	if (ret) {
		errno = -ret;
		return false;
	}
	return st.qsize == 0;
}

bool mpq_full(mpq_t *q)
{
	struct mpq_stat st;
	int ret;

	ret = mpq_stat(q, &st);
	if (ret) {
		errno = -ret;
		return false;
	}
	/* A new put queues behind blocked putters, as EPOLLOUT knows. */
	return st.putters || (st.maxsize && st.qsize >= st.maxsize) ||
	       st.bytes + 1 > st.maxbytes;
}

int mpq_close(mpq_t *q)
{
	int fd, ph, ret;

	if (!q)
		return -EINVAL;
	if (atomic_exchange_explicit(&q->closed, true, memory_order_acq_rel))
		return -EBADF;
	fd = atomic_load_explicit(&q->fd, memory_order_relaxed);
	ph = eventfd(0, EFD_CLOEXEC);
	if (ph >= 0) {
		/* EBUSY: a racing open() is installing the number; retry. */
		do
			ret = dup3(ph, fd, O_CLOEXEC);
		while (ret < 0 && (errno == EINTR || errno == EBUSY));
		close(ph);
		if (ret >= 0)
			return 0;
	}
	/*
	 * No descriptor to spare for the placeholder: fall back to close(2)
	 * and give up the protection against reuse of the number.
	 */
	atomic_store_explicit(&q->fd, -1, memory_order_relaxed);
	if (close(fd) && errno != EINTR)
		return -errno;
	return 0;
}

int mpq_join_thread(mpq_t *q)
{
	if (!q)
		return -EINVAL;
	/* Python asserts the queue was closed first; there is nothing to flush. */
	return atomic_load_explicit(&q->closed, memory_order_acquire) ?
	       0 : -EINVAL;
}

void mpq_cancel_join_thread(mpq_t *q)
{
	(void)q;
}

int mpq_task_done_many(mpq_t *q, uint64_t count)
{
	__u64 n = count;
	int fd, ret;

	fd = q_fd(q);
	if (fd < 0)
		return fd;
	if (!q->joinable)
		return -EOPNOTSUPP;
	ret = q_ioctl(fd, MPQ_IOC_TASK_DONE, &n);
	return ret < 0 ? q_err(q, ret) : 0;
}

int mpq_task_done(mpq_t *q)
{
	return mpq_task_done_many(q, 1);
}

int mpq_nack_many(mpq_t *q, uint64_t count)
{
	__u64 n = count;

	return handle_ioctl(q, MPQ_IOC_NACK, &n);
}

int mpq_nack(mpq_t *q)
{
	return mpq_nack_many(q, 1);
}

int mpq_info(mpq_t *q, struct mpq_info *info)
{
	return handle_ioctl(q, MPQ_IOC_INFO, info);
}

int mpq_join_timeout(mpq_t *q, double timeout)
{
	struct mpq_join j = { 0 };
	struct mpq_wait w;
	int fd, ret;

	fd = q_fd(q);
	if (fd < 0)
		return fd;
	if (!q->joinable)
		return -EOPNOTSUPP;
	ret = wait_init(&w, true, timeout);
	if (ret)
		return ret;
	j.flags = w.flags;
	j.deadline = w.deadline;
	ret = q_ioctl(fd, MPQ_IOC_JOIN, &j);
	return ret < 0 ? q_err(q, ret) : 0;
}

int mpq_join(mpq_t *q)
{
	return mpq_join_timeout(q, -1);
}

int mpq_shutdown(mpq_t *q, bool immediate)
{
	__u32 flags = immediate ? MPQ_SHUTDOWN_IMMEDIATE : 0;

	return handle_ioctl(q, MPQ_IOC_SHUTDOWN, &flags);
}

int mpq_fileno(mpq_t *q)
{
	return q_fd(q);
}

void mpq_free(mpq_t *q)
{
	int fd, err = errno;

	if (!q)
		return;
	fd = atomic_load_explicit(&q->fd, memory_order_relaxed);
	if (fd >= 0)
		close(fd);
	free(q);
	errno = err;
}
