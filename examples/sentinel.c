// SPDX-License-Identifier: GPL-2.0
/*
 * Consumers that stop on a sentinel: the producer puts the tasks, then one
 * "STOP" per consumer, as in Python's multiprocessing examples:
 *
 *	for i in range(NUMBER_OF_PROCESSES):
 *	    task_queue.put('STOP')
 *
 * Compare examples/shutdown.c, where one mpq_shutdown() does the same for
 * any number of consumers.
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
#define SENTINEL	"STOP"

static void die(const char *what, int err)
{
	fprintf(stderr, "sentinel: %s: %s\n", what, strerror(err));
	exit(1);
}

static void consumer(mpq_t *q, int id)
{
	char task[32];
	ssize_t len;

	for (;;) {
		len = mpq_get(q, task, sizeof(task) - 1, true, -1);
		if (len < 0)
			die("get", (int)-len);
		task[len] = '\0';
		if (!strcmp(task, SENTINEL))
			break;
		printf("consumer %d: task %s\n", id, task);
		usleep(50000);
	}
	printf("consumer %d: got %s, exiting\n", id, SENTINEL);
	exit(0);
}

static void put(mpq_t *q, const char *s)
{
	int ret = mpq_put(q, s, strlen(s), true, -1);

	if (ret)
		die("put", -ret);
}

int main(void)
{
	pid_t pids[CONSUMERS];
	char task[32];
	int i, status, failed = 0;
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
		put(q, task);
	}
	/* Each consumer takes exactly one sentinel and stops. */
	for (i = 0; i < CONSUMERS; i++)
		put(q, SENTINEL);

	for (i = 0; i < CONSUMERS; i++)
		if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			failed = 1;
	printf("all consumers exited\n");
	mpq_free(q);
	return failed;
}
