// SPDX-License-Identifier: GPL-2.0
/*
 * A consumer on io_uring: it keeps DEPTH gets in flight on a
 * JoinableQueue (IORING_OP_READ, each waiting through the queue's poll,
 * never in a kernel worker thread), and acknowledges each item it has
 * worked on with a task done (IORING_OP_URING_CMD, MPQ_URING_CMD_TASK_DONE)
 * submitted with the next get, in the same io_uring_enter(). The producer
 * puts ITEMS items, then join()s; the consumer ends at end of stream,
 * after the producer's shutdown().
 *
 *	./uring_worker          # needs mpq.ko loaded and liburing
 */
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mpqdev.h>

#define DEPTH	4
#define ITEMS	16

static void die(const char *what, int err)
{
	fprintf(stderr, "uring_worker: %s: %s\n", what, strerror(err));
	exit(1);
}

static struct io_uring_sqe *get_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe)
		die("io_uring_get_sqe", EBUSY);
	return sqe;
}

/* A get into @buf; its user_data is the slot, to find the buffer again. */
static void queue_get(struct io_uring *ring, int fd, char *buf, size_t cap,
		      unsigned int slot)
{
	struct io_uring_sqe *sqe = get_sqe(ring);

	io_uring_prep_read(sqe, fd, buf, cap, 0);
	io_uring_sqe_set_data64(sqe, slot);
}

/* Acknowledge @count items; user_data ~0 tells its completion apart. */
static void queue_task_done(struct io_uring *ring, int fd, __u64 count)
{
	struct io_uring_sqe *sqe = get_sqe(ring);
	struct mpq_uring_cmd cmd = { .addr = count };

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	sqe->cmd_op = MPQ_URING_CMD_TASK_DONE;
	memcpy(sqe->cmd, &cmd, sizeof(cmd));
	io_uring_sqe_set_data64(sqe, ~0ULL);
}

static void consumer(mpq_t *q)
{
	static char bufs[DEPTH][64];
	int fd = mpq_fileno(q), ret, inflight = 0, acks = 0;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	unsigned int slot, done = 0;

	ret = io_uring_queue_init(2 * DEPTH + 1, &ring, 0);
	if (ret)
		die("io_uring_queue_init", -ret);
	for (slot = 0; slot < DEPTH; slot++, inflight++)
		queue_get(&ring, fd, bufs[slot], sizeof(bufs[slot]) - 1, slot);
	while (inflight || acks) {
		ret = io_uring_submit_and_wait(&ring, 1);
		if (ret < 0)
			die("io_uring_submit_and_wait", -ret);
		/* Work on what came; ask for more and acknowledge in one go. */
		while (io_uring_peek_cqe(&ring, &cqe) == 0) {
			__u64 data = cqe->user_data;
			int res = cqe->res;

			io_uring_cqe_seen(&ring, cqe);
			if (data == ~0ULL) {
				if (res < 0)
					die("task done", -res);
				acks--;
				continue;
			}
			inflight--;
			if (res < 0)
				die("get", -res);
			if (res == 0)
				continue;	/* end of stream: not asked again */
			slot = (unsigned int)data;
			bufs[slot][res] = '\0';
			printf("consumer: worked on %s\n", bufs[slot]);
			done++;
			queue_task_done(&ring, fd, 1);
			acks++;
			queue_get(&ring, fd, bufs[slot], sizeof(bufs[slot]) - 1,
				  slot);
			inflight++;
		}
	}
	io_uring_queue_exit(&ring);
	printf("consumer: %u items, end of stream\n", done);
}

int main(void)
{
	mpq_t *q = mpq_joinable_new(0);
	char item[16];
	pid_t pid;
	int i, ret, status;

	if (!q)
		die("mpq_joinable_new", errno);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		consumer(q);
		fflush(stdout);
		_exit(0);
	}
	for (i = 1; i <= ITEMS; i++) {
		int len = snprintf(item, sizeof(item), "item %d", i);

		ret = mpq_put(q, item, len, true, -1);
		if (ret)
			die("put", -ret);
	}
	ret = mpq_join(q);
	if (ret)
		die("join", -ret);
	printf("producer: all %d items done\n", ITEMS);
	fflush(stdout);
	ret = mpq_shutdown(q, false);
	if (ret)
		die("shutdown", -ret);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		die("consumer", ECHILD);
	mpq_free(q);
	return 0;
}
