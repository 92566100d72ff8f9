/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kselftest harness of linux-source-6.1, made to build with the
 * project's -Wextra -Werror: its TEST() wrappers and SIGALRM handler take
 * parameters they do not use, and it prints compared pointers as integers
 * (a warning with -m32). The pragmas have to stay in force for the rest of
 * the file, where the TEST() macros expand.
 */
#ifndef MPQ_HARNESS_H
#define MPQ_HARNESS_H

#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wpointer-to-int-cast"
#include "kselftest_harness.h"

#endif /* MPQ_HARNESS_H */
