// SPDX-License-Identifier: GPL-2.0
/*
 * failslab: make every allocation of an mpq call fail, one at a time.
 *
 * For each call (create, create named, remove, open, put, write, put many,
 * get, read, get many, list, stat, task done, shutdown) the test writes n
 * to /proc/thread-self/fail-nth, so that the n-th allocation the call makes
 * fails, for n = 1, 2, ... until the call completes without reaching the
 * n-th allocation. With each injected failure the call must either fail
 * cleanly with ENOMEM, leaving the queue exactly as it was and still
 * working, or succeed with its full effect. No descriptor may leak; kernel
 * memory leaks are left to kmemleak, which `make check-debug` scans after
 * the run. The last part repeats named creation as an unprivileged user
 * and then checks that failed creations did not use up the per-user quota.
 *
 * Needs CONFIG_FAULT_INJECTION, CONFIG_FAILSLAB (plus CONFIG_FAIL_PAGE_ALLOC
 * for large messages) and their debugfs knobs, set here to fail sleeping
 * allocations too and to log nothing; skipped on kernels without them.
 */
#include <dirent.h>
#include <poll.h>
#include <stdarg.h>

#include "kselftest.h"
#include "mpq_test.h"
#include "pattern.h"

#define FAIL_NTH	"/proc/thread-self/fail-nth"
#define DEBUGFS		"/sys/kernel/debug"
#define MAX_NTH		10000

static int nth_fd = -1;
static char qname[MPQ_NAME_SIZE];

/* debugfs knobs to set for the run and restore afterwards. */
static struct knob {
	const char *path;
	const char *value;
	char saved[32];
	bool set;
} knobs[] = {
	{ .path = DEBUGFS "/failslab/ignore-gfp-wait", .value = "N" },
	{ .path = DEBUGFS "/failslab/verbose", .value = "0" },
	{ .path = DEBUGFS "/fail_page_alloc/ignore-gfp-wait", .value = "N" },
	{ .path = DEBUGFS "/fail_page_alloc/verbose", .value = "0" },
};

/* --- fail-nth ------------------------------------------------------------ */

static void nth_set(unsigned int n)
{
	char s[16];
	int len = snprintf(s, sizeof(s), "%u", n);

	if (pwrite(nth_fd, s, len, 0) != len) {
		ksft_exit_fail_msg("writing %s: %s\n", FAIL_NTH, strerror(errno));
	}
}

/*
 * Right after the call under test: how many allocations short of the
 * n-th one the call stopped (0: the n-th allocation was made to fail).
 * Disarms the counter so no later allocation fails.
 */
static unsigned int nth_left(void)
{
	char s[16] = "";
	ssize_t n = pread(nth_fd, s, sizeof(s) - 1, 0);

	nth_set(0);
	if (n <= 0) {
		ksft_exit_fail_msg("reading %s: %s\n", FAIL_NTH, strerror(errno));
	}
	return (unsigned int)strtoul(s, NULL, 10);
}

/* --- checks -------------------------------------------------------------- */

static int case_failures;

static void bad(const char *fmt, ...)
{
	va_list ap;

	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ksft_print_msg("%s\n", msg);
	case_failures++;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static bool same_stat(const struct mpq_stat *a, const struct mpq_stat *b)
{
	return a->qsize == b->qsize && a->bytes == b->bytes &&
	       a->unfinished == b->unfinished &&
	       a->total_puts == b->total_puts &&
	       a->total_gets == b->total_gets && a->state == b->state &&
	       a->discarded == b->discarded;
}

/* The next message must be @len bytes of pattern_fill(@tag). */
static void expect_msg(int fd, size_t len, char tag, const char *when)
{
	static char want[200000], got[200000];
	long n = q_get(fd, got, sizeof(got), MPQ_XFER_NONBLOCK, NULL);

	pattern_fill(want, len, tag);
	if (n != (long)len || memcmp(want, got, len))
		bad("%s: expected message '%c' of %zu bytes, got %ld", when,
		    tag, len, n);
}

static void expect_empty(int fd, const char *when)
{
	char c;
	long n = q_get(fd, &c, 1, MPQ_XFER_NONBLOCK, NULL);

	if (n != -EAGAIN)
		bad("%s: queue should be empty, get returned %ld", when, n);
}

/* Put/get round trip: the queue still works. */
static void still_works(int fd, const char *when)
{
	struct mpq_stat st;
	int r;

	if (q_stat(fd, &st)) {
		bad("%s: stat failed", when);
		return;
	}
	r = q_put(fd, "ping", 4, MPQ_XFER_NONBLOCK, NULL);
	if (r) {
		bad("%s: put after the failure: %s", when, strerror(-r));
		return;
	}
	/* Skip what was queued before, then the new message comes out. */
	for (uint64_t i = 0; i < st.qsize; i++) {
		char tmp[200000];

		q_get(fd, tmp, sizeof(tmp), MPQ_XFER_NONBLOCK, NULL);
	}
	{
		char got[8];
		long n = q_get(fd, got, sizeof(got), MPQ_XFER_NONBLOCK, NULL);

		if (n != 4 || memcmp(got, "ping", 4))
			bad("%s: round trip after the failure returned %ld", when, n);
	}
}

/* --- the cases ------------------------------------------------------------- */

/*
 * One case: setup() builds fresh state without injection, call() makes the
 * call under test (with injection armed around it only), check() judges
 * the outcome: ret is its result (-errno on failure), faulted says whether
 * an allocation was made to fail.
 */
struct fcase {
	const char *name;
	void (*setup)(void);
	long (*call)(void);
	void (*check)(long ret, bool faulted, const char *when);
	void (*cleanup)(void);
};

static int qfd = -1;		/* the queue a case works on */
static int ctl = -1;
static struct mpq_stat before;
static long call_ret;
static char big[200000];

#define SMALL	100
#define MEDIUM	6000		/* above a page: kvmalloc's fallback */
#define LARGE	100000		/* page allocator */

static void setup_queue(void)
{
	char m[MEDIUM];

	qfd = mpq_new(0, 0, 0, 0);
	if (qfd < 0) {
		ksft_exit_fail_msg("creating a queue: %s\n", strerror(-qfd));
	}
	/* Two messages, so a failed call can be seen to keep their order. */
	pattern_fill(m, SMALL, 'A');
	q_put(qfd, m, SMALL, 0, NULL);
	pattern_fill(m, MEDIUM, 'B');
	q_put(qfd, m, MEDIUM, 0, NULL);
	q_stat(qfd, &before);
}

static void cleanup_queue(void)
{
	if (qfd >= 0)
		close(qfd);
	qfd = -1;
}

/* Failed or not, the two messages come out in order. */
static void check_ab(const char *when)
{
	expect_msg(qfd, SMALL, 'A', when);
	expect_msg(qfd, MEDIUM, 'B', when);
}

static void check_unchanged(const char *when)
{
	struct mpq_stat st;

	if (q_stat(qfd, &st) || !same_stat(&st, &before))
		bad("%s: the queue changed: qsize %llu->%llu bytes %llu->%llu unfinished %llu->%llu puts %llu->%llu gets %llu->%llu",
		    when, (unsigned long long)before.qsize,
		    (unsigned long long)st.qsize,
		    (unsigned long long)before.bytes,
		    (unsigned long long)st.bytes,
		    (unsigned long long)before.unfinished,
		    (unsigned long long)st.unfinished,
		    (unsigned long long)before.total_puts,
		    (unsigned long long)st.total_puts,
		    (unsigned long long)before.total_gets,
		    (unsigned long long)st.total_gets);
}

static void expect_enomem(long ret, const char *when)
{
	if (ret != -ENOMEM)
		bad("%s: failed with %ld (%s), not ENOMEM", when, ret,
		    ret < 0 ? strerror((int)-ret) : "?");
}

/* put / write / put many of one message of @len */

static size_t put_len;
static char put_tag = 'C';

static long call_put(void)
{
	return q_put(qfd, big, put_len, MPQ_XFER_NONBLOCK, NULL);
}

static long call_write(void)
{
	long n = q_write(qfd, big, put_len);

	return n < 0 ? n : 0;
}

static void check_put(long ret, bool faulted, const char *when)
{
	(void)faulted;
	if (ret == 0) {
		check_ab(when);
		expect_msg(qfd, put_len, put_tag, when);
		expect_empty(qfd, when);
		return;
	}
	expect_enomem(ret, when);
	check_unchanged(when);
	check_ab(when);
	expect_empty(qfd, when);
	still_works(qfd, when);
}

static void setup_put(void)
{
	setup_queue();
	pattern_fill(big, put_len, put_tag);
}

#define PUT_CASE(fn, len) \
static void setup_##fn(void) { put_len = len; setup_put(); }

PUT_CASE(put_small, SMALL)
PUT_CASE(put_medium, MEDIUM)
PUT_CASE(put_large, LARGE)
PUT_CASE(write_small, SMALL)
PUT_CASE(write_large, LARGE)

/* PUT_MANY of three messages: all or a prefix, never a gap. */
static struct mpq_msgvec vec[3];
static char vbuf[3][MEDIUM];

static void setup_put_many(void)
{
	setup_queue();
	for (int i = 0; i < 3; i++) {
		pattern_fill(vbuf[i], (size_t)SMALL * (i + 1) * 20, (char)('C' + i));
		vec[i].buf = PTR(vbuf[i]);
		vec[i].len = (size_t)SMALL * (i + 1) * 20;
		vec[i].result = 0;
	}
}

static long call_put_many(void)
{
	struct mpq_batch b = {
		.vec = PTR(vec), .count = 3, .flags = MPQ_XFER_NONBLOCK,
	};

	return sys_ret(ioctl(qfd, MPQ_IOC_PUT_MANY, &b));
}

static void check_put_many(long ret, bool faulted, const char *when)
{
	(void)faulted;
	if (ret < 0) {
		expect_enomem(ret, when);
		check_unchanged(when);
		check_ab(when);
		expect_empty(qfd, when);
		still_works(qfd, when);
		return;
	}
	if (ret == 0 || ret > 3)
		bad("%s: PUT_MANY returned %ld", when, ret);
	check_ab(when);
	for (long i = 0; i < ret && i < 3; i++)
		expect_msg(qfd, vec[i].len, (char)('C' + i), when);
	expect_empty(qfd, when);
}

/* get / read / get many */

static char getbuf[200000];

static long call_get(void)
{
	return q_get(qfd, getbuf, sizeof(getbuf), MPQ_XFER_NONBLOCK, NULL);
}

static long call_read(void)
{
	return q_read(qfd, getbuf, sizeof(getbuf));
}

static void check_get(long ret, bool faulted, const char *when)
{
	char want[SMALL];

	(void)faulted;
	if (ret >= 0) {
		pattern_fill(want, SMALL, 'A');
		if (ret != SMALL || memcmp(getbuf, want, SMALL))
			bad("%s: got %ld bytes, not message A", when, ret);
		expect_msg(qfd, MEDIUM, 'B', when);
		expect_empty(qfd, when);
		return;
	}
	/* A failed get must leave the message at the head. */
	expect_enomem(ret, when);
	check_unchanged(when);
	check_ab(when);
	still_works(qfd, when);
}

static long call_get_many(void)
{
	static char b0[MEDIUM], b1[MEDIUM];
	struct mpq_msgvec v[2] = {
		{ .buf = PTR(b0), .len = sizeof(b0) },
		{ .buf = PTR(b1), .len = sizeof(b1) },
	};
	struct mpq_batch b = {
		.vec = PTR(v), .count = 2, .flags = MPQ_XFER_NONBLOCK,
	};
	long ret = sys_ret(ioctl(qfd, MPQ_IOC_GET_MANY, &b));

	if (ret > 0) {
		char want[MEDIUM];

		pattern_fill(want, SMALL, 'A');
		if (v[0].result != SMALL || memcmp(b0, want, SMALL))
			ret = -EBADMSG;
		pattern_fill(want, MEDIUM, 'B');
		if (ret == 2 && (v[1].result != MEDIUM || memcmp(b1, want, MEDIUM)))
			ret = -EBADMSG;
	}
	return ret;
}

static void check_get_many(long ret, bool faulted, const char *when)
{
	(void)faulted;
	if (ret == -EBADMSG) {
		bad("%s: GET_MANY returned the wrong messages", when);
		return;
	}
	if (ret > 0) {
		if (ret == 1)
			expect_msg(qfd, MEDIUM, 'B', when);
		expect_empty(qfd, when);
		return;
	}
	expect_enomem(ret, when);
	check_unchanged(when);
	check_ab(when);
	still_works(qfd, when);
}

/* stat, task done, shutdown, FIONREAD: the queue's own calls */

static struct mpq_stat got_stat;

static long call_stat(void)
{
	return q_stat(qfd, &got_stat);
}

static void check_stat(long ret, bool faulted, const char *when)
{
	(void)faulted;
	if (ret == 0 && !same_stat(&got_stat, &before))
		bad("%s: STAT returned a different snapshot", when);
	if (ret)
		expect_enomem(ret, when);
	check_ab(when);
}

static long call_task_done(void)
{
	return q_task_done(qfd, 1);
}

static void check_task_done(long ret, bool faulted, const char *when)
{
	struct mpq_stat st;

	(void)faulted;
	q_stat(qfd, &st);
	if (ret == 0 && st.unfinished != before.unfinished - 1)
		bad("%s: unfinished %llu after task_done, was %llu", when,
		    (unsigned long long)st.unfinished,
		    (unsigned long long)before.unfinished);
	if (ret) {
		expect_enomem(ret, when);
		check_unchanged(when);
	}
	check_ab(when);
}

static long call_shutdown(void)
{
	return q_shutdown(qfd, 0);
}

static void check_shutdown(long ret, bool faulted, const char *when)
{
	struct mpq_stat st;

	(void)faulted;
	if (ret) {
		expect_enomem(ret, when);
		check_unchanged(when);
		check_ab(when);
		still_works(qfd, when);
		return;
	}
	q_stat(qfd, &st);
	if (st.state != MPQ_STATE_SHUTDOWN)
		bad("%s: state %u after shutdown", when, st.state);
	check_ab(when);
	if (q_get(qfd, getbuf, 1, MPQ_XFER_NONBLOCK, NULL) != 0)
		bad("%s: no end of stream after shutdown", when);
}

/* create, create named, remove, open, list: the control device */

static int created_fd = -1;

static void setup_ctl(void)
{
	ctl = mpq_control();
	if (ctl < 0) {
		ksft_exit_fail_msg("%s: %s\n", MPQ_CONTROL_PATH, strerror(-ctl));
	}
}

static void cleanup_ctl(void)
{
	if (created_fd >= 0)
		close(created_fd);
	created_fd = -1;
	if (ctl >= 0)
		close(ctl);
	ctl = -1;
	mpq_remove(qname);
}

static long call_create(void)
{
	struct mpq_create c = { .maxsize = 4 };
	long ret = sys_ret(ioctl(ctl, MPQ_IOC_CREATE, &c));

	if (ret >= 0)
		created_fd = (int)ret;
	return ret;
}

static void check_create(long ret, bool faulted, const char *when)
{
	(void)faulted;
	if (ret < 0) {
		expect_enomem(ret, when);
		return;
	}
	qfd = created_fd;
	still_works(qfd, when);
	qfd = -1;
}

static bool named_exists(void)
{
	char path[128];

	snprintf(path, sizeof(path), MPQ_DEV_DIR "/%s", qname);
	return access(path, F_OK) == 0;
}

static long call_create_named(void)
{
	struct mpq_create c = { .maxsize = 4, .mode = 0666 };

	memcpy(c.name, qname, strlen(qname));
	return sys_ret(ioctl(ctl, MPQ_IOC_CREATE_NAMED, &c));
}

/* Does LIST name our queue? */
static bool listed(void)
{
	static char names[1 << 16];
	struct mpq_list l = { .buf = PTR(names), .size = sizeof(names) };
	long n = sys_ret(ioctl(ctl, MPQ_IOC_LIST, &l));

	for (long i = 0; i < n; i += strlen(names + i) + 1)
		if (!strcmp(names + i, qname))
			return true;
	return false;
}

static void check_named_works(const char *when)
{
	int fd = mpq_open_named(qname, O_RDWR);

	if (fd < 0) {
		bad("%s: open %s: %s", when, qname, strerror(-fd));
		return;
	}
	qfd = fd;
	still_works(qfd, when);
	close(fd);
	qfd = -1;
}

static void check_create_named(long ret, bool faulted, const char *when)
{
	char path[160];

	(void)faulted;
	if (ret == 0) {
		if (!named_exists() || !listed())
			bad("%s: created, but not in /dev/mpq or LIST", when);
		check_named_works(when);
		return;
	}
	expect_enomem(ret, when);
	snprintf(path, sizeof(path), MPQ_SYSFS_DIR "/%s", qname);
	if (named_exists() || listed() || access(path, F_OK) == 0)
		bad("%s: failed, but %s is left behind", when, qname);
	/* The name is free again. */
	ret = call_create_named();
	if (ret)
		bad("%s: creating it again: %s", when, strerror((int)-ret));
}

static void setup_named(void)
{
	setup_ctl();
	if (call_create_named()) {
		ksft_exit_fail_msg("creating %s failed\n", qname);
	}
	/* A queue with content, reached through an fd opened beforehand. */
	qfd = mpq_open_named(qname, O_RDWR);
	if (qfd < 0) {
		ksft_exit_fail_msg("opening %s failed\n", qname);
	}
	{
		char m[MEDIUM];

		pattern_fill(m, SMALL, 'A');
		q_put(qfd, m, SMALL, 0, NULL);
		pattern_fill(m, MEDIUM, 'B');
		q_put(qfd, m, MEDIUM, 0, NULL);
	}
	q_stat(qfd, &before);
}

static void cleanup_named(void)
{
	cleanup_queue();
	cleanup_ctl();
}

static long call_remove(void)
{
	struct mpq_name n = {};

	memcpy(n.name, qname, strlen(qname));
	return sys_ret(ioctl(ctl, MPQ_IOC_REMOVE, &n));
}

static void check_remove(long ret, bool faulted, const char *when)
{
	(void)faulted;
	if (ret == 0) {
		if (named_exists() || listed())
			bad("%s: removed, but still visible", when);
		/* Open descriptors keep working. */
		check_ab(when);
		still_works(qfd, when);
		return;
	}
	expect_enomem(ret, when);
	if (!named_exists() || !listed())
		bad("%s: failed remove, but the queue is gone", when);
	check_unchanged(when);
	check_ab(when);
	check_named_works(when);
}

static long call_open(void)
{
	long fd = mpq_open_named(qname, O_RDWR);

	if (fd >= 0)
		created_fd = (int)fd;
	return fd;
}

static void check_open(long ret, bool faulted, const char *when)
{
	(void)faulted;
	if (ret >= 0) {
		int keep = qfd;

		qfd = created_fd;
		check_ab(when);
		still_works(qfd, when);
		qfd = keep;
		return;
	}
	expect_enomem(ret, when);
	check_unchanged(when);
	check_ab(when);
	check_named_works(when);
}

static char list_buf[1 << 16];

static long call_list(void)
{
	struct mpq_list l = { .buf = PTR(list_buf), .size = sizeof(list_buf) };

	return sys_ret(ioctl(ctl, MPQ_IOC_LIST, &l));
}

static void check_list(long ret, bool faulted, const char *when)
{
	bool found = false;

	(void)faulted;
	if (ret < 0) {
		expect_enomem(ret, when);
	} else {
		for (long i = 0; i < ret; i += strlen(list_buf + i) + 1)
			found |= !strcmp(list_buf + i, qname);
		if (!found)
			bad("%s: LIST lacks %s", when, qname);
	}
	check_unchanged(when);
	check_ab(when);
}

static const struct fcase cases[] = {
	{ "create", setup_ctl, call_create, check_create, cleanup_ctl },
	{ "create-named", setup_ctl, call_create_named, check_create_named, cleanup_ctl },
	{ "remove", setup_named, call_remove, check_remove, cleanup_named },
	{ "open", setup_named, call_open, check_open, cleanup_named },
	{ "list", setup_named, call_list, check_list, cleanup_named },
	{ "put-small", setup_put_small, call_put, check_put, cleanup_queue },
	{ "put-medium", setup_put_medium, call_put, check_put, cleanup_queue },
	{ "put-large", setup_put_large, call_put, check_put, cleanup_queue },
	{ "write-small", setup_write_small, call_write, check_put, cleanup_queue },
	{ "write-large", setup_write_large, call_write, check_put, cleanup_queue },
	{ "put-many", setup_put_many, call_put_many, check_put_many, cleanup_queue },
	{ "get", setup_queue, call_get, check_get, cleanup_queue },
	{ "read", setup_queue, call_read, check_get, cleanup_queue },
	{ "get-many", setup_queue, call_get_many, check_get_many, cleanup_queue },
	{ "stat", setup_queue, call_stat, check_stat, cleanup_queue },
	{ "task-done", setup_queue, call_task_done, check_task_done, cleanup_queue },
	{ "shutdown", setup_queue, call_shutdown, check_shutdown, cleanup_queue },
};

/*
 * Inject at n = 1, 2, ... until the call no longer reaches the n-th
 * allocation. Returns the number of problems; prints a TAP line if @tap.
 */
static int run_case(const struct fcase *c, bool tap)
{
	unsigned int n, faults = 0, clean_errors = 0;
	char when[96];

	case_failures = 0;
	for (n = 1; n <= MAX_NTH; n++) {
		int fds;
		bool faulted;

		c->setup();
		fds = count_fds();
		nth_set(n);
		call_ret = c->call();
		faulted = nth_left() == 0;
		snprintf(when, sizeof(when), "%s, allocation %u %s", c->name,
			 n, faulted ? "failed" : "not reached");
		if (!faulted && call_ret < 0)
			bad("%s: failed with %s without an injected fault",
			    when, strerror((int)-call_ret));
		c->check(call_ret, faulted, when);
		if (faulted && call_ret < 0)
			clean_errors++;
		faults += faulted;
		/* A failed call must not leave a descriptor behind. */
		if (call_ret < 0 && count_fds() != fds)
			bad("%s: %d descriptors after the call, %d before",
			    when, count_fds(), fds);
		c->cleanup();
		if (!faulted || case_failures > 10)
			break;
	}
	if (n > MAX_NTH)
		bad("%s: still failing at allocation %u", c->name, MAX_NTH);
	if (!tap)
		return case_failures;
	ksft_test_result(!case_failures,
			 "%s # %u allocations failed in turn, %u calls returned ENOMEM\n",
			 c->name, faults, clean_errors);
	return case_failures;
}

/*
 * As an unprivileged user (CAP_SYS_RESOURCE would be exempt from the
 * quota): failed creations must not use up queues_per_user.
 */
#define QUOTA	3

static void quota_case(void)
{
	unsigned long long saved = 0;
	pid_t pid;
	int status = -1;

	if (param_read("queues_per_user", &saved) ||
	    param_write("queues_per_user", QUOTA)) {
		ksft_test_result_skip("create-named-quota: cannot set queues_per_user\n");
		return;
	}
	pid = spawn();
	if (pid == 0) {
		char names[QUOTA + 1][MPQ_NAME_SIZE];
		unsigned int i;
		int r;

		/*
		 * This task's own fail-nth, opened while /proc/self is still
		 * ours: the inherited descriptor is the parent's.
		 */
		close(nth_fd);
		nth_fd = open(FAIL_NTH, O_RDWR | O_CLOEXEC);
		if (nth_fd < 0 || drop_privs(NOBODY_UID, NOBODY_GID))
			_exit(2);
		run_case(&cases[1], false);
		for (i = 0; i <= QUOTA; i++) {
			char tag[16];

			snprintf(tag, sizeof(tag), "fq%u", i);
			mpq_test_name(names[i], sizeof(names[i]), tag);
			r = mpq_new_named(names[i], 0600, 0);
			if (i < QUOTA && r)
				bad("quota: queue %u of %u: %s", i + 1, QUOTA,
				    strerror(-r));
			if (i == QUOTA && r != -ENOSPC)
				bad("quota: queue %u past the quota of %u: %d",
				    i + 1, QUOTA, r);
		}
		for (i = 0; i <= QUOTA; i++)
			mpq_remove(names[i]);
		_exit(case_failures ? 1 : 0);
	}
	if (pid > 0)
		status = reap(pid);
	param_write("queues_per_user", saved);
	ksft_test_result(!status, "create-named-quota\n");
}

static void restore_knobs(void)
{
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
		if (knobs[i].set)
			write_file_str(knobs[i].path, knobs[i].saved);
}

int main(void)
{
	size_t ncases = sizeof(cases) / sizeof(cases[0]);

	setvbuf(stdout, NULL, _IOLBF, 0);
	ksft_print_header();
	nth_fd = open(FAIL_NTH, O_RDWR | O_CLOEXEC);
	if (nth_fd < 0)
		ksft_exit_skip("%s: %s (needs CONFIG_FAULT_INJECTION)\n",
			       FAIL_NTH, strerror(errno));
	if (access(MPQ_CONTROL_PATH, F_OK))
		ksft_exit_skip("%s: %s\n", MPQ_CONTROL_PATH, strerror(errno));
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		struct knob *k = &knobs[i];
		int fd = open(k->path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, k->saved, sizeof(k->saved) - 1);

		if (fd >= 0)
			close(fd);
		/* fail_page_alloc is optional; failslab is the point. */
		if (n <= 0 && strstr(k->path, "fail_page_alloc"))
			continue;
		if (n <= 0 || write_file_str(k->path, k->value)) {
			restore_knobs();
			ksft_exit_skip("%s: cannot set (needs CONFIG_FAILSLAB, CONFIG_FAULT_INJECTION_DEBUG_FS and root)\n",
				       k->path);
		}
		k->saved[n] = '\0';
		k->set = true;
	}
	atexit(restore_knobs);
	mpq_test_name(qname, sizeof(qname), "failslab");
	/* Fault in everything the calls will touch, outside the windows. */
	memset(big, 0, sizeof(big));
	memset(getbuf, 0, sizeof(getbuf));
	memset(list_buf, 0, sizeof(list_buf));

	ksft_set_plan(ncases + 1);
	for (size_t i = 0; i < ncases; i++)
		run_case(&cases[i], true);
	quota_case();
	ksft_finished();
}
