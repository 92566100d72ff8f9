// SPDX-License-Identifier: GPL-2.0
/*
 * Many producer and consumer processes on one small queue: every message
 * arrives exactly once, intact, and each consumer sees each producer's
 * messages in the order they were put. Producers that exit (or are killed)
 * right after put() lose nothing. Task accounting holds under the load.
 */
#include "mpq_test.h"
#include "pattern.h"
#include "harness.h"

#define PRODUCERS	4
#define CONSUMERS	4
#define PER_PRODUCER	1000
#define TOTAL		(PRODUCERS * PER_PRODUCER)
#define BATCH		16
#define MSG_MAX		64

enum api { API_RW, API_IOCTL, API_BATCH };

/* A message: its producer, its sequence number, then a checkable pattern. */
struct msg {
	__u32 producer;
	__u32 seq;
	unsigned char pattern[MSG_MAX - 8];
};

static size_t msg_len(__u32 seq)
{
	return 8 + seq % (MSG_MAX - 8 + 1);
}

static uint64_t msg_seed(__u32 producer, __u32 seq)
{
	return (uint64_t)producer << 32 | seq;
}

static void msg_make(struct msg *m, __u32 producer, __u32 seq)
{
	m->producer = producer;
	m->seq = seq;
	pattern_fill(m->pattern, msg_len(seq) - 8, msg_seed(producer, seq));
}

static bool msg_ok(const struct msg *m, size_t len)
{
	if (len < 8 || m->producer >= PRODUCERS || m->seq >= PER_PRODUCER ||
	    len != msg_len(m->seq))
		return false;
	return pattern_check(m->pattern, len - 8, msg_seed(m->producer, m->seq));
}

/* What each consumer received, in order: producer << 16 | seq. */
struct log {
	int count;
	__u32 ids[TOTAL];
};

static int produce(int fd, enum api api, __u32 producer)
{
	struct mpq_msgvec vec[BATCH];
	struct msg m[BATCH];
	__u32 seq = 0;
	int i, n;

	while (seq < PER_PRODUCER) {
		switch (api) {
		case API_RW:
			msg_make(&m[0], producer, seq);
			if (q_write(fd, &m[0], msg_len(seq)) != (long)msg_len(seq))
				return 1;
			seq++;
			break;
		case API_IOCTL:
			msg_make(&m[0], producer, seq);
			if (q_put(fd, &m[0], msg_len(seq), 0, NULL))
				return 1;
			seq++;
			break;
		case API_BATCH: {
			struct mpq_batch b = { .vec = PTR(vec) };

			for (i = 0; i < BATCH && seq + i < PER_PRODUCER; i++) {
				msg_make(&m[i], producer, seq + i);
				vec[i].buf = PTR(&m[i]);
				vec[i].len = msg_len(seq + i);
			}
			b.count = i;
			n = ioctl(fd, MPQ_IOC_PUT_MANY, &b);
			if (n < 1 || n > i)
				return 1;
			/* The rest of a partial batch goes in the next one. */
			seq += n;
			break;
		}
		}
	}
	return 0;
}

/* Record one received message; check it and its order. */
static int consumed(int fd, struct log *log, __u32 *next, const struct msg *m,
		    size_t len)
{
	if (!msg_ok(m, len))
		return 3;
	/* FIFO per producer, as this consumer sees it. */
	if (m->seq < next[m->producer])
		return 4;
	next[m->producer] = m->seq + 1;
	log->ids[log->count++] = m->producer << 16 | m->seq;
	return q_task_done(fd, 1) ? 5 : 0;
}

static int consume(int fd, enum api api, struct log *log)
{
	struct mpq_msgvec vec[BATCH];
	struct msg m[BATCH];
	__u32 next[PRODUCERS] = {};
	long len;
	int i, n, err;

	for (;;) {
		switch (api) {
		case API_RW:
		case API_IOCTL:
			len = api == API_RW ? q_read(fd, &m[0], sizeof(m[0])) :
			      q_get(fd, &m[0], sizeof(m[0]), 0, NULL);
			if (len == 0)
				return 0;	/* shut down and drained */
			if (len < 0)
				return 2;
			err = consumed(fd, log, next, &m[0], len);
			if (err)
				return err;
			break;
		case API_BATCH: {
			struct mpq_batch b = { .vec = PTR(vec), .count = BATCH };

			for (i = 0; i < BATCH; i++) {
				vec[i].buf = PTR(&m[i]);
				vec[i].len = sizeof(m[i]);
				vec[i].result = 0;
			}
			n = ioctl(fd, MPQ_IOC_GET_MANY, &b);
			if (n == 0)
				return 0;
			if (n < 0 || n > BATCH)
				return 2;
			for (i = 0; i < n; i++) {
				err = consumed(fd, log, next, &m[i],
					       vec[i].result);
				if (err)
					return err;
			}
			break;
		}
		}
	}
}

/*
 * Reap all workers. When the last producer is done, every put has returned:
 * shut down to end the stream for all consumers at once. When any worker
 * fails, kill the rest, which might otherwise wait for it forever.
 * Returns the number of failed workers.
 */
static int run_workers(int fd, const pid_t *prod, const pid_t *cons)
{
	int left = PRODUCERS + CONSUMERS, producing = PRODUCERS, failed = 0;
	int i, status;
	pid_t pid;

	while (left > 0 && (pid = wait(&status)) > 0) {
		bool producer = false;

		left--;
		for (i = 0; i < PRODUCERS; i++)
			producer |= prod[i] == pid;
		if (producer && --producing == 0 && q_shutdown(fd, 0))
			failed++;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			continue;
		fprintf(stderr, "# %s %d failed: status %#x\n",
			producer ? "producer" : "consumer", pid, status);
		failed++;
		for (i = 0; i < PRODUCERS; i++)
			kill(prod[i], SIGKILL);
		for (i = 0; i < CONSUMERS; i++)
			kill(cons[i], SIGKILL);
	}
	return failed;
}

FIXTURE(mpmc) {
	int fd;
	struct log *logs;
};

FIXTURE_VARIANT(mpmc) {
	enum api api;
	__u64 maxsize;
	__u64 maxbytes;
};

/* A small count limit: producers and consumers keep blocking. */
FIXTURE_VARIANT_ADD(mpmc, rw_maxsize) {
	.api = API_RW,
	.maxsize = 8,
};

/* No count limit, a small byte budget of variable-sized messages. */
FIXTURE_VARIANT_ADD(mpmc, ioctl_maxbytes) {
	.api = API_IOCTL,
	.maxbytes = 4 * MSG_MAX,
};

FIXTURE_VARIANT_ADD(mpmc, batch_maxsize) {
	.api = API_BATCH,
	.maxsize = 2 * BATCH,
};

FIXTURE_SETUP(mpmc)
{
	self->logs = shared_alloc(CONSUMERS * sizeof(struct log));
	ASSERT_TRUE(self->logs != NULL);
	self->fd = mpq_new(variant->maxsize, MSG_MAX, variant->maxbytes, 0);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(mpmc)
{
	close(self->fd);
	munmap(self->logs, CONSUMERS * sizeof(struct log));
}

TEST_F_TIMEOUT(mpmc, exactly_once_in_order, 120)
{
	pid_t prod[PRODUCERS], cons[CONSUMERS];
	static unsigned char seen[PRODUCERS][PER_PRODUCER];
	struct mpq_stat st;
	int i, j, total = 0;

	for (i = 0; i < CONSUMERS; i++) {
		cons[i] = spawn();
		ASSERT_LE(0, cons[i]);
		if (cons[i] == 0)
			_exit(consume(self->fd, variant->api, &self->logs[i]));
	}
	for (i = 0; i < PRODUCERS; i++) {
		prod[i] = spawn();
		ASSERT_LE(0, prod[i]);
		if (prod[i] == 0)
			_exit(produce(self->fd, variant->api, i));
	}
	EXPECT_EQ(0, run_workers(self->fd, prod, cons));

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < CONSUMERS; i++) {
		for (j = 0; j < self->logs[i].count; j++) {
			__u32 id = self->logs[i].ids[j];

			seen[id >> 16][id & 0xffff]++;
		}
		total += self->logs[i].count;
	}
	EXPECT_EQ(TOTAL, total);
	for (i = 0; i < PRODUCERS; i++) {
		for (j = 0; j < PER_PRODUCER; j++) {
			if (seen[i][j] != 1)
				break;
		}
		/* The first message of producer i not seen exactly once. */
		EXPECT_EQ(PER_PRODUCER, j)
			TH_LOG("producer %d: a message seen %d times", i,
			       seen[i][j]);
	}

	ASSERT_EQ(0, q_stat(self->fd, &st));
	EXPECT_EQ(0ULL, st.qsize);
	EXPECT_EQ(0ULL, st.bytes);
	EXPECT_EQ((__u64)TOTAL, st.total_puts);
	EXPECT_EQ((__u64)TOTAL, st.total_gets);
	/* Every consumer called task_done for each message. */
	EXPECT_EQ(0ULL, st.unfinished);
	EXPECT_EQ(0, q_join_soon(self->fd));
}

/*
 * put() is done when it returns: nothing is buffered in the producer, so
 * a producer that exits or is killed right after it loses nothing.
 */
TEST(producers_exit_after_put)
{
	unsigned int seen = 0, id;
	int fd = mpq_new(0, 0, 0, 0);
	pid_t pid[20];
	int i;

	ASSERT_LE(0, fd);
	for (i = 0; i < 20; i++) {
		pid[i] = spawn();
		ASSERT_LE(0, pid[i]);
		if (pid[i] == 0) {
			id = i;
			if (q_write(fd, &id, sizeof(id)) != sizeof(id))
				_exit(1);
			if (i % 2)
				raise(SIGKILL);
			_exit(0);
		}
	}
	for (i = 0; i < 20; i++)
		EXPECT_EQ(i % 2 ? 128 + SIGKILL : 0, reap(pid[i]));
	ASSERT_EQ(0, fcntl(fd, F_SETFL, O_NONBLOCK));
	for (i = 0; i < 20; i++) {
		ASSERT_EQ((long)sizeof(id), q_read(fd, &id, sizeof(id)));
		ASSERT_GT(20U, id);
		seen |= 1U << id;
	}
	EXPECT_EQ(-EAGAIN, q_read(fd, &id, sizeof(id)));
	EXPECT_EQ((1U << 20) - 1, seen);
	close(fd);
}

/*
 * One consumer, several producers, and no limit: the consumer sees one
 * interleaving of the producers' streams, each in order.
 */
TEST(single_consumer_fifo)
{
	__u32 next[PRODUCERS] = {};
	pid_t pid[PRODUCERS];
	struct msg m;
	int fd = mpq_new(0, MSG_MAX, 0, 0);
	long len;
	int i;

	ASSERT_LE(0, fd);
	for (i = 0; i < PRODUCERS; i++) {
		pid[i] = spawn();
		ASSERT_LE(0, pid[i]);
		if (pid[i] == 0)
			_exit(produce(fd, API_RW, i));
	}
	for (i = 0; i < TOTAL; i++) {
		len = q_read(fd, &m, sizeof(m));
		ASSERT_TRUE(msg_ok(&m, len));
		ASSERT_EQ(next[m.producer], m.seq);
		next[m.producer]++;
	}
	for (i = 0; i < PRODUCERS; i++)
		EXPECT_EQ(0, reap(pid[i]));
}

TEST_HARNESS_MAIN
