// odp-throughput: tiles/s and MP/s of encode and decode on the GPU and the CPU, next to the model's FLOP
// floor.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/throughput/timing.h"
#include "bench/throughput/torch_probes.h"
#include "cli/cli_common.h"
#include "cli/process.h"
#include "model/model_flops.h"
#include "model/tile_model.h"
#ifdef ODP_HAVE_CUDA_KERNELS
#include "bench/throughput/kernel_rates.h"
#include "cuda/odp_cuda.h"
#endif

namespace {

using odp::model::Device;

constexpr uint64_t kRandomModelSeed = 1;
constexpr int kAgreementTiles = 8;
// The path name of rows through TileModel's byte entry points (encode_bytes / decode_bytes).
constexpr const char* kBytePath = "TM bytes";
// The same with CUDA graphs off (TileModel::set_gpu_graphs), at the small batches where they apply.
constexpr const char* kEagerBytePath = "TM eager";

const char* const kUsage =
    "usage: odp-throughput [--model FILE] [--device cpu|cuda|all] [--batch LIST] [--seconds S]\n"
    "  --model FILE   model file (default: a random model with the default ModelConfig)\n"
    "  --device D     cpu, cuda or all (default all: cuda when LibTorch sees a GPU, then cpu)\n"
    "  --batch LIST   comma-separated batch sizes (default 1,256 on cuda and 1,8 on cpu)\n"
    "  --seconds S    time budget per measurement after warm-up (default 2)\n";

struct Options {
  std::string model_path;
  std::vector<Device> devices = {Device::kCuda, Device::kCpu};
  std::vector<int> batches;  // empty: the per-device default
  double seconds = 2.0;
};

std::vector<int> parse_batches(const std::string& list) {
  std::vector<int> batches;
  std::stringstream stream(list);
  for (std::string item; std::getline(stream, item, ',');) {
    size_t used = 0;
    int batch = 0;
    try {
      batch = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || batch < 1 || batch > 65536)
      throw std::invalid_argument("--batch: '" + item + "' is not a batch size in 1..65536");
    batches.push_back(batch);
  }
  if (batches.empty()) throw std::invalid_argument("--batch: the list is empty");
  return batches;
}

// The tools' one argument parser (cli::Arguments); an empty invalid_argument asks main for the usage text.
Options parse_options(int argc, char** argv) {
  const odp::cli::Arguments arguments(argc, argv, {"--model", "--device", "--batch", "--seconds"},
                                      {"-h", "--help"});
  if (arguments.has("-h") || arguments.has("--help")) throw std::invalid_argument("");
  if (!arguments.inputs().empty())
    throw std::invalid_argument("unexpected argument " + arguments.inputs()[0]);
  Options options;
  options.model_path = arguments.text("--model");
  if (arguments.has("--device")) {
    const std::string value = arguments.text("--device");
    if (value == "all")
      options.devices = {Device::kCuda, Device::kCpu};
    else if (value == "cpu")
      options.devices = {Device::kCpu};
    else if (value == "cuda")
      options.devices = {Device::kCuda};
    else
      throw std::invalid_argument("--device: '" + value + "' is not cpu, cuda or all");
  }
  if (arguments.has("--batch")) options.batches = parse_batches(arguments.text("--batch"));
  if (arguments.has("--seconds")) options.seconds = arguments.number("--seconds", 0, 3600);
  return options;
}

const char* device_name(Device device) { return device == Device::kCuda ? "cuda" : "cpu"; }

// GPU memory in use now, in MiB (every process, the caching allocator's reserve included); none without
// cuda/.
std::optional<double> gpu_mib_in_use() {
#ifdef ODP_HAVE_CUDA_KERNELS
  return static_cast<double>(odp::cuda::device_memory_in_use()) / (1 << 20);
#else
  return std::nullopt;
#endif
}

struct Row {
  std::string device, path, op, precision;
  int batch = 0;
  double seconds_per_call = 0;  // 0: the measurement failed (see note)
  double floor_tiles_per_second = 0;
  std::optional<double> gpu_mib;
  std::string note;
};

std::vector<float> random_tiles(int count, int tile_size, std::mt19937& rng) {
  std::uniform_real_distribution<float> value(0.0f, 1.0f);
  std::vector<float> tiles(static_cast<size_t>(count) * 3 * tile_size * tile_size);
  for (auto& v : tiles) v = value(rng);
  return tiles;
}

std::vector<uint8_t> random_byte_tiles(int count, int tile_size, std::mt19937& rng) {
  std::uniform_int_distribution<int> value(0, 255);
  std::vector<uint8_t> tiles(static_cast<size_t>(count) * 3 * tile_size * tile_size);
  for (auto& v : tiles) v = static_cast<uint8_t>(value(rng));
  return tiles;
}

// Runs one measurement; a failure becomes a row with its message, so the other rows still get measured.
template <typename Measure>
Row measure_row(Row row, std::optional<double> gpu_baseline, Measure&& measure) {
  try {
    row.seconds_per_call = measure();
  } catch (const std::exception& error) {
    row.note = error.what();
    if (row.note.size() > 120) row.note = row.note.substr(0, 117) + "...";
  }
  if (gpu_baseline) {
    if (auto now = gpu_mib_in_use()) row.gpu_mib = *now - *gpu_baseline;
  }
  return row;
}

struct DeviceResult {
  std::vector<Row> rows;
  double matmul_rate = 0;
  // Encodes of a fixed tile set, to compare devices: one per encoder precision tried (name, tokens).
  std::vector<std::pair<std::string, std::vector<uint16_t>>> agreement_tokens;
};

const char* decode_precision(const odp::model::TileModel& model) {
  if (model.device() == Device::kCuda) return "bf16";
  return model.cpu_bf16_decode() ? "bf16" : "fp32";
}

DeviceResult run_device(Device device, const Options& options, const odp::model::ModelFlops& flops,
                        const std::vector<float>& agreement_set) {
  DeviceResult result;
  const bool cuda = device == Device::kCuda;
  const std::optional<double> gpu_baseline = cuda ? gpu_mib_in_use() : std::nullopt;
  auto model = options.model_path.empty()
                   ? odp::model::TileModel::random(odp::model::ModelConfig{}, kRandomModelSeed, device)
                   : odp::model::TileModel::load(options.model_path, device);
  odp::cli::apply_model_environment(*model);
  const odp::model::ModelConfig config =
      model->info().config;  // a copy: the model is released before the probe
  result.matmul_rate = odp::model::measure_matmul_rate(device, options.seconds);
  std::vector<int> batches = options.batches;
  if (batches.empty()) batches = {1, cuda ? 256 : 8};
  const int warmups = cuda ? 2 : 1;

  std::mt19937 rng(42);
  const Row encode_row{
      device_name(device), "TileModel", "encode", "fp32", 0, 0, result.matmul_rate / flops.encode_per_tile,
      std::nullopt,        ""};
  Row decode_row = encode_row;
  decode_row.op = "decode";
  decode_row.precision = decode_precision(*model);
  decode_row.floor_tiles_per_second = result.matmul_rate / flops.decode_per_tile;
  // The GPU encoder runs at each precision (speed against agreement with the CPU's fp32 tokens); the CPU's is
  // fp32.
  std::vector<odp::model::GpuEncodePrecision> encode_precisions = {odp::model::GpuEncodePrecision::kFp32};
  if (cuda)
    encode_precisions = {odp::model::GpuEncodePrecision::kBf16, odp::model::GpuEncodePrecision::kTf32,
                         odp::model::GpuEncodePrecision::kFp32};
  auto encode_precision_name = [&](odp::model::GpuEncodePrecision precision) -> std::string {
    return cuda ? odp::model::gpu_encode_precision_name(precision) : "fp32";
  };
  for (int batch : batches) {
    // Two input sets so that repeats do not replay one buffer.
    const std::vector<float> inputs[2] = {random_tiles(batch, config.tile_size, rng),
                                          random_tiles(batch, config.tile_size, rng)};
    std::uniform_int_distribution<int> code(0, config.codebook_size() - 1);
    std::vector<uint16_t> tokens(static_cast<size_t>(batch) * config.num_tokens);
    for (auto& t : tokens) t = static_cast<uint16_t>(code(rng));
    const std::vector<int> keep(batch, config.num_tokens);
    std::vector<float> decoded(inputs[0].size());
    int call = 0;
    for (auto precision : encode_precisions) {
      model->set_gpu_encode_precision(precision);
      Row row = encode_row;
      row.batch = batch;
      row.precision = encode_precision_name(precision);
      result.rows.push_back(measure_row(row, gpu_baseline, [&] {
        return odp::bench::median_seconds([&] { model->encode(inputs[call++ % 2].data(), batch); }, warmups,
                                          options.seconds);
      }));
    }
    Row row = decode_row;
    row.batch = batch;
    result.rows.push_back(measure_row(row, gpu_baseline, [&] {
      return odp::bench::median_seconds(
          [&] { model->decode(tokens.data(), keep.data(), batch, decoded.data()); }, warmups,
          options.seconds);
    }));
    // The byte entry points the codec uses: 8-bit pixels across PCIe, converted on the device.
    const std::vector<uint8_t> byte_inputs[2] = {random_byte_tiles(batch, config.tile_size, rng),
                                                 random_byte_tiles(batch, config.tile_size, rng)};
    std::vector<uint8_t> decoded_bytes(byte_inputs[0].size());
    // Rows labelled `path`: an encode per precision, then a decode.
    auto measure_bytes = [&](const char* path,
                             const std::vector<odp::model::GpuEncodePrecision>& precisions) {
      for (auto precision : precisions) {
        model->set_gpu_encode_precision(precision);
        Row encode = encode_row;
        encode.path = path;
        encode.batch = batch;
        encode.precision = encode_precision_name(precision);
        result.rows.push_back(measure_row(encode, gpu_baseline, [&] {
          return odp::bench::median_seconds(
              [&] { model->encode_bytes(byte_inputs[call++ % 2].data(), batch); }, warmups, options.seconds);
        }));
      }
      Row decode = decode_row;
      decode.path = path;
      decode.batch = batch;
      result.rows.push_back(measure_row(decode, gpu_baseline, [&] {
        return odp::bench::median_seconds(
            [&] { model->decode_bytes(tokens.data(), keep.data(), batch, decoded_bytes.data()); }, warmups,
            options.seconds);
      }));
    };
    measure_bytes(kBytePath, encode_precisions);
    if (cuda && model->gpu_graphs() && batch <= odp::model::TileModel::kMaxGraphBatch) {
      // The same byte passes without CUDA graphs: what the graphs save where launches dominate.
      model->set_gpu_graphs(false);
      measure_bytes(kEagerBytePath, {odp::model::GpuEncodePrecision::kBf16});
      model->set_gpu_graphs(true);
    }
  }
  for (auto precision : encode_precisions) {
    const std::string name = encode_precision_name(precision);
    try {
      model->set_gpu_encode_precision(precision);
      result.agreement_tokens.emplace_back(name, model->encode(agreement_set.data(), kAgreementTiles));
    } catch (const std::exception& error) {
      std::cerr << "odp-throughput: " << device_name(device) << " " << name
                << " encode for the agreement check failed: " << error.what() << "\n";
    }
  }
  model.reset();

  // On the GPU also the network alone on device-resident batches: the host API's copies and conversions
  // are left out, which is what a device-pointer batch API would give the codec.
  if (cuda) {
    std::unique_ptr<odp::bench::NetworkProbe> probe;
    try {
      probe =
          std::make_unique<odp::bench::NetworkProbe>(options.model_path, config, kRandomModelSeed, device);
    } catch (const std::exception& error) {
      std::cerr << "odp-throughput: network probe failed: " << error.what() << "\n";
    }
    for (int batch : probe ? batches : std::vector<int>{}) {
      Row row = encode_row;
      row.path = "network";
      row.precision = "bf16";
      row.batch = batch;
      result.rows.push_back(
          measure_row(row, gpu_baseline, [&] { return probe->time_encode(batch, options.seconds); }));
      row = decode_row;
      row.path = "network";
      row.precision = "bf16";
      row.batch = batch;
      result.rows.push_back(
          measure_row(row, gpu_baseline, [&] { return probe->time_decode(batch, options.seconds); }));
    }
  }
  return result;
}

void print_rows(const std::vector<Row>& rows, int tile_size) {
  std::printf(
      "| device | path      | op     | arith | batch |   tiles/s |    MP/s | floor tiles/s | %% of floor | "
      "GPU MiB |\n");
  std::printf(
      "|--------|-----------|--------|-------|------:|----------:|--------:|--------------:|-----------:|----"
      "----:|\n");
  for (const Row& row : rows) {
    const std::string mib = row.gpu_mib ? std::to_string(static_cast<long>(*row.gpu_mib)) : "-";
    if (row.seconds_per_call <= 0) {
      std::printf("| %-6s | %-9s | %-6s | %-5s | %5d | failed: %s |\n", row.device.c_str(), row.path.c_str(),
                  row.op.c_str(), row.precision.c_str(), row.batch, row.note.c_str());
      continue;
    }
    const double tiles_per_second = row.batch / row.seconds_per_call;
    std::printf("| %-6s | %-9s | %-6s | %-5s | %5d | %9.1f | %7.2f | %13.0f | %9.1f%% | %7s |\n",
                row.device.c_str(), row.path.c_str(), row.op.c_str(), row.precision.c_str(), row.batch,
                tiles_per_second, tiles_per_second * tile_size * tile_size / 1e6, row.floor_tiles_per_second,
                100.0 * tiles_per_second / row.floor_tiles_per_second, mib.c_str());
  }
}

void print_kernel_rates(double seconds) {
#ifdef ODP_HAVE_CUDA_KERNELS
  const auto rates = odp::bench::measure_kernel_rates(seconds);
  const double bandwidth = rates.front().bytes / rates.front().seconds;
  std::printf("\ncuda/ kernels (CUDA events, median of 20-launch samples); copy bandwidth %.0f GB/s\n",
              bandwidth / 1e9);
  std::printf("| kernel                                          |      us |   GB/s | %% of copy |\n");
  std::printf("|-------------------------------------------------|--------:|-------:|----------:|\n");
  for (const auto& rate : rates)
    std::printf("| %-47s | %7.1f | %6.0f | %8.1f%% |\n", rate.name.c_str(), rate.seconds * 1e6,
                rate.bytes / rate.seconds / 1e9, 100.0 * rate.bytes / rate.seconds / bandwidth);
#else
  (void)seconds;
  std::printf("\ncuda/ kernels: not built (configure with -DODP_WITH_CUDA=ON)\n");
#endif
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  try {
    options = parse_options(argc, argv);
  } catch (const std::invalid_argument& error) {
    if (*error.what()) std::cerr << "odp-throughput: " << error.what() << "\n";
    std::cerr << kUsage;
    return *error.what() ? 2 : 0;
  } catch (const odp::cli::UsageError& error) {
    std::cerr << "odp-throughput: " << error.what() << "\n" << kUsage;
    return 2;
  }
  odp::cli::apply_process_policy();  // as the tools do
  try {
    odp::model::ModelConfig config;
    if (!options.model_path.empty())
      config = odp::model::TileModel::load(options.model_path, Device::kCpu)->info().config;
    const auto flops = odp::model::count_model_flops(config);
    std::printf("model: %s; tile %d, %d tokens, width %d, %d+%d layers\n",
                options.model_path.empty() ? "random, default ModelConfig" : options.model_path.c_str(),
                config.tile_size, config.num_tokens, config.width, config.encoder_layers,
                config.decoder_layers);
    std::printf("FLOPs per tile (matrix products and convolutions): encode %.2f G, decode %.2f G\n",
                flops.encode_per_tile / 1e9, flops.decode_per_tile / 1e9);

    std::mt19937 rng(7);
    const auto agreement_set = random_tiles(kAgreementTiles, config.tile_size, rng);
    std::vector<Row> rows;
    // (device, precision) -> tokens of the agreement set.
    std::vector<std::pair<std::string, std::vector<uint16_t>>> cuda_agreement, cpu_agreement;
    bool ran_cuda = false;
    for (Device device : options.devices) {
      if (device == Device::kCuda && !odp::model::cuda_available()) {
        std::printf("cuda: LibTorch sees no GPU; skipped\n");
        continue;
      }
      DeviceResult result = run_device(device, options, flops, agreement_set);
      ran_cuda |= device == Device::kCuda;
      std::printf("%s matmul rate (%s, median): %.1f GFLOP/s\n", device_name(device),
                  device == Device::kCuda ? "bf16 8192^3" : "fp32 1024^3", result.matmul_rate / 1e9);
      rows.insert(rows.end(), result.rows.begin(), result.rows.end());
      (device == Device::kCuda ? cuda_agreement : cpu_agreement) = std::move(result.agreement_tokens);
    }
    std::printf("\n");
    print_rows(rows, config.tile_size);
    std::printf(
        "arith = the arithmetic (GPU encode: GpuEncodePrecision); floor = matmul rate / FLOPs per tile;\n"
        "GPU MiB = device memory in use above the start, allocator reserve included;\n"
        "TileModel = float tiles from and to host memory, %s = 8-bit tiles (converted on the device),\n"
        "GPU TileModel passes of <= %d tiles replay CUDA graphs; %s = the same byte passes without them\n",
        kBytePath, odp::model::TileModel::kMaxGraphBatch, kEagerBytePath);
    if (!cpu_agreement.empty()) {
      const auto& reference = cpu_agreement.front().second;
      for (const auto& [precision, tokens] : cuda_agreement) {
        size_t same = 0;
        for (size_t i = 0; i < reference.size() && i < tokens.size(); ++i) same += reference[i] == tokens[i];
        std::printf("token agreement, cuda %s encode vs cpu fp32, on %d random tiles: %.2f%% of %zu tokens\n",
                    precision.c_str(), kAgreementTiles, 100.0 * same / reference.size(), reference.size());
      }
    }
    if (ran_cuda) print_kernel_rates(options.seconds);
  } catch (const std::exception& error) {
    std::cerr << "odp-throughput: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
