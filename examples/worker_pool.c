// SPDX-License-Identifier: GPL-2.0
/*
 * A pool of two daemon-style worker processes on one JoinableQueue. The
 * producer puts the items 1 to 4 and join() returns once both workers
 * together have called task_done() for every item; which worker gets
 * which item is up to the kernel (whoever waits longest goes first).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mpqdev.h>

#define WORKERS	2

static void die(const char *what, int err)
{
	fprintf(stderr, "worker_pool: %s: %s\n", what, strerror(err));
	exit(1);
}

static void worker(mpq_t *q, int id)
{
	char item[32];
	ssize_t len;
	int ret;

	for (;;) {
		len = mpq_get(q, item, sizeof(item) - 1, true, -1);
		if (len < 0)
			die("get", (int)-len);
		item[len] = '\0';
		printf("worker %d: working on %s\n", id, item);
		usleep(100000);		/* the "work" */
		printf("worker %d: finished %s\n", id, item);
		fflush(stdout);
		ret = mpq_task_done(q);
		if (ret)
			die("task_done", -ret);
	}
}

int main(void)
{
	pid_t pids[WORKERS];
	char item[32];
	mpq_t *q;
	int i, ret;

	q = mpq_joinable_new(0);
	if (!q)
		die("mpq_joinable_new (is mpq.ko loaded?)", errno);

	/* One write(2) per line, so the processes' lines do not mix. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < WORKERS; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork", errno);
		if (pids[i] == 0)
			worker(q, i + 1);
	}

	for (i = 1; i <= 4; i++) {
		snprintf(item, sizeof(item), "%d", i);
		ret = mpq_put(q, item, strlen(item), true, -1);
		if (ret)
			die("put", -ret);
	}
	ret = mpq_join(q);
	if (ret)
		die("join", -ret);
	printf("All work completed\n");

	for (i = 0; i < WORKERS; i++) {
		kill(pids[i], SIGTERM);
		waitpid(pids[i], NULL, 0);
	}
	mpq_free(q);
	return 0;
}
