// The failing global operator new of the allocation-failure fuzzers: once armed, it throws std::bad_alloc
// after a given number of allocations. Include it from exactly one source file of a fuzzer (it replaces the
// global allocation functions of that program).
#pragma once
#include <cstdlib>
#include <new>

namespace {
bool failing_armed = false;  // only the code under test sees failures, not libFuzzer itself
unsigned allocations_before_failure = 0;
}  // namespace

void* operator new(size_t size) {
  if (failing_armed) {
    if (allocations_before_failure == 0) throw std::bad_alloc();
    --allocations_before_failure;
  }
  if (void* memory = std::malloc(size ? size : 1)) return memory;
  throw std::bad_alloc();
}
void* operator new[](size_t size) { return ::operator new(size); }
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  try {
    return ::operator new(size);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void* operator new[](size_t size, const std::nothrow_t& tag) noexcept { return ::operator new(size, tag); }
void operator delete(void* memory) noexcept { std::free(memory); }
void operator delete[](void* memory) noexcept { std::free(memory); }
void operator delete(void* memory, size_t) noexcept { std::free(memory); }
void operator delete[](void* memory, size_t) noexcept { std::free(memory); }
