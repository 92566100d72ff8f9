/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kselftest harness of linux-source-6.1, made to build with the
 * project's -Wextra -Werror: its TEST() wrappers and SIGALRM handler take
 * parameters they do not use. The pragma has to stay in force for the rest
 * of the file, where the TEST() macros expand.
 */
#ifndef MPQ_HARNESS_H
#define MPQ_HARNESS_H

#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"

#endif /* MPQ_HARNESS_H */
