/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Parsing of command-line numbers shared by the tools (mpqctl,
 * mpq-bridge); not installed.
 */
#ifndef MPQ_TOOLS_PARSE_H
#define MPQ_TOOLS_PARSE_H

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* A non-negative decimal integer, no sign, no junk. */
static inline bool parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

/* A non-negative, finite number of seconds. */
static inline bool parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (!*s)
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < 0)
		return false;
	*out = v;
	return true;
}

#endif /* MPQ_TOOLS_PARSE_H */
