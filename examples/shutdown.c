// SPDX-License-Identifier: GPL-2.0
/*
 * examples/sentinel.c with mpq_shutdown() instead of sentinels: the
 * producer puts the tasks and shuts the queue down once. Every consumer
 * drains what is left and then gets -EPIPE (Python's ShutDown), however
 * many consumers there are; no sentinel to count, none to pass along.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mpqdev.h>

#define CONSUMERS	2
#define TASKS		6

static void die(const char *what, int err)
{
	fprintf(stderr, "shutdown: %s: %s\n", what, strerror(err));
	exit(1);
}

static void consumer(mpq_t *q, int id)
{
	char task[32];
	ssize_t len;

	for (;;) {
		len = mpq_get(q, task, sizeof(task) - 1, true, -1);
		if (len == -EPIPE)
			break;
		if (len < 0)
			die("get", (int)-len);
		task[len] = '\0';
		printf("consumer %d: task %s\n", id, task);
		usleep(50000);
	}
	printf("consumer %d: queue shut down, exiting\n", id);
	exit(0);
}

int main(void)
{
	pid_t pids[CONSUMERS];
	char task[32];
	int i, ret, status, failed = 0;
	mpq_t *q;

	q = mpq_queue_new(0);
	if (!q)
		die("mpq_queue_new (is mpq.ko loaded?)", errno);

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < CONSUMERS; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork", errno);
		if (pids[i] == 0)
			consumer(q, i + 1);
	}

	for (i = 1; i <= TASKS; i++) {
		snprintf(task, sizeof(task), "%d", i);
		ret = mpq_put(q, task, strlen(task), true, -1);
		if (ret)
			die("put", -ret);
	}
	/* One call ends the stream for all consumers, after the tasks. */
	ret = mpq_shutdown(q, false);
	if (ret)
		die("shutdown", -ret);
	printf("producer: queue shut down\n");

	for (i = 0; i < CONSUMERS; i++)
		if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			failed = 1;
	printf("all consumers exited\n");
	mpq_free(q);
	return failed;
}
