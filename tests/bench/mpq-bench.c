// SPDX-License-Identifier: GPL-2.0
/*
 * mpq-bench: mpq against the kernel's other ways of passing messages
 * between processes, measured side by side in one run.
 *
 * Mechanisms: mpq with one message per write(2)/read(2), mpq batched with
 * MPQ_IOC_PUT_MANY/GET_MANY, mpq through io_uring batches, mpq with a task
 * done after each read, on a plain queue and on a redelivery queue
 * (MPQ_CREATE_REDELIVER), POSIX mqueue, AF_UNIX SOCK_SEQPACKET, SysV
 * msgsnd/msgrcv, and a pipe (a byte stream without message boundaries, the
 * one-copy-in, one-copy-out reference). Every queue holds the same number
 * of messages before a put blocks (--bound), as measured by filling it;
 * the measured capacity is reported next to each result.
 *
 * Tests:
 *   cost      one process puts a burst and gets it back: the CPU time of a
 *             put and a get, without wakeups or scheduling;
 *   tput      producers -> consumers (processes) for --duration seconds per
 *             cell: messages/s, MB/s (10^6 bytes) and context switches per
 *             message, summed over every producer and consumer;
 *   lat       round trip between two processes over two queues: p50, p99,
 *             with the processes on any CPU and both pinned to CPU 0;
 *   mem       kernel memory charged per queued message: a child in its own
 *             memory cgroup fills a queue and reads memory.stat.
 *
 * The mechanisms take turns: a cell is split into --rounds runs and every
 * mechanism's run of one round comes before the next round, so a change in
 * the machine's load (under TCG, the host's) falls on all of them alike;
 * the median round is reported.
 *
 * mpq is driven through the raw UAPI (<linux/mpq.h>): that is what is
 * measured. Each result goes to stderr as it comes and, with --csv, to a
 * CSV file for tests/bench/mpq-bench-run to tabulate. Needs root for the
 * mechanisms' limits (sysctls, rlimits, SO_SNDBUFFORCE, F_SETPIPE_SZ) and
 * for the memory cgroup.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <mqueue.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include <liburing.h>
#include <linux/magic.h>
#include <linux/sockios.h>

#include "mpq_test.h"

#define MAX_SIZES	16
#define MAX_PROCS	64
#define MAX_ROUNDS	16
#define LAT_SAMPLES_MAX	(1U << 19)	/* per mechanism */
#define CGROUP_ROOT	"/sys/fs/cgroup"

/* ---- options ---- */

struct topo {
	const char *name;
	int producers;
	int consumers;
};

static const struct topo all_topos[] = {
	{ "1-1", 1, 1 },
	{ "4-4", 4, 4 },
	{ "8-1", 8, 1 },
	{ "1-8", 1, 8 },
};
#define NR_TOPOS	(sizeof(all_topos) / sizeof(all_topos[0]))

static struct {
	double duration;	/* seconds measured per throughput cell */
	double lat_duration;	/* seconds per latency cell */
	long bound;		/* messages a queue holds */
	unsigned int batch;	/* messages per PUT_MANY/GET_MANY */
	int rounds;		/* turns each mechanism takes per cell */
	size_t sizes[MAX_SIZES];
	int nr_sizes;
	size_t mem_sizes[MAX_SIZES];
	int nr_mem_sizes;
	unsigned int mechs;	/* bit per mechanism */
	unsigned int topos;	/* bit per all_topos[] entry */
	unsigned int tests;	/* TEST_* */
	const char *csv;
} opt = {
	.bound = 1000,
	.batch = 64,
};

enum { TEST_TPUT = 1, TEST_LAT = 2, TEST_MEM = 4, TEST_COST = 8 };

static FILE *csv;
static int failures;

static void vwarning(const char *fmt, va_list ap)
{
	fprintf(stderr, "mpq-bench: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static void warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarning(fmt, ap);
	va_end(ap);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarning(fmt, ap);
	va_end(ap);
	exit(1);
}

/* CLOCK_MONOTONIC in seconds. */
static double now(void)
{
	return now_ns() * 1e-9;
}

static double t_start;

/* Progress on stderr, each step stamped with the seconds since start. */
static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void progress(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%6.1fs ", now() - t_start);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

static const char *size_str(size_t size)
{
	static char buf[4][32];
	static int i;
	char *s = buf[i++ & 3];

	if (size >= 1024 && !(size % 1024))
		snprintf(s, sizeof(buf[0]), "%zu KiB", size / 1024);
	else
		snprintf(s, sizeof(buf[0]), "%zu B", size);
	return s;
}

/* Raise a sysctl to at least @want; never lowers it. */
static void sysctl_at_least(const char *path, long want)
{
	long cur = 0;
	FILE *f = fopen(path, "r+");

	if (!f)
		return;
	if (fscanf(f, "%ld", &cur) == 1 && cur < want) {
		rewind(f);
		fprintf(f, "%ld\n", want);
	}
	if (fclose(f))
		warning("cannot raise %s to %ld: %s", path, want, strerror(errno));
}

/* ---- mechanisms ---- */

/* One queue, shared by every process of a cell through fork(). */
struct chan {
	const struct mech *m;
	size_t size;
	long bound;
	int rfd, wfd;
	mqd_t mq;
	int msqid;
	bool nonblock;
	int sndbuf;		/* seqpacket: SO_SNDBUFFORCE value */
};

/* One process's buffers: room for a batch, sysv's mtype just before it. */
struct xbuf {
	char *mem;
	char *data;
	size_t size;
	unsigned int batch;
	struct mpq_msgvec *vec;
	struct mpq_batch b;
	struct io_uring *ring;	/* mpq-uring: this process's own, made on use */
};

struct mech {
	const char *name;
	bool batched;
	bool latency;		/* measured in the latency test */
	bool tasks;		/* a task done per get: not in the memory test */
	int (*open)(struct chan *c);
	void (*close)(struct chan *c);
	int (*set_nonblock)(struct chan *c, bool on);
	/* Move one message (a batch if batched); return how many or -errno. */
	long (*put)(struct chan *c, struct xbuf *x);
	long (*get)(struct chan *c, struct xbuf *x);
};

/* A call that moved @r bytes of a @want-byte message, or failed: 1 or -errno. */
static long one_msg(long r, size_t want)
{
	if (r < 0)
		return r;
	return (size_t)r == want ? 1 : -EIO;
}

/* The same for a system call's return value (-1 and errno). */
static long ret_one(ssize_t r, size_t want)
{
	return one_msg(r < 0 ? -errno : r, want);
}

static int fd_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK))
		return -errno;
	return 0;
}

static int fds_nonblock(struct chan *c, bool on)
{
	int ret = fd_nonblock(c->wfd, on);

	if (!ret && c->rfd != c->wfd)
		ret = fd_nonblock(c->rfd, on);
	return ret;
}

/* For calls that take a don't-block flag of their own. */
static int flag_nonblock(struct chan *c, bool on)
{
	c->nonblock = on;
	return 0;
}

static void fds_close(struct chan *c)
{
	if (c->rfd != c->wfd)
		close(c->rfd);
	close(c->wfd);
}

/*
 * mpq, through the raw UAPI of tests/common/mpq_test.h: an anonymous queue
 * holding bound messages of this size.
 */
static int chan_mpq_open(struct chan *c)
{
	int fd = mpq_new(c->bound, c->size, c->bound * c->size,
			 MPQ_CREATE_CLOEXEC);

	if (fd < 0)
		return fd;
	c->rfd = c->wfd = fd;
	return 0;
}

static long chan_mpq_write(struct chan *c, struct xbuf *x)
{
	return one_msg(q_write(c->wfd, x->data, c->size), c->size);
}

static long chan_mpq_read(struct chan *c, struct xbuf *x)
{
	return one_msg(q_read(c->rfd, x->data, c->size), c->size);
}

/*
 * A JoinableQueue worker's get: the message, then its task done; on a
 * redelivery queue that acknowledges it (all forked consumers share the
 * one open file, which owns what they take).
 */
static long chan_mpq_read_done(struct chan *c, struct xbuf *x)
{
	long r = chan_mpq_read(c, x);

	return r == 1 ? (q_task_done(c->rfd, 1) ? : 1) : r;
}

static int chan_mpq_redeliver_open(struct chan *c)
{
	int fd = mpq_new(c->bound, c->size, c->bound * c->size,
			 MPQ_CREATE_CLOEXEC | MPQ_CREATE_REDELIVER);

	if (fd < 0)
		return fd;
	c->rfd = c->wfd = fd;
	return 0;
}

static long chan_mpq_put(struct chan *c, struct xbuf *x)
{
	int r = q_put(c->wfd, x->data, c->size,
		      c->nonblock ? MPQ_XFER_NONBLOCK : 0, NULL);

	return r ? r : 1;
}

static long chan_mpq_get(struct chan *c, struct xbuf *x)
{
	return one_msg(q_get(c->rfd, x->data, c->size,
			     c->nonblock ? MPQ_XFER_NONBLOCK : 0, NULL),
		       c->size);
}

static long chan_mpq_put_many(struct chan *c, struct xbuf *x)
{
	return q_put_many(c->wfd, &x->b);
}

static long chan_mpq_get_many(struct chan *c, struct xbuf *x)
{
	return q_get_many(c->rfd, &x->b);
}

/*
 * mpq-uring: a batch of IORING_OP_WRITE or IORING_OP_READ, one message
 * each, in one io_uring_enter(); a request that would block waits through
 * the queue's poll. The ring is made in the process that uses it (after
 * fork()), once.
 */
static struct io_uring *xbuf_ring(struct xbuf *x)
{
	int ret;

	if (x->ring)
		return x->ring;
	x->ring = malloc(sizeof(*x->ring));
	if (!x->ring)
		die("out of memory");
	ret = io_uring_queue_init(x->batch < 8 ? 8 : x->batch, x->ring, 0);
	if (ret)
		die("io_uring_queue_init: %s", strerror(-ret));
	return x->ring;
}

static long chan_mpq_uring(struct chan *c, struct xbuf *x, bool put)
{
	struct io_uring *ring = xbuf_ring(x);
	unsigned int i, n = x->b.count;
	struct io_uring_cqe *cqe;
	long moved = 0, err = 0;
	int ret;

	for (i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
		void *buf = (void *)(uintptr_t)x->vec[i].buf;

		if (put)
			io_uring_prep_write(sqe, c->wfd, buf, c->size, 0);
		else
			io_uring_prep_read(sqe, c->rfd, buf, c->size, 0);
		if (c->nonblock)
			sqe->rw_flags = RWF_NOWAIT;
	}
	ret = io_uring_submit_and_wait(ring, n);
	if (ret < 0)
		return ret;
	for (i = 0; i < n; i++) {
		ret = io_uring_wait_cqe(ring, &cqe);
		if (ret)
			return ret;
		if (cqe->res < 0)
			err = err ?: cqe->res;
		else if ((size_t)cqe->res == c->size)
			moved++;
		else
			err = err ?: -EIO;
		io_uring_cqe_seen(ring, cqe);
	}
	return moved ? moved : err;
}

static long chan_mpq_uring_put(struct chan *c, struct xbuf *x)
{
	return chan_mpq_uring(c, x, true);
}

static long chan_mpq_uring_get(struct chan *c, struct xbuf *x)
{
	return chan_mpq_uring(c, x, false);
}

static int mqueue_open(struct chan *c)
{
	static unsigned int seq;
	struct mq_attr attr = { .mq_maxmsg = c->bound, .mq_msgsize = c->size };
	char name[64];

	snprintf(name, sizeof(name), "/mpq-bench.%d.%u", getpid(), seq++);
	c->mq = mq_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &attr);
	if (c->mq == (mqd_t)-1)
		return -errno;
	mq_unlink(name);
	return 0;
}

static void mqueue_close(struct chan *c)
{
	mq_close(c->mq);
}

static int mqueue_nonblock(struct chan *c, bool on)
{
	struct mq_attr attr = { .mq_flags = on ? O_NONBLOCK : 0 };

	return mq_setattr(c->mq, &attr, NULL) ? -errno : 0;
}

static long mqueue_put(struct chan *c, struct xbuf *x)
{
	return mq_send(c->mq, x->data, c->size, 0) ? -errno : 1;
}

static long mqueue_get(struct chan *c, struct xbuf *x)
{
	return ret_one(mq_receive(c->mq, x->data, c->size, NULL), c->size);
}

/*
 * AF_UNIX datagrams are bounded by the sender's sk_sndbuf against the
 * truesize of the queued skbs; calibrate() picks the SO_SNDBUFFORCE value
 * that holds the bound.
 */
static int seqpacket_open(struct chan *c)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	c->wfd = sv[0];
	c->rfd = sv[1];
	if (setsockopt(c->wfd, SOL_SOCKET, SO_SNDBUFFORCE, &c->sndbuf,
		       sizeof(c->sndbuf))) {
		int err = -errno;

		fds_close(c);
		return err;
	}
	return 0;
}

static long seqpacket_put(struct chan *c, struct xbuf *x)
{
	return ret_one(send(c->wfd, x->data, c->size, MSG_NOSIGNAL), c->size);
}

static long seqpacket_get(struct chan *c, struct xbuf *x)
{
	return ret_one(recv(c->rfd, x->data, c->size, 0), c->size);
}

/* SysV: msg_qbytes bounds both bytes and the message count. */
static int sysv_open(struct chan *c)
{
	struct msqid_ds ds;
	int err;

	c->msqid = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	if (c->msqid < 0)
		return -errno;
	if (msgctl(c->msqid, IPC_STAT, &ds) == 0) {
		ds.msg_qbytes = c->bound * c->size;
		if (msgctl(c->msqid, IPC_SET, &ds) == 0)
			return 0;
	}
	err = -errno;
	msgctl(c->msqid, IPC_RMID, NULL);
	return err;
}

static void sysv_close(struct chan *c)
{
	msgctl(c->msqid, IPC_RMID, NULL);
}

static long sysv_put(struct chan *c, struct xbuf *x)
{
	return msgsnd(c->msqid, x->data - sizeof(long), c->size,
		      c->nonblock ? IPC_NOWAIT : 0) ? -errno : 1;
}

static long sysv_get(struct chan *c, struct xbuf *x)
{
	long r = ret_one(msgrcv(c->msqid, x->data - sizeof(long), c->size, 0,
				c->nonblock ? IPC_NOWAIT : 0), c->size);

	/* IPC_NOWAIT on an empty queue says ENOMSG: "would block". */
	return r == -ENOMSG ? -EAGAIN : r;
}

/* A pipe rounds its size up to a power of two of pages. */
static int pipe_open(struct chan *c)
{
	int fds[2];
	long want = c->bound * c->size;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	c->rfd = fds[0];
	c->wfd = fds[1];
	if (want > INT_MAX || fcntl(c->wfd, F_SETPIPE_SZ, (int)want) < 0) {
		int err = want > INT_MAX ? -E2BIG : -errno;

		fds_close(c);
		return err;
	}
	return 0;
}

/* A message is size bytes of the stream, however the writes interleave. */
static long pipe_put(struct chan *c, struct xbuf *x)
{
	return ret_one(write(c->wfd, x->data, c->size), c->size);
}

static long pipe_get(struct chan *c, struct xbuf *x)
{
	size_t got = 0;
	ssize_t r;

	while (got < c->size) {
		r = read(c->rfd, x->data + got, c->size - got);
		if (r <= 0)
			return r ? -errno : -EPIPE;
		got += r;
	}
	return 1;
}

enum { MPQ, MPQ_BATCH, MPQ_URING, MPQ_TD, MPQ_REDELIVER, MQUEUE, SEQPACKET,
       SYSV, PIPE, MPQ_IOCTL, NR_MECHS };
#define DEFAULT_MECHS	((1U << MPQ_IOCTL) - 1)

#define MECH(n, o, c, nb, p, g)	.name = n, .open = o, .close = c, \
				.set_nonblock = nb, .put = p, .get = g

static const struct mech mechs[NR_MECHS] = {
	[MPQ] = { MECH("mpq", chan_mpq_open, fds_close, fds_nonblock,
		       chan_mpq_write, chan_mpq_read), .latency = true },
	/* Latency is a single message's business: no batched round trip. */
	[MPQ_BATCH] = { MECH("mpq-batch", chan_mpq_open, fds_close, fds_nonblock,
			     chan_mpq_put_many, chan_mpq_get_many), .batched = true },
	[MPQ_URING] = { MECH("mpq-uring", chan_mpq_open, fds_close, flag_nonblock,
			     chan_mpq_uring_put, chan_mpq_uring_get),
			.batched = true },
	[MPQ_TD] = { MECH("mpq-td", chan_mpq_open, fds_close, fds_nonblock,
			  chan_mpq_write, chan_mpq_read_done), .tasks = true },
	[MPQ_REDELIVER] = { MECH("mpq-redeliver", chan_mpq_redeliver_open,
				 fds_close, fds_nonblock, chan_mpq_write,
				 chan_mpq_read_done), .tasks = true },
	[MQUEUE] = { MECH("mqueue", mqueue_open, mqueue_close,
			  mqueue_nonblock, mqueue_put, mqueue_get),
		     .latency = true },
	[SEQPACKET] = { MECH("seqpacket", seqpacket_open, fds_close,
			     fds_nonblock, seqpacket_put, seqpacket_get),
			.latency = true },
	[SYSV] = { MECH("sysv", sysv_open, sysv_close, flag_nonblock,
			sysv_put, sysv_get), .latency = true },
	[PIPE] = { MECH("pipe", pipe_open, fds_close, fds_nonblock,
			pipe_put, pipe_get), .latency = true },
	/* Not run by default: MPQ_IOC_PUT/GET, to compare with write/read. */
	[MPQ_IOCTL] = { MECH("mpq-ioctl", chan_mpq_open, fds_close, flag_nonblock,
			     chan_mpq_put, chan_mpq_get), .latency = true },
};

/* SO_SNDBUFFORCE per size index, found by calibrate(). */
static int seqpacket_sndbuf[MAX_SIZES];
/* Messages each queue held when filled, per mechanism and size index. */
static long capacity[NR_MECHS][MAX_SIZES];

static int chan_open(struct chan *c, int mech, size_t size, long bound,
		     int sndbuf)
{
	memset(c, 0, sizeof(*c));
	c->m = &mechs[mech];
	c->size = size;
	c->bound = bound;
	c->sndbuf = sndbuf;
	return c->m->open(c);
}

static void xbuf_init(struct xbuf *x, const struct chan *c)
{
	unsigned int i, n = c->m->batched ? opt.batch : 1;
	size_t len = 64 + n * c->size;

	x->size = c->size;
	x->batch = n;
	x->ring = NULL;
	x->mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (x->mem == MAP_FAILED)
		die("mmap %zu bytes: %s", len, strerror(errno));
	/* Touched now, so no page fault lands in a measurement. */
	memset(x->mem, 0x5a, len);
	x->data = x->mem + 64;
	*(long *)(x->data - sizeof(long)) = 1;	/* sysv mtype */
	x->vec = calloc(n, sizeof(*x->vec));
	if (!x->vec)
		die("out of memory");
	for (i = 0; i < n; i++) {
		x->vec[i].buf = (uintptr_t)(x->data + i * c->size);
		x->vec[i].len = c->size;
	}
	memset(&x->b, 0, sizeof(x->b));
	x->b.vec = (uintptr_t)x->vec;
	x->b.count = n;
}

static void xbuf_free(struct xbuf *x)
{
	munmap(x->mem, 64 + x->batch * x->size);
	free(x->vec);
	if (x->ring) {
		io_uring_queue_exit(x->ring);
		free(x->ring);
		x->ring = NULL;
	}
}

/*
 * Fill the queue without blocking, then drain it: the number of messages
 * it holds, or -errno. @limit stops an unbounded fill.
 */
static long fill_count(struct chan *c, long limit)
{
	long n = 0, r = 0, got = 0;
	struct xbuf x;
	int ret;

	xbuf_init(&x, c);
	x.b.count = 1;		/* count single messages */
	ret = c->m->set_nonblock(c, true);
	if (ret) {
		xbuf_free(&x);
		return ret;
	}
	while (n < limit && (r = c->m->put(c, &x)) > 0)
		n += r;
	if (n < limit && r != -EAGAIN)
		n = r;
	while ((r = c->m->get(c, &x)) > 0)
		got += r;
	/* What went in must come out. */
	if (n >= 0 && (got != n || r != -EAGAIN))
		n = r < 0 && r != -EAGAIN ? r : -EIO;
	c->m->set_nonblock(c, false);
	xbuf_free(&x);
	return n;
}

/* Messages a queue of @m for size index @s holds, or -errno. */
static long measure_capacity(int m, int s)
{
	struct chan c;
	long n;
	int ret;

	ret = chan_open(&c, m, opt.sizes[s], opt.bound, seqpacket_sndbuf[s]);
	if (ret)
		return ret;
	n = fill_count(&c, 4 * opt.bound);
	mechs[m].close(&c);
	return n;
}

/*
 * A seqpacket socket takes messages while the truesize of its queued skbs
 * is below sk_sndbuf (twice the SO_SNDBUFFORCE value): it holds
 * ceil(sk_sndbuf / truesize). SIOCOUTQ tells the truesize queued, so a
 * probe of a few messages gives the value that holds the bound; a fill
 * checks it, and corrects it should the truesize vary.
 */
static long seqpacket_calibrate(int s)
{
	const int probe = 8;
	double sndbuf = INT_MAX / 2;
	struct chan c;
	struct xbuf x;
	long n = 0;
	int i, outq, ret;

	ret = chan_open(&c, SEQPACKET, opt.sizes[s], opt.bound, INT_MAX / 4);
	if (ret)
		return ret;
	xbuf_init(&x, &c);
	for (i = 0; i < probe && seqpacket_put(&c, &x) == 1; i++)
		;
	if (i == probe && !ioctl(c.wfd, SIOCOUTQ, &outq))
		sndbuf = (opt.bound - 0.5) * outq / probe / 2;
	xbuf_free(&x);
	mechs[SEQPACKET].close(&c);

	for (i = 0; i < 4 && n != opt.bound; i++) {
		if (i)
			sndbuf *= (opt.bound - 0.5) / n;
		seqpacket_sndbuf[s] = (int)fmin(sndbuf, INT_MAX / 2);
		n = measure_capacity(SEQPACKET, s);
		if (n <= 0)
			break;
	}
	return n;
}

/* Measure every queue's capacity: the bound, as closely as it allows. */
static void calibrate(void)
{
	int m, s;

	for (s = 0; s < opt.nr_sizes; s++) {
		progress("capacity %s:", size_str(opt.sizes[s]));
		for (m = 0; m < NR_MECHS; m++) {
			if (!(opt.mechs & (1U << m)))
				continue;
			capacity[m][s] = m == SEQPACKET ?
					 seqpacket_calibrate(s) :
					 measure_capacity(m, s);
			if (capacity[m][s] < 0) {
				fprintf(stderr, " %s failed (%s)",
					mechs[m].name,
					strerror(-capacity[m][s]));
				failures++;
			} else {
				fprintf(stderr, " %s %ld", mechs[m].name,
					capacity[m][s]);
			}
		}
		fputc('\n', stderr);
	}
}

/* Why a queue that could not be filled cannot be measured, or 0. */
static int unusable(int m, int s)
{
	if (capacity[m][s] > 0)
		return 0;
	return capacity[m][s] ? (int)capacity[m][s] : -ENOSPC;
}

/* ---- processes ---- */

struct slot {
	_Alignas(64) uint64_t msgs;
	int err;
};

static struct slot *slots;

struct ctxsw {
	uint64_t vol, invol;
};

static int read_ctxsw(pid_t pid, struct ctxsw *cs)
{
	char path[64], line[128];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;

		if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1) {
			cs->vol += v;
			found++;
		} else if (sscanf(line, "nonvoluntary_ctxt_switches: %llu",
				  &v) == 1) {
			cs->invol += v;
			found++;
		}
	}
	fclose(f);
	return found == 2 ? 0 : -ENOENT;
}

/*
 * Start @nr children running @fn, each holding the shared queues, and let
 * them go together once all are set up.
 */
typedef void (*child_fn)(int idx, void *arg);

static void start_workers(pid_t *pids, int nr, child_fn fn, void *arg)
{
	int ready[2], go[2], i;
	char ch;

	if (pipe2(ready, O_CLOEXEC) || pipe2(go, O_CLOEXEC))
		die("pipe: %s", strerror(errno));
	for (i = 0; i < nr; i++) {
		pids[i] = spawn();
		if (pids[i] < 0)
			die("fork: %s", strerror(errno));
		if (pids[i] == 0) {
			close(ready[0]);
			close(go[1]);
			fn(-1 - i, arg);	/* set up */
			/* A child that dies first leaves the parent an EOF. */
			if (write(ready[1], "r", 1) != 1)
				_exit(1);
			close(ready[1]);
			/* EOF when the parent closes its end: go. */
			if (read(go[0], &ch, 1) < 0)
				_exit(1);
			fn(i, arg);
			_exit(0);
		}
	}
	close(ready[1]);
	close(go[0]);
	for (i = 0; i < nr; i++)
		if (read(ready[0], &ch, 1) != 1)
			die("a child died while starting");
	close(ready[0]);
	close(go[1]);
}

static void stop_workers(pid_t *pids, int nr)
{
	int i;

	for (i = 0; i < nr; i++)
		kill(pids[i], SIGKILL);
	for (i = 0; i < nr; i++)
		reap(pids[i]);
}

/* ---- throughput ---- */

struct tput_arg {
	struct chan *c;
	int producers;
	struct xbuf x;
};

static void tput_child(int idx, void *arg)
{
	struct tput_arg *a = arg;
	bool producer;
	uint64_t msgs = 0;
	struct slot *slot;
	long n;

	if (idx < 0) {
		xbuf_init(&a->x, a->c);
		return;
	}
	producer = idx < a->producers;
	slot = &slots[idx];
	for (;;) {
		n = producer ? a->c->m->put(a->c, &a->x) :
			       a->c->m->get(a->c, &a->x);
		if (n == -EINTR)
			continue;
		if (n < 0) {
			slot->err = (int)-n;
			_exit(1);
		}
		msgs += n;
		__atomic_store_n(&slot->msgs, msgs, __ATOMIC_RELAXED);
	}
}

struct snap {
	double t;
	uint64_t msgs;
	struct ctxsw cs;
};

static int take_snap(struct snap *sn, const pid_t *pids, int producers,
		     int nr)
{
	int i, ret = 0;

	memset(sn, 0, sizeof(*sn));
	sn->t = now();
	for (i = producers; i < nr; i++)
		sn->msgs += __atomic_load_n(&slots[i].msgs, __ATOMIC_RELAXED);
	for (i = 0; i < nr && !ret; i++)
		ret = read_ctxsw(pids[i], &sn->cs);
	return ret;
}

/* ---- results ---- */

enum col {
	C_CAPACITY, C_MSGS, C_MB, C_CS, C_VCS, C_MIN, C_MAX, C_ROUNDS,
	C_P50, C_P99, C_MEAN, C_SAMPLES, C_NS,
	C_QUEUED, C_KERNEL, C_SLAB, C_CURRENT, C_GSLAB,
	NR_COLS
};

static const char *const col_names[NR_COLS] = {
	[C_CAPACITY] = "capacity",
	[C_MSGS] = "msgs_per_s",		/* median over the rounds */
	[C_MB] = "mb_per_s",
	[C_CS] = "ctxsw_per_msg",		/* over all rounds */
	[C_VCS] = "vol_ctxsw_per_msg",
	[C_MIN] = "min_msgs_per_s",
	[C_MAX] = "max_msgs_per_s",
	[C_ROUNDS] = "rounds",
	[C_P50] = "p50_us",
	[C_P99] = "p99_us",
	[C_MEAN] = "mean_us",
	[C_SAMPLES] = "samples",
	[C_NS] = "ns_per_msg",		/* median over the rounds */
	[C_QUEUED] = "queued",
	[C_KERNEL] = "kernel_b_per_msg",
	[C_SLAB] = "slab_b_per_msg",
	[C_CURRENT] = "current_b_per_msg",
	[C_GSLAB] = "global_slab_b_per_msg",
};

static void row_init(double *v)
{
	int i;

	for (i = 0; i < NR_COLS; i++)
		v[i] = NAN;
}

/* test,mech,size,topology, the columns above (NAN: empty), error */
static void csv_row(const char *test, int mech, size_t size, const char *topo,
		    const double *v, const char *error)
{
	int i;

	if (!csv)
		return;
	fprintf(csv, "%s,%s,%zu,%s", test, mechs[mech].name, size, topo);
	for (i = 0; i < NR_COLS; i++) {
		if (isnan(v[i]))
			fputc(',', csv);
		else if (fabs(v[i]) >= 1000)
			fprintf(csv, ",%.0f", v[i]);
		else
			fprintf(csv, ",%.4g", v[i]);
	}
	fprintf(csv, ",%s\n", error ? error : "");
	fflush(csv);
}

static void csv_header(void)
{
	struct utsname u;
	time_t t = time(NULL);
	char date[64];
	int i;

	if (!csv)
		return;
	uname(&u);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S%z", localtime(&t));
	fprintf(csv, "# mpq-bench date=%s kernel=%s machine=%s cpus=%ld "
		"bound=%ld batch=%u duration=%g lat_duration=%g rounds=%d\n",
		date, u.release, u.machine, sysconf(_SC_NPROCESSORS_ONLN),
		opt.bound, opt.batch, opt.duration, opt.lat_duration,
		opt.rounds);
	fprintf(csv, "test,mech,size,topology");
	for (i = 0; i < NR_COLS; i++)
		fprintf(csv, ",%s", col_names[i]);
	fprintf(csv, ",error\n");
}

/* ---- throughput ---- */

struct tput_res {
	double secs;
	uint64_t msgs, cs, vcs;
};

/* @t->producers put and @t->consumers get on one queue for @secs. */
static int tput_run(int mech, int s, const struct topo *t, double secs,
		    struct tput_res *res)
{
	int nr = t->producers + t->consumers, i, err;
	struct tput_arg a = { .producers = t->producers };
	struct snap s0, s1;
	pid_t pids[MAX_PROCS];
	struct chan c;

	err = chan_open(&c, mech, opt.sizes[s], opt.bound, seqpacket_sndbuf[s]);
	if (err)
		return err;
	a.c = &c;
	memset(slots, 0, MAX_PROCS * sizeof(*slots));
	start_workers(pids, nr, tput_child, &a);
	/* Past start-up, with the queue in its steady state. */
	sleep_ms((long)((fmin(fmax(secs * 0.2, 0.1), 0.5)) * 1000));
	err = take_snap(&s0, pids, t->producers, nr);
	if (!err) {
		sleep_ms((long)((secs) * 1000));
		err = take_snap(&s1, pids, t->producers, nr);
	}
	for (i = 0; i < nr; i++)
		if (slots[i].err)
			err = -slots[i].err;
	stop_workers(pids, nr);
	c.m->close(&c);
	if (err)
		return err;
	res->secs = s1.t - s0.t;
	res->msgs = s1.msgs - s0.msgs;
	res->cs = s1.cs.vol + s1.cs.invol - s0.cs.vol - s0.cs.invol;
	res->vcs = s1.cs.vol - s0.cs.vol;
	return 0;
}

/*
 * Every mechanism for one size and topology, in rounds that take turns,
 * so a change in the machine's load falls on all of them alike. Reports
 * the median rate of the rounds.
 */
static void tput_group(int s, const struct topo *t, int *group, int groups)
{
	double rates[NR_MECHS][MAX_ROUNDS], v[NR_COLS];
	double secs = opt.duration / opt.rounds;
	struct tput_res tot[NR_MECHS] = { }, res;
	int err[NR_MECHS] = { }, m, r;
	size_t size = opt.sizes[s];

	progress("[%d/%d] tput %s %s: %d round(s) of %.2f s\n",
		++*group, groups, size_str(size), t->name, opt.rounds, secs);
	for (r = 0; r < opt.rounds; r++) {
		for (m = 0; m < NR_MECHS; m++) {
			if (!(opt.mechs & (1U << m)) || err[m])
				continue;
			err[m] = unusable(m, s);
			if (!err[m])
				err[m] = tput_run(m, s, t, secs, &res);
			if (err[m])
				continue;
			rates[m][r] = res.msgs / res.secs;
			tot[m].msgs += res.msgs;
			tot[m].cs += res.cs;
			tot[m].vcs += res.vcs;
		}
	}
	for (m = 0; m < NR_MECHS; m++) {
		if (!(opt.mechs & (1U << m)))
			continue;
		row_init(v);
		v[C_CAPACITY] = capacity[m][s] >= 0 ? capacity[m][s] : NAN;
		if (err[m]) {
			const char *why = strerror(-err[m]);

			fprintf(stderr, "  %-13s failed: %s\n", mechs[m].name,
				why);
			csv_row("tput", m, size, t->name, v, why);
			failures++;
			continue;
		}
		v[C_MSGS] = median(rates[m], opt.rounds);
		v[C_MB] = v[C_MSGS] * size / 1e6;
		/* A round may move nothing: its rate is 0. */
		if (tot[m].msgs) {
			v[C_CS] = (double)tot[m].cs / tot[m].msgs;
			v[C_VCS] = (double)tot[m].vcs / tot[m].msgs;
		}
		v[C_MIN] = rates[m][0];
		v[C_MAX] = rates[m][opt.rounds - 1];
		v[C_ROUNDS] = opt.rounds;
		fprintf(stderr, "  %-13s %10.0f msg/s %9.2f MB/s %7.3f cs/msg"
			"  (rounds %.0f..%.0f)\n", mechs[m].name, v[C_MSGS],
			v[C_MB], v[C_CS], v[C_MIN], v[C_MAX]);
		csv_row("tput", m, size, t->name, v, NULL);
	}
}

/* ---- latency ---- */

struct lat_arg {
	struct chan *ping, *pong;
	struct xbuf x;
};

static void lat_child(int idx, void *arg)
{
	struct lat_arg *a = arg;
	long n;

	if (idx < 0) {
		xbuf_init(&a->x, a->ping);
		return;
	}
	for (;;) {
		n = a->ping->m->get(a->ping, &a->x);
		if (n > 0)
			n = a->pong->m->put(a->pong, &a->x);
		if (n < 0 && n != -EINTR) {
			slots[0].err = (int)-n;
			_exit(1);
		}
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Ping-pong between this process and a child for @secs, appending each
 * round trip's time to @samples (@n of them, at most LAT_SAMPLES_MAX).
 * @samecpu pins both to CPU 0, so every wakeup is a context switch on one
 * CPU: the mechanism's own cost, without the cross-CPU wakeup (an IPI and,
 * under a hypervisor, the host scheduling the other vCPU's thread).
 */
static int lat_run(int mech, int s, bool samecpu, double secs,
		   uint64_t *samples, size_t *n)
{
	size_t size = opt.sizes[s];
	struct chan ping, pong;
	struct lat_arg a = { .ping = &ping, .pong = &pong };
	uint64_t t, prev, end, warm_end;
	cpu_set_t all, cpu0;
	struct xbuf x;
	long r = 0;
	pid_t pid;
	int err;

	err = chan_open(&ping, mech, size, opt.bound, seqpacket_sndbuf[s]);
	if (err)
		return err;
	err = chan_open(&pong, mech, size, opt.bound, seqpacket_sndbuf[s]);
	if (err) {
		ping.m->close(&ping);
		return err;
	}
	memset(slots, 0, sizeof(*slots));
	if (samecpu) {
		CPU_ZERO(&cpu0);
		CPU_SET(0, &cpu0);
		sched_getaffinity(0, sizeof(all), &all);
		sched_setaffinity(0, sizeof(cpu0), &cpu0);
	}
	start_workers(&pid, 1, lat_child, &a);	/* inherits the affinity */
	xbuf_init(&x, &ping);
	prev = now_ns();
	warm_end = prev + (uint64_t)(fmin(0.1, secs / 10) * 1e9);
	end = warm_end + (uint64_t)(secs * 1e9);
	for (t = prev; t < end && *n < LAT_SAMPLES_MAX; prev = t) {
		r = ping.m->put(&ping, &x);
		if (r > 0)
			r = pong.m->get(&pong, &x);
		if (r < 0 && r != -EINTR)
			break;
		t = now_ns();
		if (t >= warm_end)
			samples[(*n)++] = t - prev;
	}
	stop_workers(&pid, 1);
	if (samecpu)
		sched_setaffinity(0, sizeof(all), &all);
	ping.m->close(&ping);
	pong.m->close(&pong);
	xbuf_free(&x);
	if (r < 0)
		return (int)r;
	return slots[0].err ? -slots[0].err : 0;
}

/* Every mechanism for one size, in rounds that take turns. */
static void lat_group(int s, bool samecpu, uint64_t **samples, int *group,
		      int groups)
{
	const char *topo = samecpu ? "1-1-samecpu" : "1-1";
	double secs = opt.lat_duration / opt.rounds, sum, v[NR_COLS];
	size_t n[NR_MECHS] = { }, i;
	size_t size = opt.sizes[s];
	int err[NR_MECHS] = { }, m, r;
	uint64_t *sm;

	progress("[%d/%d] lat %s, %s: %d round(s) of %.2f s\n",
		++*group, groups, size_str(size),
		samecpu ? "both on CPU 0" : "any CPU", opt.rounds, secs);
	for (r = 0; r < opt.rounds; r++)
		for (m = 0; m < NR_MECHS; m++)
			if ((opt.mechs & (1U << m)) && mechs[m].latency &&
			    !err[m])
				err[m] = unusable(m, s) ? : lat_run(m, s, samecpu, secs,
						 samples[m], &n[m]);
	for (m = 0; m < NR_MECHS; m++) {
		if (!(opt.mechs & (1U << m)) || !mechs[m].latency)
			continue;
		row_init(v);
		v[C_CAPACITY] = capacity[m][s] >= 0 ? capacity[m][s] : NAN;
		if (err[m] || !n[m]) {
			const char *why = strerror(err[m] ? -err[m] : ETIME);

			fprintf(stderr, "  %-13s failed: %s\n", mechs[m].name,
				why);
			csv_row("lat", m, size, topo, v, why);
			failures++;
			continue;
		}
		sm = samples[m];
		qsort(sm, n[m], sizeof(*sm), cmp_u64);
		for (i = 0, sum = 0; i < n[m]; i++)
			sum += sm[i];
		v[C_P50] = sm[n[m] / 2] / 1e3;
		v[C_P99] = sm[n[m] * 99 / 100] / 1e3;
		v[C_MEAN] = sum / n[m] / 1e3;
		v[C_SAMPLES] = n[m];
		v[C_ROUNDS] = opt.rounds;
		fprintf(stderr, "  %-13s p50 %9.1f us  p99 %9.1f us  "
			"(%zu round trips)\n", mechs[m].name, v[C_P50],
			v[C_P99], n[m]);
		csv_row("lat", m, size, topo, v, NULL);
	}
}

/* ---- cost ---- */

/*
 * One process puts a burst of messages, then gets them back, for @secs:
 * what a put and a get cost in CPU time, with no wakeup and no other
 * process involved. Returns nanoseconds per message (put + get) or -errno.
 */
static double cost_run(int mech, int s, double secs)
{
	const struct mech *m = &mechs[mech];
	uint64_t msgs = 0;
	double t0, t;
	struct chan c;
	struct xbuf x;
	long burst, i, r = 0;
	int err;

	err = chan_open(&c, mech, opt.sizes[s], opt.bound, seqpacket_sndbuf[s]);
	if (err)
		return err;
	xbuf_init(&x, &c);
	/* Calls per burst: never more messages than the queue holds. */
	burst = (capacity[mech][s] < 64 ? capacity[mech][s] : 64) / x.batch;
	if (burst < 1) {
		x.b.count = 1;
		burst = 1;
	}
	t0 = now();
	do {
		for (i = 0; i < burst && r >= 0; i++)
			r = m->put(&c, &x);
		for (i = 0; i < burst && r >= 0; i++) {
			r = m->get(&c, &x);
			msgs += r > 0 ? r : 0;
		}
		t = now();
	} while (r >= 0 && t - t0 < secs);
	m->close(&c);
	xbuf_free(&x);
	if (r < 0)
		return r;
	return (t - t0) * 1e9 / msgs;
}

/* Every mechanism for one size, in rounds that take turns. */
static void cost_group(int s, int *group, int groups)
{
	double ns[NR_MECHS][MAX_ROUNDS], v[NR_COLS];
	double secs = opt.duration / 3 / opt.rounds;
	size_t size = opt.sizes[s];
	int err[NR_MECHS] = { }, m, r;

	progress("[%d/%d] cost %s: %d round(s) of %.2f s\n", ++*group,
		 groups, size_str(size), opt.rounds, secs);
	for (r = 0; r < opt.rounds; r++) {
		for (m = 0; m < NR_MECHS; m++) {
			if (!(opt.mechs & (1U << m)) || err[m])
				continue;
			ns[m][r] = unusable(m, s) ? : cost_run(m, s, secs);
			if (ns[m][r] < 0)
				err[m] = (int)ns[m][r];
		}
	}
	for (m = 0; m < NR_MECHS; m++) {
		if (!(opt.mechs & (1U << m)))
			continue;
		row_init(v);
		v[C_CAPACITY] = capacity[m][s] >= 0 ? capacity[m][s] : NAN;
		if (err[m]) {
			fprintf(stderr, "  %-13s failed: %s\n", mechs[m].name,
				strerror(-err[m]));
			csv_row("cost", m, size, "1-proc", v, strerror(-err[m]));
			failures++;
			continue;
		}
		v[C_NS] = median(ns[m], opt.rounds);
		v[C_ROUNDS] = opt.rounds;
		fprintf(stderr, "  %-13s %9.2f us per message (put + get)\n",
			mechs[m].name, v[C_NS] / 1e3);
		csv_row("cost", m, size, "1-proc", v, NULL);
	}
}

/* ---- memory ---- */

/*
 * What the kernel charges for queued messages, read from the memory cgroup
 * the filling child runs in: "kernel" (every kernel allocation charged to
 * the cgroup, slab objects at their full object size), "slab" (slab objects
 * only) and memory.current (page-granular, includes per-CPU charge
 * batches). Reading cpu.stat first flushes the cgroup's statistics so
 * memory.stat is exact. The global Slab of /proc/meminfo is reported too:
 * it would catch slab objects charged to no cgroup, but counts whole slab
 * pages and whatever else the system does meanwhile.
 */
struct memsnap {
	long long kernel, slab, current, global_slab;
};

static char cgroup_dir[64];	/* ours, empty without cgroup v2 memory */
static bool mounted_cgroup;

static const char *cg_path(const char *file)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/%s", cgroup_dir, file);
	return path;
}

static long long read_key(const char *path, const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	long long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) &&
		    (line[klen] == ' ' || line[klen] == ':')) {
			v = strtoll(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* A number read from a file, -1 if there is none. */
static long long read_ll(const char *path)
{
	unsigned long long v;

	return read_file_u64(path, &v) ? -1 : (long long)v;
}

static void memsnap_take(struct memsnap *m)
{
	char buf[4096];

	m->kernel = m->slab = m->current = -1;
	if (cgroup_dir[0]) {
		/* Reading cpu.stat flushes the cgroup's rstat, memcg too. */
		FILE *f = fopen(cg_path("cpu.stat"), "r");

		if (f) {
			while (fread(buf, 1, sizeof(buf), f) > 0)
				;
			fclose(f);
		}
		m->kernel = read_key(cg_path("memory.stat"), "kernel");
		m->slab = read_key(cg_path("memory.stat"), "slab");
		m->current = read_ll(cg_path("memory.current"));
	}
	m->global_slab = read_key("/proc/meminfo", "Slab");
	if (m->global_slab >= 0)
		m->global_slab *= 1024;
}

/*
 * Find cgroup v2: at /sys/fs/cgroup, or at its unified/ of a hybrid
 * setup; mount it only where nothing is mounted yet (a bare sysfs
 * directory, as in the mpq-vm guest), never over a v1 hierarchy.
 */
static void memcg_setup(void)
{
	static const char *const roots[] = {
		CGROUP_ROOT, CGROUP_ROOT "/unified",
	};
	const char *root = NULL;
	struct statfs sfs;
	unsigned int i;
	char ctl[96];

	for (i = 0; i < sizeof(roots) / sizeof(roots[0]) && !root; i++)
		if (!statfs(roots[i], &sfs) && sfs.f_type == CGROUP2_SUPER_MAGIC)
			root = roots[i];
	if (!root && !statfs(CGROUP_ROOT, &sfs) &&
	    sfs.f_type == SYSFS_MAGIC) {
		if (mount("cgroup2", CGROUP_ROOT, "cgroup2", 0, NULL) == 0) {
			mounted_cgroup = true;
			root = CGROUP_ROOT;
		}
	}
	if (!root) {
		warning("no cgroup v2: memory from /proc/meminfo only");
		return;
	}
	snprintf(ctl, sizeof(ctl), "%s/cgroup.subtree_control", root);
	write_file_str(ctl, "+memory");
	snprintf(cgroup_dir, sizeof(cgroup_dir), "%s/mpq-bench", root);
	if (mkdir(cgroup_dir, 0755) && errno != EEXIST) {
		warning("mkdir %s: %s", cgroup_dir, strerror(errno));
		cgroup_dir[0] = '\0';
	} else if (access(cg_path("memory.stat"), R_OK)) {
		warning("no memory controller in %s: memory from /proc/meminfo "
			"only", root);
		rmdir(cgroup_dir);
		cgroup_dir[0] = '\0';
	}
}

static void memcg_teardown(void)
{
	if (cgroup_dir[0])
		rmdir(cgroup_dir);
	if (mounted_cgroup)
		umount(CGROUP_ROOT);
}

struct mem_result {
	struct memsnap before, after;
	long queued;
	int err;
};

/* In a child: join the cgroup, fill @n messages, report, exit. */
static void mem_child(int mech, size_t size, long n, struct mem_result *res)
{
	struct chan c;
	struct xbuf x;
	long r;
	int ret;

	if (cgroup_dir[0]) {
		ret = write_file_str(cg_path("cgroup.procs"), "0");
		if (ret) {
			res->err = -ret;
			_exit(1);
		}
	}
	/* A sndbuf far above what n skbs take: the count is what we fill. */
	ret = chan_open(&c, mech, size, n,
			(int)fmin(n * (size + 4096.0), INT_MAX / 2));
	if (ret) {
		res->err = -ret;
		_exit(1);
	}
	xbuf_init(&x, &c);
	x.b.count = 1;
	c.m->set_nonblock(&c, true);
	/* Warm the path (and its slab caches) with one message. */
	if (c.m->put(&c, &x) != 1 || c.m->get(&c, &x) != 1) {
		res->err = EIO;
		_exit(1);
	}
	memsnap_take(&res->before);
	while (res->queued < n && (r = c.m->put(&c, &x)) > 0)
		res->queued += r;
	memsnap_take(&res->after);
	_exit(0);
}

static double per_msg(long long a, long long b, long n)
{
	return a < 0 || b < 0 ? NAN : (double)(b - a) / n;
}

/* Batches and task dones queue what write() does: measured once, as mpq. */
static bool mem_mech(int m)
{
	return (opt.mechs & (1U << m)) && !mechs[m].batched && !mechs[m].tasks;
}

static void mem_cell(int mech, size_t size, struct mem_result *res, int cell,
		     int cells)
{
	/* Enough messages that page rounding and stocks are noise. */
	long n = (long)fmin(fmax(32.0 * 1024 * 1024 / size, 200), 50000);
	double v[NR_COLS];
	pid_t pid;
	int st;

	progress("[%d/%d] mem %-13s %8s: ", cell, cells,
		mechs[mech].name, size_str(size));
	memset(res, 0, sizeof(*res));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		mem_child(mech, size, n, res);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	row_init(v);
	v[C_QUEUED] = res->queued;
	if (res->err || res->queued != n) {
		const char *why = res->err ? strerror(res->err) :
					     "queue full early";

		fprintf(stderr, "failed: %s\n", why);
		csv_row("mem", mech, size, "1-1", v, why);
		failures++;
		return;
	}
	v[C_KERNEL] = per_msg(res->before.kernel, res->after.kernel, n);
	v[C_SLAB] = per_msg(res->before.slab, res->after.slab, n);
	v[C_CURRENT] = per_msg(res->before.current, res->after.current, n);
	v[C_GSLAB] = per_msg(res->before.global_slab, res->after.global_slab,
			     n);
	fprintf(stderr, "%ld queued: kernel %.1f slab %.1f current %.1f "
		"global slab %.1f bytes/msg\n", n, v[C_KERNEL], v[C_SLAB],
		v[C_CURRENT], v[C_GSLAB]);
	csv_row("mem", mech, size, "1-1", v, NULL);
}

/* ---- setup and main ---- */

/* Let every mechanism hold the bound at the largest size, as root may. */
static void raise_limits(void)
{
	size_t max = 0;
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	long n = opt.bound;
	int s;

	for (s = 0; s < opt.nr_sizes; s++)
		max = opt.sizes[s] > max ? opt.sizes[s] : max;
	for (s = 0; s < opt.nr_mem_sizes; s++) {
		max = opt.mem_sizes[s] > max ? opt.mem_sizes[s] : max;
		n = n > 50000 ? n : 50000;
	}
	if (opt.mechs & (1U << MQUEUE)) {
		if (setrlimit(RLIMIT_MSGQUEUE, &rl))
			warning("RLIMIT_MSGQUEUE: %s", strerror(errno));
		sysctl_at_least("/proc/sys/fs/mqueue/msg_max", n);
		sysctl_at_least("/proc/sys/fs/mqueue/msgsize_max", max);
	}
	if (opt.mechs & (1U << SYSV))
		sysctl_at_least("/proc/sys/kernel/msgmax", max);
}

static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (end == s)
		return -1;
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	if (!strcmp(end, "iB") || !strcmp(end, "B"))
		end += strlen(end);
	if (*end || !v || v > (64ULL << 20))
		return -1;
	*out = v;
	return 0;
}

static void parse_sizes(const char *arg, size_t *sizes, int *nr)
{
	char *copy = strdup(arg), *tok, *save = NULL;

	*nr = 0;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (*nr == MAX_SIZES || parse_size(tok, &sizes[*nr]))
			die("bad size list: %s", arg);
		(*nr)++;
	}
	free(copy);
	if (!*nr)
		die("empty size list");
}

static unsigned int parse_names(const char *arg, const char *what,
				const char *(*name)(unsigned int),
				unsigned int nr)
{
	char *copy = strdup(arg), *tok, *save = NULL;
	unsigned int mask = 0, i;

	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < nr && strcmp(tok, name(i)); i++)
			;
		if (i == nr)
			die("unknown %s: %s", what, tok);
		mask |= 1U << i;
	}
	free(copy);
	return mask;
}

static const char *mech_name(unsigned int i) { return mechs[i].name; }
static const char *topo_name(unsigned int i) { return all_topos[i].name; }
static const char *test_name(unsigned int i)
{
	static const char *const names[] = { "tput", "lat", "mem", "cost" };

	return names[i];
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: mpq-bench [OPTIONS]\n"
"\n"
"Throughput, round-trip latency, context switches and kernel memory per\n"
"message of mpq (write/read and PUT_MANY/GET_MANY), POSIX mqueue, AF_UNIX\n"
"SOCK_SEQPACKET, SysV message queues and a pipe. Run as root with mpq.ko\n"
"loaded; mechanisms that cannot be set up are reported and skipped.\n"
"\n"
"  --quick             64 B only, 0.5 s per cell, 1 round: a smoke run\n"
"  --duration SECS     measured seconds per throughput cell (default 1.2);\n"
"                      a latency cell runs half as long\n"
"  --rounds N          split each cell into N turns taken in rotation by\n"
"                      the mechanisms; the median is reported (default 3)\n"
"  --csv FILE          write every result to FILE\n"
"  --sizes LIST        message sizes, e.g. 8,64,1K,16K,256K (the default)\n"
"  --mem-sizes LIST    sizes for the memory test (default 64,1K,16K)\n"
"  --mechs LIST        of mpq,mpq-batch,mpq-uring,mpq-td (a task done per\n"
"                      get),mpq-redeliver (the same, MPQ_CREATE_REDELIVER),\n"
"                      mqueue,seqpacket,sysv,pipe (the default) and\n"
"                      mpq-ioctl (MPQ_IOC_PUT/GET)\n"
"  --topologies LIST   of 1-1,4-4,8-1,1-8 (producers-consumers; all)\n"
"  --tests LIST        of tput,lat,mem,cost (all)\n"
"  --bound N           messages each queue holds (default 1000)\n"
"  --batch N           messages per mpq-batch call and per mpq-uring\n"
"                      io_uring_enter() (default 64)\n"
"  -h, --help          this help\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "duration", required_argument, NULL, 'd' },
		{ "csv", required_argument, NULL, 'c' },
		{ "sizes", required_argument, NULL, 's' },
		{ "mem-sizes", required_argument, NULL, 'S' },
		{ "mechs", required_argument, NULL, 'm' },
		{ "topologies", required_argument, NULL, 't' },
		{ "tests", required_argument, NULL, 'T' },
		{ "bound", required_argument, NULL, 'b' },
		{ "batch", required_argument, NULL, 'B' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	bool quick = false, have_duration = false, have_sizes = false,
	     have_mem_sizes = false;
	int c, i, m, s, t, cell, cells, group, groups;
	struct mem_result *memres;
	uint64_t *samples[NR_MECHS] = { };
	char *end;

	opt.mechs = DEFAULT_MECHS;
	opt.topos = (1U << NR_TOPOS) - 1;
	opt.tests = TEST_TPUT | TEST_LAT | TEST_MEM | TEST_COST;
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'q':
			quick = true;
			break;
		case 'd':
			opt.duration = strtod(optarg, &end);
			if (*end || !(opt.duration > 0 && opt.duration <= 3600))
				die("bad --duration: %s", optarg);
			have_duration = true;
			break;
		case 'c':
			opt.csv = optarg;
			break;
		case 's':
			parse_sizes(optarg, opt.sizes, &opt.nr_sizes);
			have_sizes = true;
			break;
		case 'S':
			parse_sizes(optarg, opt.mem_sizes, &opt.nr_mem_sizes);
			have_mem_sizes = true;
			break;
		case 'm':
			opt.mechs = parse_names(optarg, "mechanism", mech_name,
						NR_MECHS);
			break;
		case 't':
			opt.topos = parse_names(optarg, "topology", topo_name,
						NR_TOPOS);
			break;
		case 'T':
			opt.tests = parse_names(optarg, "test", test_name, 4);
			break;
		case 'b':
			opt.bound = strtol(optarg, &end, 10);
			if (*end || opt.bound < 1 || opt.bound > 65536)
				die("bad --bound: %s", optarg);
			break;
		case 'B':
			opt.batch = strtoul(optarg, &end, 10);
			if (*end || !opt.batch || opt.batch > MPQ_BATCH_MAX)
				die("bad --batch: %s", optarg);
			break;
		case 'r':
			opt.rounds = strtol(optarg, &end, 10);
			if (*end || opt.rounds < 1 || opt.rounds > MAX_ROUNDS)
				die("bad --rounds: %s", optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!have_duration)
		opt.duration = quick ? 0.5 : 1.2;
	if (!opt.rounds)
		opt.rounds = quick ? 1 : 3;
	opt.lat_duration = opt.duration / 2;
	if (!have_sizes)
		parse_sizes(quick ? "64" : "8,64,1K,16K,256K", opt.sizes,
			    &opt.nr_sizes);
	if (!have_mem_sizes)
		parse_sizes(quick ? "64" : "64,1K,16K", opt.mem_sizes,
			    &opt.nr_mem_sizes);

	if (opt.csv) {
		csv = fopen(opt.csv, "w");
		if (!csv)
			die("%s: %s", opt.csv, strerror(errno));
	}
	slots = mmap(NULL, MAX_PROCS * sizeof(*slots), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (slots == MAP_FAILED)
		die("out of memory");
	for (m = 0; m < NR_MECHS; m++) {
		if (!(opt.mechs & (1U << m)) || !mechs[m].latency)
			continue;
		samples[m] = malloc(LAT_SAMPLES_MAX * sizeof(*samples[m]));
		if (!samples[m])
			die("out of memory");
	}
	/* SIGKILLed children are reaped explicitly; nothing else to catch. */
	signal(SIGPIPE, SIG_IGN);
	t_start = now();
	raise_limits();
	csv_header();

	/* The memory test sizes its queues itself. */
	if (opt.tests & (TEST_COST | TEST_TPUT | TEST_LAT))
		calibrate();

	groups = opt.nr_sizes;
	group = 0;
	if (opt.tests & TEST_COST)
		for (s = 0; s < opt.nr_sizes; s++)
			cost_group(s, &group, groups);

	/* Sizes outermost, so a partial run still compares mechanisms. */
	groups = opt.nr_sizes * __builtin_popcount(opt.topos);
	group = 0;
	if (opt.tests & TEST_TPUT)
		for (s = 0; s < opt.nr_sizes; s++)
			for (t = 0; t < (int)NR_TOPOS; t++)
				if (opt.topos & (1U << t))
					tput_group(s, &all_topos[t], &group,
						   groups);

	groups = 2 * opt.nr_sizes;
	group = 0;
	if (opt.tests & TEST_LAT)
		for (i = 0; i < 2; i++)
			for (s = 0; s < opt.nr_sizes; s++)
				lat_group(s, i, samples, &group, groups);

	if (opt.tests & TEST_MEM) {
		memres = mmap(NULL, sizeof(*memres), PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (memres == MAP_FAILED)
			die("out of memory");
		memcg_setup();
		cells = 0;
		for (m = 0; m < NR_MECHS; m++)
			if (mem_mech(m))
				cells += opt.nr_mem_sizes;
		cell = 0;
		for (s = 0; s < opt.nr_mem_sizes; s++)
			for (m = 0; m < NR_MECHS; m++)
				if (mem_mech(m))
					mem_cell(m, opt.mem_sizes[s], memres,
						 ++cell, cells);
		memcg_teardown();
	}

	if (csv && fclose(csv))
		die("%s: %s", opt.csv, strerror(errno));
	if (failures)
		warning("%d measurement(s) failed", failures);
	return failures ? 1 : 0;
}
