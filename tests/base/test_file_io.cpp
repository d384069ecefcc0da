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

TEST_CASE("write_file_atomic takes an output name of 250 characters (the temporary's name stays short)",
          "[hostile]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("odp_base_long_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string name = std::string(246, 'n') + ".odp";  // 250 bytes; NAME_MAX is 255
  const std::string path = (dir / name).string();
  odp::base::write_file_atomic(path, kBytes);
  CHECK(odp::base::read_file(path) == kBytes);
  odp::base::write_file_atomic(path, {9});  // replacing it too
  CHECK(odp::base::read_file(path) == std::vector<uint8_t>{9});
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);
  // A relative name in the current directory works the same.
  const fs::path old_directory = fs::current_path();
  fs::current_path(dir);
  odp::base::write_file_atomic(std::string(251, 'r'), kBytes);
  fs::current_path(old_directory);
  CHECK(odp::base::read_file((dir / std::string(251, 'r')).string()) == kBytes);
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 2);
  fs::remove_all(dir);
}

TEST_CASE("read_file refuses inputs above its cap: files from their size, endless devices once over it",
          "[hostile]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("odp_base_cap_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "six.odp").string();
  odp::base::write_file_atomic(path, kBytes);
  CHECK(odp::base::read_file(path, 6) == kBytes);
  try {
    odp::base::read_file(path, 5);
    FAIL("a 6-byte file passed a 5-byte cap");
  } catch (const odp::base::Error& error) {
    CHECK(error.kind() == odp::base::ErrorKind::kBadInput);
    CHECK_THAT(error.what(), Catch::Contains("six.odp") && Catch::Contains("limit of 5 bytes"));
  }
  // /dev/zero never ends: without a cap this read grew until memory ran out (odpinfo /dev/zero: 4 GB).
  CHECK_THROWS_WITH(odp::base::read_file("/dev/zero", 1 << 20), Catch::Contains("limit of 1048576 bytes"));
  fs::remove_all(dir);
}

TEST_CASE("printable escapes control characters in names echoed by messages", "[hostile]") {
  CHECK(odp::base::printable("a\x1b[31mred\x7f\n.png") == "a\\x1B[31mred\\x7F\\x0A.png");
  CHECK(odp::base::printable("plain name \xc3\xa9.png") == "plain name \xc3\xa9.png");  // UTF-8 is kept
}

TEST_CASE("read_file with a head check refuses an input from its first bytes, before reading the rest",
          "[hostile]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("odp_base_head_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::vector<std::vector<uint8_t>> seen;
  odp::base::HeadCheck head;
  head.bytes = 12;
  head.check = [&](const uint8_t* data, size_t size) {
    seen.emplace_back(data, data + size);
    if (size == 0 || data[0] != 'O') throw odp::base::Error("no O at the start");
  };
  // /dev/zero under a 1 GiB cap: refused after its first read (without the check: 1 GiB of zeros first).
  CHECK_THROWS_WITH(odp::base::read_file("/dev/zero", odp::base::kDefaultMaxInputBytes, head),
                    Catch::Contains("no O at the start"));
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] == std::vector<uint8_t>(12, 0));
  // A file shorter than head.bytes is checked whole, once; one that passes is read whole.
  seen.clear();
  const std::string path = (dir / "six.odp").string();
  odp::base::write_file_atomic(path, kBytes);
  CHECK(odp::base::read_file(path, 100, head) == kBytes);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] == kBytes);
  std::vector<uint8_t> long_file(100000, 'O');
  odp::base::write_file_atomic(path, long_file);
  seen.clear();
  CHECK(odp::base::read_file(path, 100000, head) == long_file);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].size() == 12);
  // An empty input is checked too (with no bytes), and the size cap still comes first for a regular file.
  odp::base::write_file_atomic(path, {});
  seen.clear();
  CHECK_THROWS_WITH(odp::base::read_file(path, 100, head), Catch::Contains("no O"));
  CHECK(seen.size() == 1);
  odp::base::write_file_atomic(path, long_file);
  CHECK_THROWS_WITH(odp::base::read_file(path, 99999, head), Catch::Contains("limit of 99999 bytes"));
  fs::remove_all(dir);
}
