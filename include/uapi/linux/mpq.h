/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mpq: multiprocessing queues in the kernel.
 *
 * Every structure uses fixed-width types, carries user pointers as __u64
 * and has the same layout for 32-bit and 64-bit userspace, so a 64-bit
 * kernel serves both through compat_ptr_ioctl. Reserved fields and unknown
 * flag bits must be zero: the kernel answers EINVAL otherwise, which keeps
 * room to extend every call without breaking old binaries.
 *
 * See Documentation/userspace-api/mpq.rst for the full description.
 */
#ifndef _UAPI_LINUX_MPQ_H
#define _UAPI_LINUX_MPQ_H

#include <linux/ioctl.h>
#include <linux/types.h>
#include <linux/time_types.h>

#define MPQ_DEV_DIR		"/dev/mpq"
#define MPQ_CONTROL_PATH	"/dev/mpq/control"
#define MPQ_SYSFS_DIR		"/sys/class/mpq"

/* A queue name is 1..MPQ_NAME_MAX characters of [A-Za-z0-9._-]. */
#define MPQ_NAME_MAX		64
#define MPQ_NAME_SIZE		72	/* MPQ_NAME_MAX + NUL, padded */

/* Defaults applied when a creation field is 0. */
#define MPQ_DEFAULT_MSGSIZE_MAX	(1ULL << 20)	/* 1 MiB */
#define MPQ_DEFAULT_MAXBYTES	(64ULL << 20)	/* 64 MiB */
#define MPQ_DEFAULT_MODE	0600

/* struct mpq_create.flags */
#define MPQ_CREATE_CLOEXEC	(1U << 0)	/* anonymous fd: O_CLOEXEC */
#define MPQ_CREATE_NONBLOCK	(1U << 1)	/* anonymous fd: O_NONBLOCK */
#define MPQ_CREATE_REDELIVER	(1U << 2)	/* unacknowledged gets come back */
#define MPQ_CREATE_FLAGS	(MPQ_CREATE_CLOEXEC | MPQ_CREATE_NONBLOCK | \
				 MPQ_CREATE_REDELIVER)

/*
 * MPQ_IOC_CREATE (anonymous queue, returns a new O_RDWR fd) and
 * MPQ_IOC_CREATE_NAMED (named queue /dev/mpq/NAME, returns 0).
 * maxsize 0 means no count limit; msgsize_max and maxbytes 0 mean the
 * defaults above; mode 0 means MPQ_DEFAULT_MODE (named queues only).
 * name must be empty for an anonymous queue.
 *
 * MPQ_CREATE_REDELIVER (the only flag a named queue takes): a message a
 * get takes belongs to the open file description it was taken through
 * until a task done through that file acknowledges it, oldest first; when
 * that file is released, or gives it back with MPQ_IOC_NACK, it goes back
 * to the head of the queue. max_deliveries (0: no limit) caps how often:
 * a message taken that many times and given back again is dead-lettered:
 * queued on the named queue dead_letter (a NUL-terminated name, which the
 * caller must be allowed to write) if one was given and it takes it
 * without waiting, discarded otherwise; counted done either way.
 * max_deliveries and dead_letter need MPQ_CREATE_REDELIVER, dead_letter
 * needs max_deliveries.
 */
struct mpq_create {
	__u64 maxsize;
	__u64 msgsize_max;
	__u64 maxbytes;
	__u32 flags;
	__u32 mode;
	char name[MPQ_NAME_SIZE];
	__u32 max_deliveries;
	__u32 __reserved0;
	__u64 dead_letter;	/* const char *, or 0 */
	__u64 __reserved[2];
};

/* MPQ_IOC_REMOVE: remove the named queue (owner or CAP_SYS_ADMIN). */
struct mpq_name {
	char name[MPQ_NAME_SIZE];
};

/*
 * MPQ_IOC_LIST: names of all named queues, each NUL-terminated, packed
 * into buf like listxattr(2). Returns the number of bytes stored; with
 * size 0 returns the number of bytes needed; ERANGE if size is too small.
 */
struct mpq_list {
	__u64 buf;		/* char * */
	__u64 size;
	__u64 __reserved[2];
};

/*
 * MPQ_IOC_USAGE: the kernel memory the caller holds and may hold. A queue
 * is charged to its owner (the user who created it), a message to the
 * user who put it, from its allocation until it is freed after delivery.
 * A limit of 0 means none applies to the caller (CAP_SYS_RESOURCE).
 */
struct mpq_usage {
	__u64 bytes;		/* charged: queues owned, messages put */
	__u64 bytes_max;	/* module parameter bytes_per_user */
	__u32 queues;		/* queues owned, anonymous ones included */
	__u32 named;		/* named queues owned */
	__u32 named_max;	/* module parameter queues_per_user */
	__u32 __reserved;
	__u64 __reserved2[4];
};

/* struct mpq_xfer.flags and struct mpq_join.flags */
#define MPQ_XFER_NONBLOCK	(1U << 0)	/* never sleep: EAGAIN */
#define MPQ_XFER_TIMEOUT	(1U << 1)	/* deadline is valid */
#define MPQ_XFER_FLAGS		(MPQ_XFER_NONBLOCK | MPQ_XFER_TIMEOUT)

/*
 * MPQ_IOC_PUT / MPQ_IOC_GET: write(2)/read(2) with flags and a deadline.
 * The deadline is an absolute CLOCK_MONOTONIC time, so a call restarted
 * after a signal keeps the original deadline. PUT returns 0; GET returns
 * the message length (0 at end of stream) and on EMSGSIZE stores the size
 * of the head message in len. On a queue created with MPQ_CREATE_REDELIVER
 * a GET stores the message's delivery count in deliveries: 1 the first
 * time it is taken, one more each time it came back. PUT wants it 0; GET
 * ignores what it holds on entry, and on other queues leaves it alone.
 */
struct mpq_xfer {
	__u64 buf;		/* void * */
	__u64 len;		/* PUT: message length; GET: capacity */
	struct __kernel_timespec deadline;
	__u32 flags;
	__u32 deliveries;	/* GET on a redelivery queue: out */
};

/* MPQ_IOC_JOIN: wait until no task is unfinished. */
struct mpq_join {
	struct __kernel_timespec deadline;	/* with MPQ_XFER_TIMEOUT */
	__u32 flags;				/* MPQ_XFER_TIMEOUT only */
	__u32 __reserved;
};

/* MPQ_IOC_SHUTDOWN argument */
#define MPQ_SHUTDOWN_IMMEDIATE	(1U << 0)
#define MPQ_SHUTDOWN_FLAGS	MPQ_SHUTDOWN_IMMEDIATE

/* struct mpq_stat.state */
#define MPQ_STATE_OPEN		0
#define MPQ_STATE_SHUTDOWN	1	/* draining: gets go on, puts fail */
#define MPQ_STATE_IMMEDIATE	2	/* shut down and discarded */

/*
 * MPQ_IOC_STAT: a consistent snapshot, taken under the queue lock.
 * Always total_puts + redelivered == total_gets + qsize + discarded: a
 * message that comes back is queued and got once more.
 */
struct mpq_stat {
	__u64 qsize;		/* messages queued */
	__u64 bytes;		/* payload bytes queued */
	__u64 unfinished;	/* puts not yet matched by task done */
	__u64 maxsize;		/* 0: no count limit */
	__u64 msgsize_max;
	__u64 maxbytes;
	__u64 total_puts;	/* messages ever queued */
	__u64 total_gets;	/* messages ever delivered */
	__u32 state;		/* MPQ_STATE_* */
	__u32 getters;		/* tasks blocked in get */
	__u32 putters;		/* tasks blocked in put */
	__u32 joiners;		/* tasks blocked in join */
	__u64 discarded;	/* dropped by an immediate shutdown */
	__u64 in_flight;	/* redelivery: taken, not yet acknowledged */
	__u64 redelivered;	/* redelivery: times one came back */
	__u64 dead_lettered;	/* redelivery: past max_deliveries */
};

/*
 * One message of a batch: MPQ_IOC_PUT_MANY sends len bytes from buf;
 * MPQ_IOC_GET_MANY receives into buf (capacity len) and stores the
 * message length in result.
 */
struct mpq_msgvec {
	__u64 buf;		/* void * */
	__u64 len;
	__u64 result;		/* GET_MANY: length received */
};

/*
 * MPQ_IOC_PUT_MANY / MPQ_IOC_GET_MANY: like sendmmsg(2)/recvmmsg(2).
 * Blocking (per flags/deadline) applies only until the first message
 * moves; the call then moves as many more as it can without sleeping and
 * returns how many it moved. An error is returned only if none moved.
 * GET_MANY with deliveries set stores the delivery count of the i-th
 * message received (see struct mpq_xfer) in the i-th of its count __u32s.
 */
#define MPQ_BATCH_MAX		1024

struct mpq_batch {
	__u64 vec;		/* struct mpq_msgvec * */
	__u32 count;		/* entries in vec, 1..MPQ_BATCH_MAX */
	__u32 flags;		/* MPQ_XFER_* */
	struct __kernel_timespec deadline;
	__u64 deliveries;	/* GET_MANY: __u32 *, or 0 */
	__u64 __reserved;
};

/*
 * io_uring: IORING_OP_URING_CMD on a queue descriptor, with sqe->cmd_op
 * one of MPQ_URING_CMD_* and sqe->cmd a struct mpq_uring_cmd, for what
 * IORING_OP_READ/WRITE cannot say. A command completes at once and never
 * waits (nor goes to an io-wq worker): what would wait completes with
 * -EAGAIN. To wait, link it after an IORING_OP_POLL_ADD, or use
 * IORING_OP_READ/WRITE, which wait through poll. cqe->res is what the
 * ioctl of the same name returns; for a GET that fails with -EMSGSIZE on
 * a ring set up with IORING_SETUP_CQE32, cqe->big_cqe[0] is the length
 * of the message at the head.
 */
struct mpq_uring_cmd {
	__u64 addr;		/* PUT, GET: void *; TASK_DONE: the count */
	__u32 len;		/* PUT: message length; GET: capacity */
	__u32 flags;		/* none defined: 0 */
};

/*
 * MPQ_IOC_INFO: how the queue was created. dead_letter is the name given
 * at creation, empty if none was or once that queue is removed.
 */
struct mpq_info {
	__u64 maxsize;
	__u64 msgsize_max;
	__u64 maxbytes;
	__u32 flags;		/* MPQ_CREATE_REDELIVER or 0 */
	__u32 max_deliveries;
	char dead_letter[MPQ_NAME_SIZE];
	__u64 __reserved[4];
};

/*
 * MPQ_IOC_REOPEN: a new open file description of the same queue, with the
 * same access mode, returned as a new descriptor. Its argument takes
 * MPQ_CREATE_CLOEXEC and MPQ_CREATE_NONBLOCK. A process that inherited a
 * descriptor (fork, SCM_RIGHTS) shares its parent's file, and with it the
 * ownership of what it takes on a redelivery queue: it calls this first,
 * so that the messages it takes come back if it dies.
 */
#define MPQ_REOPEN_FLAGS	(MPQ_CREATE_CLOEXEC | MPQ_CREATE_NONBLOCK)

#define MPQ_IOC_MAGIC		0xB9

/* On /dev/mpq/control */
#define MPQ_IOC_CREATE		_IOW(MPQ_IOC_MAGIC, 0x01, struct mpq_create)
#define MPQ_IOC_CREATE_NAMED	_IOW(MPQ_IOC_MAGIC, 0x02, struct mpq_create)
#define MPQ_IOC_REMOVE		_IOW(MPQ_IOC_MAGIC, 0x03, struct mpq_name)
#define MPQ_IOC_LIST		_IOWR(MPQ_IOC_MAGIC, 0x04, struct mpq_list)
#define MPQ_IOC_USAGE		_IOR(MPQ_IOC_MAGIC, 0x05, struct mpq_usage)

/* On a queue descriptor */
#define MPQ_IOC_PUT		_IOW(MPQ_IOC_MAGIC, 0x10, struct mpq_xfer)
#define MPQ_IOC_GET		_IOWR(MPQ_IOC_MAGIC, 0x11, struct mpq_xfer)
#define MPQ_IOC_TASK_DONE	_IOW(MPQ_IOC_MAGIC, 0x12, __u64)
#define MPQ_IOC_JOIN		_IOW(MPQ_IOC_MAGIC, 0x13, struct mpq_join)
#define MPQ_IOC_SHUTDOWN	_IOW(MPQ_IOC_MAGIC, 0x14, __u32)
#define MPQ_IOC_STAT		_IOR(MPQ_IOC_MAGIC, 0x15, struct mpq_stat)
#define MPQ_IOC_PUT_MANY	_IOW(MPQ_IOC_MAGIC, 0x16, struct mpq_batch)
#define MPQ_IOC_GET_MANY	_IOW(MPQ_IOC_MAGIC, 0x17, struct mpq_batch)
#define MPQ_IOC_INFO		_IOR(MPQ_IOC_MAGIC, 0x18, struct mpq_info)
/* Give back the file's count oldest unacknowledged messages (redelivery). */
#define MPQ_IOC_NACK		_IOW(MPQ_IOC_MAGIC, 0x19, __u64)
#define MPQ_IOC_REOPEN		_IOW(MPQ_IOC_MAGIC, 0x1a, __u32)

/* sqe->cmd_op of IORING_OP_URING_CMD on a queue descriptor */
#define MPQ_URING_CMD_PUT	_IOW(MPQ_IOC_MAGIC, 0x20, struct mpq_uring_cmd)
#define MPQ_URING_CMD_GET	_IOWR(MPQ_IOC_MAGIC, 0x21, struct mpq_uring_cmd)
#define MPQ_URING_CMD_TASK_DONE	_IOW(MPQ_IOC_MAGIC, 0x22, struct mpq_uring_cmd)

#endif /* _UAPI_LINUX_MPQ_H */
