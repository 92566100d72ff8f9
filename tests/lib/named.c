// SPDX-License-Identifier: GPL-2.0
/*
 * mpq_create(), mpq_open(), mpq_unlink(), mpq_list(): named queues in the
 * manner of mq_open(3), access modes from oflag, name checking.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mpqdev.h>

#include "harness.h"

FIXTURE(named) {
	char name[64];
	char path[96];
};

FIXTURE_SETUP(named)
{
	snprintf(self->name, sizeof(self->name), "libtest-%d", getpid());
	snprintf(self->path, sizeof(self->path), "/dev/mpq/%s", self->name);
}

FIXTURE_TEARDOWN(named)
{
	mpq_unlink(self->name);
}

static mode_t node_mode(const char *path)
{
	struct stat st;

	return stat(path, &st) ? (mode_t)-1 : st.st_mode & 07777;
}

TEST_F(named, create_open_unlink)
{
	char buf[8];
	mpq_t *q;

	ASSERT_EQ(0, mpq_create(self->name, 0, NULL));
	EXPECT_EQ(0600U, node_mode(self->path));
	EXPECT_EQ(-EEXIST, mpq_create(self->name, 0, NULL));
	q = mpq_open(self->name, O_RDWR, 0, NULL);
	ASSERT_NE(NULL, q);
	ASSERT_EQ(0, mpq_unlink(self->name));
	EXPECT_EQ((mode_t)-1, node_mode(self->path));
	EXPECT_EQ(-ENOENT, mpq_unlink(self->name));
	/* Like an unlinked file: the open handle keeps working. */
	EXPECT_EQ(0, mpq_put_nowait(q, "still", 5));
	EXPECT_EQ(5, mpq_get_nowait(q, buf, sizeof(buf)));
	mpq_free(q);
}

TEST_F(named, open_missing)
{
	errno = 0;
	EXPECT_EQ(NULL, mpq_open(self->name, O_RDWR, 0, NULL));
	EXPECT_EQ(ENOENT, errno);
}

TEST_F(named, o_creat_with_attr_and_slash)
{
	const struct mpq_attr attr = {
		.maxsize = 5, .msgsize_max = 100, .maxbytes = 1000,
	};
	char slashed[72];
	struct mpq_stat st;
	mpq_t *q;

	snprintf(slashed, sizeof(slashed), "/%s", self->name);
	q = mpq_open(slashed, O_RDWR | O_CREAT, 0640, &attr);
	ASSERT_NE(NULL, q);
	EXPECT_EQ(0640U, node_mode(self->path));
	ASSERT_EQ(0, mpq_stat(q, &st));
	EXPECT_EQ(5ULL, st.maxsize);
	EXPECT_EQ(100ULL, st.msgsize_max);
	EXPECT_EQ(1000ULL, st.maxbytes);
	mpq_free(q);

	/* O_CREAT on an existing queue opens it; attr and mode are ignored. */
	q = mpq_open(self->name, O_RDWR | O_CREAT, 0666, NULL);
	ASSERT_NE(NULL, q);
	ASSERT_EQ(0, mpq_stat(q, &st));
	EXPECT_EQ(5ULL, st.maxsize);
	EXPECT_EQ(0640U, node_mode(self->path));
	mpq_free(q);

	errno = 0;
	EXPECT_EQ(NULL, mpq_open(self->name, O_RDWR | O_CREAT | O_EXCL, 0, NULL));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_EQ(0, mpq_unlink(slashed));
}

TEST_F(named, bad_names)
{
	const char *bad[] = {
		"", "/", "//x", ".hidden", "control", "/control", "a/b", "../x",
		"with space", "tab\t", "caf\xc3\xa9",
		"12345678901234567890123456789012345678901234567890123456789012345",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		errno = 0;
		EXPECT_EQ(NULL, mpq_open(bad[i], O_RDWR | O_CREAT, 0, NULL))
			TH_LOG("name '%s'", bad[i]);
		EXPECT_EQ(EINVAL, errno);
		EXPECT_EQ(-EINVAL, mpq_create(bad[i], 0, NULL));
		EXPECT_EQ(-EINVAL, mpq_unlink(bad[i]));
	}
	errno = 0;
	EXPECT_EQ(NULL, mpq_open(NULL, O_RDWR, 0, NULL));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(named, longest_name)
{
	char name[65];

	memset(name, 'n', 64);
	name[64] = '\0';
	EXPECT_EQ(0, mpq_create(name, 0, NULL));
	EXPECT_EQ(0, mpq_unlink(name));
	EXPECT_EQ(0, mpq_create("a-Z_0.9", 0, NULL));
	EXPECT_EQ(0, mpq_unlink("a-Z_0.9"));
}

TEST_F(named, bad_oflag_and_mode)
{
	errno = 0;
	EXPECT_EQ(NULL, mpq_open(self->name, O_RDWR | O_CREAT | O_TRUNC, 0,
				 NULL));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(NULL, mpq_open(self->name, O_ACCMODE | O_CREAT, 0, NULL));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-EINVAL, mpq_create(self->name, 01777, NULL));
	/* Nothing was created on the way. */
	EXPECT_EQ(-ENOENT, mpq_unlink(self->name));
}

/* Attributes the kernel refuses leave no queue behind. */
TEST_F(named, bad_attr)
{
	const struct mpq_attr attr = { .msgsize_max = 2000, .maxbytes = 1000 };

	errno = 0;
	EXPECT_EQ(NULL, mpq_open(self->name, O_RDWR | O_CREAT, 0, &attr));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-ENOENT, mpq_unlink(self->name));
}

TEST_F(named, access_modes)
{
	mpq_t *r, *w;
	char buf[8];

	ASSERT_EQ(0, mpq_create(self->name, 0, NULL));
	r = mpq_open(self->name, O_RDONLY, 0, NULL);
	w = mpq_open(self->name, O_WRONLY, 0, NULL);
	ASSERT_NE(NULL, r);
	ASSERT_NE(NULL, w);
	EXPECT_EQ(-EBADF, mpq_put_nowait(r, "x", 1));
	EXPECT_EQ(-EBADF, mpq_shutdown(r, false));
	EXPECT_EQ(-EBADF, mpq_get_nowait(w, buf, sizeof(buf)));
	EXPECT_EQ(-EBADF, mpq_task_done(w));
	EXPECT_EQ(0, mpq_put_nowait(w, "x", 1));
	EXPECT_EQ(1, mpq_get_nowait(r, buf, sizeof(buf)));
	EXPECT_EQ(0, mpq_task_done(r));
	EXPECT_EQ(0, mpq_join(w));
	EXPECT_EQ(0, mpq_join(r));
	EXPECT_EQ(0, mpq_shutdown(w, false));
	mpq_free(r);
	mpq_free(w);
}

TEST_F(named, nonblock_and_cloexec)
{
	char buf[8];
	mpq_t *q;
	int fd;

	q = mpq_open(self->name, O_RDWR | O_CREAT | O_NONBLOCK | O_CLOEXEC,
		     0, NULL);
	ASSERT_NE(NULL, q);
	fd = mpq_fileno(q);
	EXPECT_EQ(O_NONBLOCK, fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* O_NONBLOCK makes even a blocking get fail at once. */
	EXPECT_EQ(-EAGAIN, mpq_get(q, buf, sizeof(buf), true, -1));
	mpq_free(q);

	q = mpq_open(self->name, O_RDWR, 0, NULL);
	ASSERT_NE(NULL, q);
	fd = mpq_fileno(q);
	EXPECT_EQ(0, fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	mpq_free(q);
}

static bool listed(const char *name)
{
	ssize_t size = mpq_list(NULL, 0), got;
	bool found = false;
	char *buf, *p;

	if (size < 0)
		return false;
	buf = malloc((size_t)size + 1);
	if (!buf)
		return false;
	got = mpq_list(buf, (size_t)size);
	for (p = buf; got > 0 && p < buf + got; p += strlen(p) + 1)
		if (!strcmp(p, name))
			found = true;
	free(buf);
	return found;
}

TEST_F(named, list)
{
	char tiny[1];

	EXPECT_FALSE(listed(self->name));
	ASSERT_EQ(0, mpq_create(self->name, 0, NULL));
	EXPECT_TRUE(listed(self->name));
	EXPECT_LE((ssize_t)strlen(self->name) + 1, mpq_list(NULL, 0));
	EXPECT_EQ(-ERANGE, mpq_list(tiny, sizeof(tiny)));
	EXPECT_EQ(-EINVAL, mpq_list(NULL, 10));
	ASSERT_EQ(0, mpq_unlink(self->name));
	EXPECT_FALSE(listed(self->name));
}

/*
 * If O_CREAT created the queue but it cannot be opened (its mode denies
 * the creator), the queue is removed again. Root bypasses modes, so the
 * child does this as nobody.
 */
TEST_F(named, failed_open_removes_created_queue)
{
	pid_t pid;
	int status;

	if (geteuid() != 0)
		SKIP(return, "needs root to switch to an unprivileged user");
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(10);
		if (mpq_open(self->name, O_RDWR | O_CREAT, 0200, NULL) ||
		    errno != EACCES)
			_exit(11);
		if (mpq_create(self->name, 0200, NULL))
			_exit(12);	/* it is gone: we can create it again */
		if (mpq_unlink(self->name))
			_exit(13);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_F(named, joinable)
{
	mpq_t *q = mpq_open(self->name, O_RDWR | O_CREAT, 0, NULL);
	char buf[8];

	ASSERT_NE(NULL, q);
	ASSERT_EQ(0, mpq_put_nowait(q, "x", 1));
	ASSERT_EQ(1, mpq_get_nowait(q, buf, sizeof(buf)));
	EXPECT_EQ(-ETIMEDOUT, mpq_join_timeout(q, 0));
	EXPECT_EQ(0, mpq_task_done(q));
	EXPECT_EQ(0, mpq_join(q));
	mpq_free(q);
}

TEST_HARNESS_MAIN
