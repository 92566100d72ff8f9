// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz: random and structure-aware calls on /dev/mpq/control and on queue
 * descriptors from several processes with two threads each: every ioctl
 * with fields drawn from edge values, random flags, non-zero reserved
 * fields, bad, unaligned and half-mapped pointers, huge lengths; read,
 * write, readv/writev, poll, epoll, fcntl, close and reopen; shut-down,
 * immediately shut-down and removed queues; named queues that all processes
 * create, open and remove concurrently; descriptors closed by one thread
 * while the other uses them.
 *
 * Blocking calls run under a per-thread periodic SIGALRM (no SA_RESTART),
 * so they end with EINTR; every other wait is non-blocking or a short
 * deadline. The parent watches progress and fails the run, with the
 * kernel stacks of the stuck threads, if a process stops advancing.
 *
 * Beyond "the kernel logs nothing" (tests/rig/mpq-vm checks that), the fuzzer
 * checks what it can without a model: no kernel-internal errno (>= 512)
 * reaches userspace; every successful STAT satisfies the queue invariants;
 * LIST output is well formed; and at the end every queue drains exactly
 * qsize messages totalling bytes.
 *
 * Usage: fuzz [-n CALLS] [-p PROCS] [-s SEED] [-w WATCHDOG_SECONDS]
 */
#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "kselftest.h"
#include "mpq_test.h"
#include "rand.h"

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

#define THREADS		2
#define NFDS		12
#define NNAMES		6
#define BUF_SIZE	(1 << 20)
#define MAX_ERRNO	600

enum op {
	OP_CTL_IOCTL, OP_Q_IOCTL, OP_RAND_IOCTL, OP_WRITE, OP_READ, OP_RWV,
	OP_POLL, OP_EPOLL, OP_CLOSE, OP_OPEN, OP_FCNTL, OP_MISC, NR_OPS
};

static const char *const op_names[NR_OPS] = {
	"control-ioctl", "queue-ioctl", "random-ioctl", "write", "read",
	"readv/writev", "poll", "epoll", "close", "open", "fcntl", "misc",
};

/* Relative frequencies of the operations. */
static const unsigned int op_weight[NR_OPS] = {
	12, 34, 8, 9, 9, 3, 4, 1, 5, 9, 3, 3,
};

struct stats {
	uint64_t calls[NR_OPS], ok[NR_OPS];
	uint64_t err[MAX_ERRNO];
	uint64_t alarms, sigios, created, named_created, removed, listed;
	uint64_t stat_checked, drained;
};

/* Per process, shared with the parent. */
struct proc_shared {
	uint64_t progress;	/* calls made so far */
	_Atomic int done;
	struct stats st;
	int failures;
	char first_failure[256];
};

static struct proc_shared *procs;
static unsigned int nprocs = 4;
static uint64_t total_calls = 200000, seed;
static unsigned int watchdog_s = 120;
static char names[NNAMES][MPQ_NAME_SIZE];

/* --- per process state ------------------------------------------------- */

static struct proc_shared *me;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char *buf;		/* BUF_SIZE, followed by a guard page */
static unsigned char *robuf;		/* a read-only page */
static long page;

static __thread struct stats tst;
static __thread timer_t alarm_timer;

static void fail(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&lock);
	if (!me->failures)
		snprintf(me->first_failure, sizeof(me->first_failure), "%s", msg);
	/* The first few tell the story; the count tells the rest. */
	if (me->failures++ < 5)
		fprintf(stderr, "# fuzz[%d]: FAIL: %s\n", (int)getpid(), msg);
	pthread_mutex_unlock(&lock);
}

/* Account a call's result: ret >= 0 is success, else -errno. */
static long account(enum op op, long ret)
{
	tst.calls[op]++;
	if (ret >= 0) {
		tst.ok[op]++;
	} else if (-ret < MAX_ERRNO) {
		tst.err[-ret]++;
		/* ERESTARTSYS & co. must never leave the kernel. */
		if (-ret >= 512)
			fail("%s returned kernel-internal errno %ld",
			     op_names[op], -ret);
	} else {
		fail("%s returned %ld", op_names[op], ret);
	}
	return ret;
}

static long sysret(long ret)
{
	return ret < 0 ? -errno : ret;
}

/* --- values ---------------------------------------------------------- */

static uint64_t edge_u64(void)
{
	static const uint64_t edges[] = {
		0, 1, 2, 7, 8, 63, 64, 65, 4095, 4096, 4097, 65536,
		(1 << 20) - 1, 1 << 20, (1 << 20) + 1, 16 << 20, (16 << 20) + 1,
		64ULL << 20, 1ULL << 30, (1ULL << 30) + 1, 1ULL << 31,
		1ULL << 32, 0x7fffffffffffffffULL, 0x8000000000000000ULL,
		~0ULL, ~0ULL - 1,
	};

	if (chance(80))
		return edges[rnd_below(sizeof(edges) / sizeof(edges[0]))];
	return rnd();
}

/* Flags: mostly valid bits of @valid, sometimes any bit at all. */
static uint32_t rand_flags(uint32_t valid)
{
	if (chance(85))
		return (uint32_t)rnd() & valid;
	return 1U << rnd_below(32) | ((uint32_t)rnd() & valid);
}

static uint64_t rand_reserved(void)
{
	return chance(92) ? 0 : (chance(50) ? 1ULL << rnd_below(64) : rnd());
}

/*
 * A user pointer for @size bytes: mostly valid (sometimes unaligned),
 * sometimes NULL, tiny, kernel, non-canonical, read-only, the guard page,
 * or straddling into the guard page.
 */
static void *rand_ptr(size_t size, bool writable)
{
	unsigned int r = rnd_below(100);

	if (size > BUF_SIZE)
		size = BUF_SIZE;
	if (r < 82) {
		size_t off = rnd_below(BUF_SIZE - size + 1);

		if (chance(60))
			off &= ~(size_t)7;
		return buf + off;
	}
	switch (r) {
	case 82: case 83: return NULL;
	case 84: return (void *)(uintptr_t)(1 + rnd_below(4096));
	case 85: case 86: return buf + BUF_SIZE;	/* guard page */
	case 87: case 88: case 89:			/* straddles into it */
		return buf + BUF_SIZE - 1 - rnd_below(size ? size : 1);
	case 90: case 91: return writable ? robuf : robuf + rnd_below(page - size % page);
	case 92: return (void *)(uintptr_t)~0UL;
	case 93: return (void *)(uintptr_t)(~0UL - 4095);
	default:
		if (sizeof(void *) == 8)
			return (void *)(uintptr_t)(chance(50) ?
				0xffff888000000000ULL : 0x8000000000000000ULL);
		return (void *)(uintptr_t)0xc0000000UL;
	}
}

/* A __u64 user pointer field: rand_ptr() or, now and then, any 64 bits. */
static __u64 rand_uptr(size_t size, bool writable)
{
	if (chance(4))
		return rnd();
	return PTR(rand_ptr(size, writable));
}

/* A message length: mostly small, sometimes up to 64 KiB, rarely huge. */
static uint64_t rand_len(void)
{
	unsigned int r = rnd_below(100);

	if (r < 70)
		return rnd_below(257);
	if (r < 95)
		return rnd_below(16385);
	if (r < 98)
		return rnd_below(65537);
	return edge_u64();
}

static struct __kernel_timespec rand_deadline(void)
{
	struct __kernel_timespec ts = ns_to_kts(now_ns());
	unsigned int r = rnd_below(100);

	if (r < 60) {
		ts = ns_to_kts(now_ns() + (int64_t)rnd_below(5 * NSEC_PER_MSEC));
	} else if (r < 70) {
		ts.tv_sec -= (int64_t)rnd_below(3);
	} else if (r < 78) {
		ts.tv_nsec = chance(50) ? NSEC_PER_SEC + (int64_t)rnd_below(10) :
			-1 - (int64_t)rnd_below(10);
	} else if (r < 84) {
		ts.tv_sec = -1 - (int64_t)rnd_below(1000);
	} else if (r < 90) {
		ts.tv_sec = (int64_t)(rnd() >> 1);	/* far future */
	} else {
		ts.tv_sec = (int64_t)rnd();
		ts.tv_nsec = (int64_t)rnd();
	}
	return ts;
}

/*
 * A queue name: one of the shared pool, or an edge case. Every valid name
 * starts with this run's prefix, so the parent finds and removes all the
 * queues the run created; the others are invalid by construction.
 */
static char prefix[32];

static void rand_name(char *name, bool pool_name)
{
	static const char valid[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
	size_t plen = strlen(prefix);
	unsigned int r = rnd_below(100), n;

	memset(name, 0, MPQ_NAME_SIZE);
	if (pool_name && r < 85) {
		memcpy(name, names[rnd_below(NNAMES)], MPQ_NAME_SIZE);
		return;
	}
	r = rnd_below(100);
	if (r < 5) {
		strcpy(name, "control");
	} else if (r < 10) {
		name[0] = '.';
		name[1] = 'x';
	} else if (r < 15) {
		memset(name, 'a', MPQ_NAME_SIZE);	/* no NUL */
	} else if (r < 20) {
		/* 64 characters (valid) or 65 (too long). */
		memcpy(name, prefix, plen);
		memset(name + plen, 'b', MPQ_NAME_MAX + (r & 1) - plen);
	} else if (r < 35) {
		n = 1 + rnd_below(MPQ_NAME_MAX);
		for (unsigned int i = 0; i < n; i++)
			name[i] = (char)(1 + rnd_below(255));
		name[rnd_below(n)] = chance(50) ? '/' : ' ';
	} else {
		memcpy(name, prefix, plen);
		n = plen + rnd_below(MPQ_NAME_MAX - plen + 1);
		for (unsigned int i = plen; i < n; i++)
			name[i] = valid[rnd_below(sizeof(valid) - 1)];
		/* Garbage after the NUL. */
		if (chance(10) && n + 1 < MPQ_NAME_SIZE)
			name[n + 1] = 'z';
	}
}

/* --- the fd pool --------------------------------------------------------- */

enum kind { K_OTHER, K_ANON, K_NAMED };

struct slot {
	int fd;
	enum kind kind;
};

static struct slot pool[NFDS];

/* A descriptor from the pool; now and then a closed or invalid one. */
static int pool_pick_kind(enum kind *kind)
{
	struct slot s;

	/* Mostly an open one: empty slots would only give EBADF. */
	pthread_mutex_lock(&lock);
	for (int tries = 0; tries < 4; tries++) {
		s = pool[rnd_below(NFDS)];
		if (s.fd >= 0)
			break;
	}
	pthread_mutex_unlock(&lock);
	if (s.fd < 0 || chance(2)) {
		s.fd = chance(50) ? 999 : -1;
		s.kind = K_OTHER;
	}
	if (kind)
		*kind = s.kind;
	return s.fd;
}

static int pool_pick(void)
{
	return pool_pick_kind(NULL);
}

/* Put @fd into a random slot, closing what was there. */
static void pool_put(int fd, enum kind kind)
{
	unsigned int i = rnd_below(NFDS);
	int old;

	pthread_mutex_lock(&lock);
	old = pool[i].fd;
	pool[i].fd = fd;
	pool[i].kind = kind;
	pthread_mutex_unlock(&lock);
	if (old >= 0)
		close(old);
}

static void pool_close_one(void)
{
	unsigned int i = rnd_below(NFDS);
	int fd;

	pthread_mutex_lock(&lock);
	fd = pool[i].fd;
	pool[i].fd = -1;
	pthread_mutex_unlock(&lock);
	if (fd >= 0)
		account(OP_CLOSE, sysret(close(fd)));
}

/* --- SIGALRM for blocking calls -------------------------------------- */

static void on_alarm(int sig)
{
	(void)sig;
	tst.alarms++;
}

static void on_sigio(int sig)
{
	(void)sig;
	tst.sigios++;
}

static void alarm_setup(void)
{
	struct sigevent sev = {
		.sigev_notify = SIGEV_THREAD_ID,
		.sigev_signo = SIGALRM,
	};

	sev.sigev_notify_thread_id = (pid_t)syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, &alarm_timer)) {
		fprintf(stderr, "# fuzz: timer_create: %s\n", strerror(errno));
		_exit(1);
	}
}

/*
 * Arm a periodic SIGALRM for a call that may block: the first one comes
 * soon, and the next ones keep coming, so a signal that lands before the
 * call sleeps cannot leave it blocked.
 */
static void alarm_arm(void)
{
	struct itimerspec its = {
		.it_value.tv_nsec = (long)(1 + rnd_below(10)) * NSEC_PER_MSEC,
		.it_interval.tv_nsec = 5 * NSEC_PER_MSEC,
	};

	timer_settime(alarm_timer, 0, &its, NULL);
}

static void alarm_disarm(void)
{
	struct itimerspec its = {};

	timer_settime(alarm_timer, 0, &its, NULL);
}

/* --- checks ------------------------------------------------------------ */

/*
 * Invariants of any snapshot. Not qsize <= maxsize nor bytes <= maxbytes:
 * a get whose copy to userspace faults puts its messages back at the head
 * even if putters filled the queue meanwhile (documented in queue.c), and
 * the fuzzer's gets fault all the time. tests/stress/torture checks both.
 */
static void check_stat(const struct mpq_stat *st, const char *what)
{
	tst.stat_checked++;
	if (st->msgsize_max > st->maxbytes ||
	    st->total_gets + st->qsize + st->discarded !=
	    st->total_puts + st->redelivered ||
	    st->in_flight > st->unfinished ||
	    st->unfinished > st->total_puts || st->state > MPQ_STATE_IMMEDIATE ||
	    (st->qsize == 0) != (st->bytes == 0) ||
	    st->bytes > st->qsize * st->msgsize_max ||
	    (st->state == MPQ_STATE_IMMEDIATE && st->qsize))
		fail("%s: inconsistent stat: qsize %llu bytes %llu unfinished %llu maxsize %llu msgsize_max %llu maxbytes %llu puts %llu gets %llu discarded %llu state %u",
		     what, (unsigned long long)st->qsize,
		     (unsigned long long)st->bytes,
		     (unsigned long long)st->unfinished,
		     (unsigned long long)st->maxsize,
		     (unsigned long long)st->msgsize_max,
		     (unsigned long long)st->maxbytes,
		     (unsigned long long)st->total_puts,
		     (unsigned long long)st->total_gets,
		     (unsigned long long)st->discarded, st->state);
}

/* LIST output: NUL-terminated valid names, exactly @len bytes. */
static void check_list(const char *p, long len)
{
	long i = 0;

	tst.listed++;
	while (i < len) {
		size_t n = strnlen(p + i, len - i);

		if (n == (size_t)(len - i) || n == 0 || n > MPQ_NAME_MAX ||
		    p[i] == '.' ||
		    strspn(p + i, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n) {
			fail("LIST returned a malformed name at offset %ld of %ld",
			     i, len);
			return;
		}
		i += n + 1;
	}
}

/* --- operations ------------------------------------------------------- */

static bool in_buf(const void *p, size_t n)
{
	uintptr_t c = (uintptr_t)p, b = (uintptr_t)buf;

	return c >= b && n <= BUF_SIZE && c - b <= BUF_SIZE - n;
}

static void fill_create(struct mpq_create *c, bool named)
{
	memset(c, 0, sizeof(*c));
	c->maxsize = chance(80) ? rnd_below(17) : edge_u64();
	c->msgsize_max = chance(70) ? rnd_below(65537) : edge_u64();
	/* Mostly small queues: the fuzzer must not fill the guest's memory. */
	c->maxbytes = chance(85) ? 65536 + rnd_below(1 << 20) : edge_u64();
	c->flags = rand_flags(MPQ_CREATE_FLAGS);
	c->mode = chance(70) ? (chance(50) ? 0 : 0600) :
		(uint32_t)(chance(50) ? rnd_below(01000) : rnd());
	if (named)
		rand_name(c->name, true);
	else if (chance(5))
		rand_name(c->name, false);
	/* Redelivery: limits, and dead letters to the pool's names. */
	c->max_deliveries = chance(70) ? (uint32_t)rnd_below(4) : (uint32_t)rnd();
	if (chance(30))
		c->dead_letter = chance(80) ? PTR(names[rnd_below(NNAMES)]) :
			rnd();
	for (int i = 0; i < 2; i++)
		c->__reserved[i] = rand_reserved();
	c->__reserved0 = (uint32_t)rand_reserved();
}

static void op_ctl_ioctl(void)
{
	bool own = chance(90);
	int fd = own ? open(MPQ_CONTROL_PATH, O_RDWR | O_CLOEXEC) : pool_pick();
	unsigned int r = rnd_below(100);
	long ret;

	if (r < 50) {
		bool named = r >= 30;
		struct mpq_create *c = rand_ptr(sizeof(*c), false);

		if (in_buf(c, sizeof(*c)))
			fill_create(c, named);
		ret = account(OP_CTL_IOCTL, sysret(ioctl(fd, named ?
			MPQ_IOC_CREATE_NAMED : MPQ_IOC_CREATE, c)));
		if (ret >= 0 && !named) {
			tst.created++;
			pool_put((int)ret, K_ANON);
		} else if (ret > 0) {
			fail("CREATE_NAMED returned %ld, not 0", ret);
		} else if (ret == 0) {
			tst.named_created++;
		}
	} else if (r < 75) {
		struct mpq_name *n = rand_ptr(sizeof(*n), false);

		if (in_buf(n, sizeof(*n)))
			rand_name(n->name, true);
		ret = account(OP_CTL_IOCTL, sysret(ioctl(fd, MPQ_IOC_REMOVE, n)));
		if (ret == 0)
			tst.removed++;
	} else {
		static __thread char names_buf[4096];
		struct mpq_list *l = rand_ptr(sizeof(*l), true);
		bool good = in_buf(l, sizeof(*l)) && chance(85);
		uint64_t size = chance(70) ? rnd_below(sizeof(names_buf) + 1) :
			edge_u64();

		if (in_buf(l, sizeof(*l))) {
			if (good && size > sizeof(names_buf))
				size = sizeof(names_buf);
			l->buf = good ? PTR(names_buf) : rand_uptr(size, true);
			l->size = size;
			l->__reserved[0] = good ? 0 : rand_reserved();
			l->__reserved[1] = good ? 0 : rand_reserved();
		}
		ret = account(OP_CTL_IOCTL, sysret(ioctl(fd, MPQ_IOC_LIST, l)));
		if (ret > 0 && good && size) {
			if ((uint64_t)ret > size)
				fail("LIST returned %ld for a buffer of %llu",
				     ret, (unsigned long long)size);
			else
				check_list(names_buf, ret);
		}
	}
	if (own && fd >= 0)
		close(fd);
}

static void fill_xfer(struct mpq_xfer *x, bool get)
{
	uint64_t len = rand_len();

	x->len = len;
	x->buf = rand_uptr(len, get);
	x->flags = chance(60) ? MPQ_XFER_NONBLOCK : rand_flags(MPQ_XFER_FLAGS);
	x->deadline = rand_deadline();
	x->deliveries = (uint32_t)rand_reserved();
}

static void fill_batch(struct mpq_batch *b, bool get)
{
	unsigned int r = rnd_below(100);
	struct mpq_msgvec *v;
	uint32_t count;

	if (r < 85)
		count = 1 + rnd_below(8);
	else if (r < 90)
		count = 0;
	else if (r < 95)
		count = MPQ_BATCH_MAX + (uint32_t)rnd_below(2);
	else
		count = (uint32_t)rnd();
	v = rand_ptr((count < MPQ_BATCH_MAX ? count : MPQ_BATCH_MAX) * sizeof(*v),
		     false);
	if (count <= MPQ_BATCH_MAX && in_buf(v, count * sizeof(*v))) {
		for (uint32_t i = 0; i < count; i++) {
			v[i].len = rand_len();
			v[i].buf = rand_uptr(v[i].len, get);
			v[i].result = chance(95) ? 0 : rnd();
		}
	}
	b->vec = chance(97) ? PTR(v) : rnd();
	b->count = count;
	b->flags = chance(60) ? MPQ_XFER_NONBLOCK : rand_flags(MPQ_XFER_FLAGS);
	b->deadline = rand_deadline();
	b->deliveries = chance(50) ? 0 :
		PTR(rand_ptr(MPQ_BATCH_MAX * sizeof(__u32), true));
	b->__reserved = rand_reserved();
}

static void op_q_ioctl(void)
{
	static const unsigned long cmds[] = {
		MPQ_IOC_PUT, MPQ_IOC_PUT, MPQ_IOC_PUT, MPQ_IOC_GET, MPQ_IOC_GET,
		MPQ_IOC_GET, MPQ_IOC_TASK_DONE, MPQ_IOC_JOIN, MPQ_IOC_STAT,
		MPQ_IOC_STAT, MPQ_IOC_PUT_MANY, MPQ_IOC_GET_MANY, FIONREAD,
		MPQ_IOC_SHUTDOWN, MPQ_IOC_CREATE, MPQ_IOC_LIST, MPQ_IOC_NACK,
		MPQ_IOC_INFO, MPQ_IOC_REOPEN,
	};
	unsigned long cmd = cmds[rnd_below(sizeof(cmds) / sizeof(cmds[0]))];
	int fd = pool_pick();
	bool block = false;
	void *arg;
	long ret;

	switch (cmd) {
	case MPQ_IOC_PUT:
	case MPQ_IOC_GET: {
		struct mpq_xfer *x = rand_ptr(sizeof(*x), true);

		if (in_buf(x, sizeof(*x)))
			fill_xfer(x, cmd == MPQ_IOC_GET);
		arg = x;
		block = true;
		break;
	}
	case MPQ_IOC_PUT_MANY:
	case MPQ_IOC_GET_MANY: {
		struct mpq_batch *b = rand_ptr(sizeof(*b), false);

		if (in_buf(b, sizeof(*b)))
			fill_batch(b, cmd == MPQ_IOC_GET_MANY);
		arg = b;
		block = true;
		break;
	}
	case MPQ_IOC_TASK_DONE:
	case MPQ_IOC_NACK: {
		__u64 *n = rand_ptr(sizeof(*n), false);

		if (in_buf(n, sizeof(*n)))
			*n = chance(70) ? rnd_below(3) : edge_u64();
		arg = n;
		break;
	}
	case MPQ_IOC_JOIN: {
		struct mpq_join *j = rand_ptr(sizeof(*j), false);

		if (in_buf(j, sizeof(*j))) {
			j->deadline = rand_deadline();
			j->flags = chance(80) ? MPQ_XFER_TIMEOUT :
				rand_flags(MPQ_XFER_FLAGS);
			j->__reserved = (uint32_t)rand_reserved();
		}
		arg = j;
		block = true;
		break;
	}
	case MPQ_IOC_SHUTDOWN: {
		__u32 *f = rand_ptr(sizeof(*f), false);

		/* Permanent: keep it rare, or every queue ends up shut. */
		if (chance(50))
			return;
		if (in_buf(f, sizeof(*f)))
			*f = rand_flags(MPQ_SHUTDOWN_FLAGS);
		arg = f;
		break;
	}
	case MPQ_IOC_CREATE: {
		struct mpq_create *c = rand_ptr(sizeof(struct mpq_create), false);

		if (in_buf(c, sizeof(*c)))
			fill_create(c, false);
		arg = c;
		break;
	}
	case MPQ_IOC_REOPEN: {
		__u32 *f = rand_ptr(sizeof(*f), false);

		if (in_buf(f, sizeof(*f)))
			*f = rand_flags(MPQ_REOPEN_FLAGS);
		arg = f;
		break;
	}
	default:	/* STAT, INFO, FIONREAD, LIST: outputs */
		arg = rand_ptr(sizeof(struct mpq_info), true);
		break;
	}

	if (block)
		alarm_arm();
	ret = account(OP_Q_IOCTL, sysret(ioctl(fd, cmd, arg)));
	if (block)
		alarm_disarm();
	if (ret < 0)
		return;

	/* What a successful call says must make sense. */
	switch (cmd) {
	case MPQ_IOC_STAT:
		if (in_buf(arg, sizeof(struct mpq_stat)))
			check_stat(arg, "STAT");
		break;
	case MPQ_IOC_GET:
		/* The struct may have been rewritten by the other thread's
		 * call on the same buffer: only check what cannot race. */
		if (ret > (long)(MPQ_DEFAULT_MSGSIZE_MAX << 4))
			fail("GET returned %ld", ret);
		break;
	case MPQ_IOC_PUT_MANY:
	case MPQ_IOC_GET_MANY:
		/* GET_MANY returns 0 at end of stream; PUT_MANY never. */
		if ((ret == 0 && cmd == MPQ_IOC_PUT_MANY) || ret > MPQ_BATCH_MAX)
			fail("%s returned %ld",
			     cmd == MPQ_IOC_PUT_MANY ? "PUT_MANY" : "GET_MANY", ret);
		break;
	case MPQ_IOC_CREATE:
	case MPQ_IOC_REOPEN:
		/* The pool also holds control descriptors. */
		pool_put((int)ret, K_ANON);
		break;
	}
}

static void op_rand_ioctl(void)
{
	static const unsigned long generic[] = {
		FIONREAD, FIONBIO, FIOASYNC, FIOCLEX, FIONCLEX, FIOQSIZE,
	};
	static const unsigned long known[] = {
		MPQ_IOC_CREATE, MPQ_IOC_CREATE_NAMED, MPQ_IOC_REMOVE,
		MPQ_IOC_LIST, MPQ_IOC_PUT, MPQ_IOC_GET, MPQ_IOC_TASK_DONE,
		MPQ_IOC_JOIN, MPQ_IOC_SHUTDOWN, MPQ_IOC_STAT, MPQ_IOC_PUT_MANY,
		MPQ_IOC_GET_MANY, MPQ_IOC_USAGE, MPQ_IOC_INFO, MPQ_IOC_NACK,
		MPQ_IOC_REOPEN,
	};
	unsigned int r = rnd_below(100);
	unsigned long cmd, arg;
	long ret;

	/* Only mpq's magic and harmless generic ones: a random VFS ioctl
	 * such as FIFREEZE could freeze the guest's devtmpfs. */
	if (r < 60) {
		cmd = _IOC(rnd_below(4), MPQ_IOC_MAGIC, rnd_below(0x30),
			   rnd_below(256));
	} else if (r < 85) {
		cmd = known[rnd_below(sizeof(known) / sizeof(known[0]))];
		cmd = (cmd & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT)) |
			(rnd_below(256) << _IOC_SIZESHIFT);
		if (chance(30))
			cmd ^= (unsigned long)rnd_below(4) << _IOC_DIRSHIFT;
	} else {
		cmd = generic[rnd_below(sizeof(generic) / sizeof(generic[0]))];
	}
	arg = chance(80) ? (unsigned long)(uintptr_t)rand_ptr(256, true) :
		(unsigned long)rnd();
	alarm_arm();
	ret = account(OP_RAND_IOCTL, sysret(ioctl(pool_pick(), cmd, arg)));
	alarm_disarm();
	/* A CREATE look-alike may have made a queue: keep it. */
	if (ret > 2 && _IOC_TYPE(cmd) == MPQ_IOC_MAGIC &&
	    (_IOC_NR(cmd) == 0x01 || _IOC_NR(cmd) == 0x1a))
		pool_put((int)ret, K_ANON);
}

static void op_write_read(bool write_op)
{
	uint64_t len = rand_len();
	void *p = rand_ptr(len, !write_op);
	int fd = pool_pick();
	long ret;

	if (len > SIZE_MAX)
		len = SIZE_MAX;
	alarm_arm();
	if (write_op)
		ret = account(OP_WRITE, sysret(write(fd, p, (size_t)len)));
	else
		ret = account(OP_READ, sysret(read(fd, p, (size_t)len)));
	alarm_disarm();
	if (ret > 0 && (uint64_t)ret > len)
		fail("%s of %llu returned %ld", write_op ? "write" : "read",
		     (unsigned long long)len, ret);
}

static void op_rwv(void)
{
	struct iovec *iov = (struct iovec *)(buf + BUF_SIZE - 4096);
	unsigned int n = 1 + rnd_below(4);
	long ret;

	for (unsigned int i = 0; i < n; i++) {
		iov[i].iov_len = rand_len() & 0xffff;
		iov[i].iov_base = rand_ptr(iov[i].iov_len, true);
	}
	alarm_arm();
	if (chance(50))
		ret = sysret(writev(pool_pick(), iov, (int)n));
	else
		ret = sysret(readv(pool_pick(), iov, (int)n));
	alarm_disarm();
	account(OP_RWV, ret);
}

static void op_poll(void)
{
	struct pollfd pfd[4];
	unsigned int n = 1 + rnd_below(4);

	for (unsigned int i = 0; i < n; i++) {
		pfd[i].fd = pool_pick();
		pfd[i].events = (short)(chance(80) ?
			POLLIN | POLLOUT | POLLPRI | POLLHUP : rnd());
	}
	account(OP_POLL, sysret(poll(pfd, n, (int)rnd_below(3))));
}

static void op_epoll(void)
{
	struct epoll_event ev[4];
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0) {
		account(OP_EPOLL, -errno);
		return;
	}
	for (unsigned int i = 0, n = 1 + rnd_below(3); i < n; i++) {
		struct epoll_event e = {
			.events = (uint32_t)(chance(70) ?
				EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLET : rnd()),
		};

		account(OP_EPOLL, sysret(epoll_ctl(ep, EPOLL_CTL_ADD,
						   pool_pick(), &e)));
	}
	account(OP_EPOLL, sysret(epoll_wait(ep, ev, 4, (int)rnd_below(2))));
	close(ep);
}

static void op_open(void)
{
	unsigned int r = rnd_below(100);
	char path[128];
	int fd;

	if (r < 25) {
		struct mpq_create c;
		int ctl = open(MPQ_CONTROL_PATH, O_RDWR | O_CLOEXEC);

		fill_create(&c, false);
		memset(c.name, 0, sizeof(c.name));
		c.__reserved[0] = c.__reserved[1] = c.__reserved0 = 0;
		if (!(c.flags & MPQ_CREATE_REDELIVER))
			c.max_deliveries = c.dead_letter = 0;
		if (chance(80)) {
			c.flags &= MPQ_CREATE_FLAGS;
			if (c.msgsize_max > c.maxbytes && c.maxbytes)
				c.msgsize_max = 0;
		}
		fd = (int)account(OP_OPEN, sysret(ioctl(ctl, MPQ_IOC_CREATE, &c)));
		close(ctl);
		if (fd >= 0)
			pool_put(fd, K_ANON);
		return;
	}
	if (r < 70) {
		static const int modes[] = { O_RDONLY, O_WRONLY, O_RDWR, O_RDWR,
					     O_PATH, 3 };
		int flags = modes[rnd_below(6)] | O_CLOEXEC;

		if (chance(50))
			flags |= O_NONBLOCK;
		if (chance(5))
			flags |= chance(50) ? O_TRUNC : O_APPEND;
		snprintf(path, sizeof(path), MPQ_DEV_DIR "/%.*s", MPQ_NAME_MAX,
			 names[rnd_below(NNAMES)]);
		fd = (int)account(OP_OPEN, sysret(open(path, flags)));
		if (fd >= 0)
			pool_put(fd, K_NAMED);
		return;
	}
	if (r < 80) {
		enum kind kind;
		int old = pool_pick_kind(&kind);

		fd = (int)account(OP_OPEN, sysret(fcntl(old, F_DUPFD_CLOEXEC, 3)));
		if (fd >= 0)
			pool_put(fd, kind);
		return;
	}
	if (r < 88) {
		fd = (int)account(OP_OPEN, sysret(open(MPQ_CONTROL_PATH,
			chance(80) ? O_RDWR | O_CLOEXEC : O_RDONLY | O_CLOEXEC)));
		if (fd >= 0)
			pool_put(fd, K_OTHER);
		return;
	}
	if (r < 94)
		fd = (int)account(OP_OPEN, sysret(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)));
	else
		fd = (int)account(OP_OPEN, sysret(open("/dev/null", O_RDWR | O_CLOEXEC)));
	if (fd >= 0)
		pool_put(fd, K_OTHER);
}

static void op_fcntl(void)
{
	int fd = pool_pick(), fl = fcntl(fd, F_GETFL);

	switch (rnd_below(4)) {
	case 0:
		account(OP_FCNTL, sysret(fcntl(fd, F_SETFL, fl ^ O_NONBLOCK)));
		break;
	case 1:
		/* SIGIO on each put from now on. */
		fcntl(fd, F_SETOWN, getpid());
		account(OP_FCNTL, sysret(fcntl(fd, F_SETFL, fl ^ O_ASYNC)));
		break;
	case 2:
		account(OP_FCNTL, sysret(fcntl(fd, F_SETFL,
					       fl ^ (O_APPEND | O_NOATIME))));
		break;
	default:
		account(OP_FCNTL, sysret(fcntl(fd, F_GETFL)));
		break;
	}
}

static void op_misc(void)
{
	int fd = pool_pick();
	struct stat sb;
	void *m;

	switch (rnd_below(7)) {
	case 0:
		account(OP_MISC, sysret(lseek(fd, (off_t)rnd_below(4096), SEEK_SET)));
		break;
	case 1:
		m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		account(OP_MISC, m == MAP_FAILED ? -errno : 0);
		if (m != MAP_FAILED)
			munmap(m, 4096);
		break;
	case 2:
		account(OP_MISC, sysret(fstat(fd, &sb)));
		break;
	case 3:
		account(OP_MISC, sysret(fsync(fd)));
		break;
	case 4:
		alarm_arm();
		account(OP_MISC, sysret(pread(fd, buf, rnd_below(4096), 0)));
		alarm_disarm();
		break;
	case 5:
		alarm_arm();
		account(OP_MISC, sysret(pwrite(fd, buf, 1 + rnd_below(4096), 0)));
		alarm_disarm();
		break;
	default:
		/* No splice_read/splice_write: EINVAL, never a hang. */
		alarm_arm();
		account(OP_MISC, sysret(splice(fd, NULL, pool_pick(), NULL,
					       1 + rnd_below(4096),
					       SPLICE_F_NONBLOCK)));
		alarm_disarm();
		break;
	}
}

static void one_call(void)
{
	unsigned int total = 0, r;
	enum op op;

	for (op = 0; op < NR_OPS; op++)
		total += op_weight[op];
	r = rnd_below(total);
	for (op = 0; op < NR_OPS - 1 && r >= op_weight[op]; op++)
		r -= op_weight[op];

	switch (op) {
	case OP_CTL_IOCTL: op_ctl_ioctl(); break;
	case OP_Q_IOCTL: op_q_ioctl(); break;
	case OP_RAND_IOCTL: op_rand_ioctl(); break;
	case OP_WRITE: op_write_read(true); break;
	case OP_READ: op_write_read(false); break;
	case OP_RWV: op_rwv(); break;
	case OP_POLL: op_poll(); break;
	case OP_EPOLL: op_epoll(); break;
	case OP_CLOSE: pool_close_one(); break;
	case OP_OPEN: op_open(); break;
	case OP_FCNTL: op_fcntl(); break;
	default: op_misc(); break;
	}
}

struct thread_arg {
	uint64_t calls;
	unsigned int index;
};

static void *fuzz_thread(void *p)
{
	struct thread_arg *a = p;

	rnd_seed(seed, ((uint64_t)getpid() << 20) ^ ((uint64_t)a->index << 50));
	alarm_setup();
	for (uint64_t i = 0; i < a->calls; i++) {
		one_call();
		__atomic_fetch_add(&me->progress, 1, __ATOMIC_SEQ_CST);
	}
	timer_delete(alarm_timer);

	pthread_mutex_lock(&lock);
	for (int i = 0; i < NR_OPS; i++) {
		me->st.calls[i] += tst.calls[i];
		me->st.ok[i] += tst.ok[i];
	}
	for (int i = 0; i < MAX_ERRNO; i++)
		me->st.err[i] += tst.err[i];
#define SUM(f) me->st.f += tst.f
	SUM(alarms); SUM(sigios); SUM(created); SUM(named_created);
	SUM(removed); SUM(listed); SUM(stat_checked);
#undef SUM
	pthread_mutex_unlock(&lock);
	return NULL;
}

/*
 * Drain @fd and compare with its stat: exactly qsize messages of bytes in
 * total, and an empty queue afterwards. Only for queues no one else uses.
 */
static void drain_check(int fd, const char *what)
{
	struct mpq_stat st, after;
	uint64_t n = 0, bytes = 0;
	void *m;
	long ret;

	if (q_stat(fd, &st))
		return;
	check_stat(&st, what);
	m = malloc(st.msgsize_max ? st.msgsize_max : 1);
	if (!m) {
		fail("%s: no memory to drain a queue", what);
		return;
	}
	while ((ret = q_get(fd, m, st.msgsize_max, MPQ_XFER_NONBLOCK, NULL)) > 0) {
		n++;
		bytes += ret;
	}
	free(m);
	if (ret != 0 && ret != -EAGAIN && ret != -EBADF)
		fail("%s: draining ended with %ld", what, ret);
	if (ret == -EBADF)	/* write-only descriptor */
		return;
	tst.drained += n;
	if (n != st.qsize || bytes != st.bytes)
		fail("%s: stat said %llu messages, %llu bytes; drained %llu, %llu bytes",
		     what, (unsigned long long)st.qsize,
		     (unsigned long long)st.bytes, (unsigned long long)n,
		     (unsigned long long)bytes);
	if (q_stat(fd, &after) == 0 && (after.qsize || after.bytes))
		fail("%s: qsize %llu, bytes %llu after the drain", what,
		     (unsigned long long)after.qsize,
		     (unsigned long long)after.bytes);
}

static void fuzz_process(unsigned int index)
{
	struct thread_arg args[THREADS];
	pthread_t th[THREADS];
	unsigned char *m;

	me = &procs[index];
	page = sysconf(_SC_PAGESIZE);
	/* The buffer, then a guard page, then a read-only page. */
	m = mmap(NULL, BUF_SIZE + 2 * page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		_exit(1);
	buf = m;
	robuf = m + BUF_SIZE + page;
	memset(buf, 0x5a, BUF_SIZE);
	if (mprotect(buf + BUF_SIZE, page, PROT_NONE) ||
	    mprotect(robuf, page, PROT_READ))
		_exit(1);
	for (int i = 0; i < NFDS; i++)
		pool[i].fd = -1;
	set_handler(SIGALRM, on_alarm, false);
	set_handler(SIGIO, on_sigio, false);

	for (unsigned int t = 0; t < THREADS; t++) {
		args[t].calls = total_calls / (nprocs * THREADS) +
			(index * THREADS + t < total_calls % (nprocs * THREADS));
		args[t].index = index * THREADS + t;
		if (pthread_create(&th[t], NULL, fuzz_thread, &args[t])) {
			fail("pthread_create failed");
			_exit(1);
		}
	}
	for (unsigned int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);

	/* Anonymous queues are this process's own: check them. */
	signal(SIGIO, SIG_IGN);
	memset(&tst, 0, sizeof(tst));
	for (int i = 0; i < NFDS; i++) {
		if (pool[i].fd >= 0 && pool[i].kind == K_ANON)
			drain_check(pool[i].fd, "anonymous queue");
		if (pool[i].fd >= 0)
			close(pool[i].fd);
	}
	me->st.drained += tst.drained;
	me->st.stat_checked += tst.stat_checked;
	atomic_store(&me->done, 1);
	_exit(me->failures ? 1 : 0);
}

static void dump_stacks(pid_t pid)
{
	char path[320], stack[4096];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		ssize_t n;
		int fd;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stack", (int)pid,
			 d->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, stack, sizeof(stack) - 1);
		close(fd);
		stack[n > 0 ? n : 0] = '\0';
		ksft_print_msg("thread %s of %d, kernel stack:\n%s", d->d_name,
		       (int)pid, stack);
	}
	closedir(dir);
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-n CALLS] [-p PROCS] [-s SEED] [-w WATCHDOG_SECONDS]\n",
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	struct stats sum = {};
	pid_t *pids;
	uint64_t *last;
	int64_t *since, t0;
	int opt, failures = 0, running;
	char line[1024];
	size_t len;

	seed = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
	while ((opt = getopt(argc, argv, "n:p:s:w:h")) != -1) {
		switch (opt) {
		case 'n': total_calls = strtoull(optarg, NULL, 0); break;
		case 'p': nprocs = strtoul(optarg, NULL, 0); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'w': watchdog_s = strtoul(optarg, NULL, 0); break;
		default: usage(argv[0]);
		}
	}
	if (!nprocs || !watchdog_s)
		usage(argv[0]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	ksft_print_header();
	{
		int ctl = mpq_control();

		if (ctl < 0)
			ksft_exit_skip("%s: %s\n", MPQ_CONTROL_PATH,
				       strerror(-ctl));
		close(ctl);
	}
	ksft_set_plan(1);
	ksft_print_msg("fuzz: %llu calls, %u processes x %d threads, seed %llu\n",
	       (unsigned long long)total_calls, nprocs, THREADS,
	       (unsigned long long)seed);
	mpq_test_name(prefix, sizeof(prefix), "fz");
	for (int i = 0; i < NNAMES; i++)
		snprintf(names[i], sizeof(names[i]), "%s%d", prefix, i);

	procs = shared_alloc(nprocs * sizeof(*procs));
	pids = calloc(nprocs, sizeof(*pids));
	last = calloc(nprocs, sizeof(*last));
	since = calloc(nprocs, sizeof(*since));
	if (!procs || !pids || !last || !since) {
		ksft_test_result_fail("fuzz # out of memory\n");
		ksft_exit_fail();
	}
	t0 = now_ns();
	for (unsigned int i = 0; i < nprocs; i++) {
		pids[i] = spawn();
		if (pids[i] == 0)
			fuzz_process(i);
		since[i] = t0;
	}

	/* Watch: every process must keep making calls. */
	do {
		running = 0;
		sleep_ms(100);
		for (unsigned int i = 0; i < nprocs; i++) {
			int status;

			if (!pids[i])
				continue;
			if (waitpid(pids[i], &status, WNOHANG) == pids[i]) {
				if (!WIFEXITED(status) ||
				    (WEXITSTATUS(status) && !procs[i].failures)) {
					ksft_print_msg("FAIL: process %u %s %d\n", i,
					       WIFEXITED(status) ? "exited with" :
					       "died of signal",
					       WIFEXITED(status) ? WEXITSTATUS(status) :
					       WTERMSIG(status));
					failures++;
				}
				pids[i] = 0;
				continue;
			}
			running++;
			if (__atomic_load_n(&procs[i].progress, __ATOMIC_SEQ_CST) != last[i]) {
				last[i] = __atomic_load_n(&procs[i].progress, __ATOMIC_SEQ_CST);
				since[i] = now_ns();
			} else if (now_ns() - since[i] > (int64_t)watchdog_s * NSEC_PER_SEC &&
				   !atomic_load(&procs[i].done)) {
				ksft_print_msg("FAIL: process %u (pid %d) made no call for %u s\n",
				       i, (int)pids[i], watchdog_s);
				dump_stacks(pids[i]);
				failures++;
				kill(pids[i], SIGKILL);
			}
		}
	} while (running);

	/* Named queues: check and remove every one this run created. */
	me = &procs[0];
	for (int pass = 0; pass < 2; pass++) {
		static char list[1 << 20];
		struct mpq_list l = { .buf = PTR(list), .size = sizeof(list) };
		int n = control_ioctl(MPQ_IOC_LIST, &l);

		if (n < 0) {
			ksft_print_msg("FAIL: LIST: %s\n", strerror(-n));
			failures++;
			break;
		}
		for (int i = 0; i < n; i += (int)strlen(list + i) + 1) {
			const char *name = list + i;
			int fd, r;

			if (strncmp(name, prefix, strlen(prefix)))
				continue;
			if (pass) {
				ksft_print_msg("FAIL: %s still listed after its removal\n", name);
				failures++;
				continue;
			}
			fd = mpq_open_named(name, O_RDWR);
			if (fd >= 0) {
				drain_check(fd, name);
				close(fd);
			}
			r = mpq_remove(name);
			if (r) {
				ksft_print_msg("FAIL: remove %s: %s\n", name, strerror(-r));
				failures++;
			}
			snprintf(line, sizeof(line), MPQ_DEV_DIR "/%s", name);
			if (access(line, F_OK) == 0) {
				ksft_print_msg("FAIL: %s still exists after remove\n", line);
				failures++;
			}
		}
	}
	procs[0].st.drained += tst.drained;

	for (unsigned int i = 0; i < nprocs; i++) {
		struct stats *s = &procs[i].st;

		if (procs[i].failures) {
			ksft_print_msg("FAIL: process %u: %d failures, first: %s\n", i,
			       procs[i].failures, procs[i].first_failure);
			failures += procs[i].failures;
		}
		for (int j = 0; j < NR_OPS; j++) {
			sum.calls[j] += s->calls[j];
			sum.ok[j] += s->ok[j];
		}
		for (int j = 0; j < MAX_ERRNO; j++)
			sum.err[j] += s->err[j];
#define SUM(f) sum.f += s->f
		SUM(alarms); SUM(sigios); SUM(created); SUM(named_created);
		SUM(removed); SUM(listed); SUM(stat_checked); SUM(drained);
#undef SUM
	}

	ksft_print_msg("%.1f s\n", (now_ns() - t0) / 1e9);
	for (int j = 0; j < NR_OPS; j++)
		ksft_print_msg("%-14s %8llu calls %8llu ok\n", op_names[j],
		       (unsigned long long)sum.calls[j],
		       (unsigned long long)sum.ok[j]);
	len = (size_t)snprintf(line, sizeof(line), "errors:");
	for (int j = 1; j < MAX_ERRNO && len < sizeof(line) - 32; j++)
		if (sum.err[j])
			len += (size_t)snprintf(line + len, sizeof(line) - len,
						" %s %llu", strerrorname_np(j) ?
						strerrorname_np(j) : "?",
						(unsigned long long)sum.err[j]);
	ksft_print_msg("%s\n", line);
	ksft_print_msg("queues: %llu anonymous and %llu named created, %llu removed; %llu LIST and %llu STAT results checked; %llu messages drained at the end\n",
	       (unsigned long long)sum.created,
	       (unsigned long long)sum.named_created,
	       (unsigned long long)sum.removed, (unsigned long long)sum.listed,
	       (unsigned long long)sum.stat_checked,
	       (unsigned long long)sum.drained);
	ksft_print_msg("signals: %llu SIGALRM, %llu SIGIO\n",
	       (unsigned long long)sum.alarms, (unsigned long long)sum.sigios);
	if (failures)
		ksft_test_result_fail("fuzz # %d failures, seed %llu\n", failures,
				      (unsigned long long)seed);
	else
		ksft_test_result_pass("fuzz\n");
	ksft_finished();
}
