// SPDX-License-Identifier: GPL-2.0
/*
 * Per-user limits on kernel memory: a queue is charged to its owner and a
 * message to whoever put it; past bytes_per_user a put or a creation fails
 * with ENOSPC (never blocks), CAP_SYS_RESOURCE is exempt, and
 * MPQ_IOC_USAGE tells a user what they hold and may hold.
 */
#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/socket.h>

#include "mpq_test.h"
#include "harness.h"

#define KIB		1024ULL

/* A check in a child: the failing line, reported by the parent. */
#define CHECK(cond)	do { if (!(cond)) return __LINE__; } while (0)

static int usage(struct mpq_usage *u)
{
	memset(u, 0xa5, sizeof(*u));
	return control_ioctl(MPQ_IOC_USAGE, u);
}

/* Run @fn(@name) as nobody in a child: its result (0 or a failing line). */
static int as_nobody(int (*fn)(const char *), const char *name)
{
	return run_as(NOBODY_UID, NOBODY_GID, fn, name);
}

FIXTURE(us) {
	unsigned long long saved;
	char name[MPQ_NAME_SIZE];
};

FIXTURE_SETUP(us)
{
	ASSERT_EQ(0, param_read("bytes_per_user", &self->saved));
	mpq_test_name(self->name, sizeof(self->name), "usage");
	mpq_remove(self->name);
}

FIXTURE_TEARDOWN(us)
{
	mpq_remove(self->name);
	param_write("bytes_per_user", self->saved);
}

/* What nobody holds follows their queues and messages, up and down. */
static int nobody_counts(const char *name)
{
	static char msg[1000];
	struct mpq_usage u0, u1, u2;
	int fd, nfd;

	CHECK(usage(&u0) == 0);
	CHECK(u0.bytes == 0 && u0.queues == 0 && u0.named == 0);
	CHECK(u0.bytes_max == param_u64("bytes_per_user"));
	CHECK(u0.named_max == param_u64("queues_per_user"));
	CHECK(u0.__reserved == 0 && u0.__reserved2[0] == 0 &&
	      u0.__reserved2[3] == 0);

	fd = mpq_new(0, 0, 0, 0);
	CHECK(fd >= 0);
	CHECK(usage(&u1) == 0);
	/* The queue itself is charged. */
	CHECK(u1.queues == 1 && u1.named == 0 && u1.bytes > 0);

	CHECK(q_write(fd, msg, sizeof(msg)) == sizeof(msg));
	CHECK(usage(&u2) == 0);
	/* The payload and its header, rounded to kmalloc's buckets. */
	CHECK(u2.bytes >= u1.bytes + sizeof(msg));
	CHECK(u2.bytes <= u1.bytes + 2 * sizeof(msg));
	CHECK(q_read(fd, msg, sizeof(msg)) == sizeof(msg));
	CHECK(usage(&u2) == 0 && u2.bytes == u1.bytes);

	CHECK(mpq_new_named(name, 0600, 0) == 0);
	CHECK(usage(&u2) == 0 && u2.queues == 2 && u2.named == 1);
	/* An open descriptor of a removed queue still holds it. */
	nfd = mpq_open_named(name, O_RDWR);
	CHECK(nfd >= 0);
	CHECK(mpq_remove(name) == 0);
	CHECK(usage(&u2) == 0 && u2.queues == 2 && u2.named == 0);
	close(nfd);
	close(fd);
	CHECK(usage(&u2) == 0);
	CHECK(u2.bytes == 0 && u2.queues == 0 && u2.named == 0);
	return 0;
}

TEST_F(us, counts_what_a_user_holds)
{
	EXPECT_EQ(0, as_nobody(nobody_counts, self->name));
}

/*
 * Past the limit a put fails with ENOSPC whether or not it may block (the
 * queue is not full: waiting would not help), and queues nothing; a get
 * frees room for the next put. Nothing is ever charged past the limit.
 */
static int nobody_fills(const char *name)
{
	static char msg[16 * KIB];
	struct mpq_usage u;
	struct mpq_stat st;
	int fd, n = 0, ret;

	fd = mpq_new(0, 0, 0, 0);
	CHECK(fd >= 0);
	while ((ret = q_put(fd, msg, sizeof(msg), MPQ_XFER_NONBLOCK,
			    NULL)) == 0)
		CHECK(++n < 64);
	CHECK(ret == -ENOSPC);
	CHECK(n >= 8 && n < 16);
	CHECK(q_put(fd, msg, sizeof(msg), 0, NULL) == -ENOSPC);
	CHECK(q_write(fd, msg, sizeof(msg)) == -ENOSPC);
	CHECK(q_stat(fd, &st) == 0 && st.qsize == (unsigned int)n);
	CHECK(usage(&u) == 0 && u.bytes <= u.bytes_max);
	CHECK(u.bytes_max == 256 * KIB);

	CHECK(q_read(fd, msg, sizeof(msg)) == sizeof(msg));
	CHECK(q_write(fd, msg, sizeof(msg)) == sizeof(msg));
	CHECK(q_write(fd, msg, sizeof(msg)) == -ENOSPC);
	close(fd);
	CHECK(usage(&u) == 0 && u.bytes == 0);
	return 0;
}

TEST_F(us, bytes_per_user_limits_puts)
{
	ASSERT_EQ(0, param_write("bytes_per_user", 256 * KIB));
	EXPECT_EQ(0, as_nobody(nobody_fills, self->name));
}

/* With no room even for a queue, creating one fails, anonymous or named. */
static int nobody_creates(const char *name)
{
	CHECK(mpq_new(0, 0, 0, 0) == -ENOSPC);
	CHECK(mpq_new_named(name, 0600, 0) == -ENOSPC);
	CHECK(mpq_open_named(name, O_RDWR) == -ENOENT);
	return 0;
}

TEST_F(us, bytes_per_user_limits_creation)
{
	ASSERT_EQ(0, param_write("bytes_per_user", 1));
	EXPECT_EQ(0, as_nobody(nobody_creates, self->name));
}

/* CAP_SYS_RESOURCE is exempt, and told that no limit applies. */
TEST_F(us, root_is_exempt)
{
	static char msg[64 * KIB];
	struct mpq_usage u;
	int fd, i;

	ASSERT_EQ(0, param_write("bytes_per_user", 1));
	fd = mpq_new(0, 0, 0, 0);
	ASSERT_LE(0, fd);
	for (i = 0; i < 4; i++)
		ASSERT_EQ((long)sizeof(msg), q_write(fd, msg, sizeof(msg)));
	ASSERT_EQ(0, usage(&u));
	EXPECT_EQ(0ULL, u.bytes_max);
	EXPECT_EQ(0U, u.named_max);
	EXPECT_LE(4 * sizeof(msg), u.bytes);
	EXPECT_LE(1U, u.queues);
	close(fd);
}

static int nobody_creates_0666(const char *name)
{
	return mpq_new_named(name, 0666, 0) ? __LINE__ : 0;
}

static int nobody_holds_little(const char *name)
{
	struct mpq_usage u;

	CHECK(usage(&u) == 0);
	CHECK(u.named == 1);
	return u.bytes < 4 * KIB ? 0 : __LINE__;
}

/*
 * A message is charged to whoever put it, not to the queue's owner: the
 * owner pays for the queue alone.
 */
TEST_F(us, putter_is_charged)
{
	static char msg[100 * KIB];
	struct mpq_usage before, after;
	int fd;

	ASSERT_EQ(0, as_nobody(nobody_creates_0666, self->name));
	fd = mpq_open_named(self->name, O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, usage(&before));
	ASSERT_EQ((long)sizeof(msg), q_write(fd, msg, sizeof(msg)));
	ASSERT_EQ(0, usage(&after));
	EXPECT_LE(before.bytes + sizeof(msg), after.bytes);
	EXPECT_EQ(0, as_nobody(nobody_holds_little, self->name));
	close(fd);
}

#define WRITER_UID	1001

/* Another user fills nobody's 0666 queue until their own limit. */
static int writer_fills(const char *name)
{
	static char msg[16 * KIB];
	int fd, n = 0, ret;

	fd = mpq_open_named(name, O_WRONLY);
	CHECK(fd >= 0);
	while ((ret = q_write(fd, msg, sizeof(msg))) == sizeof(msg))
		CHECK(++n < 64);
	CHECK(ret == -ENOSPC && n >= 8);
	close(fd);
	return 0;
}

/* ... and the owner can still put into it and make queues of its own. */
static int nobody_still_puts(const char *name)
{
	static char msg[16 * KIB];
	int fd, anon;

	fd = mpq_open_named(name, O_WRONLY);
	CHECK(fd >= 0);
	CHECK(q_write(fd, msg, sizeof(msg)) == sizeof(msg));
	anon = mpq_new(0, 0, 0, 0);
	CHECK(anon >= 0);
	CHECK(q_write(anon, msg, sizeof(msg)) == sizeof(msg));
	close(anon);
	close(fd);
	return 0;
}

/*
 * Whoever may write into a queue spends their own budget: they cannot
 * use up its owner's, by queued messages or by putters blocked with theirs.
 */
TEST_F(us, writers_cannot_exhaust_the_owner)
{
	ASSERT_EQ(0, param_write("bytes_per_user", 256 * KIB));
	ASSERT_EQ(0, as_nobody(nobody_creates_0666, self->name));
	EXPECT_EQ(0, run_as(WRITER_UID, WRITER_UID, writer_fills, self->name));
	EXPECT_EQ(0, as_nobody(nobody_still_puts, self->name));
}

/*
 * In a user namespace that nobody made, root maps uids 0-9 to host uids
 * 200000-200009: the uid 5 of the namespace is a host uid of its own, but
 * what it creates is charged to nobody, who made the namespace. Without
 * this a user with a range of subordinate uids would have a budget per uid.
 */
#define USERNS_ESCAPE	"/tmp/mpq-userns-escape"

/*
 * A chrooted task may not make a user namespace, and the test VM runs
 * everything chrooted into the host's tree. In a mount namespace of our
 * own, leave the chroot for the namespace's root, stack the tree on it
 * and enter it there: the same files, but the namespace's own root.
 * Returns 0, or the failing line.
 */
static int leave_chroot(void)
{
	char tree[PATH_MAX], link[64];
	int top, i;
	ssize_t n;

	CHECK(unshare(CLONE_NEWNS) == 0);
	CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
	top = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(top >= 0);
	CHECK(mkdir(USERNS_ESCAPE, 0700) == 0 || errno == EEXIST);
	CHECK(chroot(USERNS_ESCAPE) == 0);
	CHECK(fchdir(top) == 0);
	for (i = 0; i < 64; i++)
		CHECK(chdir("..") == 0);
	CHECK(chroot(".") == 0);
	/* Where the tree is, seen from the namespace's root. */
	snprintf(link, sizeof(link), "/proc/self/fd/%d", top);
	n = readlink(link, tree, sizeof(tree) - 1);
	if (n <= 0) {
		/* No /proc out here: it is mounted in the tree only. */
		snprintf(link, sizeof(link), "/dev/fd/%d", top);
		n = readlink(link, tree, sizeof(tree) - 1);
	}
	CHECK(n > 0);
	tree[n] = '\0';
	if (strcmp(tree, "/")) {
		CHECK(mount(tree, "/", NULL, MS_BIND | MS_REC, NULL) == 0);
		/* ".." at the root crosses into what is mounted on it. */
		CHECK(chdir("/..") == 0);
		CHECK(chroot(".") == 0);
		CHECK(chdir("/") == 0);
	}
	close(top);
	return 0;
}

static int userns_child(int go, const char *name)
{
	struct mpq_usage u;
	char c;

	CHECK(leave_chroot() == 0);
	if (drop_privs(NOBODY_UID, NOBODY_GID) || unshare(CLONE_NEWUSER))
		return __LINE__;
	/* Tell the parent to write our maps, and wait until it has. */
	if (write(go, "u", 1) != 1 || read(go, &c, 1) != 1)
		return __LINE__;
	if (setgid(5) || setuid(5))
		return __LINE__;
	CHECK(geteuid() == 5);
	CHECK(mpq_new_named(name, 0600, 0) == 0);
	CHECK(usage(&u) == 0 && u.named == 1);
	return 0;
}

static int nobody_owns_one_named(const char *name)
{
	struct mpq_usage u;

	CHECK(usage(&u) == 0);
	return u.named == 1 ? 0 : __LINE__;
}

static int write_map(pid_t pid, const char *file, const char *map)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	return write_file_str(path, map);
}

TEST_F(us, user_namespaces_charge_their_maker)
{
	int *ret = shared_alloc(sizeof(int)), sv[2];
	struct stat st;
	char path[128], c;
	pid_t pid;

	ASSERT_TRUE(ret != NULL);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = spawn();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(sv[0]);
		*ret = userns_child(sv[1], self->name);
		_exit(0);
	}
	close(sv[1]);
	if (read(sv[0], &c, 1) != 1) {
		reap(pid);
		SKIP(return, "no user namespaces here (child: line %d)", *ret);
	}
	ASSERT_EQ(0, write_map(pid, "setgroups", "deny"));
	ASSERT_EQ(0, write_map(pid, "uid_map", "0 200000 10"));
	ASSERT_EQ(0, write_map(pid, "gid_map", "0 200000 10"));
	ASSERT_EQ(1, write(sv[0], "g", 1));
	ASSERT_EQ(0, reap(pid));
	ASSERT_EQ(0, *ret) TH_LOG("child failed at line %d", *ret);
	/* The node belongs to the host uid that made it... */
	snprintf(path, sizeof(path), MPQ_DEV_DIR "/%s", self->name);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(200005U, st.st_uid);
	/* ...and counts against nobody's named queues. */
	EXPECT_EQ(0, as_nobody(nobody_owns_one_named, self->name));
	munmap(ret, sizeof(int));
}

TEST_HARNESS_MAIN
