// SPDX-License-Identifier: GPL-2.0
/*
 * mpq: Python's multiprocessing Queue and JoinableQueue as character devices.
 *
 * /dev/mpq/control creates anonymous queues (returned as a new descriptor)
 * and named queues (/dev/mpq/NAME, one minor each, with /sys/class/mpq/NAME
 * showing their state). This file does devices, files and user copies; the
 * queue itself is queue.c.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/capability.h>
#include <linux/cdev.h>
#include <linux/cred.h>
#include <linux/ctype.h>
#include <linux/device.h>
#include <linux/file.h>
#include <linux/idr.h>
#include <linux/io_uring.h>
#include <asm/ioctls.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/rhashtable.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/time64.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "mpq.h"

#define MPQ_MINORS		(MINORMASK + 1)	/* control + named queues */
#define MPQ_MSGSIZE_HARD_MAX	BIT_ULL(30)	/* lengths fit an int */
#define MPQ_MAXBYTES_HARD_MAX	BIT_ULL(40)
#define MPQ_BATCH_CHUNK		16		/* msgvecs copied at a time */

static unsigned long long msgsize_limit = 16ULL << 20;
static unsigned long long maxbytes_limit = 1ULL << 30;
static unsigned int queues_per_user = 256;

/* The most a byte-count parameter may be set to. */
static unsigned long long mpq_param_max(const struct kernel_param *kp)
{
	if (kp->arg == &msgsize_limit)
		return MPQ_MSGSIZE_HARD_MAX;
	if (kp->arg == &maxbytes_limit)
		return MPQ_MAXBYTES_HARD_MAX;
	return LONG_MAX;	/* bytes_per_user: an atomic_long counts it */
}

/* A byte count from 1 to mpq_param_max(); read with READ_ONCE(). */
static int mpq_param_set_bytes(const char *val, const struct kernel_param *kp)
{
	unsigned long long v;
	int ret = kstrtoull(val, 0, &v);

	if (ret)
		return ret;
	if (!v || v > mpq_param_max(kp))
		return -EINVAL;
	WRITE_ONCE(*(unsigned long long *)kp->arg, v);
	return 0;
}

static const struct kernel_param_ops mpq_bytes_ops = {
	.set = mpq_param_set_bytes,
	.get = param_get_ullong,
};

module_param_cb(msgsize_limit, &mpq_bytes_ops, &msgsize_limit, 0644);
MODULE_PARM_DESC(msgsize_limit, "Largest msgsize_max a queue may ask for (bytes, default 16 MiB)");
module_param_cb(maxbytes_limit, &mpq_bytes_ops, &maxbytes_limit, 0644);
MODULE_PARM_DESC(maxbytes_limit, "Largest maxbytes a queue may ask for (bytes, default 1 GiB)");
module_param(queues_per_user, uint, 0644);
MODULE_PARM_DESC(queues_per_user, "Named queues one user may own (default 256; CAP_SYS_RESOURCE exempt)");
module_param_cb(bytes_per_user, &mpq_bytes_ops, &mpq_bytes_per_user, 0644);
MODULE_PARM_DESC(bytes_per_user, "Kernel memory one user's queues may hold (bytes, default 1 GiB; CAP_SYS_RESOURCE exempt)");

/*
 * A named queue. It holds a reference on its queue and lives as long as
 * its device; the registry (mpq_names for listing, mpq_by_name for lookup,
 * mpq_minors for open) holds the device until the queue is removed. All
 * registry changes happen under mpq_lock; lookups by name and by minor
 * cost the same at 60,000 queues as at 10.
 */
struct mpq_named {
	struct device dev;
	struct mpq_queue *q;
	struct list_head link;		/* in mpq_names */
	struct rhash_head hnode;	/* in mpq_by_name */
	char name[MPQ_NAME_SIZE];	/* the key: NUL-padded */
	kuid_t uid;
	kgid_t gid;
	umode_t mode;
};

static DEFINE_MUTEX(mpq_lock);
static LIST_HEAD(mpq_names);
static struct rhashtable mpq_by_name;
static DEFINE_IDR(mpq_minors);

static const struct rhashtable_params mpq_name_params = {
	.key_len = MPQ_NAME_SIZE,
	.key_offset = offsetof(struct mpq_named, name),
	.head_offset = offsetof(struct mpq_named, hnode),
	.automatic_shrinking = true,
};

static dev_t mpq_devt;
static struct class *mpq_class;
static struct cdev mpq_control_cdev;
static struct cdev mpq_queue_cdev;
static struct device *mpq_control_dev;

static struct mpq_named *to_named(struct device *dev)
{
	return container_of(dev, struct mpq_named, dev);
}

/* ---- sysfs: /sys/class/mpq/NAME/ ---- */

/* Each attribute is a u64 of struct mpq_stat, found by its offset. */
static ssize_t mpq_stat_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct dev_ext_attribute *ea = container_of(attr, struct dev_ext_attribute,
						    attr);
	struct mpq_stat st;
	u64 v;

	mpq_queue_stat(to_named(dev)->q, &st);
	memcpy(&v, (char *)&st + (uintptr_t)ea->var, sizeof(v));
	return sysfs_emit(buf, "%llu\n", (unsigned long long)v);
}

#define MPQ_STAT_ATTR(field)						\
static struct dev_ext_attribute mpq_attr_##field = {			\
	.attr = {							\
		.attr = { .name = __stringify(field), .mode = 0444 },	\
		.show = mpq_stat_show,					\
	},								\
	.var = (void *)offsetof(struct mpq_stat, field),		\
}

MPQ_STAT_ATTR(qsize);
MPQ_STAT_ATTR(bytes);
MPQ_STAT_ATTR(unfinished);
MPQ_STAT_ATTR(maxsize);
MPQ_STAT_ATTR(msgsize_max);
MPQ_STAT_ATTR(maxbytes);
MPQ_STAT_ATTR(in_flight);
MPQ_STAT_ATTR(redelivered);
MPQ_STAT_ATTR(dead_lettered);

static ssize_t redeliver_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", mpq_queue_redelivers(to_named(dev)->q));
}
static DEVICE_ATTR_RO(redeliver);

static ssize_t max_deliveries_show(struct device *dev,
				   struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", to_named(dev)->q->attr.max_deliveries);
}
static DEVICE_ATTR_RO(max_deliveries);

/* The name of the dead-letter queue, empty if none or once removed. */
static const char *mpq_dead_letter_name(const struct mpq_queue *q)
{
	if (!q->dlq || READ_ONCE(q->dlq->unlinked))
		return "";
	return q->dlq_name;
}

static ssize_t dead_letter_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n", mpq_dead_letter_name(to_named(dev)->q));
}
static DEVICE_ATTR_RO(dead_letter);

/* MPQ_STATE_* as words, as mpqctl and mpqdev print them. */
static ssize_t state_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	static const char *const words[] = {
		[MPQ_STATE_OPEN] = "open",
		[MPQ_STATE_SHUTDOWN] = "shutdown",
		[MPQ_STATE_IMMEDIATE] = "immediate",
	};
	struct mpq_stat st;

	mpq_queue_stat(to_named(dev)->q, &st);
	return sysfs_emit(buf, "%s\n", words[st.state]);
}
static DEVICE_ATTR_RO(state);

static struct attribute *mpq_queue_attrs[] = {
	&mpq_attr_qsize.attr.attr,
	&mpq_attr_bytes.attr.attr,
	&mpq_attr_unfinished.attr.attr,
	&mpq_attr_maxsize.attr.attr,
	&mpq_attr_msgsize_max.attr.attr,
	&mpq_attr_maxbytes.attr.attr,
	&mpq_attr_in_flight.attr.attr,
	&mpq_attr_redelivered.attr.attr,
	&mpq_attr_dead_lettered.attr.attr,
	&dev_attr_redeliver.attr,
	&dev_attr_max_deliveries.attr,
	&dev_attr_dead_letter.attr,
	&dev_attr_state.attr,
	NULL,
};
ATTRIBUTE_GROUPS(mpq_queue);

static char *mpq_named_devnode(struct device *dev, umode_t *mode, kuid_t *uid,
			       kgid_t *gid)
{
	struct mpq_named *nq = to_named(dev);

	if (mode)
		*mode = nq->mode;
	if (uid)
		*uid = nq->uid;
	if (gid)
		*gid = nq->gid;
	return kasprintf(GFP_KERNEL, "mpq/%s", dev_name(dev));
}

static void mpq_named_release(struct device *dev)
{
	struct mpq_named *nq = to_named(dev);

	if (nq->q)
		mpq_queue_put_ref(nq->q);
	kfree(nq);
}

static const struct device_type mpq_named_type = {
	.name = "mpq-queue",
	.groups = mpq_queue_groups,
	.devnode = mpq_named_devnode,
	.release = mpq_named_release,
};

/* Only the control device gets here: named queues have their own type. */
static char *mpq_class_devnode(struct device *dev, umode_t *mode)
{
	if (mode)
		*mode = 0666;
	return kasprintf(GFP_KERNEL, "mpq/%s", dev_name(dev));
}

/* ---- queue descriptors ---- */

/*
 * An open file of a queue. Messages put through it are charged to @user,
 * its opener, as a pipe's pages are to the writer's memory cgroup: whoever
 * may write into a queue pays for what they put, not the queue's owner.
 * On a redelivery queue, what a get through it takes is @owner's until a
 * task done through it; its release gives back what is left.
 */
struct mpq_file {
	struct mpq_queue *q;
	struct mpq_user *user;
	bool limited;			/* @user's charges are capped */
	struct mpq_owner owner;
};

static struct mpq_queue *mpq_fq(struct file *file)
{
	return ((struct mpq_file *)file->private_data)->q;
}

/* A file's state for @q, taking over the caller's reference on it. */
static struct mpq_file *mpq_file_new(struct mpq_queue *q)
{
	struct mpq_file *f = kmalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);

	if (!f)
		return NULL;
	f->user = mpq_user_get(mpq_user_current());
	if (!f->user) {
		kfree(f);
		return NULL;
	}
	f->q = q;
	f->limited = !capable(CAP_SYS_RESOURCE);
	mpq_owner_init(&f->owner);
	return f;
}

static void mpq_file_free(struct mpq_file *f)
{
	mpq_queue_disown(f->q, &f->owner);
	mpq_queue_put_ref(f->q);
	mpq_user_put(f->user);
	kfree(f);
}

static int mpq_deadline(const struct __kernel_timespec *ts, u32 flags,
			ktime_t *deadline, const ktime_t **dp)
{
	*dp = NULL;
	if (!(flags & MPQ_XFER_TIMEOUT))
		return 0;
	if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= NSEC_PER_SEC)
		return -EINVAL;
	*deadline = ktime_set(ts->tv_sec, ts->tv_nsec);
	*dp = deadline;
	return 0;
}

/*
 * Copy @msg's payload from @from, piece by piece. All of it or an error:
 * one write(), writev() or put is one message, never part of one.
 */
static int mpq_msg_copy_in(struct mpq_msg *msg, struct iov_iter *from)
{
	struct mpq_chunk c;

	for (mpq_chunk_first(&c, msg); c.len; mpq_chunk_next(&c))
		if (!copy_from_iter_full(c.buf, c.len, from))
			return -EFAULT;
	return 0;
}

/* Copy @msg's payload to @to, piece by piece. */
static int mpq_msg_copy_out(struct iov_iter *to, const struct mpq_msg *msg)
{
	struct mpq_chunk c;

	for (mpq_chunk_first(&c, msg); c.len; mpq_chunk_next(&c))
		if (copy_to_iter(c.buf, c.len, to) != c.len)
			return -EFAULT;
	return 0;
}

/*
 * One message from all of @from onto @msgs, charged to @f's opener: the
 * copy happens unlocked. A put that may not wait fails first if it would.
 */
static int mpq_msg_from_iter(struct mpq_file *f, struct iov_iter *from,
			     bool nonblock, struct list_head *msgs)
{
	size_t len = iov_iter_count(from);
	struct mpq_msg *msg;

	if (!len)
		return -EINVAL;
	if (len > f->q->attr.msgsize_max)
		return -EMSGSIZE;
	if (nonblock && mpq_queue_would_block(f->q, len))
		return -EAGAIN;
	msg = mpq_queue_msg_alloc(f->q, f->user, f->limited, len);
	if (IS_ERR(msg))
		return PTR_ERR(msg);
	if (mpq_msg_copy_in(msg, from)) {
		mpq_msg_free(msg);
		return -EFAULT;
	}
	list_add_tail(&msg->link, msgs);
	return 0;
}

/*
 * A user buffer as an iov_iter. Lengths past MAX_RW_COUNT are cut to it:
 * no message is that long, so a get's capacity means the same.
 */
static void mpq_ubuf_iter(struct iov_iter *iter, unsigned int dir, u64 buf,
			  u64 len)
{
	iov_iter_ubuf(iter, dir, u64_to_user_ptr(buf),
		      min_t(u64, len, MAX_RW_COUNT));
}

static bool mpq_nonblock(struct file *file, bool nonblock)
{
	return nonblock || (file->f_flags & O_NONBLOCK);
}

static int mpq_send_one(struct file *file, struct iov_iter *from,
			bool nonblock, const ktime_t *deadline)
{
	struct mpq_file *f = file->private_data;
	struct mpq_queue *q = f->q;
	LIST_HEAD(msgs);
	int ret;

	/* Fail fast after shutdown instead of copying for nothing. */
	if (READ_ONCE(q->state) != MPQ_STATE_OPEN)
		return -EPIPE;
	nonblock = mpq_nonblock(file, nonblock);
	ret = mpq_msg_from_iter(f, from, nonblock, &msgs);
	if (ret)
		return ret;
	ret = mpq_queue_send(q, &msgs, nonblock, deadline);
	if (ret < 0)
		mpq_msg_free_list(&msgs);
	return ret < 0 ? ret : 0;
}

/* The messages on @sent were copied out: free them, or own them. */
static void mpq_delivered(struct mpq_file *f, struct list_head *sent)
{
	if (mpq_queue_redelivers(f->q))
		mpq_queue_own(f->q, &f->owner, sent);
	else
		mpq_queue_consume(f->q, sent);
}

static u32 mpq_msg_deliveries(const struct mpq_msg *msg)
{
	return msg->redeliveries + 1;
}

/*
 * Get one message into @to. Returns its length, 0 at end of stream, or an
 * error; a message that cannot be copied out goes back to the head, as
 * does one whose delivery count cannot be stored in @udeliveries.
 */
static long mpq_receive_one(struct file *file, struct iov_iter *to,
			    bool nonblock, const ktime_t *deadline, size_t *needed,
			    u32 __user *udeliveries)
{
	struct mpq_file *f = file->private_data;
	struct mpq_queue *q = f->q;
	size_t cap = iov_iter_count(to);
	struct mpq_msg *msg;
	LIST_HEAD(out);
	long ret;

	ret = mpq_queue_receive(q, &cap, 1, mpq_nonblock(file, nonblock),
				deadline, &out, needed);
	if (ret <= 0)
		return ret;
	msg = list_first_entry(&out, struct mpq_msg, link);
	if (mpq_msg_copy_out(to, msg) ||
	    (udeliveries && put_user(mpq_msg_deliveries(msg), udeliveries))) {
		mpq_queue_requeue(q, &out);
		return -EFAULT;
	}
	ret = msg->len;
	mpq_delivered(f, &out);
	return ret;
}

/* read(), readv(), io_uring: one message per call, as on a datagram socket. */
static ssize_t mpq_queue_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	size_t needed;

	return mpq_receive_one(iocb->ki_filp, to, iocb->ki_flags & IOCB_NOWAIT,
			   NULL, &needed, NULL);
}

static ssize_t mpq_queue_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	size_t len = iov_iter_count(from);
	int ret;

	ret = mpq_send_one(iocb->ki_filp, from, iocb->ki_flags & IOCB_NOWAIT,
			   NULL);
	return ret ? ret : len;
}

/*
 * read() and write() proper: the VFS calls these rather than build a kiocb
 * and go through ->read_iter/->write_iter (new_sync_read(), which also
 * looks up the task's I/O priority), a tenth of a 64-byte put and get in a
 * profile. readv(), writev() and io_uring still take the _iter ones. As
 * with /dev/null, which has both too, __kernel_read() and __kernel_write()
 * then refuse the file: no kernel user reads or writes a queue.
 */
static ssize_t mpq_queue_read(struct file *file, char __user *buf,
			      size_t len, loff_t *ppos)
{
	struct iov_iter to;
	size_t needed;

	iov_iter_ubuf(&to, ITER_DEST, buf, len);
	return mpq_receive_one(file, &to, false, NULL, &needed, NULL);
}

static ssize_t mpq_queue_write(struct file *file, const char __user *buf,
			       size_t len, loff_t *ppos)
{
	struct iov_iter from;
	int ret;

	iov_iter_ubuf(&from, ITER_SOURCE, (void __user *)buf, len);
	ret = mpq_send_one(file, &from, false, NULL);
	return ret ? ret : len;
}

static __poll_t mpq_queue_fpoll(struct file *file, poll_table *pt)
{
	return mpq_queue_poll(mpq_fq(file), file, pt);
}

static int mpq_queue_fasync(int fd, struct file *file, int on)
{
	return fasync_helper(fd, file, on, &mpq_fq(file)->fasync);
}

static int mpq_queue_open(struct inode *inode, struct file *file)
{
	struct mpq_queue *q = NULL;
	struct mpq_named *nq;

	/*
	 * The VFS checked permission on @inode, the node of the queue that
	 * had this minor at lookup. If that queue was removed since, its
	 * node is unlinked: device_del() runs under mpq_lock, and devtmpfs
	 * unlinks the node before it returns. Only then can the minor go to
	 * a new queue, so a linked inode seen under mpq_lock is the node of
	 * the queue idr_find() returns, and an unlinked one must not open it.
	 * Once mpq_lock is dropped a remove may free nq: only q is ours.
	 */
	mutex_lock(&mpq_lock);
	nq = idr_find(&mpq_minors, iminor(inode));
	if (nq && inode->i_nlink) {
		q = nq->q;
		mpq_queue_get_ref(q);
	}
	mutex_unlock(&mpq_lock);
	if (!q)
		return -ENXIO;	/* removed between lookup and open */
	file->private_data = mpq_file_new(q);
	if (!file->private_data) {
		mpq_queue_put_ref(q);
		return -ENOMEM;
	}
	file->f_mode |= FMODE_NOWAIT;
	return stream_open(inode, file);
}

static int mpq_queue_release_file(struct inode *inode, struct file *file)
{
	mpq_file_free(file->private_data);
	return 0;
}

static long mpq_ioctl_xfer(struct file *file, unsigned int cmd,
			   struct mpq_xfer __user *uarg)
{
	struct iov_iter iter;
	const ktime_t *dp;
	struct mpq_xfer x;
	ktime_t deadline;
	size_t needed;
	long ret;

	if (copy_from_user(&x, uarg, sizeof(x)))
		return -EFAULT;
	if ((x.flags & ~MPQ_XFER_FLAGS) || (cmd == MPQ_IOC_PUT && x.deliveries))
		return -EINVAL;
	ret = mpq_deadline(&x.deadline, x.flags, &deadline, &dp);
	if (ret)
		return ret;
	if (cmd == MPQ_IOC_PUT) {
		if (!(file->f_mode & FMODE_WRITE))
			return -EBADF;
		/* Longer than any message may be: say so, do not cut it. */
		if (x.len > MAX_RW_COUNT)
			return -EMSGSIZE;
		mpq_ubuf_iter(&iter, ITER_SOURCE, x.buf, x.len);
		return mpq_send_one(file, &iter, x.flags & MPQ_XFER_NONBLOCK,
				   dp);
	}
	if (!(file->f_mode & FMODE_READ))
		return -EBADF;
	mpq_ubuf_iter(&iter, ITER_DEST, x.buf, x.len);
	ret = mpq_receive_one(file, &iter, x.flags & MPQ_XFER_NONBLOCK, dp,
			      &needed, mpq_queue_redelivers(mpq_fq(file)) ?
			      &uarg->deliveries : NULL);
	if (ret == -EMSGSIZE && put_user((u64)needed, &uarg->len))
		return -EFAULT;
	return ret;
}

/*
 * Build up to MPQ_BATCH_CHUNK messages from @vec; returns how many. Only
 * the first may fail for a full queue (@nonblock): the others are built
 * to go in as far as they fit.
 */
static int mpq_batch_build(struct mpq_file *f, const struct mpq_msgvec *vec,
			   unsigned int n, bool nonblock,
			   struct list_head *msgs)
{
	struct iov_iter iter;
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		if (vec[i].len > MAX_RW_COUNT) {
			ret = -EMSGSIZE;
		} else {
			mpq_ubuf_iter(&iter, ITER_SOURCE, vec[i].buf,
				      vec[i].len);
			ret = mpq_msg_from_iter(f, &iter, nonblock && !i, msgs);
		}
		if (ret)
			return i ? i : ret;
	}
	return n;
}

static long mpq_send_many(struct file *file, const struct mpq_batch *b,
			  const ktime_t *deadline)
{
	struct mpq_msgvec __user *uvec = u64_to_user_ptr(b->vec);
	struct mpq_file *f = file->private_data;
	struct mpq_msgvec vec[MPQ_BATCH_CHUNK];
	bool nonblock = mpq_nonblock(file, b->flags & MPQ_XFER_NONBLOCK);
	struct mpq_queue *q = f->q;
	unsigned int done = 0, n;
	LIST_HEAD(msgs);
	int built, ret;

	if (READ_ONCE(q->state) != MPQ_STATE_OPEN)
		return -EPIPE;
	while (done < b->count) {
		n = min_t(unsigned int, b->count - done, MPQ_BATCH_CHUNK);
		if (copy_from_user(vec, uvec + done, n * sizeof(vec[0]))) {
			ret = -EFAULT;
			break;
		}
		built = mpq_batch_build(f, vec, n, nonblock || done, &msgs);
		if (built < 0) {
			ret = built;
			break;
		}
		/* Only the very first message of the batch may block. */
		ret = mpq_queue_send(q, &msgs, nonblock || done, deadline);
		mpq_msg_free_list(&msgs);
		if (ret < 0)
			break;
		done += ret;
		if (ret < n)
			break;
	}
	return done ? done : ret;
}

static long mpq_receive_many(struct file *file, const struct mpq_batch *b,
			     const ktime_t *deadline)
{
	struct mpq_msgvec __user *uvec = u64_to_user_ptr(b->vec);
	u32 __user *udel = u64_to_user_ptr(b->deliveries);
	struct mpq_file *f = file->private_data;
	struct mpq_queue *q = f->q;
	struct mpq_msgvec vec[MPQ_BATCH_CHUNK];
	size_t caps[MPQ_BATCH_CHUNK];
	bool nonblock = mpq_nonblock(file, b->flags & MPQ_XFER_NONBLOCK);
	unsigned int done = 0, n, i;
	struct iov_iter iter;
	struct mpq_msg *msg;
	LIST_HEAD(sent);
	size_t needed;
	LIST_HEAD(out);
	int ret = 0;

	while (done < b->count) {
		n = min_t(unsigned int, b->count - done, MPQ_BATCH_CHUNK);
		if (copy_from_user(vec, uvec + done, n * sizeof(vec[0]))) {
			ret = -EFAULT;
			break;
		}
		for (i = 0; i < n; i++)
			caps[i] = min_t(u64, vec[i].len, MAX_RW_COUNT);
		ret = mpq_queue_receive(q, caps, n, nonblock || done, deadline,
					&out, &needed);
		if (ret <= 0)
			break;
		i = 0;
		list_for_each_entry(msg, &out, link) {
			mpq_ubuf_iter(&iter, ITER_DEST, vec[i].buf, caps[i]);
			if (mpq_msg_copy_out(&iter, msg) ||
			    put_user((u64)msg->len, &uvec[done + i].result))
				break;
			if (udel && put_user(mpq_msg_deliveries(msg),
					     &udel[done + i]))
				break;
			i++;
		}
		done += i;
		if (!list_entry_is_head(msg, &out, link)) {
			/* Free what was delivered; the rest goes back. */
			list_cut_position(&sent, &out, msg->link.prev);
			mpq_delivered(f, &sent);
			mpq_queue_requeue(q, &out);
			ret = -EFAULT;
			break;
		}
		mpq_delivered(f, &out);
		if (ret < n)
			break;
	}
	/* EMSGSIZE past the first message just ends the batch early. */
	return done ? done : ret;
}

static long mpq_ioctl_batch(struct file *file, unsigned int cmd,
			    struct mpq_batch __user *uarg)
{
	const ktime_t *dp;
	struct mpq_batch b;
	ktime_t deadline;
	long ret;

	if (copy_from_user(&b, uarg, sizeof(b)))
		return -EFAULT;
	if ((b.flags & ~MPQ_XFER_FLAGS) || b.__reserved ||
	    (cmd == MPQ_IOC_PUT_MANY && b.deliveries))
		return -EINVAL;
	if (!b.count || b.count > MPQ_BATCH_MAX)
		return -EINVAL;
	ret = mpq_deadline(&b.deadline, b.flags, &deadline, &dp);
	if (ret)
		return ret;
	if (cmd == MPQ_IOC_PUT_MANY) {
		if (!(file->f_mode & FMODE_WRITE))
			return -EBADF;
		return mpq_send_many(file, &b, dp);
	}
	if (!(file->f_mode & FMODE_READ))
		return -EBADF;
	return mpq_receive_many(file, &b, dp);
}

static int mpq_open_fd(struct mpq_queue *q, int accmode, u32 how);

static long mpq_info(struct mpq_queue *q, struct mpq_info __user *uarg)
{
	struct mpq_info info = {
		.maxsize = q->attr.maxsize,
		.msgsize_max = q->attr.msgsize_max,
		.maxbytes = q->attr.maxbytes,
		.flags = q->attr.flags,
		.max_deliveries = q->attr.max_deliveries,
	};

	strscpy(info.dead_letter, mpq_dead_letter_name(q),
		sizeof(info.dead_letter));
	return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
}

/* A new file of the same queue, with the same access mode. */
static int mpq_reopen(struct file *file, u32 __user *uarg)
{
	struct mpq_queue *q = mpq_fq(file);
	u32 how;

	if (get_user(how, uarg))
		return -EFAULT;
	if (how & ~MPQ_REOPEN_FLAGS)
		return -EINVAL;
	mpq_queue_get_ref(q);
	return mpq_open_fd(q, file->f_flags & O_ACCMODE, how);
}

/* Task done: on a redelivery queue, an acknowledgment through this file. */
static int mpq_task_done(struct mpq_file *f, u64 count)
{
	if (mpq_queue_redelivers(f->q))
		return mpq_queue_ack(f->q, &f->owner, count);
	return mpq_queue_task_done(f->q, count);
}

static long mpq_queue_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	struct mpq_file *f = file->private_data;
	struct mpq_queue *q = f->q;
	void __user *uarg = (void __user *)arg;
	const ktime_t *dp;
	struct mpq_join j;
	struct mpq_stat st;
	ktime_t deadline;
	u64 count;
	u32 flags;
	int ret;

	switch (cmd) {
	case MPQ_IOC_PUT:
	case MPQ_IOC_GET:
		return mpq_ioctl_xfer(file, cmd, uarg);
	case MPQ_IOC_PUT_MANY:
	case MPQ_IOC_GET_MANY:
		return mpq_ioctl_batch(file, cmd, uarg);
	case FIONREAD:
		return put_user((int)mpq_queue_head_len(q), (int __user *)uarg);
	case MPQ_IOC_TASK_DONE:
		if (!(file->f_mode & FMODE_READ))
			return -EBADF;
		if (get_user(count, (u64 __user *)uarg))
			return -EFAULT;
		return mpq_task_done(f, count);
	case MPQ_IOC_NACK:
		if (!(file->f_mode & FMODE_READ))
			return -EBADF;
		if (!mpq_queue_redelivers(q))
			return -EOPNOTSUPP;
		if (get_user(count, (u64 __user *)uarg))
			return -EFAULT;
		return mpq_queue_nack(q, &f->owner, count);
	case MPQ_IOC_INFO:
		return mpq_info(q, uarg);
	case MPQ_IOC_REOPEN:
		return mpq_reopen(file, uarg);
	case MPQ_IOC_JOIN:
		if (copy_from_user(&j, uarg, sizeof(j)))
			return -EFAULT;
		if ((j.flags & ~MPQ_XFER_TIMEOUT) || j.__reserved)
			return -EINVAL;
		ret = mpq_deadline(&j.deadline, j.flags, &deadline, &dp);
		return ret ? ret : mpq_queue_join(q, dp);
	case MPQ_IOC_SHUTDOWN:
		if (!(file->f_mode & FMODE_WRITE))
			return -EBADF;
		if (get_user(flags, (u32 __user *)uarg))
			return -EFAULT;
		if (flags & ~MPQ_SHUTDOWN_FLAGS)
			return -EINVAL;
		mpq_queue_shutdown(q, flags & MPQ_SHUTDOWN_IMMEDIATE);
		return 0;
	case MPQ_IOC_STAT:
		mpq_queue_stat(q, &st);
		return copy_to_user(uarg, &st, sizeof(st)) ? -EFAULT : 0;
	}
	return -ENOTTY;
}

/*
 * IORING_OP_URING_CMD: what read and write cannot say (see the UAPI). A
 * command never waits: on 6.1 a uring_cmd that waits cannot be cancelled
 * (IORING_URING_CMD_CANCELABLE came in 6.7), so it would hold up the
 * teardown of its ring. Its result is posted here and -EIOCBQUEUED
 * returned, as ublk does, so that "would block" reaches the CQE as
 * -EAGAIN rather than sending the command to an io-wq worker to sleep in.
 * @ioucmd->cmd is in memory the submitter shares: each field is read once.
 */
static int mpq_queue_uring_cmd(struct io_uring_cmd *ioucmd,
			       unsigned int issue_flags)
{
	const struct mpq_uring_cmd *uc = ioucmd->cmd;
	struct file *file = ioucmd->file;
	u64 addr = READ_ONCE(uc->addr);
	u32 len = READ_ONCE(uc->len);
	struct iov_iter iter;
	size_t needed = 0;
	long ret;

	if (READ_ONCE(uc->flags) || (ioucmd->flags & IORING_URING_CMD_FIXED)) {
		ret = -EINVAL;
	} else if (ioucmd->cmd_op == MPQ_URING_CMD_PUT) {
		ret = -EBADF;
		if (file->f_mode & FMODE_WRITE) {
			mpq_ubuf_iter(&iter, ITER_SOURCE, addr, len);
			ret = len > MAX_RW_COUNT ? -EMSGSIZE :
			      mpq_send_one(file, &iter, true, NULL);
		}
	} else if (ioucmd->cmd_op == MPQ_URING_CMD_GET) {
		ret = -EBADF;
		if (file->f_mode & FMODE_READ) {
			mpq_ubuf_iter(&iter, ITER_DEST, addr, len);
			ret = mpq_receive_one(file, &iter, true, NULL, &needed,
					      NULL);
		}
	} else if (ioucmd->cmd_op == MPQ_URING_CMD_TASK_DONE) {
		ret = -EBADF;
		if (file->f_mode & FMODE_READ)
			ret = len ? -EINVAL :
			      mpq_task_done(file->private_data, addr);
	} else {
		ret = -ENOTTY;
	}
	io_uring_cmd_done(ioucmd, ret, ret == -EMSGSIZE ? needed : 0,
			  issue_flags);
	return -EIOCBQUEUED;
}

static const struct file_operations mpq_queue_fops = {
	.owner = THIS_MODULE,
	.open = mpq_queue_open,
	.release = mpq_queue_release_file,
	.read = mpq_queue_read,
	.write = mpq_queue_write,
	.read_iter = mpq_queue_read_iter,
	.write_iter = mpq_queue_write_iter,
	.poll = mpq_queue_fpoll,
	.unlocked_ioctl = mpq_queue_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.uring_cmd = mpq_queue_uring_cmd,
	.fasync = mpq_queue_fasync,
	.llseek = no_llseek,
};

/* ---- /dev/mpq/control ---- */

static bool mpq_name_valid(const char *name)
{
	size_t i, len = strnlen(name, MPQ_NAME_SIZE);

	if (!len || len > MPQ_NAME_MAX || name[0] == '.' ||
	    !strcmp(name, "control"))
		return false;
	/* ASCII only: the kernel's isalnum() takes Latin-1 letters too. */
	for (i = 0; i < len; i++)
		if (!isascii(name[i]) ||
		    (!isalnum(name[i]) && !strchr("._-", name[i])))
			return false;
	return true;
}

static bool mpq_reserved_zero(const u64 *r, size_t n)
{
	while (n--)
		if (*r++)
			return false;
	return true;
}

static int mpq_create_attr(const struct mpq_create *c, struct mpq_attr_k *attr)
{
	u64 msgsize_cap = READ_ONCE(msgsize_limit);
	u64 maxbytes_cap = READ_ONCE(maxbytes_limit);
	bool redeliver = c->flags & MPQ_CREATE_REDELIVER;

	if (!mpq_reserved_zero(c->__reserved, ARRAY_SIZE(c->__reserved)) ||
	    c->__reserved0)
		return -EINVAL;
	if (!redeliver && (c->max_deliveries || c->dead_letter))
		return -EINVAL;
	if (c->dead_letter && !c->max_deliveries)
		return -EINVAL;
	attr->flags = c->flags & MPQ_CREATE_REDELIVER;
	attr->max_deliveries = c->max_deliveries;
	/* Defaults shrink to fit the limits; explicit values must fit them. */
	attr->maxsize = c->maxsize;
	attr->maxbytes = c->maxbytes ?: min(MPQ_DEFAULT_MAXBYTES, maxbytes_cap);
	attr->msgsize_max = c->msgsize_max ?:
		min3(MPQ_DEFAULT_MSGSIZE_MAX, msgsize_cap, attr->maxbytes);
	if (attr->msgsize_max > msgsize_cap || attr->maxbytes > maxbytes_cap ||
	    attr->msgsize_max > attr->maxbytes)
		return -EINVAL;
	return 0;
}

/* @name is NUL-terminated within MPQ_NAME_SIZE; what follows may be junk. */
static struct mpq_named *mpq_find(const char *name)
{
	char key[MPQ_NAME_SIZE] = {};

	lockdep_assert_held(&mpq_lock);
	strscpy(key, name, sizeof(key));
	return rhashtable_lookup_fast(&mpq_by_name, key, mpq_name_params);
}

/* May the caller put into @nq, as open(2) of its node for writing would? */
static bool mpq_may_write(const struct mpq_named *nq)
{
	umode_t mode = nq->mode;

	if (uid_eq(current_fsuid(), nq->uid))
		mode >>= 6;
	else if (in_group_p(nq->gid))
		mode >>= 3;
	return (mode & 0002) || capable(CAP_DAC_OVERRIDE);
}

/*
 * The dead-letter queue @c names, with a reference, and its name in @name;
 * NULL if @c names none. @self is the name of the queue being created.
 */
static struct mpq_queue *mpq_dead_letter_get(const struct mpq_create *c,
					     const char *self, char *name)
{
	struct mpq_queue *dlq = NULL;
	struct mpq_named *nq;
	long len;

	if (!c->dead_letter)
		return NULL;
	len = strncpy_from_user(name, u64_to_user_ptr(c->dead_letter),
				MPQ_NAME_SIZE);
	if (len < 0)
		return ERR_PTR(len);
	if (len == MPQ_NAME_SIZE || !mpq_name_valid(name) ||
	    !strcmp(name, self))
		return ERR_PTR(-EINVAL);
	mutex_lock(&mpq_lock);
	nq = mpq_find(name);
	if (!nq) {
		dlq = ERR_PTR(-ENOENT);
	} else if (!mpq_may_write(nq)) {
		dlq = ERR_PTR(-EACCES);
	} else {
		dlq = nq->q;
		mpq_queue_get_ref(dlq);
	}
	mutex_unlock(&mpq_lock);
	return dlq;
}

/*
 * A queue owned by the caller, charged to them (see struct mpq_user), with
 * the dead-letter queue @c names. @self is its name, "" if anonymous.
 */
static struct mpq_queue *mpq_queue_new(const struct mpq_create *c,
				       const struct mpq_attr_k *attr,
				       const char *self)
{
	struct mpq_queue *q, *dlq;
	char name[MPQ_NAME_SIZE];
	struct mpq_user *user;
	char *dlq_name = NULL;

	dlq = mpq_dead_letter_get(c, self, name);
	if (IS_ERR(dlq))
		return dlq;
	if (dlq) {
		dlq_name = kstrdup(name, GFP_KERNEL_ACCOUNT);
		if (!dlq_name) {
			q = ERR_PTR(-ENOMEM);
			goto put;
		}
	}
	user = mpq_user_get(mpq_user_current());
	if (!user) {
		q = ERR_PTR(-ENOMEM);
		goto put;
	}
	q = mpq_queue_alloc(attr, user, !capable(CAP_SYS_RESOURCE));
	mpq_user_put(user);
	if (IS_ERR(q))
		goto put;
	q->dlq = dlq;
	q->dlq_name = dlq_name;
	return q;

put:
	kfree(dlq_name);
	mpq_queue_put_ref(dlq);
	return q;
}

/*
 * A descriptor for a new anonymous file of @q, open for @accmode, with
 * @how's MPQ_CREATE_CLOEXEC and MPQ_CREATE_NONBLOCK. It takes over the
 * caller's reference on @q, which is dropped on failure.
 */
static int mpq_open_fd(struct mpq_queue *q, int accmode, u32 how)
{
	struct mpq_file *f = mpq_file_new(q);
	int flags = accmode;
	struct file *file;
	int fd;

	if (how & MPQ_CREATE_CLOEXEC)
		flags |= O_CLOEXEC;
	if (how & MPQ_CREATE_NONBLOCK)
		flags |= O_NONBLOCK;
	if (!f) {
		mpq_queue_put_ref(q);
		return -ENOMEM;
	}
	fd = get_unused_fd_flags(flags & O_CLOEXEC);
	if (fd < 0)
		goto free;
	file = anon_inode_getfile("[mpq]", &mpq_queue_fops, f, flags);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		fd = PTR_ERR(file);
		goto free;
	}
	file->f_mode |= FMODE_NOWAIT;
	fd_install(fd, file);
	return fd;

free:
	mpq_file_free(f);
	return fd;
}

static int mpq_create_anon(const struct mpq_create *c)
{
	struct mpq_attr_k attr;
	struct mpq_queue *q;
	int ret;

	if (c->flags & ~MPQ_CREATE_FLAGS || c->mode ||
	    memchr_inv(c->name, 0, sizeof(c->name)))
		return -EINVAL;
	ret = mpq_create_attr(c, &attr);
	if (ret)
		return ret;
	q = mpq_queue_new(c, &attr, "");
	if (IS_ERR(q))
		return PTR_ERR(q);
	return mpq_open_fd(q, O_RDWR, c->flags);
}

static int mpq_create_named(const struct mpq_create *c)
{
	struct mpq_attr_k attr;
	struct mpq_named *nq;
	int minor, ret;

	if ((c->flags & ~MPQ_CREATE_REDELIVER) || (c->mode & ~0777) ||
	    !mpq_name_valid(c->name))
		return -EINVAL;
	ret = mpq_create_attr(c, &attr);
	if (ret)
		return ret;

	nq = kzalloc(sizeof(*nq), GFP_KERNEL_ACCOUNT);
	if (!nq)
		return -ENOMEM;
	nq->q = mpq_queue_new(c, &attr, c->name);
	if (IS_ERR(nq->q)) {
		ret = PTR_ERR(nq->q);
		kfree(nq);
		return ret;
	}
	nq->uid = current_fsuid();
	nq->gid = current_fsgid();
	nq->mode = c->mode ?: MPQ_DEFAULT_MODE;
	device_initialize(&nq->dev);
	nq->dev.class = mpq_class;
	nq->dev.type = &mpq_named_type;
	/* From here on put_device() frees nq and its queue. */
	strscpy(nq->name, c->name, sizeof(nq->name));
	ret = dev_set_name(&nq->dev, "%s", nq->name);
	if (ret)
		goto put;

	mutex_lock(&mpq_lock);
	if (mpq_find(c->name)) {
		ret = -EEXIST;
		goto unlock;
	}
	if (nq->q->limited &&
	    nq->q->user->named >= READ_ONCE(queues_per_user)) {
		ret = -ENOSPC;
		goto unlock;
	}
	/*
	 * Cyclic, so a removed queue's minor is the last to be handed out
	 * again: a node that outlives its queue (made by mknod, or left by
	 * a udev slow to remove it) reaches no new queue for a million
	 * creations.
	 * See mpq_queue_open() for why devtmpfs nodes never do.
	 */
	minor = idr_alloc_cyclic(&mpq_minors, nq, 1, MPQ_MINORS, GFP_KERNEL);
	if (minor < 0) {
		ret = minor;
		goto unlock;
	}
	nq->dev.devt = MKDEV(MAJOR(mpq_devt), minor);
	ret = rhashtable_insert_fast(&mpq_by_name, &nq->hnode, mpq_name_params);
	if (ret) {
		idr_remove(&mpq_minors, minor);
		goto unlock;
	}
	ret = device_add(&nq->dev);
	if (ret) {
		rhashtable_remove_fast(&mpq_by_name, &nq->hnode,
				       mpq_name_params);
		idr_remove(&mpq_minors, minor);
		goto unlock;
	}
	list_add_tail(&nq->link, &mpq_names);
	nq->q->user->named++;
	/* Unloading would drop the queue: a named queue pins the module. */
	__module_get(THIS_MODULE);
	mutex_unlock(&mpq_lock);
	return 0;

unlock:
	mutex_unlock(&mpq_lock);
put:
	put_device(&nq->dev);
	return ret;
}

static int mpq_remove(const char *name)
{
	struct mpq_named *nq;
	int ret = 0;

	if (!memchr(name, 0, MPQ_NAME_SIZE))
		return -EINVAL;
	mutex_lock(&mpq_lock);
	nq = mpq_find(name);
	if (!nq) {
		ret = -ENOENT;
	} else if (!uid_eq(nq->uid, current_fsuid()) &&
		   !capable(CAP_SYS_ADMIN)) {
		ret = -EPERM;
	} else {
		idr_remove(&mpq_minors, MINOR(nq->dev.devt));
		rhashtable_remove_fast(&mpq_by_name, &nq->hnode,
				       mpq_name_params);
		list_del(&nq->link);
		nq->q->user->named--;
		mpq_queue_unlink(nq->q);
		/* Under the lock, so the name is free when we return. */
		device_del(&nq->dev);
	}
	mutex_unlock(&mpq_lock);
	if (ret)
		return ret;
	/* Open descriptors keep the queue; the last close frees it. */
	put_device(&nq->dev);
	module_put(THIS_MODULE);
	return 0;
}

static long mpq_list(struct mpq_list __user *uarg)
{
	struct mpq_named *nq;
	struct mpq_list l;
	char *buf = NULL;
	size_t len = 0;
	long ret;

	if (copy_from_user(&l, uarg, sizeof(l)))
		return -EFAULT;
	if (!mpq_reserved_zero(l.__reserved, ARRAY_SIZE(l.__reserved)))
		return -EINVAL;
	mutex_lock(&mpq_lock);
	list_for_each_entry(nq, &mpq_names, link)
		len += strlen(dev_name(&nq->dev)) + 1;
	if (l.size && len <= l.size) {
		buf = kvmalloc(len, GFP_KERNEL);
		if (buf) {
			len = 0;
			list_for_each_entry(nq, &mpq_names, link)
				len += sprintf(buf + len, "%s",
					       dev_name(&nq->dev)) + 1;
		}
	}
	mutex_unlock(&mpq_lock);
	if (!l.size)
		return len;
	if (len > l.size)
		return -ERANGE;
	if (!buf)
		return -ENOMEM;
	ret = copy_to_user(u64_to_user_ptr(l.buf), buf, len) ? -EFAULT : len;
	kvfree(buf);
	return ret;
}

static long mpq_usage(struct mpq_usage __user *uarg)
{
	bool limited = !ns_capable_noaudit(&init_user_ns, CAP_SYS_RESOURCE);
	struct mpq_usage u = {};
	struct mpq_user *user;

	if (limited) {
		u.bytes_max = READ_ONCE(mpq_bytes_per_user);
		u.named_max = READ_ONCE(queues_per_user);
	}
	mutex_lock(&mpq_lock);
	user = mpq_user_find(mpq_user_current());
	if (user) {
		u.bytes = atomic_long_read(&user->bytes);
		u.queues = atomic_read(&user->queues);
		u.named = user->named;
	}
	mutex_unlock(&mpq_lock);
	if (user)
		mpq_user_put(user);
	return copy_to_user(uarg, &u, sizeof(u)) ? -EFAULT : 0;
}

static long mpq_control_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	struct mpq_create c;
	struct mpq_name n;

	switch (cmd) {
	case MPQ_IOC_CREATE:
	case MPQ_IOC_CREATE_NAMED:
		if (copy_from_user(&c, uarg, sizeof(c)))
			return -EFAULT;
		if (cmd == MPQ_IOC_CREATE)
			return mpq_create_anon(&c);
		return mpq_create_named(&c);
	case MPQ_IOC_REMOVE:
		if (copy_from_user(&n, uarg, sizeof(n)))
			return -EFAULT;
		return mpq_remove(n.name);
	case MPQ_IOC_LIST:
		return mpq_list(uarg);
	case MPQ_IOC_USAGE:
		return mpq_usage(uarg);
	}
	return -ENOTTY;
}

static const struct file_operations mpq_control_fops = {
	.owner = THIS_MODULE,
	.open = nonseekable_open,
	.unlocked_ioctl = mpq_control_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = no_llseek,
};

static int __init mpq_init(void)
{
	int ret;

	ret = mpq_msg_cache_init();
	if (ret)
		return ret;
	ret = rhashtable_init(&mpq_by_name, &mpq_name_params);
	if (ret)
		goto msg_cache;
	ret = alloc_chrdev_region(&mpq_devt, 0, MPQ_MINORS, "mpq");
	if (ret)
		goto names;
	mpq_class = class_create(THIS_MODULE, "mpq");
	if (IS_ERR(mpq_class)) {
		ret = PTR_ERR(mpq_class);
		goto unregister;
	}
	mpq_class->devnode = mpq_class_devnode;
	cdev_init(&mpq_queue_cdev, &mpq_queue_fops);
	mpq_queue_cdev.owner = THIS_MODULE;
	ret = cdev_add(&mpq_queue_cdev, MKDEV(MAJOR(mpq_devt), 1),
		       MPQ_MINORS - 1);
	if (ret)
		goto class;
	cdev_init(&mpq_control_cdev, &mpq_control_fops);
	mpq_control_cdev.owner = THIS_MODULE;
	ret = cdev_add(&mpq_control_cdev, mpq_devt, 1);
	if (ret)
		goto queue_cdev;
	mpq_control_dev = device_create_with_groups(mpq_class, NULL, mpq_devt,
						    NULL, NULL, "control");
	if (IS_ERR(mpq_control_dev)) {
		ret = PTR_ERR(mpq_control_dev);
		goto control_cdev;
	}
	return 0;

control_cdev:
	cdev_del(&mpq_control_cdev);
queue_cdev:
	cdev_del(&mpq_queue_cdev);
class:
	class_destroy(mpq_class);
unregister:
	unregister_chrdev_region(mpq_devt, MPQ_MINORS);
names:
	rhashtable_destroy(&mpq_by_name);
msg_cache:
	mpq_msg_cache_exit();
	return ret;
}

/* Named queues and open descriptors pin the module: all are gone here. */
static void __exit mpq_exit(void)
{
	device_destroy(mpq_class, mpq_devt);
	cdev_del(&mpq_control_cdev);
	cdev_del(&mpq_queue_cdev);
	class_destroy(mpq_class);
	unregister_chrdev_region(mpq_devt, MPQ_MINORS);
	idr_destroy(&mpq_minors);
	rhashtable_destroy(&mpq_by_name);
	mpq_msg_cache_exit();
}

module_init(mpq_init);
module_exit(mpq_exit);

MODULE_DESCRIPTION("Multiprocessing queues: blocking FIFOs with task accounting");
MODULE_AUTHOR("The mpq developers");
MODULE_LICENSE("GPL");
