/* Test shim (LD_PRELOAD): aligned allocations of ODP_FAIL_ALIGNED_ALLOC_BYTES bytes or more fail (ENOMEM). */
/*
 * LibTorch's CPU allocator takes every tensor's memory from posix_memalign, so with this shim preloaded a
 * tool's network cannot be built while the rest of the process (malloc, operator new) works: the tests check
 * that such a failure is reported as a model problem (exit 4) with a message, not a crash. Without the
 * variable (or with 0) nothing fails.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

static size_t fail_from(void) {
  static size_t bytes = (size_t)-1;
  if (bytes == (size_t)-1) {
    const char* text = getenv("ODP_FAIL_ALIGNED_ALLOC_BYTES");
    const unsigned long long value = text != NULL ? strtoull(text, NULL, 10) : 0;
    bytes = value == 0 ? (size_t)-2 : (size_t)value;
  }
  return bytes;
}

int posix_memalign(void** out, size_t alignment, size_t size) {
  static int (*real)(void**, size_t, size_t) = NULL;
  if (size >= fail_from()) return ENOMEM;
  if (real == NULL) real = (int (*)(void**, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
  return real(out, alignment, size);
}

typedef void* (*aligned_function)(size_t, size_t);

/* aligned_alloc and memalign: NULL (ENOMEM) from the threshold on, else the real function called name. */
static void* aligned_or_fail(const char* name, aligned_function* real, size_t alignment, size_t size) {
  if (size >= fail_from()) {
    errno = ENOMEM;
    return NULL;
  }
  if (*real == NULL) *real = (aligned_function)dlsym(RTLD_NEXT, name);
  return (*real)(alignment, size);
}

void* aligned_alloc(size_t alignment, size_t size) {
  static aligned_function real = NULL;
  return aligned_or_fail("aligned_alloc", &real, alignment, size);
}

void* memalign(size_t alignment, size_t size) {
  static aligned_function real = NULL;
  return aligned_or_fail("memalign", &real, alignment, size);
}
