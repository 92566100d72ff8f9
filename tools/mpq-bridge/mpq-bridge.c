// SPDX-License-Identifier: GPL-2.0
/*
 * mpq-bridge: carry a named mpq queue to and from a Redis stream, at
 * least once.
 *
 *   mpq-bridge out NAME redis://HOST:PORT/STREAM
 *   mpq-bridge in redis://HOST:PORT/STREAM GROUP NAME
 *
 * out takes a batch from the local queue, gives each message an id
 * (HOST/QUEUE/SEQ), sends the batch as pipelined XADDs and marks the
 * messages done locally (task_done) only once Redis has confirmed every
 * XADD. in reads a batch through a consumer group (XREADGROUP), puts it
 * into the local queue, blocking while that is full, and XACKs it only
 * once it is there; it claims (XAUTOCLAIM) what another consumer of the
 * group left pending longer than --claim-idle. Redis going away is waited
 * out with backoff; what was sent or read and not yet confirmed is sent
 * again with the same ids.
 *
 * Exit status: 0 done; 1 error (message on stderr); 2 usage. See
 * mpq-bridge(8) and Documentation/userspace-api/bridge.rst.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <mpqdev.h>

#include "../common/parse.h"

enum {
	EXIT_DONE = 0,
	EXIT_ERROR = 1,
	EXIT_USAGE = 2,
};

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define DEFAULT_BATCH		256
#define DEFAULT_CLAIM_IDLE	30.0
/* The longest one wait lasts before signals and timers are looked at. */
#define TICK			0.25
#define TICK_MS			250
/* Sequence numbers reserved in Redis per INCRBY. */
#define SEQ_BLOCK		65536
/* out: largest message received in place; bigger ones are allocated. */
#define SLOT_MAX		(64 * 1024)
#define BACKOFF_MIN		0.05
#define BACKOFF_MAX		2.0
/* A command that takes longer than this means the server is gone. */
#define IO_TIMEOUT_SEC		10

static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t report_wanted;

static void on_stop(int sig)
{
	stop_signal = sig;
}

static void on_report(int sig)
{
	(void)sig;
	report_wanted = 1;
}

struct url {
	char host[256];
	int port;
	const char *stream;
	const char *user;	/* NULL: AUTH with the password only */
	const char *password;	/* NULL: no AUTH */
	char buf[1024];		/* what user and password point into */
};

struct counters {
	uint64_t taken;		/* out: messages taken from the local queue */
	uint64_t sent;		/* out: XADDs confirmed (messages done) */
	uint64_t read;		/* in: entries delivered by XREADGROUP */
	uint64_t claimed;	/* in: entries claimed from other consumers */
	uint64_t redelivered;	/* in: entries put flagged as redelivered */
	uint64_t put;		/* in: messages put into the local queue */
	uint64_t acked;		/* in: XACKs confirmed */
	uint64_t skipped;	/* in: entries without a data field, acked */
	uint64_t batches;
	uint64_t reconnects;
};

struct bridge {
	bool out;
	const char *name;		/* local queue */
	const char *group;
	char consumer[320];
	char origin[MPQ_MSGID_HOST_MAX + 1];
	struct url url;
	redisContext *rc;
	mpq_t *q;
	size_t msgsize_max;
	size_t batch;
	uint64_t count;			/* stop after this many; 0: never */
	double claim_idle;
	double interval;		/* --interval; 0: none */
	double reconnect_max;		/* give up after; 0: never */
	bool json;
	bool envelope;
	bool create_group;
	bool failed;			/* gave up: exit status 1 */
	bool can_put_back;		/* out: the queue is open O_RDWR */
	struct counters n;
	double next_report;
	/* out: the sequence numbers reserved, next..last */
	uint64_t seq_next, seq_last;
	/* in: ids put locally and not yet acknowledged in Redis */
	char **ack;
	size_t ack_n;
};

static void die_oom(void)
{
	fputs("mpq-bridge: out of memory\n", stderr);
	exit(EXIT_ERROR);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die_oom();
	return p;
}

static char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (!p)
		die_oom();
	return p;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_for(double s)
{
	struct timespec ts = {
		.tv_sec = (time_t)s,
		.tv_nsec = (long)((s - floor(s)) * 1e9),
	};

	/* A signal ends the sleep early: the caller looks at it. */
	nanosleep(&ts, NULL);
}

/* "mpq-bridge: MESSAGE\n" on stderr. */
static void vmessage(const char *fmt, va_list ap)
{
	fputs("mpq-bridge: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	return EXIT_ERROR;
}

/* Names, groups and hosts are printed as JSON strings: escape them. */
static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* CPU seconds this process has used, user and system. */
static double cpu_seconds(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void report(struct bridge *b)
{
	const struct counters *n = &b->n;

	if (!b->json) {
		if (b->out)
			fprintf(stderr, "mpq-bridge: %s: taken %" PRIu64 ", sent %" PRIu64
				", reconnects %" PRIu64 "\n", b->name, n->taken,
				n->sent, n->reconnects);
		else
			fprintf(stderr, "mpq-bridge: %s: read %" PRIu64 ", claimed %" PRIu64
				", put %" PRIu64 ", acked %" PRIu64 ", reconnects %" PRIu64 "\n",
				b->name, n->read, n->claimed, n->put, n->acked,
				n->reconnects);
		return;
	}
	printf("{\"mode\": \"%s\", \"queue\": ", b->out ? "out" : "in");
	json_string(stdout, b->name);
	fputs(", \"stream\": ", stdout);
	json_string(stdout, b->url.stream);
	if (b->out) {
		printf(", \"taken\": %" PRIu64 ", \"sent\": %" PRIu64, n->taken,
		       n->sent);
	} else {
		fputs(", \"group\": ", stdout);
		json_string(stdout, b->group);
		fputs(", \"consumer\": ", stdout);
		json_string(stdout, b->consumer);
		printf(", \"read\": %" PRIu64 ", \"claimed\": %" PRIu64
		       ", \"redelivered\": %" PRIu64 ", \"put\": %" PRIu64
		       ", \"acked\": %" PRIu64 ", \"skipped\": %" PRIu64,
		       n->read, n->claimed, n->redelivered, n->put, n->acked,
		       n->skipped);
	}
	printf(", \"batches\": %" PRIu64 ", \"reconnects\": %" PRIu64
	       ", \"cpu\": %.2f}\n", n->batches, n->reconnects, cpu_seconds());
	fflush(stdout);
}

/* Print the counters if SIGUSR1 asked or --interval has passed. */
static void maybe_report(struct bridge *b)
{
	double t;

	if (report_wanted) {
		report_wanted = 0;
		report(b);
	}
	if (b->interval > 0) {
		t = now();
		if (t >= b->next_report) {
			report(b);
			b->next_report = t + b->interval;
		}
	}
}

/*
 * redis://[[USER]:PASSWORD@]HOST[:PORT]/STREAM, HOST a name, an IPv4
 * address or an IPv6 one in brackets. false with *why set if malformed.
 */
static bool parse_url(const char *s, struct url *u, const char **why)
{
	const char *p, *slash, *at, *end, *colon;
	size_t len;
	long port;
	char *e;

	memset(u, 0, sizeof(*u));
	u->port = 6379;
	if (strncmp(s, "redis://", 8)) {
		*why = "it does not start with redis://";
		return false;
	}
	p = s + 8;
	slash = strchr(p, '/');
	if (!slash || !slash[1]) {
		*why = "no /STREAM after the server";
		return false;
	}
	u->stream = slash + 1;
	at = memrchr(p, '@', (size_t)(slash - p));
	if (at) {
		len = (size_t)(at - p);
		if (len >= sizeof(u->buf)) {
			*why = "user and password too long";
			return false;
		}
		memcpy(u->buf, p, len);
		u->buf[len] = '\0';
		e = strchr(u->buf, ':');
		if (e) {
			*e = '\0';
			u->user = u->buf[0] ? u->buf : NULL;
			u->password = e + 1;
		} else {
			u->password = u->buf;
		}
		p = at + 1;
	}
	end = slash;
	if (*p == '[') {
		colon = memchr(p, ']', (size_t)(end - p));
		if (!colon) {
			*why = "no ] after an IPv6 address";
			return false;
		}
		len = (size_t)(colon - p - 1);
		p++;
		colon++;
		if (colon != end && *colon != ':') {
			*why = "junk after ]";
			return false;
		}
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		len = (size_t)((colon ? colon : end) - p);
	}
	if (len == 0 || len >= sizeof(u->host)) {
		*why = len ? "host name too long" : "no HOST";
		return false;
	}
	memcpy(u->host, p, len);
	u->host[len] = '\0';
	if (colon && colon != end) {
		errno = 0;
		port = strtol(colon + 1, &e, 10);
		if (colon + 1 == end || e != end || errno || port < 1 ||
		    port > 65535 || colon[1] < '0' || colon[1] > '9') {
			*why = "PORT is not a number from 1 to 65535";
			return false;
		}
		u->port = (int)port;
	}
	return true;
}

/* A reply that says the connection is gone (NULL) or the server not ready. */
static bool transient(const redisReply *r)
{
	if (!r)
		return true;
	return r->type == REDIS_REPLY_ERROR &&
	       (!strncmp(r->str, "LOADING", 7) ||
		!strncmp(r->str, "BUSY ", 5) ||
		!strncmp(r->str, "MASTERDOWN", 10) ||
		!strncmp(r->str, "TRYAGAIN", 8));
}

/*
 * Connect to the server and authenticate. NULL with a message in why
 * (a static buffer) if it failed; *final is set when retrying cannot help
 * (the password was refused).
 */
static redisContext *connect_once(const struct url *u, char *why,
				  size_t whylen, bool *final)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_SEC };
	const char *argv[3] = { "AUTH" };
	redisContext *c;
	redisReply *r;
	int argc = 1;

	*final = false;
	c = redisConnectWithTimeout(u->host, u->port,
				    (struct timeval){ .tv_sec = 5 });
	if (!c || c->err) {
		snprintf(why, whylen, "cannot connect to %s:%d: %s", u->host,
			 u->port, c ? c->errstr : "out of memory");
		redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, tv);
	redisEnableKeepAlive(c);
	if (u->password) {
		if (u->user)
			argv[argc++] = u->user;
		argv[argc++] = u->password;
		r = redisCommandArgv(c, argc, argv, NULL);
	} else {
		r = redisCommand(c, "PING");
	}
	if (!r || r->type == REDIS_REPLY_ERROR) {
		*final = r && !transient(r);
		snprintf(why, whylen, "%s:%d: %s", u->host, u->port,
			 r ? r->str : c->errstr);
		freeReplyObject(r);
		redisFree(c);
		return NULL;
	}
	freeReplyObject(r);
	return c;
}

/*
 * The connection was lost or the server is not ready: reconnect with
 * backoff, for ever or --reconnect-max seconds. Returns false if it gave
 * up (message printed) or a stop signal came.
 */
static bool reconnect(struct bridge *b, const char *what)
{
	double delay = BACKOFF_MIN, start = now();
	char why[512];
	bool final;

	fprintf(stderr, "mpq-bridge: %s:%d: %s; reconnecting\n", b->url.host,
		b->url.port, what);
	redisFree(b->rc);
	b->rc = NULL;
	for (;;) {
		maybe_report(b);
		if (stop_signal)
			return false;
		b->rc = connect_once(&b->url, why, sizeof(why), &final);
		if (b->rc)
			break;
		if (final) {
			b->failed = true;
			fail("%s", why);
			return false;
		}
		if (b->reconnect_max > 0 && now() - start >= b->reconnect_max) {
			b->failed = true;
			fail("%s; gave up after %g s", why, b->reconnect_max);
			return false;
		}
		sleep_for(delay);
		delay = fmin(delay * 2, BACKOFF_MAX);
	}
	b->n.reconnects++;
	fprintf(stderr, "mpq-bridge: %s:%d: reconnected\n", b->url.host,
		b->url.port);
	return true;
}

/* Why a connection-level failure happened, for reconnect(). */
static const char *lost_why(const redisContext *c, const redisReply *r)
{
	if (r)
		return r->str;
	return c && c->errstr[0] ? c->errstr : "connection lost";
}

/*
 * Send a command (pipelined after the pending XACK of an in bridge) and
 * return its reply, reconnecting and resending on a connection failure or
 * a server not ready. NULL if it gave up; a Redis error reply is returned
 * for the caller to judge.
 */
static redisReply *call(struct bridge *b, int argc, const char **argv,
			const size_t *lens);

/* out ------------------------------------------------------------------ */

/* Reserve SEQ_BLOCK sequence numbers for this host and queue. */
static bool reserve_seq(struct bridge *b)
{
	char key[512];
	const char *argv[3] = { "INCRBY", key, "65536" };
	redisReply *r;

	snprintf(key, sizeof(key), "mpq-bridge:seq:%s/%s", b->origin, b->name);
	r = call(b, 3, argv, NULL);
	if (!r)
		return false;
	if (r->type != REDIS_REPLY_INTEGER || r->integer < SEQ_BLOCK) {
		fail("%s:%d: INCRBY %s: %s", b->url.host, b->url.port, key,
		     r->type == REDIS_REPLY_ERROR ? r->str : "not a number");
		freeReplyObject(r);
		return false;
	}
	b->seq_last = (uint64_t)r->integer;
	b->seq_next = b->seq_last - SEQ_BLOCK + 1;
	freeReplyObject(r);
	return true;
}

/*
 * XADD msgs[0..n) with ids[0..n), pipelined, until every one is confirmed.
 * On a lost connection the whole batch is sent again with the same ids: a
 * consumer may see an entry twice, never two ids for one message.
 */
static int send_batch(struct bridge *b, const struct mpq_msg *msgs,
		      char (*ids)[MPQ_MSGID_MAX + 1], size_t n)
{
	const char *argv[7] = { "XADD", b->url.stream, "*", "data", NULL,
				"id", NULL };
	size_t lens[7] = { 4, strlen(b->url.stream), 1, 4, 0, 2, 0 };
	redisReply *r;
	size_t i, ok;
	bool lost;

	for (;;) {
		if (!b->rc && !reconnect(b, "not connected"))
			return EXIT_ERROR;
		for (i = 0; i < n; i++) {
			argv[4] = msgs[i].buf;
			lens[4] = msgs[i].result;
			argv[6] = ids[i];
			lens[6] = strlen(ids[i]);
			if (redisAppendCommandArgv(b->rc, 7, argv, lens) != REDIS_OK)
				die_oom();
		}
		lost = false;
		for (i = ok = 0; i < n && !lost; i++) {
			r = NULL;
			if (redisGetReply(b->rc, (void **)&r) != REDIS_OK ||
			    transient(r)) {
				lost = true;
				if (!reconnect(b, lost_why(b->rc, r))) {
					freeReplyObject(r);
					return EXIT_ERROR;
				}
			} else if (r->type == REDIS_REPLY_ERROR) {
				fail("%s:%d: XADD %s: %s", b->url.host,
				     b->url.port, b->url.stream, r->str);
				freeReplyObject(r);
				return EXIT_ERROR;
			} else {
				ok++;
			}
			freeReplyObject(r);
		}
		if (ok == n)
			return EXIT_DONE;
	}
}

/*
 * A batch taken from the local queue that Redis did not confirm (Redis
 * stayed away, or a stop signal came while waiting for it): put it back
 * at the tail of the queue, then mark the originals done, so that nothing
 * is lost and unfinished stays right.
 */
static void put_back(struct bridge *b, struct mpq_msg *msgs, size_t n)
{
	size_t i, done = 0;
	ssize_t ret = 0;

	for (i = 0; i < n; i++)
		msgs[i].len = msgs[i].result;
	while (b->can_put_back && done < n) {
		ret = mpq_put_many(b->q, msgs + done, n - done, true, 10);
		if (ret < 0)
			break;
		done += (size_t)ret;
	}
	if (done)
		mpq_task_done_many(b->q, done);
	if (done == n)
		fprintf(stderr, "mpq-bridge: %s: %zu messages not confirmed by Redis put back at the tail of the queue\n",
			b->name, n);
	else
		fprintf(stderr, "mpq-bridge: %s: %zu messages not confirmed by Redis are lost: %s\n",
			b->name, n - done, b->can_put_back ?
			strerror((int)-ret) : "the queue is not open for writing");
}

static int run_out(struct bridge *b)
{
	size_t slot = b->msgsize_max < SLOT_MAX ? b->msgsize_max : SLOT_MAX;
	struct mpq_msg *msgs = xmalloc(b->batch * sizeof(*msgs));
	char (*ids)[MPQ_MSGID_MAX + 1] = xmalloc(b->batch * sizeof(*ids));
	char *arena = xmalloc(b->batch * slot);
	struct mpq_msgid id = { 0 };
	void *big = NULL;
	size_t i, want;
	ssize_t got;
	int status = EXIT_DONE, ret;

	snprintf(id.host, sizeof(id.host), "%s", b->origin);
	snprintf(id.queue, sizeof(id.queue), "%s", b->name);
	if (!reserve_seq(b))
		status = EXIT_ERROR;
	while (status == EXIT_DONE && !stop_signal &&
	       (!b->count || b->n.sent < b->count)) {
		maybe_report(b);
		want = b->batch;
		if (b->count && b->count - b->n.sent < want)
			want = (size_t)(b->count - b->n.sent);
		for (i = 0; i < want; i++) {
			msgs[i].buf = arena + i * slot;
			msgs[i].len = slot;
		}
		got = mpq_get_many(b->q, msgs, want, true, TICK);
		if (got == -EMSGSIZE) {
			/* The head is larger than a slot: take it alone. */
			got = mpq_get_alloc(b->q, &big, false, -1);
			if (got >= 0) {
				msgs[0].buf = big;
				msgs[0].result = (size_t)got;
				got = 1;
			}
		}
		if (got == -ETIMEDOUT || got == -EAGAIN)
			continue;
		if (got == -EPIPE)
			break;		/* shut down and drained: done */
		if (got < 0) {
			status = fail("%s: %s", b->name, strerror((int)-got));
			break;
		}
		b->n.taken += (size_t)got;
		for (i = 0; i < (size_t)got; i++) {
			if (b->seq_next > b->seq_last && !reserve_seq(b)) {
				status = EXIT_ERROR;
				break;
			}
			id.seq = b->seq_next++;
			ret = mpq_msgid_format(&id, ids[i], sizeof(ids[i]));
			if (ret < 0) {
				status = fail("cannot make an id for host %s: %s",
					      b->origin, strerror(-ret));
				break;
			}
		}
		if (status == EXIT_DONE)
			status = send_batch(b, msgs, ids, (size_t)got);
		if (status != EXIT_DONE)
			put_back(b, msgs, (size_t)got);
		free(big);
		big = NULL;
		if (status != EXIT_DONE)
			break;
		ret = mpq_task_done_many(b->q, (uint64_t)got);
		if (ret) {
			status = fail("%s: task done: %s", b->name,
				      strerror(-ret));
			break;
		}
		b->n.sent += (size_t)got;
		b->n.batches++;
	}
	free(arena);
	free(ids);
	free(msgs);
	if (b->failed)
		return EXIT_ERROR;
	return stop_signal ? EXIT_DONE : status;
}

/* in ------------------------------------------------------------------- */

static void ack_add(struct bridge *b, const char *id, size_t len)
{
	b->ack[b->ack_n++] = xstrndup(id, len);
}

static void ack_clear(struct bridge *b)
{
	size_t i;

	for (i = 0; i < b->ack_n; i++)
		free(b->ack[i]);
	b->ack_n = 0;
}

static redisReply *call(struct bridge *b, int argc, const char **argv,
			const size_t *lens)
{
	const char **xack = NULL;
	redisReply *r, *ra;
	size_t i;
	bool acking;

	for (;;) {
		if (!b->rc && !reconnect(b, "not connected"))
			return NULL;
		acking = b->ack_n > 0;
		if (acking) {
			xack = xmalloc((b->ack_n + 3) * sizeof(*xack));
			xack[0] = "XACK";
			xack[1] = b->url.stream;
			xack[2] = b->group;
			for (i = 0; i < b->ack_n; i++)
				xack[i + 3] = b->ack[i];
			if (redisAppendCommandArgv(b->rc, (int)b->ack_n + 3,
						   xack, NULL) != REDIS_OK)
				die_oom();
			free(xack);
		}
		if (argc && redisAppendCommandArgv(b->rc, argc, argv,
						   lens) != REDIS_OK)
			die_oom();
		ra = NULL;
		if (acking) {
			if (redisGetReply(b->rc, (void **)&ra) != REDIS_OK ||
			    transient(ra)) {
				if (!reconnect(b, lost_why(b->rc, ra))) {
					freeReplyObject(ra);
					return NULL;
				}
				freeReplyObject(ra);
				continue;
			}
			if (ra->type == REDIS_REPLY_ERROR) {
				b->failed = true;
				fail("%s:%d: XACK %s %s: %s", b->url.host,
				     b->url.port, b->url.stream, b->group,
				     ra->str);
				freeReplyObject(ra);
				return NULL;
			}
			b->n.acked += b->ack_n;
			ack_clear(b);
			freeReplyObject(ra);
		}
		if (!argc)
			return NULL;
		r = NULL;
		if (redisGetReply(b->rc, (void **)&r) == REDIS_OK &&
		    !transient(r))
			return r;
		if (!reconnect(b, lost_why(b->rc, r))) {
			freeReplyObject(r);
			return NULL;
		}
		freeReplyObject(r);
	}
}

/* The value of field @name of a stream entry's field list, or NULL. */
static const redisReply *field(const redisReply *fields, const char *name)
{
	size_t i;

	if (!fields || fields->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (i = 0; i + 1 < fields->elements; i += 2)
		if (fields->element[i]->type == REDIS_REPLY_STRING &&
		    !strcmp(fields->element[i]->str, name) &&
		    fields->element[i + 1]->type == REDIS_REPLY_STRING)
			return fields->element[i + 1];
	return NULL;
}

/*
 * Put msgs[0..n) into the local queue, waiting while it is full: the puts
 * never sleep in the kernel; poll(2) waits for room (EPOLLOUT), at most a
 * TICK at a time, so that signals and --interval are looked at.
 */
static int put_all(struct bridge *b, const struct mpq_msg *msgs, size_t n,
		   size_t *done)
{
	struct pollfd pfd = { .fd = mpq_fileno(b->q), .events = POLLOUT };
	bool waited = false;
	ssize_t ret;

	*done = 0;
	while (*done < n) {
		maybe_report(b);
		if (stop_signal)
			return EXIT_DONE;
		ret = mpq_put_many(b->q, msgs + *done, n - *done, false, -1);
		if (ret == -EAGAIN) {
			/*
			 * EPOLLOUT means a 1-byte put fits; a larger message
			 * may still wait for bytes to drain.
			 */
			if (waited)
				sleep_for(0.005);
			waited = poll(&pfd, 1, TICK_MS) > 0;
			continue;
		}
		waited = false;
		if (ret == -EPIPE) {
			fprintf(stderr, "mpq-bridge: %s: the queue was shut down\n",
				b->name);
			stop_signal = SIGTERM;
			return EXIT_DONE;
		}
		if (ret < 0)
			return fail("%s: %s", b->name, strerror((int)-ret));
		*done += (size_t)ret;
	}
	return EXIT_DONE;
}

/*
 * Put a batch of stream entries (XREADGROUP's or XAUTOCLAIM's array of
 * [id, fields]) into the local queue and queue their XACK. Entries that no
 * longer exist (trimmed) or carry no data field are acknowledged without a
 * put. A message over the local queue's msgsize_max stops the bridge: the
 * entries before it are put and acknowledged, it and the rest stay pending
 * in the group.
 */
static int put_entries(struct bridge *b, const redisReply *entries,
		       bool redelivered, size_t *count)
{
	size_t n = entries->elements, i, k, done = 0;
	struct mpq_msg *msgs = xmalloc(n * sizeof(*msgs));
	const redisReply **ids = xmalloc(n * sizeof(*ids));
	char **bufs = xmalloc(n * sizeof(*bufs));
	const redisReply *e, *data, *idf;
	char head[MPQ_ENVELOPE_MAX];
	struct mpq_msgid id;
	int status = EXIT_DONE;
	ssize_t h;

	*count = n;
	b->ack = realloc(b->ack, (b->ack_n + n) * sizeof(*b->ack));
	if (!b->ack)
		die_oom();
	for (i = k = 0; i < n; i++) {
		e = entries->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
		    e->element[0]->type != REDIS_REPLY_STRING)
			continue;
		data = field(e->element[1], "data");
		if (!data) {
			if (e->element[1]->type == REDIS_REPLY_ARRAY) {
				fprintf(stderr, "mpq-bridge: %s: entry %s has no data field; acknowledged and skipped\n",
					b->url.stream, e->element[0]->str);
				b->n.skipped++;
			}
			ack_add(b, e->element[0]->str, e->element[0]->len);
			continue;
		}
		idf = field(e->element[1], "id");
		h = 0;
		if (b->envelope && idf &&
		    !mpq_msgid_parse(idf->str, idf->len, &id)) {
			id.redelivered = redelivered;
			h = mpq_envelope_format(&id, head, sizeof(head));
			if (h < 0)
				h = 0;
		}
		if ((size_t)h + data->len > b->msgsize_max) {
			status = fail("%s: entry %s is %zu bytes, over the msgsize_max of local queue %s (%zu bytes); left pending in group %s",
				      b->url.stream, e->element[0]->str,
				      (size_t)h + data->len, b->name,
				      b->msgsize_max, b->group);
			break;
		}
		bufs[k] = NULL;
		msgs[k].buf = (void *)data->str;
		msgs[k].len = data->len;
		if (h) {
			/* The envelope and the payload, in one message. */
			bufs[k] = xmalloc((size_t)h + data->len);
			memcpy(bufs[k], head, (size_t)h);
			memcpy(bufs[k] + h, data->str, data->len);
			msgs[k].buf = bufs[k];
			msgs[k].len = (size_t)h + data->len;
		}
		ids[k++] = e->element[0];
	}
	if (k && put_all(b, msgs, k, &done))
		status = EXIT_ERROR;
	for (i = 0; i < done; i++)
		ack_add(b, ids[i]->str, ids[i]->len);
	b->n.put += done;
	if (redelivered)
		b->n.redelivered += done;
	for (i = 0; i < k; i++)
		free(bufs[i]);
	free(bufs);
	free(ids);
	free(msgs);
	return status;
}

/* NOGROUP and friends: the consumer group is not there. */
static int group_error(struct bridge *b, const redisReply *r)
{
	if (!strncmp(r->str, "NOGROUP", 7))
		return fail("stream %s has no consumer group %s (--create-group creates it)",
			    b->url.stream, b->group);
	return fail("%s:%d: %s", b->url.host, b->url.port, r->str);
}

static int check_group(struct bridge *b)
{
	const char *create[] = { "XGROUP", "CREATE", b->url.stream, b->group,
				 "0", "MKSTREAM" };
	const char *info[] = { "XINFO", "GROUPS", b->url.stream };
	const redisReply *g, *nm;
	redisReply *r;
	size_t i;
	bool found = false;

	if (b->create_group) {
		r = call(b, ARRAY_SIZE(create), create, NULL);
		if (!r)
			return EXIT_ERROR;
		if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9)) {
			fail("%s:%d: XGROUP CREATE %s %s: %s", b->url.host,
			     b->url.port, b->url.stream, b->group, r->str);
			freeReplyObject(r);
			return EXIT_ERROR;
		}
		freeReplyObject(r);
		return EXIT_DONE;
	}
	r = call(b, ARRAY_SIZE(info), info, NULL);
	if (!r)
		return EXIT_ERROR;
	if (r->type == REDIS_REPLY_ARRAY) {
		for (i = 0; i < r->elements && !found; i++) {
			g = r->element[i];
			nm = g->type == REDIS_REPLY_ARRAY ? field(g, "name") : NULL;
			found = nm && !strcmp(nm->str, b->group);
		}
	}
	freeReplyObject(r);
	if (!found)
		return fail("stream %s has no consumer group %s (--create-group creates it)",
			    b->url.stream, b->group);
	return EXIT_DONE;
}

static int run_in(struct bridge *b)
{
	char idle_ms[32], count[32], block_ms[32], own[64] = "0";
	char cursor[64] = "0-0";
	const char *claim[] = { "XAUTOCLAIM", b->url.stream, b->group,
				b->consumer, idle_ms, cursor, "COUNT", count };
	/* What was delivered to this consumer and not acknowledged... */
	const char *mine[] = { "XREADGROUP", "GROUP", b->group, b->consumer,
			       "COUNT", count, "STREAMS", b->url.stream, own };
	/* ...and what no consumer of the group has had yet. */
	const char *fresh[] = { "XREADGROUP", "GROUP", b->group, b->consumer,
				"COUNT", count, "BLOCK", block_ms, "STREAMS",
				b->url.stream, ">" };
	const redisReply *entries, *last;
	double next_claim = 0, t;
	bool reading_own = true;
	uint64_t reconnects;
	redisReply *r;
	size_t n;
	int status;

	snprintf(idle_ms, sizeof(idle_ms), "%lld",
		 (long long)llround(b->claim_idle * 1000));
	snprintf(count, sizeof(count), "%zu", b->batch);
	snprintf(block_ms, sizeof(block_ms), "%d", TICK_MS);
	status = check_group(b);
	while (status == EXIT_DONE && !stop_signal &&
	       (!b->count || b->n.put < b->count)) {
		maybe_report(b);
		reconnects = b->n.reconnects;
		t = now();
		if (t >= next_claim) {
			/* What a dead consumer left pending past claim_idle. */
			r = call(b, ARRAY_SIZE(claim), claim, NULL);
			if (!r)
				break;
			if (r->type == REDIS_REPLY_ERROR) {
				status = group_error(b, r);
			} else if (r->type == REDIS_REPLY_ARRAY &&
				   r->elements >= 2 &&
				   r->element[0]->type == REDIS_REPLY_STRING &&
				   r->element[1]->type == REDIS_REPLY_ARRAY) {
				snprintf(cursor, sizeof(cursor), "%s",
					 r->element[0]->str);
				entries = r->element[1];
				if (entries->elements) {
					status = put_entries(b, entries, true, &n);
					b->n.claimed += n;
					b->n.batches++;
				}
				if (!strcmp(cursor, "0-0"))
					next_claim = t + b->claim_idle / 4;
			}
			freeReplyObject(r);
			continue;
		}
		if (reading_own)
			r = call(b, ARRAY_SIZE(mine), mine, NULL);
		else
			r = call(b, ARRAY_SIZE(fresh), fresh, NULL);
		if (!r)
			break;
		if (r->type == REDIS_REPLY_ERROR) {
			status = group_error(b, r);
		} else if (r->type == REDIS_REPLY_ARRAY && r->elements &&
			   r->element[0]->type == REDIS_REPLY_ARRAY &&
			   r->element[0]->elements == 2 &&
			   r->element[0]->element[1]->type == REDIS_REPLY_ARRAY) {
			entries = r->element[0]->element[1];
			n = entries->elements;
			if (reading_own && n) {
				last = entries->element[n - 1];
				if (last->type == REDIS_REPLY_ARRAY &&
				    last->elements &&
				    last->element[0]->type == REDIS_REPLY_STRING)
					snprintf(own, sizeof(own), "%s",
						 last->element[0]->str);
			} else if (reading_own) {
				reading_own = false;
			}
			if (n) {
				status = put_entries(b, entries, reading_own, &n);
				b->n.read += n;
				b->n.batches++;
			}
		} else if (reading_own) {
			reading_own = false;
		}
		freeReplyObject(r);
		if (b->n.reconnects != reconnects) {
			/*
			 * A reply may have been lost with the connection: what
			 * it delivered is pending on this consumer. Read that
			 * first.
			 */
			reading_own = true;
			snprintf(own, sizeof(own), "0");
		}
	}
	/* Acknowledge what is in the local queue before leaving. */
	if (b->ack_n && b->rc)
		call(b, 0, NULL, NULL);
	if (b->ack_n)
		fprintf(stderr, "mpq-bridge: %zu entries put but not acknowledged; the group will deliver them again\n",
			b->ack_n);
	return b->failed ? EXIT_ERROR : status;
}

/* main ----------------------------------------------------------------- */

static const char usage_text[] =
	"usage: mpq-bridge out [OPTIONS] NAME redis://HOST[:PORT]/STREAM\n"
	"       mpq-bridge in [OPTIONS] redis://HOST[:PORT]/STREAM GROUP NAME\n";

static const char help_text[] =
	"Carry the named mpq queue NAME to (out) or from (in) a Redis stream,\n"
	"at least once. The URL may hold [USER]:PASSWORD@ before HOST.\n"
	"\n"
	"Options of both:\n"
	"  --batch N            messages per pipelined batch (default 256, at most 1024)\n"
	"  --count N            stop after N messages moved (default: no limit)\n"
	"  --json               counters as one JSON object per line on stdout\n"
	"  --interval SECONDS   print the counters every SECONDS (also on SIGUSR1)\n"
	"  --reconnect-max SECONDS  give up when Redis stays away this long\n"
	"                       (default: retry for ever)\n"
	"out:\n"
	"  --origin HOST        the host part of the message ids (default: hostname)\n"
	"in:\n"
	"  --create-group       create GROUP (at the start of the stream) if missing\n"
	"  --consumer NAME      the consumer name in GROUP (default: HOST-PID)\n"
	"  --claim-idle SECONDS claim entries other consumers left pending this\n"
	"                       long (default 30)\n"
	"  --envelope           put each message behind an \"mpq-id ID\" line\n"
	"\n"
	"out ends when NAME is shut down and drained; in runs until SIGTERM or\n"
	"SIGINT. Exit status: 0 done, 1 error, 2 usage. See mpq-bridge(8).\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	fprintf(stderr, "%sTry 'mpq-bridge --help'.\n", usage_text);
	return EXIT_USAGE;
}

static int open_local(struct bridge *b)
{
	struct mpq_stat st;
	int ret;

	/* out reads, and writes only to put back what Redis did not take. */
	b->q = mpq_open(b->name, (b->out ? O_RDWR : O_WRONLY) | O_CLOEXEC,
			0, NULL);
	b->can_put_back = b->out && b->q;
	if (!b->q && b->out && errno == EACCES)
		b->q = mpq_open(b->name, O_RDONLY | O_CLOEXEC, 0, NULL);
	if (!b->q) {
		if (errno == ENOENT && access(MPQ_CONTROL_PATH, F_OK))
			return fail("no " MPQ_CONTROL_PATH " (is the mpq module loaded?)");
		if (errno == ENOENT)
			return fail("%s: no such queue (mpqctl create %s)",
				    b->name, b->name);
		if (errno == EINVAL)
			return fail("%s: not a queue name", b->name);
		return fail("%s: %s", b->name, strerror(errno));
	}
	ret = mpq_stat(b->q, &st);
	if (ret)
		return fail("%s: %s", b->name, strerror(-ret));
	b->msgsize_max = (size_t)st.msgsize_max;
	return EXIT_DONE;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "batch", required_argument, NULL, 'b' },
		{ "count", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "interval", required_argument, NULL, 'i' },
		{ "reconnect-max", required_argument, NULL, 'R' },
		{ "origin", required_argument, NULL, 'o' },
		{ "create-group", no_argument, NULL, 'C' },
		{ "consumer", required_argument, NULL, 'c' },
		{ "claim-idle", required_argument, NULL, 'I' },
		{ "envelope", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bridge b = { .batch = DEFAULT_BATCH,
			    .claim_idle = DEFAULT_CLAIM_IDLE };
	const char *mode, *urlarg, *why, *origin = NULL, *consumer = NULL;
	struct sigaction sa = { 0 };
	char why_buf[512], host[MPQ_MSGID_HOST_MAX + 1];
	uint64_t v;
	bool final;
	int c, status;

	if (argc < 2)
		return usage_error("missing out or in");
	mode = argv[1];
	if (!strcmp(mode, "--help") || !strcmp(mode, "-h")) {
		fputs(usage_text, stdout);
		fputs(help_text, stdout);
		return fflush(stdout) ? EXIT_ERROR : EXIT_DONE;
	}
	if (!strcmp(mode, "--version")) {
		printf("mpq-bridge (libmpqdev) %s\n", MPQDEV_VERSION);
		return EXIT_DONE;
	}
	if (strcmp(mode, "out") && strcmp(mode, "in"))
		return usage_error("unknown mode: %s (want out or in)", mode);
	b.out = !strcmp(mode, "out");
	argc--;
	argv++;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (!parse_u64(optarg, &v) || v == 0 || v > MPQ_BATCH_MAX)
				return usage_error("invalid --batch: %s (1 to %d)",
						   optarg, MPQ_BATCH_MAX);
			b.batch = (size_t)v;
			break;
		case 'n':
			if (!parse_u64(optarg, &b.count))
				return usage_error("invalid --count: %s", optarg);
			break;
		case 'j':
			b.json = true;
			break;
		case 'i':
			if (!parse_seconds(optarg, &b.interval) || b.interval == 0)
				return usage_error("invalid --interval: %s", optarg);
			break;
		case 'R':
			if (!parse_seconds(optarg, &b.reconnect_max))
				return usage_error("invalid --reconnect-max: %s", optarg);
			break;
		case 'I':
			if (!parse_seconds(optarg, &b.claim_idle) ||
			    b.claim_idle < 0.01 || b.claim_idle > 1e9)
				return usage_error("invalid --claim-idle: %s", optarg);
			break;
		case 'o':
			if (!b.out)
				return usage_error("--origin is an option of out");
			origin = optarg;
			break;
		case 'C':
		case 'c':
		case 'e':
			if (b.out)
				return usage_error("%s is an option of in",
						   argv[optind - 1]);
			if (c == 'C')
				b.create_group = true;
			else if (c == 'e')
				b.envelope = true;
			else
				consumer = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			fputs(help_text, stdout);
			return fflush(stdout) ? EXIT_ERROR : EXIT_DONE;
		case ':':
			return usage_error("option requires an argument: %s",
					   argv[optind - 1]);
		default:
			return usage_error("invalid option: %s", argv[optind - 1]);
		}
	}
	if (argc - optind != (b.out ? 2 : 3))
		return usage_error("%s takes %s", mode, b.out ?
				   "NAME and a redis:// URL" :
				   "a redis:// URL, GROUP and NAME");
	if (b.out) {
		b.name = argv[optind];
		urlarg = argv[optind + 1];
	} else {
		urlarg = argv[optind];
		b.group = argv[optind + 1];
		b.name = argv[optind + 2];
		if (!b.group[0])
			return usage_error("empty GROUP");
	}
	if (!parse_url(urlarg, &b.url, &why))
		return usage_error("bad URL %s: %s (want redis://HOST[:PORT]/STREAM)",
				   urlarg, why);
	if (!b.url.password)
		b.url.password = getenv("REDISCLI_AUTH");

	if (gethostname(host, sizeof(host)))
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(b.origin, sizeof(b.origin), "%s", origin ? origin : host);
	if (b.out) {
		struct mpq_msgid probe = { .seq = 0 };
		char idbuf[MPQ_MSGID_MAX + 1];

		snprintf(probe.host, sizeof(probe.host), "%s", b.origin);
		snprintf(probe.queue, sizeof(probe.queue), "%s", b.name);
		if (mpq_msgid_format(&probe, idbuf, sizeof(idbuf)) < 0)
			return usage_error("%s: not usable in a message id (host: printable, no '/' or space; NAME: a queue name)",
					   origin ? "--origin" : "host name");
	}
	if (consumer)
		snprintf(b.consumer, sizeof(b.consumer), "%s", consumer);
	else
		snprintf(b.consumer, sizeof(b.consumer), "%s-%ld", host,
			 (long)getpid());

	signal(SIGPIPE, SIG_IGN);
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_report;
	sigaction(SIGUSR1, &sa, NULL);

	status = open_local(&b);
	if (status)
		return status;
	b.rc = connect_once(&b.url, why_buf, sizeof(why_buf), &final);
	if (!b.rc) {
		fail("%s", why_buf);
		mpq_free(b.q);
		return EXIT_ERROR;
	}
	if (b.interval > 0)
		b.next_report = now() + b.interval;
	status = b.out ? run_out(&b) : run_in(&b);
	if (b.json || b.interval > 0)
		report(&b);
	ack_clear(&b);
	free(b.ack);
	redisFree(b.rc);
	mpq_free(b.q);
	return status;
}
