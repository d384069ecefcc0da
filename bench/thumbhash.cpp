// ThumbHash through Node.js: a small script in the cache folder reads RGBA, writes the hash and its decoding.
#include "bench/thumbhash.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/resample.h"
#include "bench/metrics.h"

namespace odp::bench {

using base::resize_bicubic;
using base::scaled_size;
namespace {

namespace fs = std::filesystem;

// The pinned version keeps numbers comparable between runs.
constexpr const char* kPackage = "thumbhash@0.1.1";

// Input: "<w> <h>\n" then w*h*4 RGBA bytes. Output: JSON with the hash, the decoded RGBA and timings.
constexpr const char* kScript = R"JS(// Runs ThumbHash for odp's benchmark: node thumbhash_run.mjs IN OUT
import { readFileSync, writeFileSync } from 'node:fs';
const { rgbaToThumbHash, thumbHashToRGBA } = await import('thumbhash');
const input = readFileSync(process.argv[2]);
const newline = input.indexOf(10);
const [w, h] = input.subarray(0, newline).toString().trim().split(' ').map(Number);
const rgba = new Uint8Array(input.subarray(newline + 1));
// Each function runs once untimed first, so that the times are for JIT-compiled code, as in a web page.
thumbHashToRGBA(rgbaToThumbHash(w, h, rgba));
let t0 = process.hrtime.bigint();
const hash = rgbaToThumbHash(w, h, rgba);
const encodeMs = Number(process.hrtime.bigint() - t0) / 1e6;
t0 = process.hrtime.bigint();
const decoded = thumbHashToRGBA(hash);
const decodeMs = Number(process.hrtime.bigint() - t0) / 1e6;
writeFileSync(process.argv[3], JSON.stringify({hash: Array.from(hash), w: decoded.w, h: decoded.h,
  rgba: Array.from(decoded.rgba), encode_ms: encodeMs, decode_ms: decodeMs}));
)JS";

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

bool command_exists(const char* name) {
  return std::system((std::string("command -v ") + name + " >/dev/null 2>&1").c_str()) == 0;
}

double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

ThumbHash::ThumbHash(const std::string& cache_dir) : cache_dir_(cache_dir) {
  if (!command_exists("node") || !command_exists("npm")) {
    reason_ = "ThumbHash skipped: node and npm are needed (apt-get install nodejs npm)";
    return;
  }
  std::error_code ec;
  fs::create_directories(cache_dir_, ec);
  if (ec) {
    reason_ = "ThumbHash skipped: cannot create " + cache_dir_ + ": " + ec.message();
    return;
  }
  if (!fs::exists(fs::path(cache_dir_) / "node_modules" / "thumbhash" / "package.json")) {
    const std::string command = "npm install --prefix " + shell_quote(cache_dir_) + " " + kPackage +
                                " --no-audit --no-fund --silent >/dev/null 2>&1";
    if (std::system(command.c_str()) != 0) {
      reason_ = "ThumbHash skipped: '" + command.substr(0, command.find(" >")) + "' failed (no network?)";
      return;
    }
  }
  std::ofstream(fs::path(cache_dir_) / "thumbhash_run.mjs") << kScript;
  available_ = true;
}

ThumbHashResult ThumbHash::run(const odp::base::Image& image) const {
  if (!available_) throw BenchError(reason_);
  require_same_size(image, image, "ThumbHash");
  ThumbHashResult result;
  // ThumbHash accepts at most 100x100; shrink keeping the aspect ratio.
  auto start = std::chrono::steady_clock::now();
  const double shrink = std::max(1.0, std::max(image.width, image.height) / 100.0);
  int w = 0, h = 0;
  scaled_size(image.width, image.height, shrink, &w, &h);
  const odp::base::Image small = resize_bicubic(image, std::min(w, 100), std::min(h, 100));
  const double downscale_ms = elapsed_ms(start);

  const std::string stem = (fs::path(cache_dir_) / ("io-" + std::to_string(getpid()))).string();
  const std::string in_path = stem + ".rgba", out_path = stem + ".json";
  {
    std::ofstream in(in_path, std::ios::binary);
    in << small.width << ' ' << small.height << '\n';
    for (size_t i = 0; i < small.rgb.size(); i += 3) {
      const char pixel[4] = {char(small.rgb[i]), char(small.rgb[i + 1]), char(small.rgb[i + 2]), char(255)};
      in.write(pixel, 4);
    }
    if (!in) throw BenchError("ThumbHash: cannot write " + in_path);
  }
  const std::string command = "node " + shell_quote((fs::path(cache_dir_) / "thumbhash_run.mjs").string()) +
                              " " + shell_quote(in_path) + " " + shell_quote(out_path);
  const int status = std::system(command.c_str());
  std::ifstream out(out_path);
  std::stringstream text;
  text << out.rdbuf();
  std::error_code ignored;
  fs::remove(in_path, ignored);
  fs::remove(out_path, ignored);
  if (status != 0) throw BenchError("ThumbHash: '" + command + "' failed");
  nlohmann::json answer;
  try {
    answer = nlohmann::json::parse(text.str());
    result.hash = answer.at("hash").get<std::vector<uint8_t>>();
    const auto rgba = answer.at("rgba").get<std::vector<uint8_t>>();
    odp::base::Image decoded;
    decoded.width = answer.at("w").get<int>();
    decoded.height = answer.at("h").get<int>();
    if (decoded.width <= 0 || decoded.height <= 0 ||
        rgba.size() != size_t(decoded.width) * decoded.height * 4)
      throw BenchError("ThumbHash: the decoded image from Node has an inconsistent size");
    decoded.rgb.resize(size_t(decoded.width) * decoded.height * 3);
    for (size_t i = 0, j = 0; i < rgba.size(); i += 4, j += 3) std::copy_n(&rgba[i], 3, &decoded.rgb[j]);
    start = std::chrono::steady_clock::now();
    result.image = resize_bicubic(decoded, image.width, image.height);
    result.decode_ms = answer.at("decode_ms").get<double>() + elapsed_ms(start);
    result.encode_ms = answer.at("encode_ms").get<double>() + downscale_ms;
  } catch (const nlohmann::json::exception& e) {
    throw BenchError(std::string("ThumbHash: unreadable answer from Node: ") + e.what());
  }
  return result;
}

}  // namespace odp::bench
