// SPDX-License-Identifier: GPL-2.0
/*
 * The module cannot be unloaded while it holds anything: a named queue, an
 * open queue descriptor, or a removed named queue still open. Nothing is
 * ever dropped by unloading. The last test unloads and reloads the module
 * when nothing is in use, to show that unloading does work then; run-tests
 * runs this program after all the others.
 */
#include <sys/syscall.h>

#include "mpq_test.h"
#include "harness.h"

/* Relative to the top of the tree, where run-tests runs. */
#define MPQ_KO_DEFAULT	"module/mpq.ko"

static int delete_module(const char *name)
{
	return syscall(__NR_delete_module, name, O_NONBLOCK) ? -errno : 0;
}

static bool module_listed(void)
{
	FILE *f = fopen("/proc/modules", "re");
	char line[512];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, "mpq ", 4);
	fclose(f);
	return found;
}

/* Try to unload; it has to be refused and leave everything working. */
static void unload_refused(struct __test_metadata *_metadata)
{
	int fd;

	/* The kernel's answer for a module in use (kmod says "in use"). */
	EXPECT_EQ(-EWOULDBLOCK, delete_module("mpq"));
	EXPECT_TRUE(module_listed());
	fd = mpq_new(0, 0, 0, 0);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);
}

TEST(named_queue_pins_module)
{
	char name[MPQ_NAME_SIZE];
	int fd;

	mpq_test_name(name, sizeof(name), "pin");
	ASSERT_EQ(0, mpq_new_named(name, 0, 0));
	fd = mpq_open_named(name, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(4L, q_write(fd, "kept", 4));
	close(fd);

	/* No descriptor is open: the queue itself holds the module. */
	unload_refused(_metadata);

	fd = mpq_open_named(name, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(4, q_fionread(fd));
	close(fd);
	EXPECT_EQ(0, mpq_remove(name));
}

TEST(anonymous_fd_pins_module)
{
	int fd = mpq_new(0, 0, 0, 0);

	ASSERT_LE(0, fd);
	ASSERT_EQ(4L, q_write(fd, "kept", 4));
	unload_refused(_metadata);
	EXPECT_EQ(4, q_fionread(fd));
	close(fd);
}

TEST(removed_open_queue_pins_module)
{
	char name[MPQ_NAME_SIZE];
	char buf[8];
	int fd;

	mpq_test_name(name, sizeof(name), "rmpin");
	ASSERT_EQ(0, mpq_new_named(name, 0, 0));
	fd = mpq_open_named(name, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mpq_remove(name));
	ASSERT_EQ(4L, q_write(fd, "kept", 4));
	unload_refused(_metadata);
	EXPECT_EQ(4L, q_read(fd, buf, sizeof(buf)));
	close(fd);
}

/* The current module parameters, to load the module again with them. */
static void current_params(char *buf, size_t size)
{
	static const char *const params[] = {
		"msgsize_limit", "maxbytes_limit", "queues_per_user",
	};
	unsigned long long val;
	size_t len = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(params); i++) {
		if (param_read(params[i], &val) == 0 && len < size)
			len += snprintf(buf + len, size - len, "%s%s=%llu",
					len ? " " : "", params[i], val);
	}
}

TEST(unload_and_reload)
{
	const char *ko = getenv("MPQ_KO") ?: MPQ_KO_DEFAULT;
	struct mpq_list l = {};
	char params[256];
	struct stat st;
	int kfd, fd;

	if (access(ko, R_OK))
		SKIP(return, "%s not found: cannot reload after unloading", ko);
	if (control_ioctl(MPQ_IOC_LIST, &l) != 0)
		SKIP(return, "named queues left by other tests: not unloading");
	current_params(params, sizeof(params));

	/* Nothing in use: unloading works and takes the devices away. */
	ASSERT_EQ(0, delete_module("mpq"));
	EXPECT_FALSE(module_listed());
	EXPECT_EQ(-1, stat(MPQ_CONTROL_PATH, &st));
	EXPECT_EQ(-1, stat(MPQ_SYSFS_DIR, &st));

	kfd = open(ko, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, kfd);
	ASSERT_EQ(0, syscall(__NR_finit_module, kfd, params, 0))
		TH_LOG("reloading %s: %s", ko, strerror(errno));
	close(kfd);
	ASSERT_TRUE(module_listed());

	fd = mpq_new(0, 0, 0, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(2L, q_write(fd, "ok", 2));
	close(fd);
}

TEST_HARNESS_MAIN
