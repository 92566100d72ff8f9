// SPDX-License-Identifier: GPL-2.0
/*
 * Helper of loadunload.sh: one process per cycle for what the shell cannot
 * do (starting programs is what costs in the test guest).
 *
 *   loadunload-helper busy NAME MESSAGE
 *	With the named queue NAME holding the one message MESSAGE and mpq
 *	otherwise unused, check that the kernel refuses to unload mpq
 *	  1. while NAME exists;
 *	  2. after NAME is removed, while a descriptor of it is open (and
 *	     still works);
 *	  3. while an anonymous queue is open with a task blocked in a get
 *	     on it, which a shutdown then ends with end of stream;
 *	and leave mpq unused. The refusals are asked of delete_module(2)
 *	directly: kmod's rmmod refuses on its own when it sees a reference
 *	count, so it would never ask the kernel.
 *
 * Exit status 0 if all went as expected, else 1 with the reason on stdout.
 */
#include <sys/syscall.h>

#include "kselftest.h"
#include "mpq_test.h"

static const char *step;

static int fail(const char *what, long err)
{
	if (err)
		ksft_print_msg("%s: %s: %s\n", step, what,
			       strerror((int)(err < 0 ? -err : err)));
	else
		ksft_print_msg("%s: %s\n", step, what);
	return 1;
}

/* The kernel must answer "in use": EAGAIN (EWOULDBLOCK) or EBUSY. */
static int refused(void)
{
	if (syscall(SYS_delete_module, "mpq", O_NONBLOCK) == 0)
		return fail("mpq was unloaded", 0);
	if (errno != EAGAIN && errno != EBUSY)
		return fail("delete_module failed, but not as in use", errno);
	if (access("/sys/module/mpq", F_OK))
		return fail("/sys/module/mpq is gone after the refusal", errno);
	return 0;
}

static int busy(const char *name, const char *message)
{
	size_t len = strlen(message);
	char buf[256], path[128];
	pid_t child;
	long n;
	int fd;

	step = "named queue exists";
	if (refused())
		return 1;

	step = "removed queue still open";
	fd = mpq_open_named(name, O_RDWR);
	if (fd < 0)
		return fail("open", fd);
	n = q_get(fd, buf, sizeof(buf), MPQ_XFER_NONBLOCK, NULL);
	if (n != (long)len || memcmp(buf, message, len))
		return fail("the message put by redirection did not come back", 0);
	n = mpq_remove(name);
	if (n)
		return fail("remove", n);
	snprintf(path, sizeof(path), MPQ_DEV_DIR "/%s", name);
	if (access(path, F_OK) == 0)
		return fail("the node is still there after remove", 0);
	if (refused())
		return 1;
	if (q_put(fd, "x", 1, MPQ_XFER_NONBLOCK, NULL) ||
	    q_get(fd, buf, sizeof(buf), MPQ_XFER_NONBLOCK, NULL) != 1)
		return fail("the removed queue's descriptor stopped working", 0);
	close(fd);

	step = "anonymous queue with a blocked getter";
	fd = mpq_new(0, 0, 0, 0);
	if (fd < 0)
		return fail("create", fd);
	child = spawn();
	if (child < 0)
		return fail("fork", errno);
	if (child == 0)
		_exit(q_get(fd, buf, sizeof(buf), 0, NULL) == 0 ? 0 : 1);
	if (q_wait_stat(fd, ST_GETTERS, 1))
		return fail("the child never blocked in get", 0);
	if (refused())
		return 1;
	n = q_shutdown(fd, 0);
	if (n)
		return fail("shutdown", n);
	if (reap_timeout(child) != 0)
		return fail("the blocked get did not end with end of stream", 0);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "busy"))
		return busy(argv[2], argv[3]);
	fprintf(stderr, "usage: %s busy NAME MESSAGE\n", argv[0]);
	return 2;
}
