// Tests of base/: the one whole-file read and the one atomic write.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/file_io.h"

namespace {
const std::vector<uint8_t> kBytes = {'O', 'D', 'P', 1, 0, 42};
}  // namespace

TEST_CASE("write_file_atomic replaces the file whole and leaves no temporary behind") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("odp_base_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "a.odp").string();
  odp::base::write_file_atomic(path, kBytes);
  CHECK(odp::base::read_file(path) == kBytes);
  odp::base::write_file_atomic(path, {1, 2, 3});
  CHECK(odp::base::read_file(path) == std::vector<uint8_t>{1, 2, 3});
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);

  const std::string missing_dir = (dir / "no" / "such" / "b.odp").string();
  try {
    odp::base::write_file_atomic(missing_dir, kBytes);
    FAIL("writing into a missing directory must fail");
  } catch (const odp::base::Error& e) {
    CHECK(std::string(e.what()).find("no/such/b.odp") != std::string::npos);
  }
  fs::create_directory(dir / "sub.odp");  // renaming a file onto a directory fails after the temp exists
  CHECK_THROWS_AS(odp::base::write_file_atomic((dir / "sub.odp").string(), kBytes), odp::base::Error);
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 2);
  CHECK_THROWS_AS(odp::base::read_file((dir / "missing.odp").string()), odp::base::Error);
  fs::remove_all(dir);
}

TEST_CASE("base file errors are kIo and name the path") {
  try {
    odp::base::read_file("/nonexistent/x.odp");
    FAIL("reading a missing file must fail");
  } catch (const odp::base::Error& e) {
    CHECK(e.kind() == odp::base::ErrorKind::kIo);
    CHECK(std::string(e.what()).find("/nonexistent/x.odp") != std::string::npos);
  }
}
