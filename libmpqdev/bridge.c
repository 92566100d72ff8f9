// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmpqdev: the message ids of mpq-bridge(8) and the envelope that
 * carries one in a local message (added in 1.2).
 *
 *   id:        HOST/QUEUE/SEQ
 *   envelope:  "mpq-id " id [" redelivered"] "\n" payload
 *
 * HOST is 1 to MPQ_MSGID_HOST_MAX printable ASCII characters other than
 * '/' and space, QUEUE a queue name, SEQ a decimal number below 2^64 with
 * no sign and no leading zero.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define ENVELOPE_TAG		"mpq-id "
#define ENVELOPE_REDELIVERED	" redelivered"

static bool host_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > MPQ_MSGID_HOST_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] > '~' || s[i] == '/')
			return false;
	return true;
}

static bool seq_parse(const char *s, size_t len, uint64_t *seq)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return false;
	for (i = 0; i < len; i++) {
		unsigned int d = (unsigned int)(s[i] - '0');

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*seq = v;
	return true;
}

static bool id_ok(const struct mpq_msgid *id)
{
	return id && host_ok(id->host, strnlen(id->host, sizeof(id->host))) &&
	       strnlen(id->queue, sizeof(id->queue)) < sizeof(id->queue) &&
	       id->queue[0] != '/' && !mpqdev_name_check(id->queue);
}

int mpq_msgid_parse(const char *s, size_t len, struct mpq_msgid *id)
{
	const char *q, *n;
	size_t qlen;

	if (!s || !id)
		return -EINVAL;
	q = memchr(s, '/', len);
	if (!q)
		return -EINVAL;
	q++;
	n = memchr(q, '/', len - (size_t)(q - s));
	if (!n)
		return -EINVAL;
	qlen = (size_t)(n - q);
	n++;
	if (!host_ok(s, (size_t)(q - 1 - s)) || qlen == 0 ||
	    qlen > MPQ_NAME_MAX ||
	    !seq_parse(n, len - (size_t)(n - s), &id->seq))
		return -EINVAL;
	memcpy(id->queue, q, qlen);
	id->queue[qlen] = '\0';
	if (mpqdev_name_check(id->queue))
		return -EINVAL;
	memcpy(id->host, s, (size_t)(q - 1 - s));
	id->host[q - 1 - s] = '\0';
	id->redelivered = false;
	return 0;
}

int mpq_msgid_format(const struct mpq_msgid *id, char *buf, size_t size)
{
	int n;

	if (!id_ok(id) || (!buf && size))
		return -EINVAL;
	n = snprintf(buf, size, "%s/%s/%" PRIu64, id->host, id->queue,
		     id->seq);
	if (n < 0)
		return -EINVAL;
	return (size_t)n < size ? n : -ERANGE;
}

ssize_t mpq_envelope_parse(const void *msg, size_t len, struct mpq_msgid *id)
{
	const size_t tag = sizeof(ENVELOPE_TAG) - 1;
	const size_t flag = sizeof(ENVELOPE_REDELIVERED) - 1;
	const char *s = msg, *nl;
	size_t idlen;
	bool redelivered = false;

	if (!msg || !id)
		return -EINVAL;
	if (len < tag || memcmp(s, ENVELOPE_TAG, tag))
		return -ENOMSG;
	nl = memchr(s + tag, '\n', len - tag);
	if (!nl || nl - s > MPQ_ENVELOPE_MAX)
		return -EBADMSG;
	idlen = (size_t)(nl - s) - tag;
	if (idlen > flag &&
	    !memcmp(nl - flag, ENVELOPE_REDELIVERED, flag)) {
		redelivered = true;
		idlen -= flag;
	}
	if (mpq_msgid_parse(s + tag, idlen, id))
		return -EBADMSG;
	id->redelivered = redelivered;
	return nl + 1 - s;
}

ssize_t mpq_envelope_format(const struct mpq_msgid *id, char *buf,
			    size_t size)
{
	char line[MPQ_ENVELOPE_MAX + 1];
	int n;

	if (!id_ok(id) || (!buf && size))
		return -EINVAL;
	n = snprintf(line, sizeof(line), ENVELOPE_TAG "%s/%s/%" PRIu64 "%s\n",
		     id->host, id->queue, id->seq,
		     id->redelivered ? ENVELOPE_REDELIVERED : "");
	if (n < 0 || (size_t)n >= sizeof(line))
		return -EINVAL;
	if ((size_t)n > size)
		return -ERANGE;
	memcpy(buf, line, (size_t)n);
	return n;
}
