// SPDX-License-Identifier: GPL-2.0
/*
 * torture: P producers and C consumers hammer one named queue for a bounded
 * time with random message sizes, blocking/non-blocking/timed calls, batches,
 * random signals, SIGSTOP/SIGCONT and random SIGKILL (a killed worker is
 * replaced at once). Afterwards the queue is shut down and drained, and
 * what every worker wrote into shared memory is checked against the queue:
 *
 *  - nothing delivered is corrupt (magic, length, checksum, payload);
 *  - nothing is delivered twice;
 *  - each producer's order is kept among what was delivered;
 *  - every put that returned success was delivered, or was taken by a
 *    consumer killed between its get and its record (the only loss
 *    allowed, and counted exactly via the kernel's total_gets);
 *  - total_puts == total_gets + qsize at every snapshot, and unfinished
 *    agrees with the task_done calls made.
 *
 * With -r the queue is created with MPQ_CREATE_REDELIVER, each consumer
 * takes its own open file with MPQ_IOC_REOPEN of the descriptor it
 * inherited, and acknowledges what each get took with a task done once it
 * has recorded it (after a random pause, so that kills land between the
 * two). A killed consumer's messages come back with a higher delivery
 * count. Then the producer order check is dropped (redelivery reorders)
 * and the loss allowance with it; instead:
 *
 *  - join() returns once the producers are done, before the shutdown;
 *  - every message put was acknowledged, exactly once, by its last
 *    delivery (or by a task done its consumer was killed in);
 *  - a message seen more than once has a different delivery count each
 *    time, so all but the first sighting are flagged redeliveries;
 *  - the stat's redelivered and total_gets agree with the delivery counts
 *    the consumers saw.
 *
 * Bookkeeping that survives SIGKILL: a producer publishes the number of
 * messages it is about to put before the call and its count of successful
 * puts after it; a consumer marks its log entries PENDING before a get and
 * DONE once recorded. A kill can therefore leave at most that many messages
 * unaccounted, and the checks allow exactly that.
 *
 * Usage: torture [-r] [-t SECONDS] [-p PRODUCERS] [-c CONSUMERS]
 *                [-m MSGSIZE_MAX] [-q MAXSIZE] [-b MAXBYTES]
 *                [-k KILLS_PER_SEC] [-s SEED]
 * Prints TAP: one test point, with the counts as diagnostics.
 */
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>

#include "kselftest.h"
#include "mpq_test.h"
#include "pattern.h"
#include "rand.h"

#define MAGIC		0x6d707154u	/* "mpqT" */
#define MAX_INCARN	4096		/* producer / consumer lifetimes */
#define MAX_BATCH	8
#define CHUNK		16		/* log entries a consumer reserves */

struct msg_hdr {
	uint32_t magic;
	uint32_t producer;
	uint64_t seq;
	uint32_t len;		/* whole message, header included */
	uint32_t csum;		/* FNV-1a of the payload after the header */
};

/* ENT_ACKED (redelivery): a task done acknowledged it after the record. */
enum { ENT_FREE, ENT_PENDING, ENT_DONE, ENT_ACKED };
#define ENT_CORRUPT	1u	/* entry flag */

/* One get of one message, written by the consumer that made it. */
struct logent {
	_Atomic uint32_t state;
	uint32_t consumer;
	uint32_t producer;
	uint32_t flags;
	uint64_t seq;
	uint32_t deliveries;	/* redelivery: the count the get returned */
	uint32_t pad;
	int64_t t_start;	/* before entering the get */
	int64_t t_end;		/* after it returned */
};

struct counters {
	uint64_t ops, eagain, etimedout, eintr, emsgsize, batches, toggles;
};

struct prod_rec {
	pid_t pid;
	_Atomic uint32_t killed;	/* set by the parent before SIGKILL */
	uint64_t puts_ok;	/* seqs 0..puts_ok-1 were put */
	_Atomic uint32_t inflight;	/* a put of seqs puts_ok.. is under way */
	struct counters c;
};

struct cons_rec {
	pid_t pid;
	_Atomic uint32_t killed;
	uint64_t td_done;	/* task_done counts that returned 0 */
	_Atomic uint32_t td_pending;	/* a task_done of this count under way */
	_Atomic uint32_t holding;	/* redelivery: got, not yet acknowledged */
	uint64_t gets;
	struct counters c;
};

struct shared {
	_Atomic int stop;		/* producers: finish */
	_Atomic int shutting;		/* the queue is (being) shut down */
	uint64_t log_next;
	uint64_t puts_total;
	_Atomic uint32_t nprod, ncons;
	struct prod_rec prod[MAX_INCARN];
	struct cons_rec cons[MAX_INCARN];
};

static struct shared *sh;
static struct logent *logv;
static uint64_t log_cap = 1 << 20;
static uint64_t put_limit;

static char qname[MPQ_NAME_SIZE];
static unsigned int opt_time = 20, opt_prod = 4, opt_cons = 4;
static uint64_t opt_msgsize = 16384, opt_maxsize = 128, opt_maxbytes = 256 << 10;
static double opt_kills = 4.0;
static uint64_t opt_seed;
static bool opt_redeliver;
static int parent_fd = -1;	/* the parent's O_RDWR descriptor */

/* --- small helpers ----------------------------------------------------- */

static void fail_exit(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "# torture[%d]: ", (int)getpid());
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	_exit(1);
}

static uint32_t fnv1a(const unsigned char *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--) {
		h ^= *p++;
		h *= 16777619u;
	}
	return h;
}

/* The payload of (producer, seq) is fixed, so a consumer can check it. */
static uint64_t payload_seed(uint32_t producer, uint64_t seq)
{
	return ((uint64_t)producer << 40) ^ seq;
}

static size_t build_msg(unsigned char *buf, uint32_t producer, uint64_t seq,
			size_t len)
{
	struct msg_hdr h = {
		.magic = MAGIC, .producer = producer, .seq = seq,
		.len = (uint32_t)len,
	};

	pattern_fill(buf + sizeof(h), len - sizeof(h), payload_seed(producer, seq));
	h.csum = fnv1a(buf + sizeof(h), len - sizeof(h));
	memcpy(buf, &h, sizeof(h));
	return len;
}

/* Mostly small messages, some up to a page, a few up to msgsize_max. */
static size_t rand_len(void)
{
	uint64_t lo = sizeof(struct msg_hdr), hi;
	unsigned int r = rnd_below(100);

	if (r < 60)
		hi = 128;
	else if (r < 90)
		hi = 4096;
	else if (r < 98)
		hi = opt_msgsize;
	else
		return opt_msgsize;
	if (hi > opt_msgsize)
		hi = opt_msgsize;
	return lo + rnd_below(hi - lo + 1);
}

static struct __kernel_timespec rand_deadline(void)
{
	/* Now and then a deadline already in the past. */
	if (chance(5))
		return ns_to_kts(now_ns() - (int64_t)rnd_below(NSEC_PER_MSEC * 10));
	return ns_to_kts(now_ns() + (int64_t)rnd_below(20 * NSEC_PER_MSEC));
}

static void on_usr1(int sig)
{
	(void)sig;
}

/* Worker signal setup: SIGUSR1 interrupts waits, with or without restart. */
static void worker_signals(void)
{
	sigset_t set;

	set_handler(SIGUSR1, on_usr1, chance(50));
	/*
	 * SIGUSR1 was blocked from fork() until the handler was in place. A
	 * SIGPIPE from the queue would kill the worker: a failure.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGPIPE);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/* Count an errno that a random call may legitimately return. */
static bool benign(struct counters *c, int err, bool nonblock, bool timed)
{
	switch (err) {
	case EAGAIN:
		c->eagain++;
		return nonblock;
	case ETIMEDOUT:
		c->etimedout++;
		return timed;
	case EINTR:
		c->eintr++;
		return true;
	}
	return false;
}

static void set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK))
		fail_exit("fcntl O_NONBLOCK: %s", strerror(errno));
}

/* Calls that must never fail on a live queue: stat, FIONREAD, poll. */
static void peek_calls(int fd, struct counters *c)
{
	struct mpq_stat st;
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLOUT | POLLPRI };
	int r;

	switch (rnd_below(3)) {
	case 0:
		r = q_stat(fd, &st);
		if (r)
			fail_exit("stat: %s", strerror(-r));
		if (st.total_puts + st.redelivered != st.total_gets + st.qsize)
			fail_exit("stat: total_puts %llu + redelivered %llu != total_gets %llu + qsize %llu",
				  (unsigned long long)st.total_puts,
				  (unsigned long long)st.redelivered,
				  (unsigned long long)st.total_gets,
				  (unsigned long long)st.qsize);
		break;
	case 1:
		r = q_fionread(fd);
		if (r < 0 || (uint64_t)r > opt_msgsize)
			fail_exit("FIONREAD returned %d", r);
		break;
	default:
		r = poll(&pfd, 1, (int)rnd_below(3));
		if (r < 0 && errno != EINTR)
			fail_exit("poll: %s", strerror(errno));
		if (r < 0)
			c->eintr++;
		break;
	}
}

/* --- producer ------------------------------------------------------------ */

static void producer(uint32_t id)
{
	struct prod_rec *me = &sh->prod[id];
	struct counters *c = &me->c;
	unsigned char *bufs = malloc(MAX_BATCH * (opt_msgsize + 64));
	struct mpq_msgvec vec[MAX_BATCH];
	bool nonblock = chance(30);
	int fd;

	if (!bufs)
		fail_exit("out of memory");
	memset(bufs, 0, MAX_BATCH * (opt_msgsize + 64));
	worker_signals();
	fd = mpq_open_named(qname, O_WRONLY | (nonblock ? O_NONBLOCK : 0));
	if (fd < 0)
		fail_exit("producer open %s: %s", qname, strerror(-fd));

	while (!atomic_load(&sh->stop)) {
		uint64_t seq = __atomic_load_n(&me->puts_ok, __ATOMIC_SEQ_CST);
		unsigned int r = rnd_below(100), k = 1;
		bool nb = nonblock, timed = false;
		struct __kernel_timespec dl = {};
		__u32 flags = 0;
		long ret;

		c->ops++;
		if (__atomic_load_n(&sh->puts_total, __ATOMIC_SEQ_CST) >= put_limit) {
			/* The log is nearly full: idle until told to stop. */
			sleep_ms(5);
			continue;
		}
		if (r < 4) {
			nonblock = !nonblock;
			set_nonblock(fd, nonblock);
			c->toggles++;
			continue;
		}
		if (r < 8) {
			peek_calls(fd, c);
			continue;
		}
		if (r < 11) {
			/* Too long for the queue: EMSGSIZE, nothing queued. */
			size_t len = opt_msgsize + 1 + rnd_below(64);

			ret = chance(50) ? q_write(fd, bufs, len) :
				q_put(fd, bufs, len, MPQ_XFER_NONBLOCK, NULL);
			if (ret != -EMSGSIZE)
				fail_exit("put of %zu > msgsize_max: %ld", len, ret);
			c->emsgsize++;
			continue;
		}

		if (chance(25))
			k = 1 + rnd_below(MAX_BATCH);
		for (unsigned int i = 0; i < k; i++) {
			unsigned char *b = bufs + i * (opt_msgsize + 64);

			vec[i].buf = PTR(b);
			vec[i].len = build_msg(b, id, seq + i, rand_len());
			vec[i].result = 0;
		}
		r = rnd_below(3);
		if (r == 1) {
			flags = MPQ_XFER_NONBLOCK;
			nb = true;
		} else if (r == 2) {
			flags = MPQ_XFER_TIMEOUT;
			dl = rand_deadline();
			timed = true;
		}

		atomic_store(&me->inflight, k);
		if (k > 1) {
			struct mpq_batch b = {
				.vec = PTR(vec), .count = k, .flags = flags,
				.deadline = dl,
			};

			ret = ioctl(fd, MPQ_IOC_PUT_MANY, &b);
			ret = ret < 0 ? -errno : ret;
			if (ret == 0 || ret > (long)k)
				fail_exit("PUT_MANY of %u returned %ld", k, ret);
			c->batches++;
		} else if (flags == 0 && chance(50)) {
			ret = q_write(fd, (void *)(uintptr_t)vec[0].buf, vec[0].len);
			if (ret >= 0 && ret != (long)vec[0].len)
				fail_exit("write of %llu returned %ld",
					  (unsigned long long)vec[0].len, ret);
			ret = ret < 0 ? ret : 1;
		} else {
			ret = q_put(fd, (void *)(uintptr_t)vec[0].buf, vec[0].len,
				    flags, flags ? &dl : NULL);
			ret = ret < 0 ? ret : 1;
		}
		if (ret > 0) {
			__atomic_store_n(&me->puts_ok, seq + ret, __ATOMIC_SEQ_CST);
			__atomic_fetch_add(&sh->puts_total, ret, __ATOMIC_SEQ_CST);
		}
		atomic_store(&me->inflight, 0);
		if (ret < 0 && !benign(c, (int)-ret, nb, timed))
			fail_exit("put (k=%u flags=%#x nonblock=%d): %s", k,
				  flags, nonblock, strerror((int)-ret));
	}
	_exit(0);
}

/* --- consumer ------------------------------------------------------------ */

static int cons_fd;
static uint64_t chunk_next, chunk_end;	/* this consumer's reserved entries */
static uint64_t undone;			/* gets not yet task_done'd */

static struct logent *log_take(unsigned int k)
{
	if (chunk_next + k > chunk_end) {
		uint64_t n = CHUNK > k ? CHUNK : k;

		chunk_next = __atomic_fetch_add(&sh->log_next, n, __ATOMIC_SEQ_CST);
		chunk_end = chunk_next + n;
		if (chunk_end > log_cap)
			fail_exit("delivery log full (%llu entries)",
				  (unsigned long long)log_cap);
	}
	return &logv[chunk_next];
}

/*
 * Task done of @k. With redelivery @acked are the log entries it
 * acknowledges: marked ENT_ACKED before td_pending clears, so a kill
 * leaves them either acknowledged or covered by td_pending.
 */
static void task_done(struct cons_rec *me, uint64_t k, struct logent *acked)
{
	int r;

	atomic_store(&me->td_pending, (uint32_t)k);
	r = q_task_done(cons_fd, k);
	while (r == -EINTR)
		r = q_task_done(cons_fd, k);
	if (r)
		fail_exit("task_done(%llu) with %llu undone: %s",
			  (unsigned long long)k, (unsigned long long)undone,
			  strerror(-r));
	for (uint64_t i = 0; acked && i < k; i++)
		atomic_store(&acked[i].state, ENT_ACKED);
	__atomic_fetch_add(&me->td_done, k, __ATOMIC_SEQ_CST);
	atomic_store(&me->td_pending, 0);
	undone -= k;
}

/* Check a received message and fill in its log entry. */
static void record(struct logent *e, const unsigned char *buf, size_t n)
{
	struct msg_hdr h;

	e->flags = 0;
	e->producer = UINT32_MAX;
	if (n < sizeof(h)) {
		e->flags |= ENT_CORRUPT;
		return;
	}
	memcpy(&h, buf, sizeof(h));
	e->producer = h.producer;
	e->seq = h.seq;
	if (h.magic != MAGIC || h.len != n || n > opt_msgsize ||
	    h.producer >= atomic_load(&sh->nprod) ||
	    fnv1a(buf + sizeof(h), n - sizeof(h)) != h.csum) {
		e->flags |= ENT_CORRUPT;
		return;
	}
	if (!pattern_check(buf + sizeof(h), n - sizeof(h),
			   payload_seed(h.producer, h.seq)))
		e->flags |= ENT_CORRUPT;
}

static void consumer(uint32_t id)
{
	struct cons_rec *me = &sh->cons[id];
	struct counters *c = &me->c;
	size_t slot = opt_msgsize + 64;
	unsigned char *bufs = malloc(MAX_BATCH * slot);
	struct mpq_msgvec vec[MAX_BATCH];
	uint32_t dels[MAX_BATCH];
	bool nonblock = chance(30);

	if (!bufs)
		fail_exit("out of memory");
	memset(bufs, 0, MAX_BATCH * slot);
	worker_signals();
	if (opt_redeliver) {
		/* Its own file: what it holds comes back when it dies. */
		__u32 rf = nonblock ? MPQ_CREATE_NONBLOCK : 0;

		cons_fd = ioctl(parent_fd, MPQ_IOC_REOPEN, &rf);
		if (cons_fd < 0)
			fail_exit("consumer REOPEN: %s", strerror(errno));
		close(parent_fd);
	} else {
		cons_fd = mpq_open_named(qname, O_RDONLY | (nonblock ? O_NONBLOCK : 0));
	}
	if (cons_fd < 0)
		fail_exit("consumer open %s: %s", qname, strerror(-cons_fd));

	for (;;) {
		unsigned int r = rnd_below(100), k = 1;
		bool nb = nonblock, timed = false, small = false;
		struct __kernel_timespec dl = {};
		struct logent *e;
		__u32 flags = 0;
		__u64 cap = opt_msgsize, head = 0;
		int64_t t0;
		long ret;

		c->ops++;
		if (r < 4) {
			nonblock = !nonblock;
			set_nonblock(cons_fd, nonblock);
			c->toggles++;
			continue;
		}
		if (r < 8) {
			peek_calls(cons_fd, c);
			continue;
		}
		if (r < 16 && undone && !opt_redeliver) {
			task_done(me, 1 + rnd_below(undone), NULL);
			continue;
		}
		if (r < 20) {
			/* Maybe too small: EMSGSIZE leaves the message queued. */
			small = true;
			cap = sizeof(struct msg_hdr) + rnd_below(128);
		} else if (chance(25)) {
			k = 1 + rnd_below(MAX_BATCH);
		}
		r = rnd_below(3);
		if (r == 1) {
			flags = MPQ_XFER_NONBLOCK;
			nb = true;
		} else if (r == 2) {
			flags = MPQ_XFER_TIMEOUT;
			dl = rand_deadline();
			timed = true;
		}

		e = log_take(k);
		t0 = now_ns();
		for (unsigned int i = 0; i < k; i++) {
			e[i].consumer = id;
			e[i].t_start = t0;
			vec[i].buf = PTR(bufs + i * slot);
			vec[i].len = cap;
			vec[i].result = 0;
			dels[i] = 0;
			atomic_store(&e[i].state, ENT_PENDING);
		}
		if (k > 1) {
			struct mpq_batch b = {
				.vec = PTR(vec), .count = k, .flags = flags,
				.deadline = dl,
				.deliveries = opt_redeliver ? PTR(dels) : 0,
			};

			ret = ioctl(cons_fd, MPQ_IOC_GET_MANY, &b);
			ret = ret < 0 ? -errno : ret;
			c->batches++;
		} else if (opt_redeliver) {
			/* read(2) cannot tell the delivery count: GET does. */
			struct mpq_xfer x = {
				.buf = PTR(bufs), .len = cap, .flags = flags,
				.deadline = dl,
			};

			ret = ioctl(cons_fd, MPQ_IOC_GET, &x);
			ret = ret < 0 ? -errno : ret;
			head = x.len;
			dels[0] = x.deliveries;
			vec[0].result = ret > 0 ? ret : 0;
			ret = ret > 0 ? 1 : ret;
		} else if (flags == 0 && !small && chance(50)) {
			ret = q_read(cons_fd, bufs, cap);
			vec[0].result = ret > 0 ? ret : 0;
			ret = ret > 0 ? 1 : ret;
		} else {
			ret = q_get_len(cons_fd, bufs, cap, flags,
					flags ? &dl : NULL, &head);
			vec[0].result = ret > 0 ? ret : 0;
			ret = ret > 0 ? 1 : ret;
		}
		if (ret > (long)k)
			fail_exit("get of %u returned %ld", k, ret);
		for (long i = 0; i < (ret > 0 ? ret : 0); i++) {
			e[i].t_end = now_ns();
			record(&e[i], bufs + i * slot, vec[i].result);
			e[i].deliveries = dels[i];
			atomic_store(&e[i].state, ENT_DONE);
		}
		/* Entries not filled go back to this consumer for reuse. */
		for (unsigned int i = ret > 0 ? ret : 0; i < k; i++)
			atomic_store(&e[i].state, ENT_FREE);
		if (ret > 0) {
			chunk_next += ret;
			me->gets += ret;
			undone += ret;
			if (opt_redeliver) {
				/* Recorded: acknowledge, maybe after a pause. */
				atomic_store(&me->holding, (uint32_t)ret);
				if (chance(30))
					sleep_ms(1 + rnd_below(5));
				task_done(me, ret, e);
				atomic_store(&me->holding, 0);
			}
			continue;
		}
		if (ret == 0) {
			/* End of stream: only after the parent shut it down. */
			if (!atomic_load(&sh->shutting))
				fail_exit("end of stream before shutdown");
			if (undone)
				task_done(me, undone, NULL);
			_exit(0);
		}
		if (ret == -EMSGSIZE && small) {
			if (head <= cap || head > opt_msgsize)
				fail_exit("EMSGSIZE with head %llu <= cap %llu",
					  (unsigned long long)head,
					  (unsigned long long)cap);
			c->emsgsize++;
			continue;
		}
		if (!benign(c, (int)-ret, nb, timed))
			fail_exit("get (k=%u flags=%#x nonblock=%d cap=%llu): %s",
				  k, flags, nonblock, (unsigned long long)cap,
				  strerror((int)-ret));
	}
}

/* --- parent ---------------------------------------------------------------- */

enum role { PRODUCER, CONSUMER };

struct worker {
	pid_t pid;
	enum role role;
	uint32_t id;
};

static struct worker *workers;
static unsigned int nworkers;
static int failures;

static void report(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ksft_print_msg("FAIL: ");
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	fflush(stdout);
	failures++;
}

static bool spawn_worker(struct worker *w, enum role role)
{
	_Atomic uint32_t *n = role == PRODUCER ? &sh->nprod : &sh->ncons;
	uint32_t id = atomic_load(n);
	pid_t pid;

	if (id >= MAX_INCARN)
		return false;
	atomic_store(n, id + 1);
	pid = spawn();
	if (pid < 0) {
		report("fork: %s", strerror(errno));
		return false;
	}
	if (pid == 0) {
		rnd_seed(opt_seed, ((uint64_t)role << 32) | id);
		if (role == PRODUCER)
			producer(id);
		consumer(id);
	}
	if (role == PRODUCER)
		sh->prod[id].pid = pid;
	else
		sh->cons[id].pid = pid;
	w->pid = pid;
	w->role = role;
	w->id = id;
	return true;
}

static _Atomic uint32_t *killed_flag(const struct worker *w)
{
	return w->role == PRODUCER ? &sh->prod[w->id].killed :
		&sh->cons[w->id].killed;
}

/*
 * A worker ended with @status. Only our SIGKILL, or a clean exit once the
 * run is over (!respawn), is expected. A killed worker is replaced at once.
 */
static void worker_ended(struct worker *w, int status, bool respawn)
{
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL &&
	    atomic_load(killed_flag(w))) {
		/* Our kill. */
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || respawn) {
		report("%s %u (pid %d) %s %d",
		       w->role == PRODUCER ? "producer" : "consumer", w->id,
		       (int)w->pid,
		       WIFEXITED(status) ? "exited with" : "died of signal",
		       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
	w->pid = 0;
	if (respawn)
		spawn_worker(w, w->role);
}

static void reap_workers(bool respawn)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (unsigned int i = 0; i < nworkers; i++)
			if (workers[i].pid == pid)
				worker_ended(&workers[i], status, respawn);
	}
}

/* Replace the workers killed last, so that no role is left empty. */
static void replace_killed(void)
{
	for (unsigned int i = 0; i < nworkers; i++) {
		struct worker *w = &workers[i];
		int status;

		if (!w->pid || !atomic_load(killed_flag(w)))
			continue;
		while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
			;
		worker_ended(w, status, true);
	}
}

static void dump_stuck(int qfd)
{
	struct mpq_stat st;
	char path[64], buf[4096];

	if (q_stat(qfd, &st) == 0)
		ksft_print_msg("stat: qsize %llu unfinished %llu getters %u putters %u joiners %u state %u\n",
		       (unsigned long long)st.qsize,
		       (unsigned long long)st.unfinished, st.getters,
		       st.putters, st.joiners, st.state);
	for (unsigned int i = 0; i < nworkers; i++) {
		int fd;
		ssize_t n;

		if (!workers[i].pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stack", (int)workers[i].pid);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		ksft_print_msg("pid %d (%s %u) kernel stack:\n%s",
		       (int)workers[i].pid,
		       workers[i].role == PRODUCER ? "producer" : "consumer",
		       workers[i].id, buf);
	}
}

/* Wait until every worker of @role is gone, at most @secs seconds. */
static bool wait_role(int qfd, enum role role, int secs)
{
	int64_t end = now_ns() + secs * NSEC_PER_SEC;

	for (;;) {
		bool left = false;

		reap_workers(false);
		for (unsigned int i = 0; i < nworkers; i++)
			if (workers[i].pid && workers[i].role == role)
				left = true;
		if (!left)
			return true;
		if (now_ns() > end) {
			report("%ss did not finish within %d s",
			       role == PRODUCER ? "producer" : "consumer", secs);
			dump_stuck(qfd);
			return false;
		}
		sleep_ms(10);
	}
}

static void check_snapshot(int qfd, uint64_t *snapshots)
{
	uint64_t over_n = opt_redeliver ? (uint64_t)opt_cons * MAX_BATCH : 0;
	struct mpq_stat st;
	int r = q_stat(qfd, &st);

	if (r) {
		report("stat: %s", strerror(-r));
		return;
	}
	(*snapshots)++;
	/*
	 * Nothing is discarded (no immediate shutdown in this test) nor
	 * dead-lettered (no max_deliveries).
	 */
	if (st.total_puts + st.redelivered != st.total_gets + st.qsize ||
	    st.discarded || st.dead_lettered)
		report("snapshot: total_puts %llu + redelivered %llu != total_gets %llu + qsize %llu (discarded %llu, dead-lettered %llu)",
		       (unsigned long long)st.total_puts,
		       (unsigned long long)st.redelivered,
		       (unsigned long long)st.total_gets,
		       (unsigned long long)st.qsize,
		       (unsigned long long)st.discarded,
		       (unsigned long long)st.dead_lettered);
	if (!opt_redeliver && (st.in_flight || st.redelivered))
		report("snapshot: in_flight %llu redelivered %llu without redelivery",
		       (unsigned long long)st.in_flight,
		       (unsigned long long)st.redelivered);
	/*
	 * A put is admitted only within the limits, but with redelivery a
	 * consumer's death gives back what it held regardless of them: at
	 * most MAX_BATCH messages for each of the opt_cons consumers alive.
	 */
	if (st.qsize > opt_maxsize + over_n ||
	    st.bytes > opt_maxbytes + over_n * opt_msgsize)
		report("snapshot: qsize %llu bytes %llu over the limits",
		       (unsigned long long)st.qsize,
		       (unsigned long long)st.bytes);
	/*
	 * task_done never exceeds the gets, so unfinished >= qsize; with
	 * redelivery only an acknowledgment lowers it, so what is in flight
	 * is unfinished too.
	 */
	if (st.unfinished < st.qsize + st.in_flight)
		report("snapshot: unfinished %llu < qsize %llu + in_flight %llu",
		       (unsigned long long)st.unfinished,
		       (unsigned long long)st.qsize,
		       (unsigned long long)st.in_flight);
}

/*
 * Fill @bound[p] with one past the highest seq producer p may have put:
 * its recorded puts, plus the batch in flight if it was killed in it.
 */
static void put_bounds(uint32_t nprod, uint64_t *bound, uint64_t *recorded,
		       uint64_t *inflight_killed)
{
	for (uint32_t p = 0; p < nprod; p++) {
		struct prod_rec *pr = &sh->prod[p];
		uint64_t ok = __atomic_load_n(&pr->puts_ok, __ATOMIC_SEQ_CST);
		uint32_t inf = atomic_load(&pr->inflight);

		*recorded += ok;
		bound[p] = ok;
		if (inf && atomic_load(&pr->killed)) {
			bound[p] += inf;
			*inflight_killed += inf;
		} else if (inf) {
			report("producer %u exited with a put in flight", p);
		}
	}
}

/*
 * Successful puts whose producer was killed before recording them: no
 * more than the killed producers had in flight, and at least the @u_del
 * of them that were delivered.
 */
static uint64_t unrecorded_puts(const struct mpq_stat *st, uint64_t recorded,
				uint64_t inflight_killed, uint64_t u_del)
{
	uint64_t unrecorded;

	unrecorded = st->total_puts >= recorded ? st->total_puts - recorded : 0;
	if (st->total_puts < recorded)
		report("total_puts %llu < %llu puts recorded",
		       (unsigned long long)st->total_puts,
		       (unsigned long long)recorded);
	if (unrecorded > inflight_killed || u_del > unrecorded)
		report("%llu unrecorded puts (%llu delivered), killed producers had %llu in flight",
		       (unsigned long long)unrecorded, (unsigned long long)u_del,
		       (unsigned long long)inflight_killed);
	return unrecorded;
}

/* What the walk over the delivery log counts. */
struct log_counts {
	uint64_t delivered, corrupt, phantom, pending_killed, pending_live;
};

/*
 * Count log entry @i in @n. True if it records a delivery that is sound:
 * not corrupt and of a message that may have been put (below @bound).
 */
static bool log_entry_ok(uint64_t i, const uint64_t *bound,
			 struct log_counts *n)
{
	struct logent *e = &logv[i];
	uint32_t state = atomic_load(&e->state);

	if (state == ENT_PENDING) {
		if (e->consumer < atomic_load(&sh->ncons) &&
		    atomic_load(&sh->cons[e->consumer].killed))
			n->pending_killed++;
		else
			n->pending_live++;
		return false;
	}
	if (state != ENT_DONE && state != ENT_ACKED)
		return false;
	n->delivered++;
	if (e->flags & ENT_CORRUPT) {
		if (n->corrupt++ < 5)
			report("corrupt message at log %llu (consumer %u producer %u seq %llu)",
			       (unsigned long long)i, e->consumer,
			       e->producer, (unsigned long long)e->seq);
		return false;
	}
	if (e->seq >= bound[e->producer]) {
		if (n->phantom++ < 5)
			report("producer %u seq %llu delivered but never put (puts_ok %llu)",
			       e->producer, (unsigned long long)e->seq,
			       (unsigned long long)__atomic_load_n(&sh->prod[e->producer].puts_ok, __ATOMIC_SEQ_CST));
		return false;
	}
	return true;
}

/* Check the delivery log against the producers' records and the stat. */
static void verify(const struct mpq_stat *st)
{
	uint32_t nprod = atomic_load(&sh->nprod), ncons = atomic_load(&sh->ncons);
	uint64_t nlog = __atomic_load_n(&sh->log_next, __ATOMIC_SEQ_CST);
	uint64_t **seen = calloc(nprod, sizeof(*seen));
	uint64_t *bound = calloc(nprod, sizeof(*bound));
	struct log_counts n = {};
	uint64_t dup = 0, order = 0, missing = 0, u_del = 0;
	uint64_t recorded = 0, inflight_killed = 0, td = 0, td_pending = 0;
	uint64_t lost, unrecorded;

	if (!seen || !bound) {
		report("out of memory for the verification");
		return;
	}
	put_bounds(nprod, bound, &recorded, &inflight_killed);
	for (uint32_t p = 0; p < nprod; p++) {
		/* Index + 1 of the entry that delivered each seq, 0: none. */
		seen[p] = calloc(bound[p] + 1, sizeof(uint64_t));
		if (!seen[p]) {
			report("out of memory for the verification");
			return;
		}
	}
	for (uint32_t c = 0; c < ncons; c++) {
		td += __atomic_load_n(&sh->cons[c].td_done, __ATOMIC_SEQ_CST);
		if (atomic_load(&sh->cons[c].killed))
			td_pending += atomic_load(&sh->cons[c].td_pending);
	}

	for (uint64_t i = 0; i < nlog; i++) {
		struct logent *e = &logv[i];

		if (!log_entry_ok(i, bound, &n))
			continue;
		if (seen[e->producer][e->seq]) {
			if (dup++ < 5)
				report("producer %u seq %llu delivered twice (log %llu and %llu)",
				       e->producer, (unsigned long long)e->seq,
				       (unsigned long long)seen[e->producer][e->seq] - 1,
				       (unsigned long long)i);
			continue;
		}
		seen[e->producer][e->seq] = i + 1;
	}

	for (uint32_t p = 0; p < nprod; p++) {
		uint64_t ok = __atomic_load_n(&sh->prod[p].puts_ok, __ATOMIC_SEQ_CST);
		struct logent *prev = NULL;
		uint64_t prev_idx = 0, prev_seq = 0;

		for (uint64_t s = 0; s < bound[p]; s++) {
			struct logent *e;

			if (!seen[p][s]) {
				if (s < ok)
					missing++;
				continue;
			}
			if (s >= ok)
				u_del++;
			e = &logv[seen[p][s] - 1];
			/*
			 * FIFO: seq s was queued after prev_seq, so it cannot
			 * have been taken by a get that returned before the
			 * get of prev_seq began, nor by an earlier get of the
			 * same consumer.
			 */
			if (prev && (e->t_end < prev->t_start ||
				     (e->consumer == prev->consumer &&
				      seen[p][s] - 1 < prev_idx))) {
				if (order++ < 5)
					report("producer %u: seq %llu delivered before seq %llu",
					       p, (unsigned long long)s,
					       (unsigned long long)prev_seq);
			}
			prev = e;
			prev_idx = seen[p][s] - 1;
			prev_seq = s;
		}
		free(seen[p]);
	}
	free(seen);
	free(bound);

	if (n.pending_live)
		report("%llu log entries left pending by consumers that were not killed",
		       (unsigned long long)n.pending_live);
	/* Messages the kernel handed out that no log entry records. */
	lost = st->total_gets >= n.delivered ? st->total_gets - n.delivered : 0;
	if (st->total_gets < n.delivered)
		report("total_gets %llu < %llu deliveries logged",
		       (unsigned long long)st->total_gets,
		       (unsigned long long)n.delivered);
	if (lost > n.pending_killed)
		report("%llu messages lost, but killed consumers had only %llu gets pending",
		       (unsigned long long)lost,
		       (unsigned long long)n.pending_killed);
	unrecorded = unrecorded_puts(st, recorded, inflight_killed, u_del);
	/* Everything queued was delivered or taken by a killed consumer. */
	if (lost != missing + (unrecorded - u_del))
		report("%llu recorded puts and %llu unrecorded ones undelivered, but %llu messages lost",
		       (unsigned long long)missing,
		       (unsigned long long)(unrecorded - u_del),
		       (unsigned long long)lost);
	if (st->unfinished > st->total_puts - td ||
	    st->unfinished + td_pending < st->total_puts - td)
		report("unfinished %llu, but %llu puts - %llu task_done (%llu pending in killed consumers)",
		       (unsigned long long)st->unfinished,
		       (unsigned long long)st->total_puts,
		       (unsigned long long)td,
		       (unsigned long long)td_pending);

	ksft_print_msg("puts: %llu by the kernel, %llu recorded, %llu unrecorded by killed producers (%llu of them delivered)\n",
	       (unsigned long long)st->total_puts, (unsigned long long)recorded,
	       (unsigned long long)unrecorded, (unsigned long long)u_del);
	ksft_print_msg("gets: %llu by the kernel, %llu logged, %llu taken by killed consumers (%llu gets were pending)\n",
	       (unsigned long long)st->total_gets,
	       (unsigned long long)n.delivered, (unsigned long long)lost,
	       (unsigned long long)n.pending_killed);
	ksft_print_msg("checks: %llu corrupt, %llu duplicates, %llu never put, %llu out of order, %llu recorded puts undelivered\n",
	       (unsigned long long)n.corrupt, (unsigned long long)dup,
	       (unsigned long long)n.phantom, (unsigned long long)order,
	       (unsigned long long)missing);
	ksft_print_msg("task_done: %llu returned, %llu in flight when killed; unfinished %llu\n",
	       (unsigned long long)td, (unsigned long long)td_pending,
	       (unsigned long long)st->unfinished);
}

/* One sighting of a message in the log, for the redelivery checks. */
struct sighting {
	uint32_t producer;
	uint32_t deliveries;
	uint64_t seq;
	uint64_t idx;		/* its log entry */
};

static int sighting_cmp(const void *a, const void *b)
{
	const struct sighting *x = a, *y = b;

	if (x->producer != y->producer)
		return x->producer < y->producer ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	if (x->deliveries != y->deliveries)
		return x->deliveries < y->deliveries ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Was log entry @e acknowledged by a task done its consumer died in? */
static bool acked_in_kill(const struct logent *e)
{
	const struct cons_rec *c = &sh->cons[e->consumer];

	return atomic_load(&e->state) == ENT_DONE &&
		atomic_load(&c->killed) && atomic_load(&c->td_pending);
}

/*
 * The redelivery ledger: every message put was acknowledged exactly once,
 * by its last delivery; every earlier delivery came back, and each
 * sighting carries a delivery count of its own.
 */
static void verify_redeliver(const struct mpq_stat *st)
{
	uint32_t nprod = atomic_load(&sh->nprod), ncons = atomic_load(&sh->ncons);
	uint64_t nlog = __atomic_load_n(&sh->log_next, __ATOMIC_SEQ_CST);
	struct sighting *sv = calloc(nlog + 1, sizeof(*sv));
	uint64_t *bound = calloc(nprod, sizeof(*bound));
	struct log_counts n = {};
	uint64_t recorded = 0, inflight_killed = 0, nsv = 0, nocount = 0;
	uint64_t unacked_live = 0, messages = 0, acked = 0;
	uint64_t twice = 0, after_ack = 0, unacked = 0, unflagged = 0;
	uint64_t dup_msgs = 0, extra = 0, gets = 0, redelivered = 0;
	uint64_t seen_recorded = 0, u_del = 0, in_kill = 0;
	uint64_t unrecorded, lost;

	if (!sv || !bound) {
		report("out of memory for the verification");
		return;
	}
	put_bounds(nprod, bound, &recorded, &inflight_killed);

	for (uint64_t i = 0; i < nlog; i++) {
		struct logent *e = &logv[i];
		uint32_t state = atomic_load(&e->state);
		bool killed = e->consumer < ncons &&
			atomic_load(&sh->cons[e->consumer].killed);

		if (!log_entry_ok(i, bound, &n))
			continue;
		if (!e->deliveries && nocount++ < 5)
			report("producer %u seq %llu got with delivery count 0",
			       e->producer, (unsigned long long)e->seq);
		if (state == ENT_DONE && !killed && unacked_live++ < 5)
			report("producer %u seq %llu left unacknowledged by consumer %u, which was not killed",
			       e->producer, (unsigned long long)e->seq,
			       e->consumer);
		sv[nsv++] = (struct sighting){
			.producer = e->producer, .deliveries = e->deliveries,
			.seq = e->seq, .idx = i,
		};
	}
	qsort(sv, nsv, sizeof(*sv), sighting_cmp);

	for (uint64_t i = 0, j; i < nsv; i = j) {
		const struct sighting *last;
		const struct logent *le;
		uint64_t nacks = 0;

		for (j = i; j < nsv && sv[j].producer == sv[i].producer &&
		     sv[j].seq == sv[i].seq; j++) {
			if (atomic_load(&logv[sv[j].idx].state) == ENT_ACKED)
				nacks++;
			if (j > i && sv[j].deliveries == sv[j - 1].deliveries &&
			    unflagged++ < 5)
				report("producer %u seq %llu seen twice with delivery count %u (log %llu and %llu)",
				       sv[j].producer,
				       (unsigned long long)sv[j].seq,
				       sv[j].deliveries,
				       (unsigned long long)sv[j - 1].idx,
				       (unsigned long long)sv[j].idx);
		}
		messages++;
		if (j - i > 1) {
			dup_msgs++;
			extra += j - i - 1;
		}
		last = &sv[j - 1];
		le = &logv[last->idx];
		/* Got that many times; it came back each time but the last. */
		gets += last->deliveries;
		redelivered += last->deliveries ? last->deliveries - 1 : 0;
		if (sv[i].seq < __atomic_load_n(&sh->prod[sv[i].producer].puts_ok,
						 __ATOMIC_SEQ_CST))
			seen_recorded++;
		else
			u_del++;
		if (nacks > 1) {
			if (twice++ < 5)
				report("producer %u seq %llu acknowledged %llu times",
				       last->producer,
				       (unsigned long long)last->seq,
				       (unsigned long long)nacks);
		} else if (nacks == 1 && atomic_load(&le->state) != ENT_ACKED) {
			if (after_ack++ < 5)
				report("producer %u seq %llu acknowledged, then delivered again (count %u)",
				       last->producer,
				       (unsigned long long)last->seq,
				       last->deliveries);
		} else if (nacks == 0 && !acked_in_kill(le)) {
			if (unacked++ < 5)
				report("producer %u seq %llu never acknowledged (last delivery %u, log %llu)",
				       last->producer,
				       (unsigned long long)last->seq,
				       last->deliveries,
				       (unsigned long long)last->idx);
		} else {
			acked++;
			in_kill += !nacks;
		}
	}
	free(sv);
	free(bound);

	if (n.pending_live)
		report("%llu log entries left pending by consumers that were not killed",
		       (unsigned long long)n.pending_live);
	unrecorded = unrecorded_puts(st, recorded, inflight_killed, u_del);
	/* Put, but never seen, or seen and never acknowledged. */
	lost = (recorded - seen_recorded) +
		(unrecorded > u_del ? unrecorded - u_del : 0) + unacked;
	if (lost)
		report("%llu messages lost: %llu recorded puts never delivered, %llu unrecorded ones, %llu never acknowledged",
		       (unsigned long long)lost,
		       (unsigned long long)(recorded - seen_recorded),
		       (unsigned long long)(unrecorded > u_del ? unrecorded - u_del : 0),
		       (unsigned long long)unacked);
	if (gets != st->total_gets)
		report("the delivery counts seen add up to %llu gets, the kernel made %llu",
		       (unsigned long long)gets,
		       (unsigned long long)st->total_gets);
	if (redelivered != st->redelivered)
		report("the delivery counts seen add up to %llu redeliveries, the kernel counted %llu",
		       (unsigned long long)redelivered,
		       (unsigned long long)st->redelivered);
	if (st->unfinished || st->in_flight)
		report("after the drain: unfinished %llu, in_flight %llu",
		       (unsigned long long)st->unfinished,
		       (unsigned long long)st->in_flight);

	ksft_print_msg("gets: %llu by the kernel, %llu logged, %llu pending in killed consumers\n",
	       (unsigned long long)st->total_gets,
	       (unsigned long long)n.delivered,
	       (unsigned long long)n.pending_killed);
	ksft_print_msg("checks: %llu corrupt, %llu never put, %llu without a delivery count, %llu unflagged duplicates, %llu acknowledged twice, %llu delivered after their acknowledgment, %llu left unacknowledged by live consumers\n",
	       (unsigned long long)n.corrupt, (unsigned long long)n.phantom,
	       (unsigned long long)nocount, (unsigned long long)unflagged,
	       (unsigned long long)twice, (unsigned long long)after_ack,
	       (unsigned long long)unacked_live);
	ksft_print_msg("redelivery: %llu messages put (%llu by killed producers, unrecorded), %llu seen, %llu acknowledged once (%llu by a task done its consumer was killed in), lost %llu\n",
	       (unsigned long long)st->total_puts, (unsigned long long)unrecorded,
	       (unsigned long long)messages, (unsigned long long)acked, (unsigned long long)in_kill,
	       (unsigned long long)lost);
	ksft_print_msg("redelivery: redelivered %llu by stat, %llu by the ledger; %llu messages seen more than once (%llu extra sightings, %llu unflagged)\n",
	       (unsigned long long)st->redelivered,
	       (unsigned long long)redelivered,
	       (unsigned long long)dup_msgs, (unsigned long long)extra,
	       (unsigned long long)unflagged);
}

static void print_counters(void)
{
	struct counters p = {}, c = {};
	uint32_t np = atomic_load(&sh->nprod), nc = atomic_load(&sh->ncons);

#define ADD(to, from) do { \
	to.ops += from.ops; to.eagain += from.eagain; \
	to.etimedout += from.etimedout; to.eintr += from.eintr; \
	to.emsgsize += from.emsgsize; to.batches += from.batches; \
	to.toggles += from.toggles; } while (0)
	for (uint32_t i = 0; i < np; i++)
		ADD(p, sh->prod[i].c);
	for (uint32_t i = 0; i < nc; i++)
		ADD(c, sh->cons[i].c);
#undef ADD
	ksft_print_msg("producers: %u lifetimes, %llu ops, %llu batches, EAGAIN %llu, ETIMEDOUT %llu, EINTR %llu, EMSGSIZE %llu, O_NONBLOCK toggles %llu\n",
	       np, (unsigned long long)p.ops, (unsigned long long)p.batches,
	       (unsigned long long)p.eagain, (unsigned long long)p.etimedout,
	       (unsigned long long)p.eintr, (unsigned long long)p.emsgsize,
	       (unsigned long long)p.toggles);
	ksft_print_msg("consumers: %u lifetimes, %llu ops, %llu batches, EAGAIN %llu, ETIMEDOUT %llu, EINTR %llu, EMSGSIZE %llu, O_NONBLOCK toggles %llu\n",
	       nc, (unsigned long long)c.ops, (unsigned long long)c.batches,
	       (unsigned long long)c.eagain, (unsigned long long)c.etimedout,
	       (unsigned long long)c.eintr, (unsigned long long)c.emsgsize,
	       (unsigned long long)c.toggles);
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-r] [-t SECONDS] [-p PRODUCERS] [-c CONSUMERS] [-m MSGSIZE_MAX]\n"
		"          [-q MAXSIZE] [-b MAXBYTES] [-k KILLS_PER_SEC] [-s SEED]\n"
		"  -r  redelivery: MPQ_CREATE_REDELIVER, consumers REOPEN and acknowledge\n",
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t snapshots = 0, kills[2] = {}, signals = 0, stops = 0;
	uint64_t kills_holding = 0;
	bool joined = true;
	sigset_t pipeset, pending;
	struct mpq_create cr = {};
	struct mpq_stat st;
	pid_t stopped = 0;
	int64_t t_start, t_end;
	bool limit_hit = false;
	int opt, qfd, r;
	char buf[64];

	opt_seed = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
	while ((opt = getopt(argc, argv, "rt:p:c:m:q:b:k:s:h")) != -1) {
		switch (opt) {
		case 'r': opt_redeliver = true; break;
		case 't': opt_time = strtoul(optarg, NULL, 0); break;
		case 'p': opt_prod = strtoul(optarg, NULL, 0); break;
		case 'c': opt_cons = strtoul(optarg, NULL, 0); break;
		case 'm': opt_msgsize = strtoull(optarg, NULL, 0); break;
		case 'q': opt_maxsize = strtoull(optarg, NULL, 0); break;
		case 'b': opt_maxbytes = strtoull(optarg, NULL, 0); break;
		case 'k': opt_kills = strtod(optarg, NULL); break;
		case 's': opt_seed = strtoull(optarg, NULL, 0); break;
		default: usage(argv[0]);
		}
	}
	if (!opt_prod || !opt_cons || opt_msgsize < sizeof(struct msg_hdr) ||
	    !opt_maxsize || opt_maxbytes < opt_msgsize)
		usage(argv[0]);
	rnd_seed(opt_seed, 0);
	setvbuf(stdout, NULL, _IOLBF, 0);
	ksft_print_header();
	r = mpq_control();
	if (r < 0)
		ksft_exit_skip("%s: %s\n", MPQ_CONTROL_PATH, strerror(-r));
	close(r);
	ksft_set_plan(1);
	ksft_print_msg("torture%s: %u producers, %u consumers, %u s, msgsize_max %llu, maxsize %llu, maxbytes %llu, %.1f kills/s, seed %llu\n",
	       opt_redeliver ? " (redelivery)" : "",
	       opt_prod, opt_cons, opt_time, (unsigned long long)opt_msgsize,
	       (unsigned long long)opt_maxsize, (unsigned long long)opt_maxbytes,
	       opt_kills, (unsigned long long)opt_seed);

	sh = shared_alloc(sizeof(*sh));
	logv = shared_alloc(log_cap * sizeof(*logv));
	workers = calloc(opt_prod + opt_cons, sizeof(*workers));
	if (!sh || !logv || !workers) {
		ksft_test_result_fail("torture # cannot allocate the shared log\n");
		ksft_exit_fail();
	}
	/* Leave room for every consumer's partly used chunk. */
	put_limit = log_cap - (uint64_t)MAX_INCARN * CHUNK - MAX_INCARN * MAX_BATCH;
	if (put_limit > log_cap / 2)
		put_limit = log_cap / 2;

	mpq_test_name(qname, sizeof(qname), "torture");
	cr.maxsize = opt_maxsize;
	cr.msgsize_max = opt_msgsize;
	cr.maxbytes = opt_maxbytes;
	cr.mode = 0600;
	cr.flags = opt_redeliver ? MPQ_CREATE_REDELIVER : 0;
	memcpy(cr.name, qname, strlen(qname));
	r = control_ioctl(MPQ_IOC_CREATE_NAMED, &cr);
	if (r < 0) {
		ksft_test_result_fail("torture # create %s: %s\n", qname,
				      strerror(-r));
		ksft_exit_fail();
	}
	qfd = mpq_open_named(qname, O_RDWR);
	if (qfd < 0) {
		ksft_test_result_fail("torture # open %s: %s\n", qname,
				      strerror(-qfd));
		mpq_remove(qname);
		ksft_exit_fail();
	}
	parent_fd = qfd;	/* redelivery consumers REOPEN it */
	/*
	 * A put after shutdown must fail with EPIPE and raise no SIGPIPE;
	 * workers inherit SIGUSR1 blocked until their handler is installed.
	 */
	sigemptyset(&pipeset);
	sigaddset(&pipeset, SIGPIPE);
	sigaddset(&pipeset, SIGUSR1);
	sigprocmask(SIG_BLOCK, &pipeset, NULL);

	for (unsigned int i = 0; i < opt_prod + opt_cons; i++)
		spawn_worker(&workers[nworkers++], i < opt_prod ? PRODUCER : CONSUMER);

	/* The chaos phase: signals, stops and kills at random. */
	t_start = now_ns();
	t_end = t_start + (int64_t)opt_time * NSEC_PER_SEC;
	while (now_ns() < t_end) {
		unsigned int step_ms = 2 + rnd_below(8);
		struct worker *w = &workers[rnd_below(nworkers)];

		sleep_ms(step_ms);
		reap_workers(true);
		if (stopped) {
			kill(stopped, SIGCONT);
			stopped = 0;
		}
		if (__atomic_load_n(&sh->puts_total, __ATOMIC_SEQ_CST) >= put_limit) {
			limit_hit = true;
			break;
		}
		check_snapshot(qfd, &snapshots);
		if (!w->pid)
			continue;
		if (rnd_below(1000) < (unsigned int)(opt_kills * step_ms)) {
			if (w->role == CONSUMER &&
			    atomic_load(&sh->cons[w->id].holding))
				kills_holding++;
			atomic_store(killed_flag(w), 1);
			kill(w->pid, SIGKILL);
			kills[w->role]++;
		} else if (chance(20)) {
			kill(w->pid, SIGUSR1);
			signals++;
		} else if (chance(2)) {
			kill(w->pid, SIGSTOP);
			stopped = w->pid;
			stops++;
		}
	}
	if (stopped)
		kill(stopped, SIGCONT);
	replace_killed();

	/* Producers finish; consumers go on until the end of the stream. */
	atomic_store(&sh->stop, 1);
	wait_role(qfd, PRODUCER, 120);
	check_snapshot(qfd, &snapshots);
	if (opt_redeliver) {
		/*
		 * The consumers acknowledge everything, killed ones' messages
		 * included once they come back: join returns before the
		 * shutdown. Bounded: a lost message fails, it does not hang.
		 */
		struct __kernel_timespec dl = deadline_in_ms(60 * 1000);

		r = q_join(qfd, &dl);
		if (r) {
			report("join after the producers finished: %s",
			       strerror(-r));
			dump_stuck(qfd);
			joined = false;
		}
	}
	atomic_store(&sh->shutting, 1);
	r = q_shutdown(qfd, 0);
	if (r)
		report("shutdown: %s", strerror(-r));
	/* After a failed join the drain cannot end: do not wait long. */
	wait_role(qfd, CONSUMER, joined ? 120 : 10);
	for (unsigned int i = 0; i < nworkers; i++)
		if (workers[i].pid) {
			kill(workers[i].pid, SIGKILL);
			reap(workers[i].pid);
		}

	r = q_stat(qfd, &st);
	if (r) {
		report("final stat: %s", strerror(-r));
		memset(&st, 0, sizeof(st));
	}
	if (st.qsize || st.bytes || st.in_flight ||
	    st.total_puts + st.redelivered != st.total_gets ||
	    st.state != MPQ_STATE_SHUTDOWN || st.getters || st.putters)
		report("after the drain: qsize %llu bytes %llu in_flight %llu puts %llu redelivered %llu gets %llu state %u getters %u putters %u",
		       (unsigned long long)st.qsize, (unsigned long long)st.bytes,
		       (unsigned long long)st.in_flight,
		       (unsigned long long)st.total_puts,
		       (unsigned long long)st.redelivered,
		       (unsigned long long)st.total_gets, st.state, st.getters,
		       st.putters);
	r = (int)q_get(qfd, buf, sizeof(buf), MPQ_XFER_NONBLOCK, NULL);
	if (r != 0)
		report("get after the drain returned %d, not end of stream", r);
	r = q_put(qfd, "x", 1, 0, NULL);
	if (r != -EPIPE)
		report("put after shutdown returned %d, not -EPIPE", r);
	r = (int)q_write(qfd, "x", 1);
	if (r != -EPIPE)
		report("write after shutdown returned %d, not -EPIPE", r);
	if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
		report("a put after shutdown raised SIGPIPE");

	ksft_print_msg("ran %.1f s%s; kills: %llu producers, %llu consumers; %llu SIGUSR1, %llu SIGSTOP; %llu stat snapshots\n",
	       (now_ns() - t_start) / 1e9,
	       limit_hit ? " (stopped early: log limit)" : "",
	       (unsigned long long)kills[PRODUCER],
	       (unsigned long long)kills[CONSUMER], (unsigned long long)signals,
	       (unsigned long long)stops, (unsigned long long)snapshots);
	if (opt_redeliver)
		ksft_print_msg("redelivery: %llu consumer kills between a get and its task done\n",
			       (unsigned long long)kills_holding);
	print_counters();
	if (opt_redeliver)
		verify_redeliver(&st);
	else
		verify(&st);

	/*
	 * Finish the accounting: join must then return at once. With
	 * redelivery only the consumers' acknowledgments may do it (the
	 * parent's file holds nothing), and verify_redeliver checked they did.
	 */
	if (st.unfinished && !opt_redeliver) {
		r = q_task_done(qfd, st.unfinished);
		if (r)
			report("task_done(%llu): %s",
			       (unsigned long long)st.unfinished, strerror(-r));
	}
	if (q_task_done(qfd, 1) != -EINVAL)
		report("task_done(1) with nothing unfinished did not fail with EINVAL");
	{
		struct __kernel_timespec dl = deadline_in_ms(1000);

		r = q_join(qfd, &dl);
		if (r)
			report("join after the last task_done: %s", strerror(-r));
	}
	if (!st.total_gets)
		report("no message was delivered");

	close(qfd);
	r = mpq_remove(qname);
	if (r)
		report("remove %s: %s", qname, strerror(-r));

	if (failures)
		ksft_test_result_fail("torture # %d failures, seed %llu\n",
				      failures, (unsigned long long)opt_seed);
	else
		ksft_test_result_pass("torture\n");
	ksft_finished();
}
