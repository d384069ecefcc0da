// The fuzzers' invariant check: a broken invariant is reported and aborts, so that libFuzzer records the
// input.
#pragma once
#include <cstdio>
#include <cstdlib>

#define ODP_FUZZ_CHECK(condition)                                                        \
  do {                                                                                   \
    if (!(condition)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)
