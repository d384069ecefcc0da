// odp-bench: rate-distortion-perception of odp against JPEG, WebP and ThumbHash at matched byte sizes.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "bench/anchors.h"
#include "bench/crop_grid.h"
#include "bench/fid.h"
#include "bench/lpips.h"
#include "bench/metrics.h"
#include "bench/progress.h"
#include "bench/rate_match.h"
#include "bench/report.h"
#include "bench/thumbhash.h"
#include "cli/cli_common.h"
#include "cli/process.h"
#include "codec/odp.h"
#include "model/model_file.h"

namespace fs = std::filesystem;
using odp::base::Image;
using odp::bench::BenchError;

namespace {

constexpr const char* kUsage = R"(usage: odp-bench [options] DIR|IMAGE...

Encodes every image with odp at each operating point, then JPEG, WebP, AVIF and JPEG XL (those this build
has) at the same byte budget (best quality and downscale factor that fit), and ThumbHash; measures PSNR
(RGB, Y), SSIM, MS-SSIM, SWD (LPIPS with --lpips, FID with --fid) and encode/decode time. Writes into --out: results.csv,
summary.md, rate_psnr.svg, rate_msssim.svg, rate_swd.svg (rate_lpips.svg with --lpips), grid.png, and
adaptive.md when --target-psnr is given.

options:
  --model PATH         odp model file (default: found like the odp tool does, e.g. model/weights/)
  --random-model       a tiny random model instead (to try the pipeline; the numbers mean nothing)
  --device NAME        cpu, cuda or auto (default auto)
  --out DIR            output folder (default bench-out)
  --tokens LIST        odp token counts per tile (default 1,2,4,8,16,32,64,128,256), or none
  --budgets LIST       odp at these file sizes in bytes (points bN): odpenc --size N's search over scale
                       and overlap (default none), e.g. 20,40,100,300,1000
  --target-psnr LIST   adaptive operating points in dB (default none), e.g. 24,28; also measures the bytes
                       the adaptive mode saves against one fixed token count at equal mean PSNR (adaptive.md)
  --anchors LIST       any of jpeg,webp,avif,jxl, or none (default: all this build has)
  --no-thumbhash       leave ThumbHash out (it needs node and npm; installed into --cache on first use)
  --no-match           skip the search for the bytes each anchor needs to match odp's PSNR (faster)
  --limit N            only the first N images (sorted by name)
  --grid-tokens N      operating point shown in grid.png (default 64, or the nearest in --tokens)
  --grid-budget N      with --budgets: show the budget point nearest N instead (default without --tokens:
                       150)
  --grid-images N      rows of grid.png (default 4)
  --crop N             crop edge in grid.png, pixels (default 192)
  --cache DIR          where npm installs thumbhash (default: bench-cache beside this program)
  --lpips FILE         also measure LPIPS (AlexNet, v0.1) with the weights in FILE, a .safetensors file made
                       from the lpips Python package (bench/README.md says how); default $ODP_LPIPS
  --fid FILE           also measure FID per codec and point, with features from FILE, a TorchScript network
                       (e.g. pytorch-fid's Inception-v3; bench/README.md says how); default $ODP_FID
  -h, --help           this text
)";

struct Options {
  std::string model_path, device = "auto", out_dir = "bench-out", cache_dir, lpips_path, fid_path;
  bool help = false, random_model = false, thumbhash = true, match = true;
  std::vector<int> tokens = {1, 2, 4, 8, 16, 32, 64, 128, 256};
  std::vector<double> target_psnr;
  std::vector<int> budgets;
  int grid_budget = 0;
  std::vector<std::string> anchors = odp::bench::available_anchors();
  int limit = 0, grid_tokens = 64, grid_images = 4, crop = 192;
  std::vector<std::string> inputs;
};

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  for (std::string part; std::getline(stream, part, ',');)
    if (!part.empty()) parts.push_back(part);
  return parts;
}

double parse_number(const std::string& text, const std::string& flag) {
  try {
    size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size() && std::isfinite(v)) return v;
  } catch (const std::exception&) {
  }
  throw BenchError(flag + ": '" + text + "' is not a number");
}

int parse_int(const std::string& text, const std::string& flag, int lo, int hi) {
  const double v = parse_number(text, flag);
  if (v != std::floor(v) || v < lo || v > hi)
    throw BenchError(flag + ": '" + text + "' must be a whole number in " + std::to_string(lo) + ".." +
                     std::to_string(hi));
  return static_cast<int>(v);
}

// The tools' one argument parser (cli::Arguments: "--name value", "--name=value", "--" ends the options);
// lists (--tokens 1,16,256) are split here.
Options parse_options(int argc, char** argv) {
  const odp::cli::Arguments arguments(
      argc, argv,
      {"--model", "--device", "--out", "--cache", "--lpips", "--fid", "--limit", "--grid-tokens",
       "--grid-images", "--crop", "--tokens", "--target-psnr", "--anchors", "--lpips-weights",
       "--fid-weights", "--budgets", "--grid-budget"},
      {"-h", "--help", "--random-model", "--no-thumbhash", "--no-match"});
  Options o;
  if (arguments.has("-h") || arguments.has("--help")) {
    o.help = true;
    return o;
  }
  if (arguments.has("--lpips-weights"))
    throw BenchError(
        "--lpips-weights: use --lpips FILE (a .safetensors file of LPIPS-alex; see bench/README.md)");
  if (arguments.has("--fid-weights"))
    throw BenchError("--fid-weights: use --fid FILE (a TorchScript feature network; see bench/README.md)");
  if (const char* env = std::getenv("ODP_LPIPS")) o.lpips_path = env;
  if (const char* env = std::getenv("ODP_FID")) o.fid_path = env;
  o.model_path = arguments.text("--model", o.model_path);
  o.random_model = arguments.has("--random-model");
  o.device = arguments.text("--device", o.device);
  o.out_dir = arguments.text("--out", o.out_dir);
  o.cache_dir = arguments.text("--cache", o.cache_dir);
  o.lpips_path = arguments.text("--lpips", o.lpips_path);
  o.fid_path = arguments.text("--fid", o.fid_path);
  if (arguments.has("--no-thumbhash")) o.thumbhash = false;
  if (arguments.has("--no-match")) o.match = false;
  if (arguments.has("--limit")) o.limit = arguments.integer("--limit", 1, 1 << 30);
  if (arguments.has("--grid-tokens")) o.grid_tokens = arguments.integer("--grid-tokens", 1, 256);
  if (arguments.has("--grid-images")) o.grid_images = arguments.integer("--grid-images", 0, 64);
  if (arguments.has("--crop")) o.crop = arguments.integer("--crop", 8, 4096);
  if (arguments.has("--tokens")) {
    o.tokens.clear();
    if (arguments.text("--tokens") != "none")
      for (const auto& t : split(arguments.text("--tokens")))
        o.tokens.push_back(parse_int(t, "--tokens", 1, 256));
    if (o.tokens.empty() && arguments.text("--tokens") != "none")
      throw BenchError("--tokens: give at least one token count, e.g. 1,16,256, or none");
  }
  for (const auto& b : split(arguments.text("--budgets")))
    o.budgets.push_back(parse_int(b, "--budgets", 1, 1 << 30));
  if (o.tokens.empty() && o.budgets.empty()) throw BenchError("--tokens none needs --budgets");
  if (arguments.has("--grid-budget")) o.grid_budget = arguments.integer("--grid-budget", 1, 1 << 30);
  for (const auto& t : split(arguments.text("--target-psnr")))
    o.target_psnr.push_back(parse_number(t, "--target-psnr"));
  if (arguments.has("--anchors")) {
    const std::string list = arguments.text("--anchors");
    o.anchors = list == "none" ? std::vector<std::string>{} : split(list);
    for (const auto& a : o.anchors) odp::bench::make_anchor(a);  // fails early on an unknown name
  }
  o.inputs = arguments.inputs();
  if (o.inputs.empty()) throw BenchError("no images given: pass a folder or image files (see --help)");
  std::sort(o.tokens.begin(), o.tokens.end());
  o.tokens.erase(std::unique(o.tokens.begin(), o.tokens.end()), o.tokens.end());
  return o;
}

bool looks_like_image(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".webp" || ext == ".ppm" || ext == ".pnm";
}

std::vector<std::string> list_images(const Options& o) {
  std::vector<std::string> files;
  for (const auto& input : o.inputs) {
    std::error_code ec;
    if (fs::is_directory(input, ec)) {
      std::vector<std::string> found;
      for (const auto& entry : fs::directory_iterator(input, ec))
        if (entry.is_regular_file() && looks_like_image(entry.path())) found.push_back(entry.path().string());
      if (ec) throw BenchError(input + ": cannot list the folder: " + ec.message());
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(input, ec)) {
      files.push_back(input);
    } else {
      throw BenchError(input + ": no such file or folder");
    }
  }
  if (o.limit > 0 && static_cast<int>(files.size()) > o.limit) files.resize(o.limit);
  if (files.empty()) throw BenchError("no images (.png .jpg .jpeg .webp .ppm) found in the given folders");
  return files;
}

std::unique_ptr<odp::model::TileModel> open_model(const Options& o, const char* argv0) {
  odp::cli::apply_process_policy();  // as odpenc/odpdec do: timings comparable with the tools
  if (o.random_model) {
    odp::model::ModelConfig config;
    config.width = 32, config.heads = 2, config.encoder_layers = 1, config.decoder_layers = 1;
    config.mlp_ratio = 2, config.head_channels = {16, 16, 8, 8};
    return odp::model::TileModel::random(config, 1, odp::model::parse_device(o.device));
  }
  auto model = odp::codec::load_model(odp::cli::find_model(o.model_path, argv0), o.device);
  odp::cli::apply_model_environment(*model);
  return model;
}

double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

std::string token_point(int tokens) { return "t" + std::to_string(tokens); }
std::string budget_point(int bytes) { return "b" + std::to_string(bytes); }
std::string psnr_point(double target) {
  return "psnr" + odp::bench::format_number(target, target == std::floor(target) ? 0 : 1);
}

// One odp operating point of one image: the file and its decoding.
struct OdpPoint {
  std::string point;
  std::vector<uint8_t> file;
  Image decoded;
  double encode_ms = 0, decode_ms = 0;
};

// Everything measured on one image, plus what the adaptive-saving step needs later.
class ImageBench {
 public:
  ImageBench(const Options& o, odp::model::TileModel& model, const std::vector<odp::bench::Anchor>& anchors,
             const odp::bench::ThumbHash* thumbhash, const odp::bench::Lpips* lpips,
             odp::bench::FidCollector* fid)
      : o_(o), model_(model), anchors_(anchors), thumbhash_(thumbhash), lpips_(lpips), fid_(fid) {}

  // Appends this image's rows; fills `grid` with the reconstructions at the grid point when asked.
  void run(const std::string& path, const Image& original, std::vector<odp::bench::ResultRow>& rows,
           std::vector<odp::bench::GridCell>* grid, const std::string& grid_point);
  // Each image's full-token .odp file by path (small), for the adaptive-saving step.
  const std::map<std::string, std::vector<uint8_t>>& full_files() const { return full_files_; }

 private:
  odp::bench::ResultRow row(const std::string& name, const Image& image, const std::string& codec,
                            const std::string& point, uint64_t budget) const {
    odp::bench::ResultRow r;
    r.image = name, r.width = image.width, r.height = image.height, r.codec = codec, r.point = point;
    r.budget = budget;
    return r;
  }

  const Options& o_;
  odp::model::TileModel& model_;
  const std::vector<odp::bench::Anchor>& anchors_;
  const odp::bench::ThumbHash* thumbhash_;
  const odp::bench::Lpips* lpips_;  // null without --lpips
  odp::bench::FidCollector* fid_;   // null without --fid
  std::map<std::string, std::vector<uint8_t>> full_files_;
};

std::string bytes_caption(uint64_t bytes) { return std::to_string(bytes) + " B"; }

void ImageBench::run(const std::string& path, const Image& original, std::vector<odp::bench::ResultRow>& rows,
                     std::vector<odp::bench::GridCell>* grid, const std::string& grid_point) {
  const std::string name = fs::path(path).filename().string();
  const auto swd_ref = odp::bench::swd_reference(original);
  std::optional<odp::bench::LpipsReference> lpips_ref;
  if (lpips_ && odp::bench::Lpips::fits(original))
    lpips_ref = lpips_->reference(original);
  else if (lpips_)
    std::cerr << "odp-bench: " << name << " is smaller than " << odp::bench::Lpips::kMinSide << "x"
              << odp::bench::Lpips::kMinSide << " pixels, too small for LPIPS: its rows have none\n";
  if (fid_) fid_->add_original(original);
  // Every measure of one reconstruction (LPIPS only with --lpips; FID's features are gathered for the end).
  auto measure = [&](const Image& test, const std::string& codec, const std::string& point) {
    odp::bench::Quality q = odp::bench::measure(original, swd_ref, test);
    if (lpips_ref) q.lpips = lpips_->distance(*lpips_ref, test);
    if (fid_) fid_->add(codec, point, test);
    return q;
  };
  const odp::model::ModelInfo& info = model_.info();

  // odp: one encode at the full token count; smaller files are its prefixes (what truncation gives).
  std::vector<OdpPoint> points;
  odp::codec::EncodeOptions full_options;
  full_options.tokens = info.config.num_tokens;
  full_options.keep_metadata = false;  // budgets count image data only; the anchors carry no ICC/EXIF either
  auto start = std::chrono::steady_clock::now();
  // Only the token points and the adaptive-saving step need the full-token file.
  const bool need_full = !o_.tokens.empty() || !o_.target_psnr.empty();
  const odp::codec::EncodeResult full =
      need_full ? odp::codec::encode(original, model_, full_options) : odp::codec::EncodeResult{};
  const double full_encode_ms = elapsed_ms(start);
  if (need_full) full_files_[path] = full.bytes;
  for (int tokens : o_.tokens) {
    OdpPoint p;
    p.point = token_point(tokens);
    start = std::chrono::steady_clock::now();
    odp::codec::TruncateOptions cut;
    cut.tokens = tokens;
    p.file = odp::codec::truncate(full.bytes.data(), full.bytes.size(), cut, &info);
    p.encode_ms = full_encode_ms + elapsed_ms(start);
    points.push_back(std::move(p));
  }
  for (int budget : o_.budgets) {
    OdpPoint p;
    p.point = budget_point(budget);
    odp::codec::EncodeOptions sized;
    sized.rate = odp::codec::RateControl::kSize;
    sized.max_bytes = static_cast<uint64_t>(budget);
    sized.keep_metadata = false;
    start = std::chrono::steady_clock::now();
    try {
      p.file = odp::codec::encode(original, model_, sized).bytes;
    } catch (const odp::base::Error& error) {
      if (error.kind() != odp::base::ErrorKind::kUsage) throw;
      std::cerr << "odp-bench: " << name << ": no odp file fits " << budget << " bytes: " << error.what()
                << "\n";
      continue;
    }
    p.encode_ms = elapsed_ms(start);
    points.push_back(std::move(p));
  }
  for (double target : o_.target_psnr) {
    OdpPoint p;
    p.point = psnr_point(target);
    odp::codec::EncodeOptions adaptive;
    adaptive.rate = odp::codec::RateControl::kTargetPsnr;
    adaptive.target_psnr = target;
    adaptive.keep_metadata = false;
    start = std::chrono::steady_clock::now();
    p.file = odp::codec::encode(original, model_, adaptive).bytes;
    p.encode_ms = elapsed_ms(start);
    points.push_back(std::move(p));
  }
  std::vector<odp::bench::AnchorSearch> searches;
  for (const auto& anchor : anchors_) searches.emplace_back(anchor, original);

  for (auto& p : points) {
    start = std::chrono::steady_clock::now();
    p.decoded = odp::codec::decode(p.file.data(), p.file.size(), model_);
    p.decode_ms = elapsed_ms(start);
    auto odp_row = row(name, original, "odp", p.point, p.file.size());
    odp_row.bytes = p.file.size();
    odp_row.setting = p.point;
    odp_row.quality = measure(p.decoded, "odp", p.point);
    odp_row.encode_ms = p.encode_ms, odp_row.decode_ms = p.decode_ms;
    rows.push_back(odp_row);
    const bool in_grid = grid && p.point == grid_point;
    if (in_grid) grid->push_back({true, p.decoded, bytes_caption(p.file.size())});

    for (size_t a = 0; a < anchors_.size(); ++a) {
      auto r = row(name, original, anchors_[a].name, p.point, p.file.size());
      const auto best = searches[a].best_within(p.file.size());
      r.reached = best.has_value();
      if (best) {
        const Image rebuilt = searches[a].reconstruct(*best);
        r.bytes = best->bytes, r.setting = best->setting(anchors_[a]);
        r.quality = measure(rebuilt, anchors_[a].name, p.point);
        r.encode_ms = best->encode_ms, r.decode_ms = best->decode_ms;
        if (in_grid) grid->push_back({true, rebuilt, bytes_caption(best->bytes)});
      } else if (in_grid) {
        grid->push_back({false, {}, "CANNOT REACH"});
      }
      if (o_.match && std::isfinite(odp_row.quality.psnr_rgb)) {
        const auto matched = searches[a].smallest_reaching(odp_row.quality.psnr_rgb);
        r.match_reached = matched.has_value();
        if (matched) r.match_bytes = matched->bytes;
      }
      rows.push_back(r);
    }
  }
  if (thumbhash_) {
    const odp::bench::ThumbHashResult th = thumbhash_->run(original);
    auto r = row(name, original, "thumbhash", "thumbhash", th.hash.size());
    r.bytes = th.hash.size(), r.setting = "thumbhash";
    r.quality = measure(th.image, "thumbhash", "thumbhash");
    r.encode_ms = th.encode_ms, r.decode_ms = th.decode_ms;
    rows.push_back(r);
    if (grid) grid->push_back({true, th.image, bytes_caption(th.hash.size())});
  }
}

// Issue 4's figure, two ways: bytes the adaptive mode saves against one fixed token count
// (1) at equal mean PSNR over all images, and (2) at an equal share of images reaching the target (what a
// target-quality mode promises each image). For each target the fixed count is found by bisection (mean PSNR
// and share grow with the token count), bytes interpolated linearly between the two bracketing counts.
// The fixed points measured in the main run seed the bisection, so only counts between them cost decodes.
std::string adaptive_saving_markdown(const Options& o, odp::model::TileModel& model,
                                     const std::map<std::string, std::vector<uint8_t>>& full_files,
                                     const std::vector<std::string>& files,
                                     const std::vector<odp::bench::ResultRow>& rows) {
  const int max_tokens = model.info().config.num_tokens;
  using Mean = odp::bench::RatePoint;
  struct Fixed {
    std::vector<double> psnr;  // per image, in `files` order
    double bytes = 0;          // mean
  };
  // Per-image PSNR of odp's rows at one point, in `files` order; empty unless every image has one.
  auto measured = [&](const std::string& point) {
    Fixed f;
    for (const auto& path : files) {
      const std::string name = fs::path(path).filename().string();
      auto row = std::find_if(rows.begin(), rows.end(), [&](const odp::bench::ResultRow& r) {
        return r.codec == "odp" && r.point == point && r.image == name;
      });
      if (row == rows.end()) return Fixed{};
      f.psnr.push_back(row->quality.psnr_rgb);
      f.bytes += static_cast<double>(row->bytes) / files.size();
    }
    return f;
  };
  std::map<int, Fixed> fixed;  // token count -> per-image PSNR and mean bytes
  for (int tokens : o.tokens) {
    Fixed f = measured(token_point(tokens));
    if (!f.psnr.empty()) fixed[tokens] = std::move(f);
  }
  auto fixed_at = [&](int tokens) -> const Fixed& {
    auto found = fixed.find(tokens);
    if (found != fixed.end()) return found->second;
    Fixed f;
    odp::bench::ProgressBar progress(static_cast<int>(files.size()));
    for (size_t i = 0; i < files.size(); ++i) {
      const std::string& path = files[i];
      progress.update(static_cast<int>(i), "adaptive saving: " + token_point(tokens));
      const Image original =
          odp::imageio::read_image(path);  // read again: large datasets need not stay in memory
      const auto& full = full_files.at(path);
      odp::codec::TruncateOptions cut;
      cut.tokens = tokens;
      const auto file = odp::codec::truncate(full.data(), full.size(), cut, &model.info());
      f.psnr.push_back(odp::bench::psnr_rgb(original, odp::codec::decode(file.data(), file.size(), model)));
      f.bytes += static_cast<double>(file.size()) / files.size();
    }
    return fixed[tokens] = std::move(f);
  };
  auto mean_psnr = [](const std::vector<double>& psnr) {
    double mean = 0;
    for (double p : psnr) mean += p / psnr.size();
    return mean;
  };
  auto mean_at = [&](int tokens) {
    const Fixed& f = fixed_at(tokens);
    return Mean{mean_psnr(f.psnr), f.bytes};
  };
  // "psnr" of the returned point: the percentage of images at or above `target`, so that the same bisection
  // finds the count reaching a share.
  auto share_reaching = [](const std::vector<double>& psnr, double target) {
    const auto n = std::count_if(psnr.begin(), psnr.end(), [&](double p) { return p >= target; });
    return psnr.empty() ? 0.0 : 100.0 * static_cast<double>(n) / static_cast<double>(psnr.size());
  };
  auto tokens_text = [](const odp::bench::FixedMatch& match) {
    return (match.below < match.above ? std::to_string(match.below) + "–" : std::string()) +
           std::to_string(match.above);
  };
  auto saving_text = [](double adaptive_bytes, double fixed_bytes) {
    return odp::bench::format_number(100.0 * (1.0 - adaptive_bytes / fixed_bytes), 1) + " %";
  };

  std::ostringstream mean_table, share_table;
  for (double target : o.target_psnr) {
    const Fixed adaptive = measured(psnr_point(target));
    if (adaptive.psnr.empty()) continue;
    const double adaptive_mean = mean_psnr(adaptive.psnr);
    const std::string target_text = odp::bench::format_number(target, 1);
    mean_table << "| " << target_text << " | " << odp::bench::format_number(adaptive_mean, 2) << " | "
               << odp::bench::format_number(adaptive.bytes, 0) << " | ";
    const odp::bench::FixedMatch by_mean =
        odp::bench::fixed_tokens_at_psnr(adaptive_mean, max_tokens, mean_at);
    if (!by_mean.reachable) {
      mean_table << "> " << max_tokens << " | — | fixed counts cannot reach this PSNR |\n";
    } else {
      mean_table << tokens_text(by_mean) << " | " << odp::bench::format_number(by_mean.bytes, 0) << " | "
                 << saving_text(adaptive.bytes, by_mean.bytes) << " |\n";
    }

    const double share = share_reaching(adaptive.psnr, target);
    share_table << "| " << target_text << " | " << odp::bench::format_number(share, 0) << " % | "
                << odp::bench::format_number(adaptive.bytes, 0) << " | ";
    const odp::bench::FixedMatch by_share =
        odp::bench::fixed_tokens_at_psnr(share, max_tokens, [&](int tokens) {
          return Mean{share_reaching(fixed_at(tokens).psnr, target), fixed_at(tokens).bytes};
        });
    if (!by_share.reachable) {
      share_table << "> " << max_tokens << " | — | no fixed count gets as many images there |\n";
    } else {
      share_table << tokens_text(by_share) << " | " << odp::bench::format_number(by_share.bytes, 0) << " | "
                  << saving_text(adaptive.bytes, by_share.bytes) << " |\n";
    }
  }
  std::ostringstream md;
  md << "# Adaptive mode (--target-psnr) against one fixed token count\n\n"
     << "Mean over " << files.size()
     << " images. Two ways to pick the fixed token count to compare with "
        "(bytes interpolated between the two neighbouring counts).\n\n"
     << "## At equal mean PSNR over the images\n\n"
     << "Equal mean PSNR favours the fixed count: it may leave hard images far below the target and spend "
        "the saved bytes on easy ones far above it.\n\n"
     << "| target dB | adaptive mean PSNR | adaptive mean bytes | fixed tokens | fixed mean bytes | saving "
        "|\n"
     << "|---:|---:|---:|---:|---:|---:|\n"
     << mean_table.str() << "\n## At an equal share of images reaching the target\n\n"
     << "What a target-quality mode promises: the fixed count that brings as many images to the target PSNR "
        "as "
        "the adaptive mode does (an image that cannot reach it stops within "
     << odp::codec::kAdaptiveSlackDb << " dB).\n\n"
     << "| target dB | images reaching it (adaptive) | adaptive mean bytes | fixed tokens for the same share "
        "| "
        "fixed mean bytes | saving |\n"
     << "|---:|---:|---:|---:|---:|---:|\n"
     << share_table.str();
  return md.str();
}

void write_text(const fs::path& path, const std::string& text) {
  odp::base::write_file_atomic(path.string(), std::vector<uint8_t>(text.begin(), text.end()));
}

int nearest_token_count(const std::vector<int>& tokens, int wanted) {
  return *std::min_element(tokens.begin(), tokens.end(),
                           [&](int a, int b) { return std::abs(a - wanted) < std::abs(b - wanted); });
}

// The summary's first paragraph: what was run, on what, and how to run it again.
std::string describe_run(const Options& o, const odp::model::TileModel& model, size_t images, double seconds,
                         int argc, char** argv) {
  std::ostringstream text;
  text << "Command: `odp-bench";
  for (int i = 1; i < argc; ++i) text << ' ' << argv[i];
  text << "`. Model: " << (o.random_model ? std::string("random (pipeline test only)") : model.info().path)
       << " (model id " << odp::model::model_id_text(model.info().model_id) << ") on "
       << (model.device() == odp::model::Device::kCuda ? "CUDA" : "CPU") << ". Images: " << images
       << ". Points: t*N* = *N* tokens per tile (one encode, then truncation), psnr*X* = adaptive mode "
          "(odpenc "
          "--target-psnr *X*: the smallest file over scale and overlap whose image reaches *X* dB, tokens at "
          "equal slope across tiles), b*N* = odpenc "
          "--size *N* (its search over scale and overlap). Anchors search quality "
          "and a downscale factor (";
  for (double d : odp::bench::default_divisors())
    text << (d == 1 ? "" : ", ") << odp::bench::divisor_label(d);
  text << "; bicubic) for the best PSNR within odp's bytes.";
  if (!o.lpips_path.empty()) text << " LPIPS: AlexNet v0.1 with the weights in " << o.lpips_path << ".";
  if (!o.fid_path.empty()) text << " FID: features from " << o.fid_path << " (section at the end).";
  text << " Run time " << odp::bench::format_number(seconds, 0) << " s.";
  return text.str();
}

int run(int argc, char** argv) {
  const Options o = parse_options(argc, argv);
  if (o.help) {
    std::cout << kUsage;
    return 0;
  }
  const std::vector<std::string> files = list_images(o);
  auto model = open_model(o, argv[0]);
  std::optional<odp::bench::Lpips> lpips;  // loaded before the long run, so that a bad file fails at once
  if (!o.lpips_path.empty()) lpips.emplace(o.lpips_path, model->device());
  std::optional<odp::bench::FidNetwork> fid_network;  // likewise
  std::optional<odp::bench::FidCollector> fid;
  if (!o.fid_path.empty()) fid.emplace(fid_network.emplace(o.fid_path, model->device()));
  std::vector<odp::bench::Anchor> anchors;
  for (const auto& name : o.anchors) anchors.push_back(odp::bench::make_anchor(name));
  std::optional<odp::bench::ThumbHash> thumbhash;
  if (o.thumbhash) {
    const std::string cache =
        o.cache_dir.empty() ? (fs::absolute(argv[0]).parent_path() / "bench-cache" / "thumbhash").string()
                            : o.cache_dir;
    thumbhash.emplace(cache);
    if (!thumbhash->available()) {
      std::cerr << "odp-bench: " << thumbhash->reason() << "\n";
      thumbhash.reset();
    }
  }
  fs::create_directories(o.out_dir);

  const bool grid_on_budget = !o.budgets.empty() && (o.grid_budget > 0 || o.tokens.empty());
  const std::string grid_point =
      grid_on_budget ? budget_point(nearest_token_count(o.budgets, o.grid_budget > 0 ? o.grid_budget : 150))
                     : token_point(nearest_token_count(o.tokens, o.grid_tokens));
  std::vector<std::string> grid_titles = {"original", "odp"};
  for (const auto& a : anchors) grid_titles.push_back(a.name);
  if (thumbhash) grid_titles.push_back("thumbhash");
  std::vector<std::vector<odp::bench::GridCell>> grid_rows;

  std::vector<odp::bench::ResultRow> rows;
  ImageBench bench(o, *model, anchors, thumbhash ? &*thumbhash : nullptr, lpips ? &*lpips : nullptr,
                   fid ? &*fid : nullptr);
  odp::bench::ProgressBar progress(static_cast<int>(files.size()));
  int skipped = 0;
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < files.size(); ++i) {
    progress.update(static_cast<int>(i), fs::path(files[i]).filename().string());
    Image original;
    try {
      original = odp::imageio::read_image(files[i]);
    } catch (const odp::base::Error& e) {
      progress.finish();
      std::cerr << "odp-bench: skipping " << files[i] << ": " << e.what() << "\n";
      ++skipped;
      continue;
    }
    const bool in_grid = static_cast<int>(grid_rows.size()) < o.grid_images;
    std::vector<odp::bench::GridCell> grid_row;
    if (in_grid) grid_row.push_back({true, original, fs::path(files[i]).stem().string()});
    bench.run(files[i], original, rows, in_grid ? &grid_row : nullptr, grid_point);
    if (in_grid) grid_rows.push_back(std::move(grid_row));
  }
  progress.finish();
  const double total_s = elapsed_ms(start) / 1000;

  const bool with_lpips = lpips.has_value();
  std::string csv = odp::bench::csv_header(with_lpips);
  for (const auto& r : rows) csv += odp::bench::csv_line(r, with_lpips);
  write_text(fs::path(o.out_dir) / "results.csv", csv);
  const std::string preamble = describe_run(o, *model, files.size() - skipped, total_s, argc, argv);
  write_text(fs::path(o.out_dir) / "summary.md", odp::bench::markdown_summary(rows, preamble, with_lpips) +
                                                     (fid ? "\n" + fid->markdown() : std::string()));
  write_text(fs::path(o.out_dir) / "rate_psnr.svg",
             odp::bench::rate_plot_svg(rows, odp::bench::PlotMeasure::kPsnr));
  write_text(fs::path(o.out_dir) / "rate_msssim.svg",
             odp::bench::rate_plot_svg(rows, odp::bench::PlotMeasure::kMsSsim));
  write_text(fs::path(o.out_dir) / "rate_swd.svg",
             odp::bench::rate_plot_svg(rows, odp::bench::PlotMeasure::kSwd));
  if (with_lpips)
    write_text(fs::path(o.out_dir) / "rate_lpips.svg",
               odp::bench::rate_plot_svg(rows, odp::bench::PlotMeasure::kLpips));
  if (!grid_rows.empty()) {
    const Image grid =
        odp::bench::crop_grid(grid_titles, grid_rows, o.crop,
                              "all at the odp file size of " + grid_point + " (" + grid_point.substr(1) +
                                  (grid_on_budget ? " bytes at most)" : " tokens)"));
    odp::imageio::write_image((fs::path(o.out_dir) / "grid.png").string(), grid);
  }
  if (!o.target_psnr.empty()) {
    std::vector<std::string> measured;  // the files the main run could read
    for (const auto& f : files)
      if (bench.full_files().count(f)) measured.push_back(f);
    write_text(fs::path(o.out_dir) / "adaptive.md",
               adaptive_saving_markdown(o, *model, bench.full_files(), measured, rows));
  }
  std::cerr << "odp-bench: " << files.size() - skipped << " images in "
            << odp::bench::format_number(total_s, 0) << " s; results in " << o.out_dir << "/\n";
  return skipped == static_cast<int>(files.size()) ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const BenchError& e) {
    std::cerr << "odp-bench: " << e.what() << "\n";
    return 2;
  } catch (const odp::cli::UsageError& e) {
    std::cerr << "odp-bench: " << e.what() << " (see --help)\n";
    return 2;
  } catch (const odp::base::Error& e) {
    std::cerr << "odp-bench: " << e.what() << "\n";
    return 1;
  } catch (const odp::model::ModelError& e) {
    std::cerr << "odp-bench: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "odp-bench: " << e.what() << "\n";
    return 1;
  }
}
