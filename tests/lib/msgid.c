// SPDX-License-Identifier: GPL-2.0
/*
 * The message ids of mpq-bridge: HOST/QUEUE/SEQ and the envelope line
 * "mpq-id ID [redelivered]\n" read and written by libmpqdev, with every
 * malformed form refused, and a plain message told apart (-ENOMSG).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <mpqdev.h>

#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wpointer-to-int-cast"
#include "kselftest_harness.h"

static int parse(const char *s, struct mpq_msgid *id)
{
	return mpq_msgid_parse(s, strlen(s), id);
}

TEST(id_round_trip)
{
	struct mpq_msgid id = { .seq = 18446744073709551615ULL };
	struct mpq_msgid back;
	char buf[MPQ_MSGID_MAX + 1];

	strcpy(id.host, "host-1.example");
	strcpy(id.queue, "jobs_2");
	ASSERT_EQ(42, mpq_msgid_format(&id, buf, sizeof(buf)));
	EXPECT_STREQ("host-1.example/jobs_2/18446744073709551615", buf);
	ASSERT_EQ(0, parse(buf, &back));
	EXPECT_STREQ("host-1.example", back.host);
	EXPECT_STREQ("jobs_2", back.queue);
	EXPECT_EQ(id.seq, back.seq);
	EXPECT_FALSE(back.redelivered);
	/* Like snprintf: too small is -ERANGE. */
	EXPECT_EQ(-ERANGE, mpq_msgid_format(&id, buf, 42));
	/* Not NUL-terminated input: len is what counts. */
	ASSERT_EQ(0, mpq_msgid_parse("h/q/12345", 7, &back));
	EXPECT_EQ(123ULL, back.seq);
}

TEST(id_malformed)
{
	static const char *const bad[] = {
		"", "h", "h/q", "h/q/", "/q/1", "h//1", "h/q/01", "h/q/-1",
		"h/q/1x", "h/q/18446744073709551616", "h q/q/1", "h/q/1/2",
		"h/.q/1", "h/control/1", "h/q!/1", "h\t/q/1",
	};
	struct mpq_msgid id, ok = { .seq = 1 };
	char buf[MPQ_MSGID_MAX + 1];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_EQ(-EINVAL, parse(bad[i], &id));
	EXPECT_EQ(-EINVAL, mpq_msgid_parse(NULL, 0, &id));
	EXPECT_EQ(-EINVAL, mpq_msgid_parse("h/q/1", 5, NULL));
	/* Nothing invalid is written either. */
	strcpy(ok.host, "h/x");
	strcpy(ok.queue, "q");
	EXPECT_EQ(-EINVAL, mpq_msgid_format(&ok, buf, sizeof(buf)));
	strcpy(ok.host, "h");
	strcpy(ok.queue, "bad name");
	EXPECT_EQ(-EINVAL, mpq_msgid_format(&ok, buf, sizeof(buf)));
}

TEST(envelope_round_trip)
{
	static const char payload[] = "payload\nwith a newline";
	struct mpq_msgid id = { .seq = 7, .redelivered = true }, back;
	char msg[MPQ_ENVELOPE_MAX + sizeof(payload)];
	ssize_t h;

	strcpy(id.host, "a");
	strcpy(id.queue, "q");
	h = mpq_envelope_format(&id, msg, sizeof(msg));
	ASSERT_EQ((ssize_t)strlen("mpq-id a/q/7 redelivered\n"), h);
	EXPECT_EQ(0, memcmp(msg, "mpq-id a/q/7 redelivered\n", (size_t)h));
	memcpy(msg + h, payload, sizeof(payload) - 1);
	ASSERT_EQ(h, mpq_envelope_parse(msg, (size_t)h + sizeof(payload) - 1, &back));
	EXPECT_TRUE(back.redelivered);
	EXPECT_EQ(7ULL, back.seq);
	EXPECT_STREQ("a", back.host);

	id.redelivered = false;
	h = mpq_envelope_format(&id, msg, sizeof(msg));
	ASSERT_EQ((ssize_t)strlen("mpq-id a/q/7\n"), h);
	ASSERT_EQ(h, mpq_envelope_parse(msg, (size_t)h, &back));
	EXPECT_FALSE(back.redelivered);
	EXPECT_EQ(-ERANGE, mpq_envelope_format(&id, msg, (size_t)h - 1));
}

TEST(envelope_plain_and_malformed)
{
	struct mpq_msgid id;

	EXPECT_EQ(-ENOMSG, mpq_envelope_parse("job 1", 5, &id));
	EXPECT_EQ(-ENOMSG, mpq_envelope_parse("mpq-i", 5, &id));
	EXPECT_EQ(-EBADMSG, mpq_envelope_parse("mpq-id a/q/1", 12, &id));
	EXPECT_EQ(-EBADMSG, mpq_envelope_parse("mpq-id a/q\nx", 12, &id));
	EXPECT_EQ(-EBADMSG, mpq_envelope_parse("mpq-id  redelivered\n", 20, &id));
	EXPECT_EQ(-EBADMSG, mpq_envelope_parse("mpq-id a/q/1 again\n", 19, &id));
}

TEST_HARNESS_MAIN
