/*
 * Minimal checks for the preload test clients (C, no project headers): on
 * failure print where and why to stderr and exit(1), so the test driver sees
 * a non-zero status and the reason in the client's stderr.
 */
#ifndef VFIOSIM_TESTS_PRELOAD_CHECK_H_
#define VFIOSIM_TESTS_PRELOAD_CHECK_H_

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                       \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      fprintf(stderr, "%s:%d: CHECK failed: %s (errno %d: %s)\n", __FILE__, __LINE__,     \
              #cond, errno, strerror(errno));                                             \
      exit(1);                                                                            \
    }                                                                                     \
  } while (0)

/* `expr` must fail with -1 and exactly errno `want`. */
#define CHECK_ERRNO(expr, want)                                                           \
  do {                                                                                    \
    errno = 0;                                                                            \
    long check_r_ = (long)(expr);                                                         \
    int check_e_ = errno;                                                                 \
    if (check_r_ != -1 || check_e_ != (want)) {                                           \
      fprintf(stderr, "%s:%d: %s: want -1 %s, got %ld %s\n", __FILE__, __LINE__, #expr,   \
              strerrorname_np(want), check_r_, check_e_ ? strerrorname_np(check_e_) : "0"); \
      exit(1);                                                                            \
    }                                                                                     \
  } while (0)

#endif /* VFIOSIM_TESTS_PRELOAD_CHECK_H_ */
