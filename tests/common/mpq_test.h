/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by every mpq test program (tests/selftests, tests/lib,
 * tests/stress, tests/bench). They talk to the raw UAPI only (no
 * libmpqdev), return 0, a count or -errno (so a failing check never depends
 * on errno surviving the harness' logging), and never use ASSERT_*: they
 * are also called from forked children, where an ASSERT would run the
 * fixture teardown in the child.
 *
 * Time:       now_ns(), now_ms(), sleep_ms(), deadline_in_ms(),
 *             ns_to_kts(), kts_to_ns()
 * UAPI:       mpq_control(), control_ioctl(), mpq_new(), mpq_new_named(),
 *             mpq_remove(), mpq_open_named(), mpq_test_name(); on a queue
 *             descriptor q_put(), q_get(), q_get_len(), q_stat(),
 *             q_put_many(), q_get_many(), q_task_done(), q_join(),
 *             q_join_soon(), q_shutdown(), q_fionread(), q_write(),
 *             q_read(), q_puts()
 * Waiting:    q_wait_stat() and q_wait_blocked() poll MPQ_IOC_STAT until a
 *             field (ST_GETTERS, ST_PUTTERS, ...) reads a value: how a test
 *             knows another task sleeps in the queue, never by sleeping
 * Processes:  spawn() (a child that dies with its parent), reap(),
 *             reap_timeout(), has_exited(), wait_exited(), shared_alloc(),
 *             drop_privs(), run_as(), set_handler()
 * Files:      read_file_line(), read_file_u64(), write_file_str(),
 *             param_read(), param_u64(), param_write()
 * Numbers:    median() (sorts its array), for the benchmarks
 *
 * Beside it: rand.h (random numbers), pattern.h (message contents to fill
 * and check), lib_test.h (libmpqdev calls in threads, for tests/lib),
 * harness.h (the kselftest harness) and tap.sh (TAP for shell tests).
 */
#ifndef MPQ_TEST_H
#define MPQ_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/mpq.h>

#define NSEC_PER_SEC	1000000000LL
#define NSEC_PER_MSEC	1000000LL

/* How long a helper waits for another process to reach a state. */
#define MPQ_TEST_WAIT_MS	10000

#define MPQ_PARAM_DIR	"/sys/module/mpq/parameters"

/* An unprivileged identity: nobody/nogroup on Debian. */
#define NOBODY_UID	65534
#define NOBODY_GID	65534

#define PTR(p)		((__u64)(uintptr_t)(p))

static inline int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static inline struct __kernel_timespec ns_to_kts(int64_t ns)
{
	struct __kernel_timespec ts = {
		.tv_sec = ns / NSEC_PER_SEC,
		.tv_nsec = ns % NSEC_PER_SEC,
	};

	return ts;
}

static inline int64_t kts_to_ns(const struct __kernel_timespec *ts)
{
	return (int64_t)ts->tv_sec * NSEC_PER_SEC + ts->tv_nsec;
}

static inline long now_ms(void)
{
	return (long)(now_ns() / NSEC_PER_MSEC);
}

/* An absolute CLOCK_MONOTONIC deadline @ms milliseconds from now. */
static inline struct __kernel_timespec deadline_in_ms(long ms)
{
	return ns_to_kts(now_ns() + ms * NSEC_PER_MSEC);
}

static inline void sleep_ms(long ms)
{
	struct timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (ms % 1000) * NSEC_PER_MSEC,
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static inline int mpq_control(void)
{
	int fd = open(MPQ_CONTROL_PATH, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* Run one ioctl on /dev/mpq/control; returns its result or -errno. */
static inline int control_ioctl(unsigned long cmd, void *arg)
{
	int ctl = mpq_control();
	int ret, err;

	if (ctl < 0)
		return ctl;
	ret = ioctl(ctl, cmd, arg);
	err = errno;
	close(ctl);
	return ret < 0 ? -err : ret;
}

/* An anonymous queue: returns its descriptor or -errno. */
static inline int mpq_new(__u64 maxsize, __u64 msgsize_max, __u64 maxbytes,
			  __u32 flags)
{
	struct mpq_create c = {
		.maxsize = maxsize,
		.msgsize_max = msgsize_max,
		.maxbytes = maxbytes,
		.flags = flags,
	};

	return control_ioctl(MPQ_IOC_CREATE, &c);
}

static inline int mpq_new_named(const char *name, __u32 mode, __u64 maxsize)
{
	struct mpq_create c = { .maxsize = maxsize, .mode = mode };

	memcpy(c.name, name, strnlen(name, sizeof(c.name)));
	return control_ioctl(MPQ_IOC_CREATE_NAMED, &c);
}

static inline int mpq_remove(const char *name)
{
	struct mpq_name n = {};

	memcpy(n.name, name, strnlen(name, sizeof(n.name)));
	return control_ioctl(MPQ_IOC_REMOVE, &n);
}

static inline int mpq_open_named(const char *name, int flags)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), MPQ_DEV_DIR "/%s", name);
	fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* A name unique to this process and @tag, so parallel leftovers never clash. */
static inline void mpq_test_name(char *buf, size_t size, const char *tag)
{
	snprintf(buf, size, "mpqt-%d-%s", (int)getpid(), tag);
}

static inline int sys_ret(long ret)
{
	return ret < 0 ? -errno : (int)ret;
}

static inline int q_put(int fd, const void *buf, size_t len, __u32 flags,
			const struct __kernel_timespec *deadline)
{
	struct mpq_xfer x = {
		.buf = PTR(buf),
		.len = len,
		.flags = flags,
	};

	if (deadline)
		x.deadline = *deadline;
	return sys_ret(ioctl(fd, MPQ_IOC_PUT, &x));
}

/* Returns the message length, 0 at end of stream, or -errno. */
static inline long q_get_len(int fd, void *buf, size_t cap, __u32 flags,
			     const struct __kernel_timespec *deadline,
			     __u64 *len_out)
{
	struct mpq_xfer x = {
		.buf = PTR(buf),
		.len = cap,
		.flags = flags,
	};
	long ret;

	if (deadline)
		x.deadline = *deadline;
	ret = ioctl(fd, MPQ_IOC_GET, &x);
	if (ret < 0)
		ret = -errno;
	if (len_out)
		*len_out = x.len;
	return ret;
}

static inline long q_get(int fd, void *buf, size_t cap, __u32 flags,
			 const struct __kernel_timespec *deadline)
{
	return q_get_len(fd, buf, cap, flags, deadline, NULL);
}

/* MPQ_IOC_PUT_MANY / GET_MANY of a batch: how many moved, or -errno. */
static inline int q_put_many(int fd, struct mpq_batch *b)
{
	return sys_ret(ioctl(fd, MPQ_IOC_PUT_MANY, b));
}

static inline int q_get_many(int fd, struct mpq_batch *b)
{
	return sys_ret(ioctl(fd, MPQ_IOC_GET_MANY, b));
}

static inline int q_stat(int fd, struct mpq_stat *st)
{
	memset(st, 0, sizeof(*st));
	return sys_ret(ioctl(fd, MPQ_IOC_STAT, st));
}

static inline int q_task_done(int fd, __u64 count)
{
	return sys_ret(ioctl(fd, MPQ_IOC_TASK_DONE, &count));
}

static inline int q_join(int fd, const struct __kernel_timespec *deadline)
{
	struct mpq_join j = {};

	if (deadline) {
		j.deadline = *deadline;
		j.flags = MPQ_XFER_TIMEOUT;
	}
	return sys_ret(ioctl(fd, MPQ_IOC_JOIN, &j));
}

static inline int q_shutdown(int fd, __u32 flags)
{
	return sys_ret(ioctl(fd, MPQ_IOC_SHUTDOWN, &flags));
}

static inline int q_fionread(int fd)
{
	int n = -1;

	if (ioctl(fd, FIONREAD, &n) < 0)
		return -errno;
	return n;
}

/* Write / read through the file interface; return the count or -errno. */
static inline long q_write(int fd, const void *buf, size_t len)
{
	long ret = write(fd, buf, len);

	return ret < 0 ? -errno : ret;
}

static inline long q_read(int fd, void *buf, size_t len)
{
	long ret = read(fd, buf, len);

	return ret < 0 ? -errno : ret;
}

static inline long q_puts(int fd, const char *s)
{
	return q_write(fd, s, strlen(s));
}

/* Field of struct mpq_stat for q_wait_stat(). */
enum mpq_stat_field {
	ST_QSIZE, ST_UNFINISHED, ST_GETTERS, ST_PUTTERS, ST_JOINERS,
};

static inline long long stat_field(const struct mpq_stat *st,
				   enum mpq_stat_field f)
{
	switch (f) {
	case ST_QSIZE:		return st->qsize;
	case ST_UNFINISHED:	return st->unfinished;
	case ST_GETTERS:	return st->getters;
	case ST_PUTTERS:	return st->putters;
	case ST_JOINERS:	return st->joiners;
	}
	return -1;
}

/*
 * Wait until a stat field of @fd reads @want: this is how a test knows that
 * another process sleeps in the kernel, without guessing with a sleep.
 * Returns 0, or -ETIMEDOUT after MPQ_TEST_WAIT_MS.
 */
static inline int q_wait_stat(int fd, enum mpq_stat_field f, long long want)
{
	int64_t end = now_ns() + MPQ_TEST_WAIT_MS * NSEC_PER_MSEC;
	struct mpq_stat st;

	for (;;) {
		if (q_stat(fd, &st) == 0 && stat_field(&st, f) == want)
			return 0;
		if (now_ns() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

/* Has @pid ended? Does not reap it. */
static inline bool has_exited(pid_t pid)
{
	siginfo_t si = {};

	if (waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return true;
	return si.si_pid == pid;
}

/*
 * q_wait_stat() for a state that child @pid has to reach by sleeping in
 * the queue: gives up at once with -ECHILD when @pid ends instead.
 */
static inline int q_wait_blocked(int fd, enum mpq_stat_field f, long long want,
				 pid_t pid)
{
	int64_t end = now_ns() + MPQ_TEST_WAIT_MS * NSEC_PER_MSEC;
	struct mpq_stat st;

	for (;;) {
		if (q_stat(fd, &st) == 0 && stat_field(&st, f) == want)
			return 0;
		if (has_exited(pid))
			return -ECHILD;
		if (now_ns() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

/* A join expected to return at once: bounded, so a bug fails fast. */
static inline int q_join_soon(int fd)
{
	struct __kernel_timespec dl = deadline_in_ms(MPQ_TEST_WAIT_MS);

	return q_join(fd, &dl);
}

/* Memory shared with forked children, for their results. */
static inline void *shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * fork() for test workers: a child dies with its test process, so a failed
 * assertion never leaves a worker asleep on a queue (holding the module and
 * the runner's output pipe).
 */
static inline pid_t spawn(void)
{
	pid_t parent = getpid();
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(99);
	}
	return pid;
}

/* Reap @pid: its exit status, 128 + signal if killed, -1 on error. */
static inline int reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

/* Wait up to MPQ_TEST_WAIT_MS for @pid to end; returns its status or -1. */
static inline int reap_timeout(pid_t pid)
{
	int64_t end = now_ns() + MPQ_TEST_WAIT_MS * NSEC_PER_MSEC;

	while (!has_exited(pid)) {
		if (now_ns() > end) {
			kill(pid, SIGKILL);
			reap(pid);
			return -1;
		}
		usleep(1000);
	}
	return reap(pid);
}

static inline int count_exited(const pid_t *pids, int n)
{
	int i, exited = 0;

	for (i = 0; i < n; i++)
		exited += has_exited(pids[i]);
	return exited;
}

/* Wait until at least @want of @pids have ended: 0, or -ETIMEDOUT. */
static inline int wait_exited(const pid_t *pids, int n, int want)
{
	int64_t end = now_ns() + MPQ_TEST_WAIT_MS * NSEC_PER_MSEC;

	while (count_exited(pids, n) < want) {
		if (now_ns() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

/*
 * Become @uid/@gid with no supplementary groups. Leaving uid 0 for a
 * non-zero uid clears every capability (no SECBIT_KEEP_CAPS). The change of
 * credentials clears the parent-death signal, so set it again.
 */
static inline int drop_privs(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) || setgid(gid) || setuid(uid))
		return -errno;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	return 0;
}

/*
 * Run @fn(@arg) in a child as @uid/@gid: its result, or -ECHILD if the
 * child could not switch or died.
 */
static inline int run_as(uid_t uid, gid_t gid, int (*fn)(const char *),
			 const char *arg)
{
	int *ret = shared_alloc(sizeof(int));
	pid_t pid;
	int val;

	if (!ret)
		return -ENOMEM;
	*ret = -ECHILD;
	pid = spawn();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (drop_privs(uid, gid))
			_exit(1);
		*ret = fn(arg);
		_exit(0);
	}
	val = reap(pid) ? -ECHILD : *ret;
	munmap(ret, sizeof(int));
	return val;
}

/* The first line of @path, without its newline, in @buf; 0 or -errno. */
static inline int read_file_line(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -ENODATA;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static inline int read_file_u64(const char *path, unsigned long long *val)
{
	char buf[64], *end;
	int ret = read_file_line(path, buf, sizeof(buf));

	*val = 0;
	if (ret)
		return ret;
	errno = 0;
	*val = strtoull(buf, &end, 0);
	if (errno || end == buf || *end != '\0')
		return -EINVAL;
	return 0;
}

static inline int write_file_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	if (n < 0)
		return -errno;
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

static inline int param_read(const char *param, unsigned long long *val)
{
	char path[128];

	snprintf(path, sizeof(path), MPQ_PARAM_DIR "/%s", param);
	return read_file_u64(path, val);
}

/*
 * A module parameter's value, 0 if it cannot be read. Not inlined: a local
 * whose address is taken inside a test function trips -Wclobbered there
 * (the harness wraps every test in setjmp()).
 */
static __attribute__((noinline, unused))
unsigned long long param_u64(const char *param)
{
	unsigned long long val = 0;

	return param_read(param, &val) ? 0 : val;
}

static inline int param_write(const char *param, unsigned long long val)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), MPQ_PARAM_DIR "/%s", param);
	snprintf(buf, sizeof(buf), "%llu", val);
	return write_file_str(path, buf);
}

/* Install @handler for @sig, with or without SA_RESTART. */
static inline int set_handler(int sig, void (*handler)(int), bool restart)
{
	struct sigaction sa = { .sa_handler = handler };

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = restart ? SA_RESTART : 0;
	return sigaction(sig, &sa, NULL) ? -errno : 0;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of @v[0..@n), @n > 0; sorts @v. */
static inline double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif /* MPQ_TEST_H */
