// SPDX-License-Identifier: GPL-2.0
/*
 * mpqctl: create, inspect and use named mpq queues from the shell.
 *
 * Exit status: 0 done; 1 error (message on stderr); 2 usage; 3 empty,
 * full or timed out; 4 shut down. See mpqctl(8).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <mpqdev.h>

#include "../common/parse.h"

/* mpqctl(8)'s exit statuses; not <sysexits.h>'s (whose EX_USAGE is 64). */
enum {
	MPQCTL_EXIT_DONE = 0,
	MPQCTL_EXIT_ERROR = 1,
	MPQCTL_EXIT_USAGE = 2,
	MPQCTL_EXIT_WOULDBLOCK = 3,	/* empty, full or timed out */
	MPQCTL_EXIT_SHUTDOWN = 4,
};

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Lines of stdin read before `put` queues them, at most. */
#define PUT_BATCH	256

struct cmd {
	const char *name;
	int (*run)(const struct cmd *cmd, int argc, char **argv);
	const char *args;
	const char *help;
};

/* How put/get/join may wait: --nowait, --timeout SECONDS, or forever. */
struct wait_opts {
	bool block;
	double timeout;
	bool have_timeout;
};

static void usage_line(FILE *f, const struct cmd *cmd)
{
	fprintf(f, "usage: mpqctl %s %s\n", cmd->name, cmd->args);
}

static int usage_error(const struct cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_error(const struct cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mpqctl %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage_line(stderr, cmd);
	fprintf(stderr, "Try 'mpqctl %s --help'.\n", cmd->name);
	return MPQCTL_EXIT_USAGE;
}

static int help(const struct cmd *cmd)
{
	usage_line(stdout, cmd);
	fputs(cmd->help, stdout);
	return fflush(stdout) ? MPQCTL_EXIT_ERROR : MPQCTL_EXIT_DONE;
}

/*
 * Report a failed operation on queue NAME and pick the exit status. Like
 * grep's "no match", statuses 3 (empty, full, timed out) and 4 (shut
 * down) are outcomes a script tests for, not errors: they print nothing.
 */
static int fail(const struct cmd *cmd, const char *name, int err)
{
	const char *what;

	switch (err) {
	case EAGAIN:
	case ETIMEDOUT:
		return MPQCTL_EXIT_WOULDBLOCK;
	case EPIPE:
		return MPQCTL_EXIT_SHUTDOWN;
	case ENOENT:
		what = access(MPQ_CONTROL_PATH, F_OK) ?
		       "no " MPQ_CONTROL_PATH " (is the mpq module loaded?)" :
		       "no such queue";
		break;
	case EEXIST:
		what = "queue already exists";
		break;
	case ENOSPC:
		what = "over this user's limit of queues or memory (see mpqctl usage)";
		break;
	case EMSGSIZE:
		what = "message larger than the queue's msgsize_max";
		break;
	default:
		what = strerror(err);
	}
	if (name)
		fprintf(stderr, "mpqctl %s: %s: %s\n", cmd->name, name, what);
	else
		fprintf(stderr, "mpqctl %s: %s\n", cmd->name, what);
	return MPQCTL_EXIT_ERROR;
}

/* A byte count with an optional binary suffix: 512, 64K, 1M, 1G. */
static bool parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return false;
	switch (*end) {
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	case '\0':
		break;
	default:
		return false;
	}
	if (shift && *++end)
		return false;
	if (v > (UINT64_MAX >> shift))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

static bool parse_mode(const char *s, mode_t *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '7')
		return false;
	v = strtoul(s, &end, 8);
	if (*end || v > 0777)
		return false;
	*out = (mode_t)v;
	return true;
}

/*
 * Complain about the option getopt_long() just rejected: ':' (every
 * optstring starts with ':') is a missing argument, '?' an unknown one or
 * an argument given to a --flag.
 */
static int bad_option(const struct cmd *cmd, int c, char **argv)
{
	if (c == ':')
		return usage_error(cmd, "option requires an argument: %s",
				   argv[optind - 1]);
	if (optopt && strncmp(argv[optind - 1], "--", 2))
		return usage_error(cmd, "invalid option: -%c", optopt);
	return usage_error(cmd, "invalid option: %s", argv[optind - 1]);
}

/* Exactly one NAME operand after the options. */
static int one_name(const struct cmd *cmd, int argc, char **argv,
		    const char **name)
{
	if (optind >= argc)
		return usage_error(cmd, "missing queue NAME");
	if (argc - optind > 1)
		return usage_error(cmd, "unexpected argument: %s",
				   argv[optind + 1]);
	*name = argv[optind];
	return MPQCTL_EXIT_DONE;
}

/*
 * Open a queue for access mode acc. Commands that only need some access
 * (stat, join) pass O_RDONLY with fallback set and get O_WRONLY when the
 * node grants only that.
 */
static mpq_t *open_queue(const struct cmd *cmd, const char *name, int acc,
			 bool fallback, int *status)
{
	mpq_t *q = mpq_open(name, acc | O_CLOEXEC, 0, NULL);

	if (!q && errno == EACCES && fallback)
		q = mpq_open(name, O_WRONLY | O_CLOEXEC, 0, NULL);
	if (!q)
		*status = fail(cmd, name, errno);
	return q;
}

static int close_queue(const struct cmd *cmd, const char *name, mpq_t *q,
		       int status)
{
	int ret = mpq_close(q);

	mpq_free(q);
	if (ret && status == MPQCTL_EXIT_DONE)
		return fail(cmd, name, -ret);
	return status;
}

static const struct option help_only[] = {
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/*
 * The options of a command that takes only --help (@optstring ":h", or
 * "+:h" to stop at the first operand): 0 to go on, -1 for --help, or the
 * exit status of a bad option.
 */
static int help_only_opts(const struct cmd *cmd, int argc, char **argv,
			  const char *optstring)
{
	int c = getopt_long(argc, argv, optstring, help_only, NULL);

	if (c == -1)
		return 0;
	return c == 'h' ? -1 : bad_option(cmd, c, argv);
}

/* Parse a command that takes only --help and NAME. */
static int simple_args(const struct cmd *cmd, int argc, char **argv,
		       const char **name)
{
	int ret = help_only_opts(cmd, argc, argv, ":h");

	return ret ? ret : one_name(cmd, argc, argv, name);
}

/* --nowait and --timeout, shared by put, get and join. */
static int wait_option(const struct cmd *cmd, int c, struct wait_opts *w)
{
	if (c == 'N') {
		w->block = false;
	} else {
		if (!parse_seconds(optarg, &w->timeout))
			return usage_error(cmd, "invalid --timeout: %s", optarg);
		w->have_timeout = true;
	}
	if (!w->block && w->have_timeout)
		return usage_error(cmd, "--nowait and --timeout exclude each other");
	return MPQCTL_EXIT_DONE;
}

/*
 * The options of list, stat and usage: --json and --help. Returns -1 to
 * go on, or the exit status (after --help or a bad option).
 */
static int json_option(const struct cmd *cmd, int argc, char **argv,
		       bool *json)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'j')
			*json = true;
		else if (c == 'h')
			return help(cmd);
		else
			return bad_option(cmd, c, argv);
	}
	return -1;
}

static int cmd_create(const struct cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "maxsize", required_argument, NULL, 's' },
		{ "msgsize", required_argument, NULL, 'm' },
		{ "maxbytes", required_argument, NULL, 'b' },
		{ "mode", required_argument, NULL, 'M' },
		{ "redeliver", no_argument, NULL, 'r' },
		{ "max-deliveries", required_argument, NULL, 'D' },
		{ "dead-letter", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mpq_attr attr = { 0 };
	const char *name;
	mode_t mode = 0;
	uint64_t v;
	int c, ret;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!parse_u64(optarg, &v) || v > LONG_MAX)
				return usage_error(cmd, "invalid --maxsize: %s",
						   optarg);
			attr.maxsize = (long)v;
			break;
		case 'm':
			if (!parse_size(optarg, &v) || v > SIZE_MAX)
				return usage_error(cmd, "invalid --msgsize: %s",
						   optarg);
			attr.msgsize_max = (size_t)v;
			break;
		case 'b':
			if (!parse_size(optarg, &v) || v > SIZE_MAX)
				return usage_error(cmd, "invalid --maxbytes: %s",
						   optarg);
			attr.maxbytes = (size_t)v;
			break;
		case 'M':
			if (!parse_mode(optarg, &mode))
				return usage_error(cmd, "invalid --mode: %s",
						   optarg);
			break;
		case 'r':
			attr.flags |= MPQ_ATTR_REDELIVER;
			break;
		case 'D':
			if (!parse_u64(optarg, &v) || v > UINT32_MAX)
				return usage_error(cmd,
						   "invalid --max-deliveries: %s",
						   optarg);
			attr.max_deliveries = (unsigned int)v;
			break;
		case 'L':
			attr.dead_letter = optarg[0] == '/' ? optarg + 1 : optarg;
			break;
		case 'h':
			return help(cmd);
		default:
			return bad_option(cmd, c, argv);
		}
	}
	ret = one_name(cmd, argc, argv, &name);
	if (ret)
		return ret;
	if (!(attr.flags & MPQ_ATTR_REDELIVER) &&
	    (attr.max_deliveries || attr.dead_letter))
		return usage_error(cmd, "--max-deliveries and --dead-letter need --redeliver");
	if (attr.dead_letter && !attr.max_deliveries)
		return usage_error(cmd, "--dead-letter needs --max-deliveries");
	ret = mpq_create(name, mode, &attr);
	if (ret == -ENOENT && attr.dead_letter) {
		fprintf(stderr, "mpqctl %s: %s: no such queue (--dead-letter)\n",
			cmd->name, attr.dead_letter);
		return MPQCTL_EXIT_ERROR;
	}
	if (ret == -EINVAL) {
		fprintf(stderr, "mpqctl %s: %s: invalid name or attributes\n"
			"  NAME: 1 to 64 of [A-Za-z0-9._-], not starting with '.', not 'control'\n"
			"  --msgsize: at most --maxbytes and the module's msgsize_limit\n"
			"  --maxbytes: at most the module's maxbytes_limit\n",
			cmd->name, name);
		return MPQCTL_EXIT_ERROR;
	}
	return ret ? fail(cmd, name, -ret) : MPQCTL_EXIT_DONE;
}

static int cmd_remove(const struct cmd *cmd, int argc, char **argv)
{
	const char *name;
	int ret;

	ret = simple_args(cmd, argc, argv, &name);
	if (ret < 0)
		return help(cmd);
	if (ret)
		return ret;
	ret = mpq_unlink(name);
	return ret ? fail(cmd, name, -ret) : MPQCTL_EXIT_DONE;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The names of all named queues, sorted, in *@names (one allocation: free
 * it alone). Queues come and go between the two calls: retry on ERANGE.
 * Returns how many, or a negative errno.
 */
static ssize_t list_names(char ***names)
{
	char *buf = NULL, *p, **v;
	ssize_t size;
	size_t n = 0, i;

	do {
		size = mpq_list(NULL, 0);
		if (size < 0)
			return size;
		free(buf);
		buf = malloc((size_t)size + 1);
		if (!buf)
			return -ENOMEM;
		if (size)
			size = mpq_list(buf, (size_t)size);
	} while (size == -ERANGE);
	if (size < 0) {
		free(buf);
		return size;
	}
	for (p = buf; p < buf + size; p += strlen(p) + 1)
		n++;
	/* The pointers first, the names they point into after them. */
	v = malloc(n * sizeof(*v) + (size_t)size + 1);
	if (!v) {
		free(buf);
		return -ENOMEM;
	}
	memcpy(v + n, buf, (size_t)size);
	free(buf);
	for (i = 0, p = (char *)(v + n); i < n; p += strlen(p) + 1)
		v[i++] = p;
	qsort(v, n, sizeof(*v), compare_names);
	*names = v;
	return (ssize_t)n;
}

/* Names are [A-Za-z0-9._-]: nothing in them needs JSON escaping. */
static void print_names(char **names, size_t n, bool json)
{
	size_t i;

	if (json)
		fputc('[', stdout);
	for (i = 0; i < n; i++) {
		if (json)
			printf("%s{\"name\": \"%s\"}", i ? ", " : "", names[i]);
		else
			printf("%s\n", names[i]);
	}
	if (json)
		fputs("]\n", stdout);
}

static int cmd_list(const struct cmd *cmd, int argc, char **argv)
{
	char **names;
	bool json = false;
	ssize_t n;
	int c, status = MPQCTL_EXIT_DONE;

	c = json_option(cmd, argc, argv, &json);
	if (c >= 0)
		return c;
	if (optind < argc)
		return usage_error(cmd, "unexpected argument: %s", argv[optind]);
	n = list_names(&names);
	if (n < 0)
		return fail(cmd, NULL, (int)-n);
	print_names(names, (size_t)n, json);
	if (fflush(stdout))
		status = fail(cmd, NULL, errno);
	free(names);
	return status;
}

static const char *state_name(__u32 state)
{
	switch (state) {
	case MPQ_STATE_OPEN:
		return "open";
	case MPQ_STATE_SHUTDOWN:
		return "shutdown";
	case MPQ_STATE_IMMEDIATE:
		return "shutdown-immediate";
	}
	return "unknown";
}

static void print_stat(const char *name, const struct mpq_stat *st,
		       const struct mpq_info *info, bool json)
{
	bool redeliver = info->flags & MPQ_CREATE_REDELIVER;
	const struct {
		const char *key;
		unsigned long long val;
	} fields[] = {
		{ "qsize", st->qsize },
		{ "bytes", st->bytes },
		{ "unfinished", st->unfinished },
		{ "maxsize", st->maxsize },
		{ "msgsize_max", st->msgsize_max },
		{ "maxbytes", st->maxbytes },
		{ "getters", st->getters },
		{ "putters", st->putters },
		{ "joiners", st->joiners },
		{ "total_puts", st->total_puts },
		{ "total_gets", st->total_gets },
		{ "discarded", st->discarded },
		{ "in_flight", st->in_flight },
		{ "redelivered", st->redelivered },
		{ "dead_lettered", st->dead_lettered },
	};
	size_t i;

	/* Queue names are [A-Za-z0-9._-]: nothing to escape in JSON. */
	if (json) {
		printf("{\"name\": \"%s\", \"state\": \"%s\"", name,
		       state_name(st->state));
		for (i = 0; i < ARRAY_SIZE(fields); i++)
			printf(", \"%s\": %llu", fields[i].key, fields[i].val);
		printf(", \"redeliver\": %s, \"max_deliveries\": %u, \"dead_letter\": \"%s\"}\n",
		       redeliver ? "true" : "false", info->max_deliveries,
		       info->dead_letter);
		return;
	}
	/* "KEY:" padded to a column past the longest, max_deliveries. */
	printf("%-16s%s\n%-16s%s\n", "name:", name, "state:",
	       state_name(st->state));
	for (i = 0; i < ARRAY_SIZE(fields); i++)
		printf("%s:%*s%llu\n", fields[i].key,
		       (int)(15 - strlen(fields[i].key)), "", fields[i].val);
	printf("%-16s%s\n", "redeliver:", redeliver ? "yes" : "no");
	if (!redeliver)
		return;
	printf("%-16s%u\n", "max_deliveries:", info->max_deliveries);
	if (info->dead_letter[0])
		printf("%-16s%s\n", "dead_letter:", info->dead_letter);
}

static int cmd_stat(const struct cmd *cmd, int argc, char **argv)
{
	struct mpq_info info;
	struct mpq_stat st;
	const char *name;
	bool json = false;
	int c, ret, status = MPQCTL_EXIT_DONE;
	mpq_t *q;

	c = json_option(cmd, argc, argv, &json);
	if (c >= 0)
		return c;
	ret = one_name(cmd, argc, argv, &name);
	if (ret)
		return ret;
	q = open_queue(cmd, name, O_RDONLY, true, &status);
	if (!q)
		return status;
	ret = mpq_stat(q, &st);
	if (!ret)
		ret = mpq_info(q, &info);
	if (ret)
		return close_queue(cmd, name, q, fail(cmd, name, -ret));

	/* mpq_open() accepts "/NAME"; print the name as the kernel has it. */
	print_stat(name[0] == '/' ? name + 1 : name, &st, &info, json);
	if (fflush(stdout))
		status = fail(cmd, NULL, errno);
	return close_queue(cmd, name, q, status);
}

/* A limit of 0 is none: print it as such. */
static void print_limit(const char *key, unsigned long long val, bool json)
{
	if (json)
		printf(", \"%s\": %llu", key, val);
	else if (val)
		printf("%s:%*s%llu\n", key, (int)(12 - strlen(key)), "", val);
	else
		printf("%s:%*snone\n", key, (int)(12 - strlen(key)), "");
}

static int cmd_usage(const struct cmd *cmd, int argc, char **argv)
{
	struct mpq_usage u;
	bool json = false;
	int c, ret;

	c = json_option(cmd, argc, argv, &json);
	if (c >= 0)
		return c;
	if (optind != argc)
		return usage_error(cmd, "unexpected argument: %s", argv[optind]);
	ret = mpq_usage(&u);
	if (ret)
		return fail(cmd, NULL, -ret);
	if (json)
		printf("{\"bytes\": %llu, \"queues\": %u, \"named\": %u",
		       (unsigned long long)u.bytes, u.queues, u.named);
	else
		printf("%-13s%llu\n%-13s%u\n%-13s%u\n", "bytes:",
		       (unsigned long long)u.bytes, "queues:", u.queues,
		       "named:", u.named);
	print_limit("bytes_max", u.bytes_max, json);
	print_limit("named_max", u.named_max, json);
	if (json)
		fputs("}\n", stdout);
	return fflush(stdout) ? fail(cmd, NULL, errno) : MPQCTL_EXIT_DONE;
}

/* Queue every message of msgs[0..count), waiting as w says. */
static int put_all(const struct cmd *cmd, const char *name, mpq_t *q,
		   const struct mpq_msg *msgs, size_t count,
		   const struct wait_opts *w)
{
	size_t done = 0;
	ssize_t n;

	while (done < count) {
		n = mpq_put_many(q, msgs + done, count - done, w->block,
				 w->have_timeout ? w->timeout : -1);
		if (n < 0)
			return fail(cmd, name, (int)-n);
		done += (size_t)n;
	}
	return MPQCTL_EXIT_DONE;
}

/*
 * One message per line of stdin, without the newline; empty lines are
 * skipped (a message has at least one byte). Whatever one read(2) brings
 * is queued as a batch, so lines typed at a terminal go out at once and a
 * pipe is moved PUT_BATCH messages per call.
 */
static int put_stdin(const struct cmd *cmd, const char *name, mpq_t *q,
		     const struct wait_opts *w)
{
	struct mpq_msg msgs[PUT_BATCH];
	size_t cap = 65536, len = 0, start, count;
	char *buf = malloc(cap), *p, *nl;
	int status = MPQCTL_EXIT_DONE;
	bool eof = false;
	ssize_t r;

	if (!buf)
		return fail(cmd, NULL, ENOMEM);
	while (!eof && status == MPQCTL_EXIT_DONE) {
		if (len == cap) {
			p = realloc(buf, cap * 2);
			if (!p) {
				status = fail(cmd, NULL, ENOMEM);
				break;
			}
			buf = p;
			cap *= 2;
		}
		r = read(STDIN_FILENO, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "mpqctl %s: reading stdin: %s\n",
				cmd->name, strerror(errno));
			status = MPQCTL_EXIT_ERROR;
			break;
		}
		eof = r == 0;
		len += (size_t)r;
		start = 0;
		count = 0;
		while (start < len && status == MPQCTL_EXIT_DONE) {
			nl = memchr(buf + start, '\n', len - start);
			if (!nl && !eof)
				break;
			p = nl ? nl : buf + len;
			if (p > buf + start) {
				msgs[count].buf = buf + start;
				msgs[count].len = (size_t)(p - (buf + start));
				count++;
			}
			start = (size_t)(p - buf) + (nl ? 1 : 0);
			if (count == PUT_BATCH) {
				status = put_all(cmd, name, q, msgs, count, w);
				count = 0;
			}
		}
		if (count && status == MPQCTL_EXIT_DONE)
			status = put_all(cmd, name, q, msgs, count, w);
		memmove(buf, buf + start, len - start);
		len -= start;
	}
	free(buf);
	return status;
}

static int cmd_put(const struct cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "nowait", no_argument, NULL, 'N' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct wait_opts w = { .block = true };
	struct mpq_msg *msgs;
	const char *name;
	int c, i, n, status = MPQCTL_EXIT_DONE;
	mpq_t *q;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'N' || c == 'T') {
			status = wait_option(cmd, c, &w);
			if (status)
				return status;
		} else if (c == 'h') {
			return help(cmd);
		} else {
			return bad_option(cmd, c, argv);
		}
	}
	if (optind >= argc)
		return usage_error(cmd, "missing queue NAME");
	name = argv[optind++];
	n = argc - optind;
	for (i = optind; i < argc; i++)
		if (!argv[i][0])
			return usage_error(cmd, "empty MESSAGE (a message has at least one byte)");

	q = open_queue(cmd, name, O_WRONLY, false, &status);
	if (!q)
		return status;
	if (n == 0)
		return close_queue(cmd, name, q, put_stdin(cmd, name, q, &w));

	msgs = calloc((size_t)n, sizeof(*msgs));
	if (!msgs)
		return close_queue(cmd, name, q, fail(cmd, NULL, ENOMEM));
	for (i = 0; i < n; i++) {
		msgs[i].buf = argv[optind + i];
		msgs[i].len = strlen(argv[optind + i]);
	}
	status = put_all(cmd, name, q, msgs, (size_t)n, &w);
	free(msgs);
	return close_queue(cmd, name, q, status);
}

static bool redelivers(mpq_t *q);

static int cmd_get(const struct cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "nowait", no_argument, NULL, 'N' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct wait_opts w = { .block = true };
	uint64_t count = 1, got;
	const char *name;
	int c, status = MPQCTL_EXIT_DONE;
	bool redeliver;
	void *item;
	ssize_t len;
	mpq_t *q;

	while ((c = getopt_long(argc, argv, ":hn:", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!parse_u64(optarg, &count))
				return usage_error(cmd, "invalid COUNT: %s",
						   optarg);
			break;
		case 'N':
		case 'T':
			status = wait_option(cmd, c, &w);
			if (status)
				return status;
			break;
		case 'h':
			return help(cmd);
		default:
			return bad_option(cmd, c, argv);
		}
	}
	status = one_name(cmd, argc, argv, &name);
	if (status)
		return status;
	q = open_queue(cmd, name, O_RDONLY, false, &status);
	if (!q)
		return status;
	redeliver = redelivers(q);

	/* COUNT 0: until the stream ends, which is then success. */
	for (got = 0; count == 0 || got < count; got++) {
		len = mpq_get_alloc(q, &item, w.block,
				    w.have_timeout ? w.timeout : -1);
		if (len == -EPIPE && count == 0)
			break;
		if (len < 0) {
			status = fail(cmd, name, (int)-len);
			break;
		}
		fwrite(item, 1, (size_t)len, stdout);
		putchar('\n');
		free(item);
		/* The message has left the queue: hand it on right away. */
		if (fflush(stdout)) {
			fprintf(stderr, "mpqctl %s: writing stdout: %s\n",
				cmd->name, strerror(errno));
			status = MPQCTL_EXIT_ERROR;
			break;
		}
		/* Printed: on a redelivery queue, done with it. */
		if (redeliver && (len = mpq_task_done(q)) < 0) {
			status = fail(cmd, name, (int)-len);
			break;
		}
	}
	return close_queue(cmd, name, q, status);
}

/* Whether @q was created with redelivery; false if it cannot tell. */
static bool redelivers(mpq_t *q)
{
	struct mpq_info info;

	return mpq_info(q, &info) == 0 && (info.flags & MPQ_CREATE_REDELIVER);
}

/*
 * Run argv with @len bytes of @item on its standard input; its exit
 * status, 128 + a signal's number, or -1 if it could not be run.
 */
static int run_with_input(char **argv, const void *item, size_t len)
{
	const char *p = item;
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		if (dup2(fds[0], STDIN_FILENO) < 0)
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "mpqctl work: %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	close(fds[0]);
	/* A CMD that does not read it all makes EPIPE here, not an error. */
	while (len) {
		n = write(fds[1], p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		p += n;
		len -= (size_t)n;
	}
	close(fds[1]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/*
 * The shell's worker loop on a redelivery queue: CMD once per message,
 * acknowledged if CMD exits 0 and given back otherwise; ends at end of
 * stream. If mpqctl itself is killed, the message in hand comes back.
 */
static int cmd_work(const struct cmd *cmd, int argc, char **argv)
{
	int ret, status = MPQCTL_EXIT_DONE;
	const char *name;
	void *item;
	ssize_t len;
	mpq_t *q;

	/* "+": options end at the first non-option, CMD's are its own. */
	ret = help_only_opts(cmd, argc, argv, "+:h");
	if (ret)
		return ret < 0 ? help(cmd) : ret;
	if (optind >= argc)
		return usage_error(cmd, "missing queue NAME");
	name = argv[optind++];
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	if (optind >= argc)
		return usage_error(cmd, "missing CMD");
	q = open_queue(cmd, name, O_RDONLY, false, &status);
	if (!q)
		return status;
	if (!redelivers(q)) {
		fprintf(stderr, "mpqctl %s: %s: not a redelivery queue (mpqctl create --redeliver)\n",
			cmd->name, name);
		return close_queue(cmd, name, q, MPQCTL_EXIT_ERROR);
	}
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		len = mpq_get_alloc(q, &item, true, -1);
		if (len == -EPIPE)
			break;
		if (len < 0) {
			status = fail(cmd, name, (int)-len);
			break;
		}
		ret = run_with_input(argv + optind, item, (size_t)len);
		free(item);
		if (ret < 0) {
			fprintf(stderr, "mpqctl %s: cannot run %s: %s\n",
				cmd->name, argv[optind], strerror(errno));
			mpq_nack(q);
			status = MPQCTL_EXIT_ERROR;
			break;
		}
		ret = ret ? mpq_nack(q) : mpq_task_done(q);
		if (ret) {
			status = fail(cmd, name, -ret);
			break;
		}
	}
	return close_queue(cmd, name, q, status);
}

static int cmd_task_done(const struct cmd *cmd, int argc, char **argv)
{
	const char *name;
	uint64_t count = 1;
	int ret, status = MPQCTL_EXIT_DONE;
	mpq_t *q;

	ret = help_only_opts(cmd, argc, argv, ":h");
	if (ret)
		return ret < 0 ? help(cmd) : ret;
	if (optind >= argc)
		return usage_error(cmd, "missing queue NAME");
	name = argv[optind++];
	if (optind < argc) {
		if (!parse_u64(argv[optind], &count) || count == 0)
			return usage_error(cmd, "invalid COUNT: %s",
					   argv[optind]);
		if (++optind < argc)
			return usage_error(cmd, "unexpected argument: %s",
					   argv[optind]);
	}
	q = open_queue(cmd, name, O_RDONLY, false, &status);
	if (!q)
		return status;
	ret = mpq_task_done_many(q, count);
	if (ret == -EINVAL) {
		fprintf(stderr, "mpqctl %s: %s: task-done called more times than items were put\n",
			cmd->name, name);
		status = MPQCTL_EXIT_ERROR;
	} else if (ret) {
		status = fail(cmd, name, -ret);
	}
	return close_queue(cmd, name, q, status);
}

static int cmd_join(const struct cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct wait_opts w = { .block = true };
	const char *name;
	int c, ret, status = MPQCTL_EXIT_DONE;
	mpq_t *q;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'T') {
			status = wait_option(cmd, c, &w);
			if (status)
				return status;
		} else if (c == 'h') {
			return help(cmd);
		} else {
			return bad_option(cmd, c, argv);
		}
	}
	status = one_name(cmd, argc, argv, &name);
	if (status)
		return status;
	q = open_queue(cmd, name, O_RDONLY, true, &status);
	if (!q)
		return status;
	ret = mpq_join_timeout(q, w.have_timeout ? w.timeout : -1);
	if (ret)
		status = fail(cmd, name, -ret);
	return close_queue(cmd, name, q, status);
}

static int cmd_shutdown(const struct cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "immediate", no_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool immediate = false;
	const char *name;
	int c, ret, status = MPQCTL_EXIT_DONE;
	mpq_t *q;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'i')
			immediate = true;
		else if (c == 'h')
			return help(cmd);
		else
			return bad_option(cmd, c, argv);
	}
	status = one_name(cmd, argc, argv, &name);
	if (status)
		return status;
	q = open_queue(cmd, name, O_WRONLY, false, &status);
	if (!q)
		return status;
	ret = mpq_shutdown(q, immediate);
	if (ret)
		status = fail(cmd, name, -ret);
	return close_queue(cmd, name, q, status);
}

static const struct cmd cmds[] = {
	{ "create", cmd_create,
	  "NAME [--maxsize N] [--msgsize BYTES] [--maxbytes BYTES] [--mode OCTAL] [--redeliver] [--max-deliveries N] [--dead-letter NAME]",
	  "Create the named queue /dev/mpq/NAME, owned by you.\n"
	  "  --maxsize N        hold at most N messages (default 0: no limit)\n"
	  "  --msgsize BYTES    largest message (default 1M)\n"
	  "  --maxbytes BYTES   most payload bytes held (default 64M)\n"
	  "  --mode OCTAL       permissions of /dev/mpq/NAME (default 0600)\n"
	  "  --redeliver        a message got comes back unless marked done\n"
	  "                     by its consumer before that consumer ends\n"
	  "  --max-deliveries N deliver a message at most N times (0: no limit)\n"
	  "  --dead-letter NAME then put it on the named queue NAME (else drop)\n"
	  "BYTES take a K, M or G suffix (powers of 1024).\n" },
	{ "remove", cmd_remove, "NAME",
	  "Remove the named queue; descriptors already open keep working.\n" },
	{ "list", cmd_list, "[--json]",
	  "Print the names of all named queues, one per line, sorted.\n"
	  "  --json   a JSON array of {\"name\": NAME} objects\n" },
	{ "usage", cmd_usage, "[--json]",
	  "Print what you hold and may hold: the kernel memory charged to you\n"
	  "(bytes: your queues, and the messages you put until delivered), the\n"
	  "queues you own (anonymous ones included) and the named ones, and the\n"
	  "per-user limits (none for CAP_SYS_RESOURCE).\n"
	  "  --json   one JSON object\n" },
	{ "stat", cmd_stat, "NAME [--json]",
	  "Print a consistent snapshot of the queue's state and counters.\n"
	  "  --json   one JSON object\n" },
	{ "put", cmd_put, "NAME [--nowait | --timeout SECONDS] [MESSAGE...]",
	  "Put each MESSAGE, in order. Without MESSAGE, put one message per\n"
	  "line of standard input (newline removed, empty lines skipped).\n"
	  "  --nowait           fail with status 3 if the queue is full\n"
	  "  --timeout SECONDS  wait at most SECONDS for room, per message\n" },
	{ "get", cmd_get, "NAME [-n COUNT] [--nowait | --timeout SECONDS]",
	  "Get messages and print each followed by a newline.\n"
	  "  -n, --count COUNT  get COUNT messages (default 1); 0: until the\n"
	  "                     queue is shut down and drained\n"
	  "  --nowait           fail with status 3 if the queue is empty\n"
	  "  --timeout SECONDS  wait at most SECONDS, per message\n"
	  "On a redelivery queue each message printed is marked done.\n" },
	{ "work", cmd_work, "NAME [--] CMD [ARGS...]",
	  "On a redelivery queue: run CMD once per message, with the message\n"
	  "on its standard input; mark it done if CMD exits 0, give it back\n"
	  "for redelivery otherwise. Ends when the queue is shut down and\n"
	  "drained.\n" },
	{ "task-done", cmd_task_done, "NAME [COUNT]",
	  "Mark COUNT (default 1) gotten messages as processed.\n" },
	{ "join", cmd_join, "NAME [--timeout SECONDS]",
	  "Wait until every message put has been marked done.\n"
	  "  --timeout SECONDS  give up after SECONDS with status 3\n" },
	{ "shutdown", cmd_shutdown, "NAME [--immediate]",
	  "Shut the queue down: puts fail from now on, gets drain it and then\n"
	  "end. Blocked putters and getters wake up.\n"
	  "  --immediate        also discard the queued messages\n" },
};

static void usage(FILE *f)
{
	size_t i;

	fputs("usage: mpqctl COMMAND [ARGS]\n"
	      "       mpqctl COMMAND --help\n\nCommands:\n", f);
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		fprintf(f, "  %s %s\n", cmds[i].name, cmds[i].args);
	fputs("\nExit status: 0 done, 1 error, 2 usage, 3 empty, full or timed out,\n"
	      "4 shut down. See mpqctl(8).\n", f);
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return MPQCTL_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		if (argc > 2)
			for (i = 0; i < ARRAY_SIZE(cmds); i++)
				if (!strcmp(argv[2], cmds[i].name))
					return help(&cmds[i]);
		usage(stdout);
		return fflush(stdout) ? MPQCTL_EXIT_ERROR : MPQCTL_EXIT_DONE;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("mpqctl (libmpqdev) %d.%d\n", MPQDEV_VERSION_MAJOR,
		       MPQDEV_VERSION_MINOR);
		return MPQCTL_EXIT_DONE;
	}
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		opterr = 0;
		return cmds[i].run(&cmds[i], argc - 1, argv + 1);
	}
	fprintf(stderr, "mpqctl: unknown command: %s\n", argv[1]);
	usage(stderr);
	return MPQCTL_EXIT_USAGE;
}
