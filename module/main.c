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
#include <asm/ioctls.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/time64.h>
#include <linux/uaccess.h>

#include "mpq.h"

#define MPQ_MINORS		BIT(16)		/* control + named queues */
#define MPQ_MSGSIZE_HARD_MAX	BIT_ULL(30)	/* lengths fit an int */
#define MPQ_MAXBYTES_HARD_MAX	BIT_ULL(40)
#define MPQ_BATCH_CHUNK		16		/* msgvecs copied at a time */

static unsigned long long msgsize_limit = 16ULL << 20;
static unsigned long long maxbytes_limit = 1ULL << 30;
static unsigned int queues_per_user = 256;

static int mpq_param_set_msgsize(const char *val, const struct kernel_param *kp)
{
	unsigned long long v;
	int ret = kstrtoull(val, 0, &v);

	if (ret)
		return ret;
	if (!v || v > MPQ_MSGSIZE_HARD_MAX)
		return -EINVAL;
	*(unsigned long long *)kp->arg = v;
	return 0;
}

static int mpq_param_set_maxbytes(const char *val, const struct kernel_param *kp)
{
	unsigned long long v;
	int ret = kstrtoull(val, 0, &v);

	if (ret)
		return ret;
	if (!v || v > MPQ_MAXBYTES_HARD_MAX)
		return -EINVAL;
	*(unsigned long long *)kp->arg = v;
	return 0;
}

static const struct kernel_param_ops mpq_msgsize_ops = {
	.set = mpq_param_set_msgsize,
	.get = param_get_ullong,
};

static const struct kernel_param_ops mpq_maxbytes_ops = {
	.set = mpq_param_set_maxbytes,
	.get = param_get_ullong,
};

module_param_cb(msgsize_limit, &mpq_msgsize_ops, &msgsize_limit, 0644);
MODULE_PARM_DESC(msgsize_limit, "Largest msgsize_max a queue may ask for (bytes, default 16 MiB)");
module_param_cb(maxbytes_limit, &mpq_maxbytes_ops, &maxbytes_limit, 0644);
MODULE_PARM_DESC(maxbytes_limit, "Largest maxbytes a queue may ask for (bytes, default 1 GiB)");
module_param(queues_per_user, uint, 0644);
MODULE_PARM_DESC(queues_per_user, "Named queues one user may own (default 256; CAP_SYS_RESOURCE exempt)");

/*
 * A named queue. It holds a reference on its queue and lives as long as
 * its device; the registry (mpq_names, mpq_minors) holds the device until
 * the queue is removed. All registry changes happen under mpq_lock.
 */
struct mpq_named {
	struct device dev;
	struct mpq_queue *q;
	struct list_head link;		/* in mpq_names */
	kuid_t uid;
	kgid_t gid;
	umode_t mode;
};

static DEFINE_MUTEX(mpq_lock);
static LIST_HEAD(mpq_names);
static DEFINE_IDR(mpq_minors);

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

static ssize_t shutdown_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct mpq_stat st;

	mpq_queue_stat(to_named(dev)->q, &st);
	return sysfs_emit(buf, "%u\n", st.state);
}
static DEVICE_ATTR_RO(shutdown);

static struct attribute *mpq_queue_attrs[] = {
	&mpq_attr_qsize.attr.attr,
	&mpq_attr_bytes.attr.attr,
	&mpq_attr_unfinished.attr.attr,
	&mpq_attr_maxsize.attr.attr,
	&mpq_attr_msgsize_max.attr.attr,
	&mpq_attr_maxbytes.attr.attr,
	&dev_attr_shutdown.attr,
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

static int mpq_get_deadline(const struct __kernel_timespec *ts, u32 flags,
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

/* Copy @msg's payload from @buf, segment by segment. */
static int mpq_msg_copy_in(struct mpq_msg *msg, const void __user *buf)
{
	size_t alen = mpq_msg_headlen(msg->len), left = msg->len - alen;
	struct mpq_msgseg *seg;

	if (copy_from_user(msg->data, buf, alen))
		return -EFAULT;
	for (seg = msg->next; seg; seg = seg->next, left -= alen) {
		buf += alen;
		alen = min_t(size_t, left, MPQ_SEG_DATALEN);
		if (copy_from_user(seg->data, buf, alen))
			return -EFAULT;
	}
	return 0;
}

/* Copy @msg's payload to @buf, segment by segment. */
static int mpq_msg_copy_out(void __user *buf, const struct mpq_msg *msg)
{
	size_t alen = mpq_msg_headlen(msg->len), left = msg->len - alen;
	const struct mpq_msgseg *seg;

	if (copy_to_user(buf, msg->data, alen))
		return -EFAULT;
	for (seg = msg->next; seg; seg = seg->next, left -= alen) {
		buf += alen;
		alen = min_t(size_t, left, MPQ_SEG_DATALEN);
		if (copy_to_user(buf, seg->data, alen))
			return -EFAULT;
	}
	return 0;
}

/* Build a one-message list from user memory: the copy happens unlocked. */
static int mpq_msg_from_user(struct mpq_queue *q, const void __user *buf,
			     u64 len, struct list_head *msgs)
{
	struct mpq_msg *msg;

	if (!len)
		return -EINVAL;
	if (len > q->attr.msgsize_max)
		return -EMSGSIZE;
	msg = mpq_msg_alloc(len);
	if (!msg)
		return -ENOMEM;
	if (mpq_msg_copy_in(msg, buf)) {
		mpq_msg_free(msg);
		return -EFAULT;
	}
	list_add_tail(&msg->link, msgs);
	return 0;
}

static int mpq_put_one(struct file *file, const void __user *buf, u64 len,
		       bool nonblock, const ktime_t *deadline)
{
	struct mpq_queue *q = file->private_data;
	LIST_HEAD(msgs);
	int ret;

	/* Fail fast after shutdown instead of copying for nothing. */
	if (READ_ONCE(q->state) != MPQ_STATE_OPEN)
		return -EPIPE;
	ret = mpq_msg_from_user(q, buf, len, &msgs);
	if (ret)
		return ret;
	ret = mpq_queue_put(q, &msgs, nonblock || (file->f_flags & O_NONBLOCK),
			    deadline);
	mpq_msg_free_list(&msgs);
	return ret < 0 ? ret : 0;
}

/*
 * Get one message into @buf. Returns its length, 0 at end of stream, or an
 * error; a message that cannot be copied out goes back to the head.
 */
static long mpq_get_one(struct file *file, void __user *buf, size_t cap,
			bool nonblock, const ktime_t *deadline, size_t *needed)
{
	struct mpq_queue *q = file->private_data;
	struct mpq_msg *msg;
	LIST_HEAD(out);
	long ret;

	ret = mpq_queue_get(q, &cap, 1, nonblock ||
			    (file->f_flags & O_NONBLOCK), deadline, &out,
			    needed);
	if (ret <= 0)
		return ret;
	msg = list_first_entry(&out, struct mpq_msg, link);
	if (mpq_msg_copy_out(buf, msg)) {
		mpq_queue_unget(q, &out);
		return -EFAULT;
	}
	ret = msg->len;
	mpq_msg_free(msg);
	return ret;
}

static ssize_t mpq_queue_read(struct file *file, char __user *buf,
			      size_t count, loff_t *ppos)
{
	size_t needed;

	return mpq_get_one(file, buf, count, false, NULL, &needed);
}

static ssize_t mpq_queue_write(struct file *file, const char __user *buf,
			       size_t count, loff_t *ppos)
{
	int ret = mpq_put_one(file, buf, count, false, NULL);

	return ret ? ret : count;
}

static __poll_t mpq_queue_fpoll(struct file *file, poll_table *pt)
{
	return mpq_queue_poll(file->private_data, file, pt);
}

static int mpq_queue_fasync(int fd, struct file *file, int on)
{
	struct mpq_queue *q = file->private_data;

	return fasync_helper(fd, file, on, &q->fasync);
}

static int mpq_queue_open(struct inode *inode, struct file *file)
{
	struct mpq_queue *q = NULL;
	struct mpq_named *nq;

	/* Once mpq_lock is dropped a remove may free nq: only q is ours. */
	mutex_lock(&mpq_lock);
	nq = idr_find(&mpq_minors, iminor(inode));
	if (nq) {
		q = nq->q;
		mpq_queue_get_ref(q);
	}
	mutex_unlock(&mpq_lock);
	if (!q)
		return -ENXIO;	/* removed between lookup and open */
	file->private_data = q;
	return stream_open(inode, file);
}

static int mpq_queue_release_file(struct inode *inode, struct file *file)
{
	mpq_queue_put_ref(file->private_data);
	return 0;
}

static long mpq_ioctl_xfer(struct file *file, unsigned int cmd,
			   struct mpq_xfer __user *uarg)
{
	const ktime_t *dp;
	struct mpq_xfer x;
	ktime_t deadline;
	size_t needed;
	long ret;

	if (copy_from_user(&x, uarg, sizeof(x)))
		return -EFAULT;
	if ((x.flags & ~MPQ_XFER_FLAGS) || x.__reserved)
		return -EINVAL;
	ret = mpq_get_deadline(&x.deadline, x.flags, &deadline, &dp);
	if (ret)
		return ret;
	if (cmd == MPQ_IOC_PUT) {
		if (!(file->f_mode & FMODE_WRITE))
			return -EBADF;
		return mpq_put_one(file, u64_to_user_ptr(x.buf), x.len,
				   x.flags & MPQ_XFER_NONBLOCK, dp);
	}
	if (!(file->f_mode & FMODE_READ))
		return -EBADF;
	ret = mpq_get_one(file, u64_to_user_ptr(x.buf),
			  min_t(u64, x.len, SIZE_MAX),
			  x.flags & MPQ_XFER_NONBLOCK, dp, &needed);
	if (ret == -EMSGSIZE && put_user((u64)needed, &uarg->len))
		return -EFAULT;
	return ret;
}

/* Build up to MPQ_BATCH_CHUNK messages from @vec; returns how many. */
static int mpq_batch_build(struct mpq_queue *q, const struct mpq_msgvec *vec,
			   unsigned int n, struct list_head *msgs)
{
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = mpq_msg_from_user(q, u64_to_user_ptr(vec[i].buf),
					vec[i].len, msgs);
		if (ret)
			return i ? i : ret;
	}
	return n;
}

static long mpq_put_many(struct file *file, const struct mpq_batch *b,
			 const ktime_t *deadline)
{
	struct mpq_msgvec __user *uvec = u64_to_user_ptr(b->vec);
	struct mpq_queue *q = file->private_data;
	struct mpq_msgvec vec[MPQ_BATCH_CHUNK];
	bool nonblock = (b->flags & MPQ_XFER_NONBLOCK) ||
			(file->f_flags & O_NONBLOCK);
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
		built = mpq_batch_build(q, vec, n, &msgs);
		if (built < 0) {
			ret = built;
			break;
		}
		/* Only the very first message of the batch may block. */
		ret = mpq_queue_put(q, &msgs, nonblock || done, deadline);
		mpq_msg_free_list(&msgs);
		if (ret < 0)
			break;
		done += ret;
		if (ret < n)
			break;
	}
	return done ? done : ret;
}

static long mpq_get_many(struct file *file, const struct mpq_batch *b,
			 const ktime_t *deadline)
{
	struct mpq_msgvec __user *uvec = u64_to_user_ptr(b->vec);
	struct mpq_queue *q = file->private_data;
	struct mpq_msgvec vec[MPQ_BATCH_CHUNK];
	size_t caps[MPQ_BATCH_CHUNK];
	bool nonblock = (b->flags & MPQ_XFER_NONBLOCK) ||
			(file->f_flags & O_NONBLOCK);
	unsigned int done = 0, n, i;
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
			caps[i] = min_t(u64, vec[i].len, SIZE_MAX);
		ret = mpq_queue_get(q, caps, n, nonblock || done, deadline,
				    &out, &needed);
		if (ret <= 0)
			break;
		i = 0;
		list_for_each_entry(msg, &out, link) {
			if (mpq_msg_copy_out(u64_to_user_ptr(vec[i].buf), msg) ||
			    put_user((u64)msg->len, &uvec[done + i].result))
				break;
			i++;
		}
		done += i;
		if (!list_entry_is_head(msg, &out, link)) {
			/* Free what was delivered; the rest goes back. */
			list_cut_position(&sent, &out, msg->link.prev);
			mpq_msg_free_list(&sent);
			mpq_queue_unget(q, &out);
			ret = -EFAULT;
			break;
		}
		mpq_msg_free_list(&out);
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
	if ((b.flags & ~MPQ_XFER_FLAGS) || b.__reserved[0] || b.__reserved[1])
		return -EINVAL;
	if (!b.count || b.count > MPQ_BATCH_MAX)
		return -EINVAL;
	ret = mpq_get_deadline(&b.deadline, b.flags, &deadline, &dp);
	if (ret)
		return ret;
	if (cmd == MPQ_IOC_PUT_MANY) {
		if (!(file->f_mode & FMODE_WRITE))
			return -EBADF;
		return mpq_put_many(file, &b, dp);
	}
	if (!(file->f_mode & FMODE_READ))
		return -EBADF;
	return mpq_get_many(file, &b, dp);
}

static long mpq_queue_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	struct mpq_queue *q = file->private_data;
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
		return mpq_queue_task_done(q, count);
	case MPQ_IOC_JOIN:
		if (copy_from_user(&j, uarg, sizeof(j)))
			return -EFAULT;
		if ((j.flags & ~MPQ_XFER_TIMEOUT) || j.__reserved)
			return -EINVAL;
		ret = mpq_get_deadline(&j.deadline, j.flags, &deadline, &dp);
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

static const struct file_operations mpq_queue_fops = {
	.owner = THIS_MODULE,
	.open = mpq_queue_open,
	.release = mpq_queue_release_file,
	.read = mpq_queue_read,
	.write = mpq_queue_write,
	.poll = mpq_queue_fpoll,
	.unlocked_ioctl = mpq_queue_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
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
	for (i = 0; i < len; i++)
		if (!isalnum(name[i]) && !strchr("._-", name[i]))
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

	if (!mpq_reserved_zero(c->__reserved, ARRAY_SIZE(c->__reserved)))
		return -EINVAL;
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

static int mpq_create_anon(const struct mpq_create *c)
{
	struct mpq_attr_k attr;
	struct mpq_queue *q;
	int fd, ret, flags = O_RDWR;

	if (c->flags & ~MPQ_CREATE_FLAGS || c->mode ||
	    memchr_inv(c->name, 0, sizeof(c->name)))
		return -EINVAL;
	ret = mpq_create_attr(c, &attr);
	if (ret)
		return ret;
	if (c->flags & MPQ_CREATE_CLOEXEC)
		flags |= O_CLOEXEC;
	if (c->flags & MPQ_CREATE_NONBLOCK)
		flags |= O_NONBLOCK;
	q = mpq_queue_alloc(&attr);
	if (!q)
		return -ENOMEM;
	fd = anon_inode_getfd("[mpq]", &mpq_queue_fops, q, flags);
	if (fd < 0)
		mpq_queue_put_ref(q);
	return fd;
}

static struct mpq_named *mpq_find(const char *name)
{
	struct mpq_named *nq;

	lockdep_assert_held(&mpq_lock);
	list_for_each_entry(nq, &mpq_names, link)
		if (!strcmp(dev_name(&nq->dev), name))
			return nq;
	return NULL;
}

static unsigned int mpq_count_owned(kuid_t uid)
{
	struct mpq_named *nq;
	unsigned int n = 0;

	lockdep_assert_held(&mpq_lock);
	list_for_each_entry(nq, &mpq_names, link)
		n += uid_eq(nq->uid, uid);
	return n;
}

static int mpq_create_named(const struct mpq_create *c)
{
	struct mpq_attr_k attr;
	struct mpq_named *nq;
	int minor, ret;

	if (c->flags || (c->mode & ~0777) || !mpq_name_valid(c->name))
		return -EINVAL;
	ret = mpq_create_attr(c, &attr);
	if (ret)
		return ret;

	nq = kzalloc(sizeof(*nq), GFP_KERNEL_ACCOUNT);
	if (!nq)
		return -ENOMEM;
	nq->q = mpq_queue_alloc(&attr);
	if (!nq->q) {
		kfree(nq);
		return -ENOMEM;
	}
	nq->uid = current_fsuid();
	nq->gid = current_fsgid();
	nq->mode = c->mode ?: MPQ_DEFAULT_MODE;
	device_initialize(&nq->dev);
	nq->dev.class = mpq_class;
	nq->dev.type = &mpq_named_type;
	/* From here on put_device() frees nq and its queue. */
	ret = dev_set_name(&nq->dev, "%s", c->name);
	if (ret)
		goto put;

	mutex_lock(&mpq_lock);
	if (mpq_find(c->name)) {
		ret = -EEXIST;
		goto unlock;
	}
	if (!capable(CAP_SYS_RESOURCE) &&
	    mpq_count_owned(nq->uid) >= READ_ONCE(queues_per_user)) {
		ret = -ENOSPC;
		goto unlock;
	}
	minor = idr_alloc(&mpq_minors, nq, 1, MPQ_MINORS, GFP_KERNEL);
	if (minor < 0) {
		ret = minor;
		goto unlock;
	}
	nq->dev.devt = MKDEV(MAJOR(mpq_devt), minor);
	ret = device_add(&nq->dev);
	if (ret) {
		idr_remove(&mpq_minors, minor);
		goto unlock;
	}
	list_add_tail(&nq->link, &mpq_names);
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
		list_del(&nq->link);
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
	}
	return -ENOTTY;
}

static ssize_t mpq_control_read(struct file *file, char __user *buf,
				size_t count, loff_t *ppos)
{
	return -EINVAL;
}

static ssize_t mpq_control_write(struct file *file, const char __user *buf,
				 size_t count, loff_t *ppos)
{
	return -EINVAL;
}

static const struct file_operations mpq_control_fops = {
	.owner = THIS_MODULE,
	.open = nonseekable_open,
	.read = mpq_control_read,
	.write = mpq_control_write,
	.unlocked_ioctl = mpq_control_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = no_llseek,
};

static int __init mpq_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&mpq_devt, 0, MPQ_MINORS, "mpq");
	if (ret)
		return ret;
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
}

module_init(mpq_init);
module_exit(mpq_exit);

MODULE_DESCRIPTION("Multiprocessing queues: blocking FIFOs with task accounting");
MODULE_AUTHOR("The mpq developers");
MODULE_LICENSE("GPL");
