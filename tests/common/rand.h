/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Random numbers for the stress programs: xorshift64*, one generator per
 * thread (so forked workers and threads draw their own sequences), fast,
 * and reproducible from a seed printed with the results.
 *
 *   rnd_seed(a, b)     start the calling thread's sequence from two numbers
 *                      (a run's seed and a worker's index, say)
 *   rnd()              the next 64-bit number
 *   rnd_below(n)       a number in [0, n), 0 when n is 0
 *   chance(percent)    true @percent times in 100
 */
#ifndef MPQ_RAND_H
#define MPQ_RAND_H

#include <stdbool.h>
#include <stdint.h>

static __thread uint64_t rnd_state = 1;

static inline uint64_t rnd(void)
{
	uint64_t x = rnd_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rnd_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Mix @a and @b into a non-zero state, then stir it a little. */
static inline void rnd_seed(uint64_t a, uint64_t b)
{
	int i;

	rnd_state = (a * 0x9E3779B97F4A7C15ULL) ^ (b + 0x632BE59BD9B4E019ULL);
	if (!rnd_state)
		rnd_state = 1;
	for (i = 0; i < 4; i++)
		rnd();
}

static inline uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static inline bool chance(unsigned int percent)
{
	return rnd_below(100) < percent;
}

#endif /* MPQ_RAND_H */
