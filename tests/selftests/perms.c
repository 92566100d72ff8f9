// SPDX-License-Identifier: GPL-2.0
/*
 * Access control: file permissions on /dev/mpq/NAME decide who may open a
 * queue for reading or writing (chmod and chown work as on any device),
 * and a descriptor's access mode decides what it may do: puts and shutdown
 * need write access, gets and task_done read access, else EBADF.
 */
#include "mpq_test.h"
#include "harness.h"

FIXTURE(pm) {
	char name[MPQ_NAME_SIZE];
	char path[128];
};

FIXTURE_SETUP(pm)
{
	mpq_test_name(self->name, sizeof(self->name), "perm");
	snprintf(self->path, sizeof(self->path), MPQ_DEV_DIR "/%s", self->name);
	mpq_remove(self->name);
}

FIXTURE_TEARDOWN(pm)
{
	mpq_remove(self->name);
}

/* The flags open_as_nobody() opens with; set before its child forks. */
static int nobody_open_flags;

static int open_path(const char *path)
{
	int fd = open(path, nobody_open_flags | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* open(@path, @flags) as nobody: 0 if it opened, else -errno. */
static int open_as_nobody(const char *path, int flags)
{
	nobody_open_flags = flags;
	return run_as(NOBODY_UID, NOBODY_GID, open_path, path);
}

TEST_F(pm, mode_0600_denies_others)
{
	ASSERT_EQ(0, mpq_new_named(self->name, 0600, 0));
	EXPECT_EQ(-EACCES, open_as_nobody(self->path, O_RDONLY));
	EXPECT_EQ(-EACCES, open_as_nobody(self->path, O_WRONLY));
	EXPECT_EQ(-EACCES, open_as_nobody(self->path, O_RDWR));
}

TEST_F(pm, mode_bits_per_direction)
{
	ASSERT_EQ(0, mpq_new_named(self->name, 0604, 0));
	EXPECT_EQ(0, open_as_nobody(self->path, O_RDONLY));
	EXPECT_EQ(-EACCES, open_as_nobody(self->path, O_WRONLY));
	EXPECT_EQ(-EACCES, open_as_nobody(self->path, O_RDWR));
	ASSERT_EQ(0, mpq_remove(self->name));

	ASSERT_EQ(0, mpq_new_named(self->name, 0602, 0));
	EXPECT_EQ(-EACCES, open_as_nobody(self->path, O_RDONLY));
	EXPECT_EQ(0, open_as_nobody(self->path, O_WRONLY));
	ASSERT_EQ(0, mpq_remove(self->name));

	ASSERT_EQ(0, mpq_new_named(self->name, 0666, 0));
	EXPECT_EQ(0, open_as_nobody(self->path, O_RDWR));
}

TEST_F(pm, chmod_and_chown)
{
	ASSERT_EQ(0, mpq_new_named(self->name, 0600, 0));
	ASSERT_EQ(-EACCES, open_as_nobody(self->path, O_RDWR));
	ASSERT_EQ(0, chmod(self->path, 0606));
	EXPECT_EQ(0, open_as_nobody(self->path, O_RDWR));
	ASSERT_EQ(0, chmod(self->path, 0600));
	EXPECT_EQ(-EACCES, open_as_nobody(self->path, O_RDWR));
	ASSERT_EQ(0, chown(self->path, NOBODY_UID, NOBODY_GID));
	EXPECT_EQ(0, open_as_nobody(self->path, O_RDWR));
}

TEST(control_node)
{
	struct stat st;
	int ok;

	ASSERT_EQ(0, stat(MPQ_CONTROL_PATH, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0666U, st.st_mode & 07777);
	/* Anyone may make anonymous queues. */
	ok = open_as_nobody(MPQ_CONTROL_PATH, O_RDWR);
	EXPECT_EQ(0, ok);
}

TEST_F(pm, read_only_descriptor)
{
	struct mpq_msgvec v = { .buf = PTR("x"), .len = 1 };
	struct mpq_batch b = { .vec = PTR(&v), .count = 1 };
	struct mpq_stat st;
	char buf[8];
	int rw, ro;

	ASSERT_EQ(0, mpq_new_named(self->name, 0600, 0));
	rw = mpq_open_named(self->name, O_RDWR);
	ASSERT_LE(0, rw);
	ro = mpq_open_named(self->name, O_RDONLY);
	ASSERT_LE(0, ro);
	ASSERT_EQ(1L, q_write(rw, "a", 1));

	EXPECT_EQ(-EBADF, q_write(ro, "x", 1));
	EXPECT_EQ(-EBADF, q_put(ro, "x", 1, 0, NULL));
	EXPECT_EQ(-EBADF, q_put(ro, "x", 1, MPQ_XFER_NONBLOCK, NULL));
	EXPECT_EQ(-EBADF, sys_ret(ioctl(ro, MPQ_IOC_PUT_MANY, &b)));
	EXPECT_EQ(-EBADF, q_shutdown(ro, 0));
	EXPECT_EQ(-EBADF, q_shutdown(ro, MPQ_SHUTDOWN_IMMEDIATE));

	ASSERT_EQ(0, q_stat(ro, &st));
	EXPECT_EQ(1ULL, st.qsize);
	EXPECT_EQ(1ULL, st.total_puts);
	EXPECT_EQ((__u32)MPQ_STATE_OPEN, st.state);

	/* What reading needs works. */
	EXPECT_EQ(1, q_fionread(ro));
	EXPECT_EQ(1L, q_read(ro, buf, sizeof(buf)));
	EXPECT_EQ(0, q_task_done(ro, 1));
	EXPECT_EQ(0, q_join_soon(ro));
	close(ro);
	close(rw);
}

TEST_F(pm, write_only_descriptor)
{
	struct mpq_msgvec v = { .buf = PTR((char[8]){}), .len = 8 };
	struct mpq_batch b = { .vec = PTR(&v), .count = 1 };
	struct mpq_stat st;
	char buf[8];
	int rw, wo;

	ASSERT_EQ(0, mpq_new_named(self->name, 0600, 0));
	rw = mpq_open_named(self->name, O_RDWR);
	ASSERT_LE(0, rw);
	wo = mpq_open_named(self->name, O_WRONLY);
	ASSERT_LE(0, wo);

	EXPECT_EQ(1L, q_write(wo, "a", 1));
	EXPECT_EQ(-EBADF, q_read(wo, buf, sizeof(buf)));
	EXPECT_EQ(-EBADF, q_get(wo, buf, sizeof(buf), 0, NULL));
	EXPECT_EQ(-EBADF, q_get(wo, buf, sizeof(buf), MPQ_XFER_NONBLOCK, NULL));
	EXPECT_EQ(-EBADF, sys_ret(ioctl(wo, MPQ_IOC_GET_MANY, &b)));
	EXPECT_EQ(-EBADF, q_task_done(wo, 1));

	ASSERT_EQ(0, q_stat(wo, &st));
	EXPECT_EQ(1ULL, st.qsize);
	EXPECT_EQ(0ULL, st.total_gets);
	EXPECT_EQ(1ULL, st.unfinished);

	/* What writing needs works. */
	EXPECT_EQ(0, q_put(wo, "b", 1, 0, NULL));
	EXPECT_EQ(0, q_shutdown(wo, 0));
	EXPECT_EQ(1L, q_read(rw, buf, sizeof(buf)));
	close(wo);
	close(rw);
}

TEST_HARNESS_MAIN
