// SPDX-License-Identifier: GPL-2.0
/*
 * A daemon-style worker process on a JoinableQueue. The producer puts the
 * items 1 to 4 and waits with join() until the worker has called
 * task_done() for each. The C twin of the example in Python's queue
 * documentation, with a process instead of a thread:
 *
 *	def worker():
 *	    while True:
 *	        item = q.get()
 *	        print(f'Working on {item}')
 *	        print(f'Finished {item}')
 *	        q.task_done()
 *
 *	Process(target=worker, daemon=True).start()
 *	for item in range(1, 5):
 *	    q.put(item)
 *	q.join()
 *	print('All work completed')
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mpqdev.h>

static void die(const char *what, int err)
{
	fprintf(stderr, "worker: %s: %s\n", what, strerror(err));
	exit(1);
}

static void worker(mpq_t *q)
{
	char item[32];
	ssize_t len;
	int ret;

	for (;;) {
		len = mpq_get(q, item, sizeof(item) - 1, true, -1);
		if (len < 0)
			die("get", (int)-len);
		item[len] = '\0';
		printf("Working on %s\n", item);
		printf("Finished %s\n", item);
		/* Say it before task_done(), which may let the producer go. */
		fflush(stdout);
		ret = mpq_task_done(q);
		if (ret)
			die("task_done", -ret);
	}
}

int main(void)
{
	char item[32];
	pid_t pid;
	mpq_t *q;
	int i, ret;

	q = mpq_joinable_new(0);
	if (!q)
		die("mpq_joinable_new (is mpq.ko loaded?)", errno);

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0)
		worker(q);	/* the anonymous queue is shared by fork() */

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

	/* What multiprocessing does to a daemonic process at exit. */
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	mpq_free(q);
	return 0;
}
