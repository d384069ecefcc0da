// odp-size-search: the wall time of odpenc --size's search per phase, with the model's calls apart.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "base/fingerprint.h"
#include "cli/cli_common.h"
#include "cli/process.h"
#include "codec/odp.h"
#include "codec/rate_control.h"
#include "imageio/image.h"
#include "model/model_file.h"
#include "model/tile_model.h"

namespace {

using Clock = std::chrono::steady_clock;

const char* const kUsage =
    "usage: odp-size-search IMAGE... [--model FILE] [--device cpu|cuda|auto] [--size BYTES] [--repeats N]\n"
    "                       [--graphs on|off] [--pad-batches on|off] [--target-psnr DB]\n"
    "  Times odpenc --size's search over scales and overlaps on each image, N times in one process (the\n"
    "  first run pays for lazy GPU state: CUDA graph captures, fp32 weights, cuBLAS handles), and prints\n"
    "  per run: the total, the search's phases, and the model's encode and decode calls (count, batch\n"
    "  sizes, seconds; each new batch size's first call apart). --graphs off runs small GPU batches\n"
    "  eagerly (TileModel::set_gpu_graphs); --pad-batches on pads them to 8 or 16 tiles\n"
    "  (TileModel::set_gpu_batch_padding), so that fewer shapes pay for their first call.\n"
    "  With --target-psnr it times odpenc --target-psnr's search instead (the encode phase then also holds\n"
    "  the model's decodes of the error tables).\n"
    "  Defaults: --size 300, --repeats 3, --graphs on, --pad-batches off, --device auto.\n";

// One model call: which entry point, its batch and its wall time (the model's results are on the host when
// it returns, so the time covers the device's work).
struct Call {
  bool decode;
  int n;
  double seconds;
  bool new_shape;  // the process's first call of this kind and batch: lazy GPU work (graph capture, cuDNN
                   // plans, kernel loading) lands here
};

// A TileModel that forwards to another and records every encode and decode call.
class TimedModel final : public odp::model::TileModel {
 public:
  explicit TimedModel(odp::model::TileModel& inner) : inner_(inner) {}
  std::vector<Call> calls;

 private:
  template <typename Run>
  auto timed(bool decode, int n, Run&& run) {
    const Clock::time_point start = Clock::now();
    auto result = run();
    const bool new_shape = shapes_seen_.insert({decode, n}).second;
    calls.push_back({decode, n, std::chrono::duration<double>(Clock::now() - start).count(), new_shape});
    return result;
  }

 public:
  const odp::model::ModelInfo& info() const override { return inner_.info(); }
  odp::model::Device device() const override { return inner_.device(); }
  int preferred_batch() const override { return inner_.preferred_batch(); }
  std::vector<uint16_t> encode(const float* tiles, int n) override {
    return timed(false, n, [&] { return inner_.encode(tiles, n); });
  }
  void decode(const uint16_t* tokens, const int* keep, int n, float* out) override {
    timed(true, n, [&] { return (inner_.decode(tokens, keep, n, out), 0); });
  }
  std::vector<uint16_t> encode_bytes(const uint8_t* tiles, int n) override {
    return timed(false, n, [&] { return inner_.encode_bytes(tiles, n); });
  }
  void decode_bytes(const uint16_t* tokens, const int* keep, int n, uint8_t* out) override {
    timed(true, n, [&] { return (inner_.decode_bytes(tokens, keep, n, out), 0); });
  }
  void set_cpu_bf16_decode(bool enable) override { inner_.set_cpu_bf16_decode(enable); }
  bool cpu_bf16_decode() const override { return inner_.cpu_bf16_decode(); }
  void set_gpu_graphs(bool enable) override { inner_.set_gpu_graphs(enable); }
  bool gpu_graphs() const override { return inner_.gpu_graphs(); }
  void set_gpu_batch_padding(bool enable) override { inner_.set_gpu_batch_padding(enable); }
  bool gpu_batch_padding() const override { return inner_.gpu_batch_padding(); }
  void set_gpu_encode_precision(odp::model::GpuEncodePrecision precision) override {
    inner_.set_gpu_encode_precision(precision);
  }
  odp::model::GpuEncodePrecision gpu_encode_precision() const override {
    return inner_.gpu_encode_precision();
  }

 private:
  odp::model::TileModel& inner_;
  std::set<std::pair<bool, int>> shapes_seen_;
};

// "N calls, X s, batches {n: count, ...}" over the calls of one kind.
std::string describe_calls(const std::vector<Call>& calls, bool decode, double* seconds) {
  std::map<int, int> batches;
  std::string new_shape_times;  // each new batch size's first call, in call order
  int count = 0, new_shapes = 0;
  double new_shape_seconds = 0;
  *seconds = 0;
  for (const Call& call : calls)
    if (call.decode == decode) {
      ++count;
      *seconds += call.seconds;
      ++batches[call.n];
      if (call.new_shape) {
        ++new_shapes;
        new_shape_seconds += call.seconds;
        new_shape_times += (new_shape_times.empty() ? "" : ", ") + std::to_string(call.n) + ": " +
                           odp::cli::fixed(call.seconds, 3);
      }
    }
  std::string text = std::to_string(count) + " calls, " + odp::cli::fixed(*seconds, 3) + " s, of which " +
                     std::to_string(new_shapes) + " at new batch sizes " +
                     odp::cli::fixed(new_shape_seconds, 3) + " s {" + new_shape_times + "}; batches {";
  bool first = true;
  for (const auto& [n, times] : batches) {
    text += (first ? "" : ", ") + std::to_string(n) + ": " + std::to_string(times);
    first = false;
  }
  return text + "}";
}

}  // namespace

int main(int argc, char** argv) {
  using odp::cli::fixed;
  try {
    const odp::cli::Arguments arguments(
        argc, argv,
        {"--model", "--device", "--size", "--repeats", "--graphs", "--pad-batches", "--target-psnr"},
        {"-h", "--help"});
    if (arguments.has("-h") || arguments.has("--help") || arguments.inputs().empty()) {
      std::cout << kUsage;
      return arguments.inputs().empty() && !arguments.has("-h") && !arguments.has("--help") ? 2 : 0;
    }
    const uint64_t budget =
        static_cast<uint64_t>(arguments.has("--size") ? arguments.integer("--size", 1, 1 << 30) : 300);
    const int repeats = arguments.has("--repeats") ? arguments.integer("--repeats", 1, 100) : 3;
    const std::string graphs = arguments.text("--graphs", "on");
    if (graphs != "on" && graphs != "off") throw std::invalid_argument("--graphs must be on or off");
    const std::string padding = arguments.text("--pad-batches", "off");
    if (padding != "on" && padding != "off") throw std::invalid_argument("--pad-batches must be on or off");

    const Clock::time_point load_start = Clock::now();
    std::unique_ptr<odp::model::TileModel> loaded = odp::cli::load_tool_model(arguments, false);
    loaded->set_gpu_graphs(graphs == "on");
    loaded->set_gpu_batch_padding(padding == "on");
    TimedModel model(*loaded);
    const bool cuda = model.device() == odp::model::Device::kCuda;
    odp::codec::EncodeOptions options;
    options.rate = odp::codec::RateControl::kSize;
    options.max_bytes = budget;
    const bool psnr_search = arguments.has("--target-psnr");
    if (psnr_search) {
      options.rate = odp::codec::RateControl::kTargetPsnr;
      options.target_psnr = arguments.number("--target-psnr", 1, 150);
    }
    // What codec::encode() sets around the search (its GpuPrecisionScope).
    model.set_gpu_encode_precision(options.gpu_precision);
    std::cout << "odp-size-search: "
              << (psnr_search ? "--target-psnr " + fixed(options.target_psnr, 2)
                              : "--size " + std::to_string(budget))
              << ", device " << (cuda ? "cuda" : "cpu") << ", CUDA graphs "
              << (cuda && model.gpu_graphs() ? "on" : "off") << ", batch padding "
              << (cuda && model.gpu_batch_padding() ? "on" : "off") << ", model "
              << odp::model::model_id_text(model.info().model_id) << " loaded in "
              << fixed(odp::cli::seconds_since(load_start), 2) << " s\n";

    int mismatches = 0;
    double total_all = 0;
    int runs = 0;
    for (const std::string& path : arguments.inputs()) {
      const odp::codec::Image image = odp::imageio::read_image(path);
      std::vector<uint8_t> first_bytes;
      for (int run = 0; run < repeats; ++run) {
        model.calls.clear();
        odp::codec::detail::SizeSearchTimes times;
        const Clock::time_point start = Clock::now();
        const odp::codec::EncodeResult result =
            psnr_search ? odp::codec::detail::encode_to_psnr(image, model, options, &times)
                        : odp::codec::detail::encode_within_size(image, model, options, &times);
        const double total = odp::cli::seconds_since(start);
        if (run == 0) first_bytes = result.bytes;
        const bool same = result.bytes == first_bytes;
        mismatches += !same;
        if (run > 0) {  // the warm runs: what a long-lived encoder pays per image
          total_all += total;
          ++runs;
        }
        double encode_model = 0, decode_model = 0;
        const std::string encode_calls = describe_calls(model.calls, false, &encode_model);
        const std::string decode_calls = describe_calls(model.calls, true, &decode_model);
        const double phases = times.resample + times.encode + times.decode + times.upsample + times.psnr;
        std::printf(
            "%s run %d%s: total %.3f s, %d candidates, coded %dx%d overlap %d, %zu B, fnv %016llx%s\n",
            path.c_str(), run + 1, run == 0 ? " (cold)" : "", total, times.candidates,
            result.stats.coded_width, result.stats.coded_height, result.stats.tile_overlap,
            result.bytes.size(), static_cast<unsigned long long>(odp::base::fingerprint(result.bytes)),
            same ? "" : " DIFFERS FROM RUN 1");
        std::printf(
            "  resample %.3f | encode %.3f (model %.3f: %s; CPU %.3f) | decode %.3f (model %.3f: %s; "
            "CPU %.3f) | upsample %.3f | psnr %.3f | rest %.3f\n",
            times.resample, times.encode, encode_model, encode_calls.c_str(), times.encode - encode_model,
            times.decode, decode_model, decode_calls.c_str(), times.decode - decode_model, times.upsample,
            times.psnr, total - phases);
      }
    }
    if (runs > 0) std::printf("mean of the warm runs (2..%d): %.3f s per image\n", repeats, total_all / runs);
    std::printf("files %s across repeats\n", mismatches == 0 ? "identical" : "DIFFER");
    return mismatches == 0 ? 0 : 1;
  } catch (const std::exception& error) {
    std::cerr << "odp-size-search: " << error.what() << "\n"
              << (std::string(error.what()).empty() ? kUsage : "");
    return 2;
  }
}
