// Catch2 for tests that include LibTorch: include this instead of <catch2/catch.hpp>.
#pragma once
// LibTorch's logging header defines a CHECK of its own (glog's, or c10's stand-in: abort on failure).
// Included after Catch it silently replaces Catch's CHECK, so a failed check aborts the test binary and
// passed ones go uncounted. LibTorch first (its headers are guarded, so later includes change nothing), then
// Catch's CHECK.
#include <torch/torch.h>
#undef CHECK
#include <catch2/catch.hpp>
