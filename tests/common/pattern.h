/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Message contents a receiver can check without being sent the original:
 * the bytes are a function of a seed (a producer and sequence number, a
 * message index, a tag) and of their offset, so a corrupt, truncated,
 * shifted or swapped message fails the check.
 *
 *   pattern_fill(buf, len, seed)    write @len bytes of @seed's pattern
 *   pattern_check(buf, len, seed)   true if @buf holds exactly those bytes
 */
#ifndef MPQ_PATTERN_H
#define MPQ_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The 8 bytes at offset 8 * @word of @seed's pattern (splitmix64). */
static inline uint64_t pattern_word(uint64_t seed, uint64_t word)
{
	uint64_t x = seed + (word + 1) * 0x9E3779B97F4A7C15ULL;

	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
	return x ^ (x >> 31);
}

static inline void pattern_fill(void *buf, size_t len, uint64_t seed)
{
	unsigned char *p = buf;
	uint64_t w = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (!(i & 7))
			w = pattern_word(seed, i / 8);
		p[i] = (unsigned char)(w >> ((i & 7) * 8));
	}
}

static inline bool pattern_check(const void *buf, size_t len, uint64_t seed)
{
	const unsigned char *p = buf;
	uint64_t w = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (!(i & 7))
			w = pattern_word(seed, i / 8);
		if (p[i] != (unsigned char)(w >> ((i & 7) * 8)))
			return false;
	}
	return true;
}

#endif /* MPQ_PATTERN_H */
