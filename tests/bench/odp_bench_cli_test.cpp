// The odp-bench program end to end with a tiny random model: every output appears, bad input is survived.
#include <sys/wait.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bench/anchors.h"
#include "bench_test_images.h"
#include "fid_test.h"
#include "imageio/image.h"
#include "tests/lpips_test_weights.h"
#include "tests/remove_tree.h"

namespace fs = std::filesystem;

namespace {

struct Run {
  int status = -1;
  std::string output;
};

// `environment`: assignments put before the command, e.g. "ODP_LPIPS='/tmp/x' ". ODP_LPIPS and ODP_FID are
// cleared otherwise, so that a user's setting does not change what the tests see.
Run run_bench(const std::string& arguments, const std::string& environment = "") {
  const fs::path log = fs::temp_directory_path() / ("odp-bench-test-" + std::to_string(::getpid()) + ".log");
  const std::string command = "env -u ODP_LPIPS -u ODP_FID " + environment + "'" + ODP_BENCH_EXE + "' " +
                              arguments + " > '" + log.string() + "' 2>&1";
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
  odp::testing::remove_tree(dir);
  fs::create_directories(dir);
  odp::imageio::write_image((dir / "a.png").string(), odp::bench::test::make_photo_like(64, 48));
  odp::imageio::write_image((dir / "b.png").string(), odp::bench::test::make_photo_like(40, 40));
  std::ofstream(dir / "c_broken.png") << "not a png";
  return dir;
}

int count_lines(const fs::path& path) {
  std::ifstream in(path);
  int lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  return lines;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The CSV's lines split at commas (the test images' names have none).
std::vector<std::vector<std::string>> read_csv(const fs::path& path) {
  std::vector<std::vector<std::string>> rows;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> fields(1);
    for (char c : line) {
      if (c == ',')
        fields.emplace_back();
      else
        fields.back() += c;
    }
    rows.push_back(fields);
  }
  return rows;
}

}  // namespace

TEST_CASE("odp-bench writes every output for a small dataset and skips unreadable files") {
  const fs::path data = make_dataset(), out = data / "out";
  const Run run = run_bench(
      "--random-model --device cpu --no-thumbhash --tokens 1,16,256 --target-psnr 10 "
      "--grid-tokens 16 --out '" +
      out.string() + "' '" + data.string() + "'");
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
  // The adaptive comparison has both tables, each with a row for the one target.
  const std::string adaptive = read_text(out / "adaptive.md");
  const size_t by_mean = adaptive.find("## At equal mean PSNR"),
               by_share = adaptive.find("## At an equal share");
  REQUIRE(by_mean != std::string::npos);
  REQUIRE(by_share != std::string::npos);
  CHECK(adaptive.find("| 10.0 | ", by_mean) < by_share);
  CHECK(adaptive.find("| 10.0 | ", by_share) != std::string::npos);
  CHECK(adaptive.find(" % | ", by_share) != std::string::npos);
  // Without --lpips (or ODP_LPIPS) there is no LPIPS anywhere.
  CHECK(read_text(out / "results.csv").find("lpips") == std::string::npos);
  CHECK(read_text(out / "summary.md").find("LPIPS") == std::string::npos);
  CHECK_FALSE(fs::exists(out / "rate_lpips.svg"));
  const odp::base::Image grid = odp::imageio::read_image((out / "grid.png").string());
  CHECK(grid.width > 3 * 40);
  for (const auto& entry : fs::directory_iterator(out))  // no temporary files left behind
    CHECK(entry.path().filename().string().find(".tmp") == std::string::npos);
  odp::testing::remove_tree(data);
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
  CHECK(run.output.find("--lpips FILE") != std::string::npos);
  run = run_bench("--fid-weights inception.pth x");
  CHECK(run.status == 2);
  CHECK(run.output.find("--fid FILE") != std::string::npos);
  run = run_bench("--help");
  CHECK(run.status == 0);
  CHECK(run.output.find("usage: odp-bench") != std::string::npos);
}

TEST_CASE("odp-bench --lpips adds an LPIPS value to every reached row and a column to the summary") {
  const fs::path data = make_dataset(), out = data / "out", weights = data / "lpips.safetensors";
  odp::testing::write_safetensors(weights.string(), odp::testing::random_lpips(9).file);
  // Too small for AlexNet (31x31 at least): measured like the others, but without LPIPS.
  odp::imageio::write_image((data / "d_small.png").string(), odp::bench::test::make_photo_like(24, 20));
  const std::string common =
      "--random-model --device cpu --no-thumbhash --no-match --tokens 1,256 "
      "--grid-images 0 --out '" +
      out.string() + "' ";
  const std::string images = " '" + data.string() + "'", lpips_option = "--lpips '" + weights.string() + "'";
  Run run = run_bench(common + lpips_option + images);
  INFO(run.output);
  REQUIRE(run.status == 0);
  const auto csv = read_csv(out / "results.csv");
  const int anchors = static_cast<int>(odp::bench::available_anchors().size());
  REQUIRE(csv.size() == static_cast<size_t>(1 + 3 * 2 * (1 + anchors)));
  CHECK(run.output.find("d_small.png is smaller than 31x31") != std::string::npos);
  const auto& header = csv[0];
  const auto column = [&](const std::string& name) {
    return static_cast<size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  const size_t lpips = column("lpips"), reached = column("reached"), codec = column("codec");
  const size_t point = column("point"), image = column("image");
  REQUIRE(lpips < header.size());
  CHECK(header[lpips - 1] == "swd");
  int odp_rows = 0;
  for (size_t i = 1; i < csv.size(); ++i) {
    const auto& row = csv[i];
    REQUIRE(row.size() == header.size());
    CAPTURE(row[image], row[codec], row[point]);
    if (row[image] == "d_small.png") {
      CHECK(row[lpips].empty());
    } else if (row[reached] == "1") {
      REQUIRE_FALSE(row[lpips].empty());
      CHECK(std::stod(row[lpips]) >= 0);
      if (row[codec] == "odp") {
        ++odp_rows;
        CHECK(std::stod(row[lpips]) > 0);  // a random model is far off
      }
    } else {
      CHECK(row[lpips].empty());
    }
  }
  CHECK(odp_rows == 4);
  const std::string summary = read_text(out / "summary.md");
  CHECK(summary.find("| SWD | LPIPS |") != std::string::npos);
  CHECK(summary.find(weights.string()) != std::string::npos);
  CHECK(fs::file_size(out / "rate_lpips.svg") > 100);

  // ODP_LPIPS does the same; a file with a misshaped tensor stops the run before any work, naming it.
  odp::testing::remove_tree(out);
  run = run_bench(common + images, "ODP_LPIPS='" + weights.string() + "' ");
  CHECK(run.status == 0);
  CHECK(read_text(out / "results.csv").find(",swd,lpips,") != std::string::npos);
  auto file = odp::testing::random_lpips(9).file;
  file.tensors["net.slice4.8.weight"] =
      odp::testing::f32_blob(std::vector<float>(256 * 384 * 9, 0), {384, 256, 3, 3});  // in, out swapped
  odp::testing::write_safetensors(weights.string(), file);
  run = run_bench(common + lpips_option + images);
  CHECK(run.status == 2);
  CHECK(run.output.find("net.slice4.8.weight") != std::string::npos);
  CHECK(run.output.find(weights.string()) != std::string::npos);
  run = run_bench(common + "--lpips /no/such/lpips.safetensors" + images);
  CHECK(run.status == 2);
  CHECK(run.output.find("/no/such/lpips.safetensors") != std::string::npos);
  odp::testing::remove_tree(data);
}

TEST_CASE("odp-bench --anchors none measures odp alone") {
  const fs::path data = make_dataset(), out = data / "out";
  Run run = run_bench(
      "--random-model --device cpu --anchors none --no-thumbhash --tokens 1,4 --grid-images 0 --out '" +
      out.string() + "' '" + data.string() + "'");
  INFO(run.output);
  REQUIRE(run.status == 0);
  const auto csv = read_csv(out / "results.csv");
  REQUIRE(csv.size() == 1 + 2 * 2);  // two readable images x two points, odp rows only
  const size_t codec = static_cast<size_t>(std::find(csv[0].begin(), csv[0].end(), "codec") - csv[0].begin());
  for (size_t i = 1; i < csv.size(); ++i) CHECK(csv[i][codec] == "odp");
  CHECK(read_text(out / "summary.md").find("## Speed") != std::string::npos);
  odp::testing::remove_tree(data);
}

TEST_CASE("odp-bench --budgets measures odpenc --size points, with or without token points") {
  const fs::path data = make_dataset(), out = data / "out";
  Run run = run_bench(
      "--random-model --device cpu --anchors none --no-thumbhash --tokens none --budgets 400,2000 "
      "--grid-images 1 --out '" +
      out.string() + "' '" + data.string() + "'");
  INFO(run.output);
  REQUIRE(run.status == 0);
  const auto csv = read_csv(out / "results.csv");
  const size_t point = static_cast<size_t>(std::find(csv[0].begin(), csv[0].end(), "point") - csv[0].begin());
  const size_t bytes = static_cast<size_t>(std::find(csv[0].begin(), csv[0].end(), "bytes") - csv[0].begin());
  int b400 = 0, b2000 = 0;
  for (size_t i = 1; i < csv.size(); ++i) {
    CHECK((csv[i][point] == "b400" || csv[i][point] == "b2000"));
    if (csv[i][point] == "b400") {
      ++b400;
      CHECK(std::stoi(csv[i][bytes]) <= 400);
    }
    if (csv[i][point] == "b2000") ++b2000;
  }
  CHECK(b400 == 2);  // two readable images
  CHECK(b2000 == 2);
  CHECK(fs::exists(out / "grid.png"));
  CHECK(read_text(out / "summary.md").find("odp --size") != std::string::npos);
  CHECK(run_bench("--random-model --tokens none '" + data.string() + "'").status == 2);  // nothing to measure
  odp::testing::remove_tree(data);
}

TEST_CASE("odp-bench --fid appends an FID table per point and codec to the summary") {
  const fs::path data = make_dataset(), out = data / "out", network = data / "stats.pt";
  odp::bench::test::write_feature_network(network.string());
  const std::string common = "--random-model --device cpu --no-match --tokens 1,256 --grid-images 0 --out '" +
                             out.string() + "' '" + data.string() + "' ";
  Run run = run_bench(common + "--no-thumbhash --fid '" + network.string() + "'");
  INFO(run.output);
  REQUIRE(run.status == 0);
  const std::string summary = read_text(out / "summary.md");
  CHECK(summary.find("## FID") != std::string::npos);
  CHECK(summary.find(network.string()) != std::string::npos);
  CHECK(summary.find("| point | odp |") != std::string::npos);
  // Two readable images, both at every odp point.
  CHECK(summary.find("| t1 | ") != std::string::npos);
  CHECK(summary.find("| t256 | ") != std::string::npos);
  CHECK(summary.find(" (2) |") != std::string::npos);

  // Without --fid the summary has no FID section; a bad network stops the run before it starts.
  run = run_bench(common + "--no-thumbhash");
  REQUIRE(run.status == 0);
  CHECK(read_text(out / "summary.md").find("## FID") == std::string::npos);
  const fs::path bad = data / "a.png";
  run = run_bench(common + "--no-thumbhash --fid '" + bad.string() + "'");
  CHECK(run.status == 2);
  CHECK(run.output.find(bad.string()) != std::string::npos);
  CHECK(run.output.find("TorchScript") != std::string::npos);
  odp::testing::remove_tree(data);
}
