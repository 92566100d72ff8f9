// SPDX-License-Identifier: GPL-2.0
/*
 * Named queues: creation makes /dev/mpq/NAME with the requested mode, owned
 * by the creator, and /sys/class/mpq/NAME; removal takes both away while
 * open descriptors keep working; listing works like listxattr(2); names are
 * checked; the per-user count is enforced; only the owner (or
 * CAP_SYS_ADMIN) removes. The sysfs attributes mirror the queue's state.
 * An open racing with remove is safe, and reaches only the queue whose
 * node it opened, never another user's queue that got the same minor.
 */
#include <pthread.h>

#include "mpq_test.h"
#include "harness.h"

#define NNAMES	4

FIXTURE(nq) {
	char name[NNAMES][MPQ_NAME_SIZE];
	unsigned long long saved_cap;
};

FIXTURE_SETUP(nq)
{
	char tag[8];
	int i;

	for (i = 0; i < NNAMES; i++) {
		snprintf(tag, sizeof(tag), "n%d", i);
		mpq_test_name(self->name[i], sizeof(self->name[i]), tag);
		mpq_remove(self->name[i]);
	}
	ASSERT_EQ(0, param_read("queues_per_user", &self->saved_cap));
}

FIXTURE_TEARDOWN(nq)
{
	int i;

	for (i = 0; i < NNAMES; i++)
		mpq_remove(self->name[i]);
	param_write("queues_per_user", self->saved_cap);
}

static int node_stat(const char *name, struct stat *st)
{
	char path[128];

	snprintf(path, sizeof(path), MPQ_DEV_DIR "/%s", name);
	return stat(path, st) ? -errno : 0;
}

static int sysfs_stat(const char *name, struct stat *st)
{
	char path[128];

	snprintf(path, sizeof(path), MPQ_SYSFS_DIR "/%s", name);
	return stat(path, st) ? -errno : 0;
}

/* Value of /sys/class/mpq/@name/@attr, or ~0 if unreadable. */
static unsigned long long sysfs_attr(const char *name, const char *attr)
{
	unsigned long long val = 0;
	char path[160];

	snprintf(path, sizeof(path), MPQ_SYSFS_DIR "/%s/%s", name, attr);
	return read_file_u64(path, &val) ? ~0ULL : val;
}

/* The word in /sys/class/mpq/@name/@attr, "" if unreadable. */
static const char *sysfs_word(const char *name, const char *attr)
{
	static char buf[32];
	char path[160];

	snprintf(path, sizeof(path), MPQ_SYSFS_DIR "/%s/%s", name, attr);
	read_file_line(path, buf, sizeof(buf));
	return buf;
}

/* Run @fn(@arg) in a child as nobody; returns its result (0 or -errno). */
static int as_nobody(int (*fn)(const char *), const char *arg)
{
	return run_as(NOBODY_UID, NOBODY_GID, fn, arg);
}

static int create_0600(const char *name)
{
	return mpq_new_named(name, 0, 0);
}

static int create_0644(const char *name)
{
	return mpq_new_named(name, 0644, 0);
}

static int do_remove(const char *name)
{
	return mpq_remove(name);
}

TEST_F(nq, create_node)
{
	struct stat st;

	ASSERT_EQ(0, mpq_new_named(self->name[0], 0, 0));
	ASSERT_EQ(0, node_stat(self->name[0], &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600U, st.st_mode & 07777);
	EXPECT_EQ(0U, st.st_uid);
	EXPECT_EQ(0U, st.st_gid);
	ASSERT_EQ(0, sysfs_stat(self->name[0], &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST_F(nq, create_modes)
{
	static const __u32 modes[] = { 0640, 0666, 0777, 0400, 0200, 0604 };
	struct stat st;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(modes); i++) {
		ASSERT_EQ(0, mpq_new_named(self->name[0], modes[i], 0));
		ASSERT_EQ(0, node_stat(self->name[0], &st));
		/* The mode asked for, not filtered by the caller's umask. */
		EXPECT_EQ(modes[i], st.st_mode & 07777)
			TH_LOG("asked for %#o", modes[i]);
		ASSERT_EQ(0, mpq_remove(self->name[0]));
	}
}

TEST_F(nq, bad_modes)
{
	static const __u32 modes[] = { 01777, 02600, 04600, 010600, 0100600,
				       ~0U };
	struct stat st;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(modes); i++) {
		EXPECT_EQ(-EINVAL, mpq_new_named(self->name[0], modes[i], 0))
			TH_LOG("mode %#o", modes[i]);
		EXPECT_EQ(-ENOENT, node_stat(self->name[0], &st));
	}
}

TEST_F(nq, owner_is_creator)
{
	struct stat st;
	int fd;

	ASSERT_EQ(0, as_nobody(create_0600, self->name[0]));
	ASSERT_EQ(0, node_stat(self->name[0], &st));
	EXPECT_EQ((uid_t)NOBODY_UID, st.st_uid);
	EXPECT_EQ((gid_t)NOBODY_GID, st.st_gid);
	EXPECT_EQ(0600U, st.st_mode & 07777);

	/* The owner can use it; root can too (CAP_DAC_OVERRIDE). */
	fd = mpq_open_named(self->name[0], O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(1L, q_write(fd, "x", 1));
	close(fd);
}

TEST_F(nq, use_and_attributes)
{
	struct mpq_create c = { .maxsize = 3, .msgsize_max = 16,
				.maxbytes = 32, .mode = 0600 };
	struct mpq_stat st;
	char buf[32] = {};
	int w, r;

	memcpy(c.name, self->name[0], strlen(self->name[0]));
	ASSERT_EQ(0, control_ioctl(MPQ_IOC_CREATE_NAMED, &c));
	w = mpq_open_named(self->name[0], O_WRONLY);
	ASSERT_LE(0, w);
	r = mpq_open_named(self->name[0], O_RDONLY);
	ASSERT_LE(0, r);

	ASSERT_EQ(0, q_stat(w, &st));
	EXPECT_EQ(3ULL, st.maxsize);
	EXPECT_EQ(16ULL, st.msgsize_max);
	EXPECT_EQ(32ULL, st.maxbytes);
	EXPECT_EQ(-EMSGSIZE, q_write(w, buf, 17));

	/* Two opens are one queue. */
	ASSERT_EQ(5L, q_write(w, "hello", 5));
	ASSERT_EQ(5L, q_read(r, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "hello", 5));
	close(w);
	close(r);

	/* The queue outlives its descriptors: it lives until removed. */
	w = mpq_open_named(self->name[0], O_RDWR);
	ASSERT_LE(0, w);
	ASSERT_EQ(5L, q_write(w, "again", 5));
	close(w);
	r = mpq_open_named(self->name[0], O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, r);
	ASSERT_EQ(5L, q_read(r, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "again", 5));
	ASSERT_EQ(0, q_stat(r, &st));
	EXPECT_EQ(2ULL, st.unfinished);
	close(r);
}

TEST_F(nq, blocked_getter_on_other_open)
{
	int *ret = shared_alloc(sizeof(int));
	char buf[8];
	int r, w;
	pid_t pid;

	ASSERT_TRUE(ret != NULL);
	ASSERT_EQ(0, mpq_new_named(self->name[0], 0, 0));
	r = mpq_open_named(self->name[0], O_RDONLY);
	ASSERT_LE(0, r);
	pid = spawn();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		*ret = (int)q_read(r, buf, sizeof(buf));
		_exit(0);
	}
	ASSERT_EQ(0, q_wait_blocked(r, ST_GETTERS, 1, pid));
	w = mpq_open_named(self->name[0], O_WRONLY);
	ASSERT_LE(0, w);
	ASSERT_EQ(2L, q_write(w, "go", 2));
	EXPECT_EQ(0, reap_timeout(pid));
	EXPECT_EQ(2, *ret);
	close(r);
	close(w);
}

TEST_F(nq, remove)
{
	struct stat st;

	ASSERT_EQ(0, mpq_new_named(self->name[0], 0, 0));
	ASSERT_EQ(0, mpq_remove(self->name[0]));
	EXPECT_EQ(-ENOENT, node_stat(self->name[0], &st));
	EXPECT_EQ(-ENOENT, sysfs_stat(self->name[0], &st));
	EXPECT_EQ(-ENOENT, mpq_open_named(self->name[0], O_RDWR));
	EXPECT_EQ(-ENOENT, mpq_remove(self->name[0]));
	/* The name is free again. */
	ASSERT_EQ(0, mpq_new_named(self->name[0], 0, 0));
	ASSERT_EQ(0, node_stat(self->name[0], &st));
}

TEST_F(nq, remove_while_open)
{
	struct mpq_stat st;
	struct stat sb;
	char buf[8];
	int old, new;

	ASSERT_EQ(0, mpq_new_named(self->name[0], 0, 0));
	old = mpq_open_named(self->name[0], O_RDWR);
	ASSERT_LE(0, old);
	ASSERT_EQ(1L, q_write(old, "a", 1));
	ASSERT_EQ(0, mpq_remove(self->name[0]));
	EXPECT_EQ(-ENOENT, node_stat(self->name[0], &sb));

	/* Like an unlinked file: the open descriptor still works. */
	ASSERT_EQ(1L, q_write(old, "b", 1));
	ASSERT_EQ(1L, q_read(old, buf, sizeof(buf)));
	EXPECT_EQ('a', buf[0]);

	/* A new queue of the same name is a different queue. */
	ASSERT_EQ(0, mpq_new_named(self->name[0], 0, 0));
	new = mpq_open_named(self->name[0], O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, new);
	EXPECT_EQ(-EAGAIN, q_read(new, buf, sizeof(buf)));
	ASSERT_EQ(1L, q_write(new, "n", 1));
	ASSERT_EQ(0, q_stat(old, &st));
	EXPECT_EQ(1ULL, st.qsize);
	EXPECT_EQ(2ULL, st.total_puts);
	ASSERT_EQ(1L, q_read(old, buf, sizeof(buf)));
	EXPECT_EQ('b', buf[0]);
	close(old);
	ASSERT_EQ(1L, q_read(new, buf, sizeof(buf)));
	EXPECT_EQ('n', buf[0]);
	close(new);
}

#define RACE_OPENERS	3

/* Open and use @name until @end; returns how many opens went wrong. */
static int open_use_until(const char *name, int64_t end)
{
	int fd, bad = 0;
	char c;

	while (now_ns() < end) {
		fd = mpq_open_named(name, O_RDWR | O_NONBLOCK);
		if (fd == -ENOENT || fd == -ENXIO)
			continue;
		if (fd < 0 || q_write(fd, "x", 1) != 1 || q_read(fd, &c, 1) != 1)
			bad++;
		if (fd >= 0)
			close(fd);
	}
	return bad;
}

/*
 * open(2) racing with remove: each open either fails with ENOENT or ENXIO
 * (the queue went between lookup and open) or gives a working descriptor,
 * and the kernel never touches a removed queue's freed bookkeeping (which
 * KASAN in the debug lane reports; the fuzzer once found such a bug).
 */
TEST_F(nq, open_races_remove)
{
	int64_t end = now_ns() + 3000 * NSEC_PER_MSEC;
	pid_t pids[RACE_OPENERS];
	int i;

	for (i = 0; i < RACE_OPENERS; i++) {
		pids[i] = spawn();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0)
			_exit(open_use_until(self->name[0], end) ? 1 : 0);
	}
	while (now_ns() < end) {
		mpq_new_named(self->name[0], 0, 0);
		mpq_remove(self->name[0]);
	}
	for (i = 0; i < RACE_OPENERS; i++)
		EXPECT_EQ(0, reap(pids[i]));
}

/*
 * The two users of the minor-reuse race: each owns 0600 queues that only
 * it may open, told apart by maxsize.
 */
#define RACER_A_UID	1001
#define RACER_B_UID	1002
#define RACER_A_MAXSIZE	3
#define RACER_B_MAXSIZE	7
#define RACE_MS		4000

struct race {
	char name_a[MPQ_NAME_SIZE];
	char name_b[MPQ_NAME_SIZE];
	int64_t end;
	long opens;	/* A's opens that succeeded */
	long wrong;	/* ... and reached a queue that was not A's */
	long b_cycles;
};

static void *racer_a_cycle(void *arg)
{
	struct race *r = arg;

	while (now_ns() < r->end) {
		mpq_new_named(r->name_a, 0600, RACER_A_MAXSIZE);
		mpq_remove(r->name_a);
	}
	return NULL;
}

/* User A: creates and removes its queue in one thread, opens it here. */
static void racer_a(struct race *r)
{
	struct mpq_stat st;
	pthread_t t;
	int fd;

	if (drop_privs(RACER_A_UID, RACER_A_UID) ||
	    pthread_create(&t, NULL, racer_a_cycle, r))
		_exit(1);
	while (now_ns() < r->end) {
		fd = mpq_open_named(r->name_a, O_RDWR | O_NONBLOCK);
		if (fd < 0)
			continue;
		r->opens++;
		if (q_stat(fd, &st) || st.maxsize != RACER_A_MAXSIZE)
			r->wrong++;
		close(fd);
	}
	pthread_join(t, NULL);
	_exit(0);
}

/* User B: creates its queue, puts a message it alone may read, removes. */
static void racer_b(struct race *r)
{
	int fd;

	if (drop_privs(RACER_B_UID, RACER_B_UID))
		_exit(1);
	while (now_ns() < r->end) {
		if (mpq_new_named(r->name_b, 0600, RACER_B_MAXSIZE))
			continue;
		fd = mpq_open_named(r->name_b, O_WRONLY);
		if (fd >= 0) {
			q_puts(fd, "secret of B");
			close(fd);
		}
		mpq_remove(r->name_b);
		r->b_cycles++;
	}
	_exit(0);
}

/*
 * The VFS checks permission on the node of A's queue; if that queue is
 * removed and B's queue created with the same minor before the open gets
 * to the module, the open must fail, not hand A the queue of B.
 */
TEST_F(nq, open_reaches_only_its_queue)
{
	struct race *r = shared_alloc(sizeof(*r));
	pid_t a, b;

	ASSERT_TRUE(r != NULL);
	strcpy(r->name_a, self->name[0]);
	strcpy(r->name_b, self->name[1]);
	r->end = now_ns() + RACE_MS * NSEC_PER_MSEC;
	a = spawn();
	ASSERT_LE(0, a);
	if (a == 0)
		racer_a(r);
	b = spawn();
	ASSERT_LE(0, b);
	if (b == 0)
		racer_b(r);
	EXPECT_EQ(0, reap(a));
	EXPECT_EQ(0, reap(b));
	TH_LOG("%ld opens by A, %ld cycles by B", r->opens, r->b_cycles);
	/* Both really ran: A opened its queue, B cycled its own. */
	EXPECT_LT(0, r->opens);
	EXPECT_LT(0, r->b_cycles);
	EXPECT_EQ(0, r->wrong);
	munmap(r, sizeof(*r));
}

static long list_names(char *buf, __u64 size)
{
	struct mpq_list l = { .buf = PTR(buf), .size = size };

	return control_ioctl(MPQ_IOC_LIST, &l);
}

static bool listed(const char *buf, long len, const char *name)
{
	const char *p;

	for (p = buf; p < buf + len; p += strlen(p) + 1) {
		if (!strcmp(p, name))
			return true;
	}
	return false;
}

TEST_F(nq, list)
{
	long need, got;
	char *buf;
	int i;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, mpq_new_named(self->name[i], 0, 0));

	need = list_names(NULL, 0);
	ASSERT_LT(0L, need);
	buf = malloc(need + 64);
	ASSERT_TRUE(buf != NULL);

	memset(buf, 0x7f, need + 64);
	got = list_names(buf, need);
	ASSERT_EQ(need, got);
	/* Every name is NUL-terminated and nothing is written past them. */
	EXPECT_EQ('\0', buf[got - 1]);
	EXPECT_EQ(0x7f, buf[got]);
	for (i = 0; i < 3; i++)
		EXPECT_TRUE(listed(buf, got, self->name[i]))
			TH_LOG("%s not listed", self->name[i]);
	EXPECT_FALSE(listed(buf, got, self->name[3]));
	EXPECT_FALSE(listed(buf, got, "control"));

	/* A larger buffer is fine; a smaller one is ERANGE. */
	EXPECT_EQ(need, list_names(buf, need + 64));
	EXPECT_EQ(-ERANGE, list_names(buf, need - 1));
	EXPECT_EQ(-ERANGE, list_names(buf, 1));

	/* Removed names leave the list. */
	ASSERT_EQ(0, mpq_remove(self->name[1]));
	got = list_names(buf, need);
	ASSERT_EQ(need - (long)strlen(self->name[1]) - 1, got);
	EXPECT_FALSE(listed(buf, got, self->name[1]));
	EXPECT_TRUE(listed(buf, got, self->name[0]));
	free(buf);
}

TEST_F(nq, list_reserved)
{
	struct mpq_list l = {};

	l.__reserved[1] = 1;
	EXPECT_EQ(-EINVAL, control_ioctl(MPQ_IOC_LIST, &l));
}

TEST_F(nq, eexist)
{
	struct stat st;

	ASSERT_EQ(0, mpq_new_named(self->name[0], 0600, 0));
	EXPECT_EQ(-EEXIST, mpq_new_named(self->name[0], 0600, 0));
	EXPECT_EQ(-EEXIST, mpq_new_named(self->name[0], 0666, 5));
	/* The first queue is untouched. */
	ASSERT_EQ(0, node_stat(self->name[0], &st));
	EXPECT_EQ(0600U, st.st_mode & 07777);
	EXPECT_EQ(0ULL, sysfs_attr(self->name[0], "maxsize"));
	/* Names are not anonymous queues' business. */
	EXPECT_EQ(-EEXIST, as_nobody(create_0600, self->name[0]));
}

TEST_F(nq, names)
{
	static const char *const bad[] = {
		"", ".", "..", ".hidden", "control", "a/b", "/a", "a b",
		"a\n", "tab\t", "star*", "q?", "\xc3\xa4", "back\\slash",
		"colon:", "semi;",
		/* 65 characters */
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	static const char *const good[] = {
		"a", "Z", "0", "-", "_", "a.b", "A-Za-z0-9._-", "-leading-dash",
		"control2", "xcontrol", "trailing.",
		/* 64 characters */
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	struct mpq_create c = {};
	struct stat st;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		EXPECT_EQ(-EINVAL, mpq_new_named(bad[i], 0, 0))
			TH_LOG("bad[%u] accepted", i);

	/* ASCII only: no byte past 0x7f, Latin-1 letters included. */
	for (i = 0x80; i <= 0xff; i++) {
		char name[MPQ_NAME_SIZE] = { 'a', (char)i };

		EXPECT_EQ(-EINVAL, mpq_new_named(name, 0, 0))
			TH_LOG("name \"a\\x%02x\" accepted", i);
		mpq_remove(name);
	}

	/* No NUL within MPQ_NAME_SIZE. */
	memset(c.name, 'a', sizeof(c.name));
	EXPECT_EQ(-EINVAL, control_ioctl(MPQ_IOC_CREATE_NAMED, &c));

	/* The test VM has no queues of its own to clash with these. */
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		mpq_remove(good[i]);
		EXPECT_EQ(0, mpq_new_named(good[i], 0, 0))
			TH_LOG("good name \"%s\" refused", good[i]);
		EXPECT_EQ(0, node_stat(good[i], &st));
		EXPECT_EQ(0, mpq_remove(good[i]));
	}
}

TEST_F(nq, bad_attributes_create_nothing)
{
	struct mpq_create c = { .msgsize_max = 2000, .maxbytes = 1000 };
	struct stat st;

	memcpy(c.name, self->name[0], strlen(self->name[0]));
	EXPECT_EQ(-EINVAL, control_ioctl(MPQ_IOC_CREATE_NAMED, &c));
	EXPECT_EQ(-ENOENT, node_stat(self->name[0], &st));
	EXPECT_EQ(-ENOENT, sysfs_stat(self->name[0], &st));
	EXPECT_EQ(-ENOENT, mpq_remove(self->name[0]));
}

TEST_F(nq, per_user_cap)
{
	ASSERT_EQ(0, param_write("queues_per_user", 2));
	ASSERT_EQ(0, as_nobody(create_0600, self->name[0]));
	ASSERT_EQ(0, as_nobody(create_0600, self->name[1]));
	EXPECT_EQ(-ENOSPC, as_nobody(create_0600, self->name[2]));
	EXPECT_EQ(-ENOENT, mpq_open_named(self->name[2], O_RDWR));

	/* Removing one (here by root) gives the owner room again. */
	ASSERT_EQ(0, mpq_remove(self->name[0]));
	EXPECT_EQ(0, as_nobody(create_0600, self->name[2]));
	EXPECT_EQ(-ENOSPC, as_nobody(create_0600, self->name[0]));

	/* CAP_SYS_RESOURCE is exempt. */
	ASSERT_EQ(0, param_write("queues_per_user", 1));
	EXPECT_EQ(0, mpq_new_named(self->name[0], 0, 0));
	EXPECT_EQ(0, mpq_new_named(self->name[3], 0, 0));
}

static int create_anon(const char *unused)
{
	int fd;

	(void)unused;
	fd = mpq_new(0, 0, 0, 0);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

TEST_F(nq, per_user_cap_anonymous)
{
	ASSERT_EQ(0, param_write("queues_per_user", 1));
	ASSERT_EQ(0, as_nobody(create_0600, self->name[0]));
	EXPECT_EQ(-ENOSPC, as_nobody(create_0600, self->name[1]));
	/* The cap is on named queues: anonymous ones die with their fds. */
	EXPECT_EQ(0, as_nobody(create_anon, NULL));
}

TEST_F(nq, remove_needs_owner)
{
	struct stat st;

	/* Root's queue: nobody may not remove it. */
	ASSERT_EQ(0, mpq_new_named(self->name[0], 0666, 0));
	EXPECT_EQ(-EPERM, as_nobody(do_remove, self->name[0]));
	EXPECT_EQ(0, node_stat(self->name[0], &st));

	/* Nobody's own queue: nobody may. */
	ASSERT_EQ(0, as_nobody(create_0644, self->name[1]));
	EXPECT_EQ(0, as_nobody(do_remove, self->name[1]));
	EXPECT_EQ(-ENOENT, node_stat(self->name[1], &st));

	/* CAP_SYS_ADMIN may remove anyone's. */
	ASSERT_EQ(0, as_nobody(create_0644, self->name[2]));
	EXPECT_EQ(0, mpq_remove(self->name[2]));
	EXPECT_EQ(-ENOENT, node_stat(self->name[2], &st));

	/* Not existing comes before not permitted. */
	EXPECT_EQ(-ENOENT, as_nobody(do_remove, self->name[3]));
}

TEST_F(nq, sysfs_attributes)
{
	static const char *const attrs[] = {
		"qsize", "maxsize", "unfinished", "bytes", "msgsize_max",
		"maxbytes", "state",
	};
	struct mpq_create c = { .maxsize = 7, .msgsize_max = 100,
				.maxbytes = 1000 };
	const char *n = self->name[0];
	char path[160], buf[16];
	struct stat st;
	unsigned int i;
	int fd;

	memcpy(c.name, n, strlen(n));
	ASSERT_EQ(0, control_ioctl(MPQ_IOC_CREATE_NAMED, &c));
	fd = mpq_open_named(n, O_RDWR);
	ASSERT_LE(0, fd);

	EXPECT_EQ(0ULL, sysfs_attr(n, "qsize"));
	EXPECT_EQ(7ULL, sysfs_attr(n, "maxsize"));
	EXPECT_EQ(0ULL, sysfs_attr(n, "unfinished"));
	EXPECT_EQ(0ULL, sysfs_attr(n, "bytes"));
	EXPECT_EQ(100ULL, sysfs_attr(n, "msgsize_max"));
	EXPECT_EQ(1000ULL, sysfs_attr(n, "maxbytes"));
	EXPECT_STREQ("open", sysfs_word(n, "state"));

	ASSERT_EQ(5L, q_write(fd, "12345", 5));
	ASSERT_EQ(3L, q_write(fd, "678", 3));
	ASSERT_EQ(2L, q_write(fd, "90", 2));
	ASSERT_EQ(5L, q_read(fd, buf, sizeof(buf)));
	EXPECT_EQ(2ULL, sysfs_attr(n, "qsize"));
	EXPECT_EQ(5ULL, sysfs_attr(n, "bytes"));
	EXPECT_EQ(3ULL, sysfs_attr(n, "unfinished"));
	ASSERT_EQ(0, q_task_done(fd, 1));
	EXPECT_EQ(2ULL, sysfs_attr(n, "unfinished"));

	ASSERT_EQ(0, q_shutdown(fd, 0));
	EXPECT_STREQ("shutdown", sysfs_word(n, "state"));
	ASSERT_EQ(0, q_shutdown(fd, MPQ_SHUTDOWN_IMMEDIATE));
	EXPECT_STREQ("immediate", sysfs_word(n, "state"));
	EXPECT_EQ(0ULL, sysfs_attr(n, "qsize"));
	EXPECT_EQ(0ULL, sysfs_attr(n, "bytes"));
	EXPECT_EQ(0ULL, sysfs_attr(n, "unfinished"));

	/* Read-only, even for root. */
	for (i = 0; i < ARRAY_SIZE(attrs); i++) {
		int afd;

		snprintf(path, sizeof(path), MPQ_SYSFS_DIR "/%s/%s", n, attrs[i]);
		ASSERT_EQ(0, stat(path, &st))
			TH_LOG("%s: %s", path, strerror(errno));
		EXPECT_EQ(0U, st.st_mode & 0222)
			TH_LOG("%s is writable", path);
		afd = open(path, O_WRONLY | O_CLOEXEC);
		EXPECT_EQ(-1, afd)
			TH_LOG("%s opened for writing", path);
		if (afd >= 0) {
			EXPECT_EQ(-1, write(afd, "1", 1));
			close(afd);
		}
	}
	EXPECT_STREQ("immediate", sysfs_word(n, "state"));
	close(fd);
}

TEST_HARNESS_MAIN
