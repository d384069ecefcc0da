// The odp-bench program end to end with a tiny random model: every output appears, bad input is survived.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "bench/anchors.h"
#include "bench_test_images.h"
#include "codec/image.h"

namespace fs = std::filesystem;

namespace {

struct Run {
  int status = -1;
  std::string output;
};

Run run_bench(const std::string& arguments) {
  const fs::path log = fs::temp_directory_path() / ("odp-bench-test-" + std::to_string(::getpid()) + ".log");
  const std::string command = std::string("'") + ODP_BENCH_EXE + "' " + arguments + " > '" + log.string() + "' 2>&1";
  Run run;
  const int raw = std::system(command.c_str());
  run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  run.output = text.str();
  fs::remove(log);
  return run;
}

// A fresh folder with two small images and one file that only pretends to be a PNG.
fs::path make_dataset() {
  const fs::path dir = fs::temp_directory_path() / ("odp-bench-data-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  odp::codec::write_image((dir / "a.png").string(), odp::bench::test::make_photo_like(64, 48));
  odp::codec::write_image((dir / "b.png").string(), odp::bench::test::make_photo_like(40, 40));
  std::ofstream(dir / "c_broken.png") << "not a png";
  return dir;
}

int count_lines(const fs::path& path) {
  std::ifstream in(path);
  int lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  return lines;
}

}  // namespace

TEST_CASE("odp-bench writes every output for a small dataset and skips unreadable files") {
  const fs::path data = make_dataset(), out = data / "out";
  const Run run = run_bench("--random-model --device cpu --no-thumbhash --tokens 1,16,256 --target-psnr 10 "
                            "--grid-tokens 16 --out '" + out.string() + "' '" + data.string() + "'");
  INFO(run.output);
  REQUIRE(run.status == 0);
  CHECK(run.output.find("skipping") != std::string::npos);
  CHECK(run.output.find("c_broken.png") != std::string::npos);
  for (const char* name : {"results.csv", "summary.md", "rate_psnr.svg", "rate_msssim.svg", "rate_swd.svg",
                           "grid.png", "adaptive.md"})
    CHECK(fs::file_size(out / name) > 100);
  // 2 images x 4 points (3 token counts + 1 adaptive) x (odp + each anchor), plus the header.
  const int anchors = static_cast<int>(odp::bench::available_anchors().size());
  CHECK(count_lines(out / "results.csv") == 1 + 2 * 4 * (1 + anchors));
  const odp::codec::Image grid = odp::codec::read_image((out / "grid.png").string());
  CHECK(grid.width > 3 * 40);
  for (const auto& entry : fs::directory_iterator(out))  // no temporary files left behind
    CHECK(entry.path().filename().string().find(".tmp") == std::string::npos);
  fs::remove_all(data);
}

TEST_CASE("odp-bench refuses bad requests with a message that names the problem") {
  Run run = run_bench("--tokens 0 somewhere");
  CHECK(run.status == 2);
  CHECK(run.output.find("--tokens") != std::string::npos);
  run = run_bench("--random-model /no/such/folder");
  CHECK(run.status == 2);
  CHECK(run.output.find("/no/such/folder") != std::string::npos);
  run = run_bench("--lpips-weights lpips.pth x");
  CHECK(run.status == 2);
  CHECK(run.output.find("not implemented") != std::string::npos);
  run = run_bench("--help");
  CHECK(run.status == 0);
  CHECK(run.output.find("usage: odp-bench") != std::string::npos);
}
