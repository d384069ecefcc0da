// The tokenizer as the codec sees it: load a model file, turn tiles into tokens and tokens back into tiles.
// This header is free of LibTorch so that codec/ and cli/ compile quickly; model/*.cpp holds the network.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace odp::model {

// Every failure in model/ (unreadable or inconsistent weights file, unsupported device) is reported as this.
class ModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Device { kCpu, kCuda };

// The arithmetic of the encoder on the GPU. Tokens are hard decisions (FSQ rounds each latent to a level), so
// rounding in the transformer moves some latents across a level boundary and changes their tokens; the CPU
// encoder (fp32) is the reference. kBf16 is the fastest; kTf32 runs fp32 weights on TF32 tensor cores (10-bit
// mantissa products, fp32 sums); kFp32 uses no tensor cores for fp32 and comes closest to the CPU's tokens.
// kTf32 is the default: the same image should give (nearly) the same file on any machine. Measured speeds and
// token agreement: docs/performance.md.
enum class GpuEncodePrecision { kBf16, kTf32, kFp32 };
const char* gpu_encode_precision_name(GpuEncodePrecision precision);
// Parses "bf16", "tf32" or "fp32"; throws ModelError on anything else.
GpuEncodePrecision parse_gpu_encode_precision(const std::string& name);

// Parses "cpu", "cuda" or "auto" (CUDA when LibTorch sees a GPU). Throws ModelError on anything else.
Device parse_device(const std::string& name);
bool cuda_available();

// The hyper-parameters that shape the network. A model file stores all of them, so the file alone builds it.
struct ModelConfig {
  int tile_size = 256;   // pixels per tile edge
  int patch_size = 16;   // ViT patch edge; tile_size / patch_size patches per edge
  int num_tokens = 256;  // latent tokens per tile (the longest prefix)
  int width = 384;       // transformer width
  int encoder_layers = 6;
  int decoder_layers = 6;
  int heads = 6;
  int mlp_ratio = 4;
  std::vector<int> fsq_levels = {8, 8, 8, 8};  // Finite Scalar Quantization; codebook = product of levels
  std::vector<int> head_channels = {256, 128, 64, 32};  // conv upsampling head, one 2x stage per entry

  int codebook_size() const;
  int codebook_bits() const;  // ceil(log2(codebook_size))
  // The exact number of parameters the network builds for this config (no LibTorch needed), so that a model
  // file can be refused before anything is allocated when its tensors hold fewer. Call after validate().
  int64_t parameter_count() const;
  void validate() const;  // throws ModelError naming the bad field
};

struct ModelInfo {
  ModelConfig config;
  uint32_t model_id = 0;  // CRC-32 of the weights file's bytes (0 for an in-memory random model)
  std::string path;       // where it was loaded from ("" for a random model)
  int64_t parameters = 0;
  // Optional entropy-coding statistics: per token position, a frequency for each code (num_tokens x
  // codebook_size, each >= 1, summing to 65536 per position). Empty when the file carries none.
  std::vector<uint16_t> token_frequencies;
};

// True when the CPU multiplies bf16 natively (AVX512-BF16 or AMX-BF16, with the OS saving AVX-512 state):
// there bf16 decoding is faster than fp32; elsewhere bf16 would be emulated, and slower.
bool cpu_has_native_bf16();

// The codec's 8-bit pixel rules, here so that the model's byte entry points and codec/ share one definition:
// a byte b is the float b / 255.0f; a float v is the byte round(clamp(v, 0, 1) * 255.0f), halves away from
// zero.
inline float unit_from_byte(uint8_t b) { return b / 255.0f; }
inline uint8_t byte_from_unit(float v) {
  return static_cast<uint8_t>(std::lround(std::clamp(v, 0.0f, 1.0f) * 255.0f));
}

// A loaded tokenizer. Tiles are planar RGB floats in [0,1]: n x 3 x tile_size x tile_size.
class TileModel {
 public:
  virtual ~TileModel() = default;

  // Loads a .safetensors model file written by save(). Throws ModelError naming the file and the problem.
  static std::unique_ptr<TileModel> load(const std::string& path, Device device);
  // The same from a model file's bytes in memory; name stands for the file in messages and info().path.
  static std::unique_ptr<TileModel> load(const std::vector<uint8_t>& bytes, const std::string& name,
                                         Device device);
  // A model with random weights (for tests and for training from scratch).
  static std::unique_ptr<TileModel> random(const ModelConfig& config, uint64_t seed, Device device);

  virtual const ModelInfo& info() const = 0;
  virtual Device device() const = 0;

  // Encodes n tiles at the full token count; returns n x num_tokens codebook indices.
  virtual std::vector<uint16_t> encode(const float* tiles, int n) = 0;
  // Decodes n tiles; tile i uses its first keep[i] tokens (0..num_tokens; the rest are masked).
  // tokens holds n x num_tokens entries (entries past keep[i] are ignored). out: n x 3 x T x T in [0,1].
  virtual void decode(const uint16_t* tokens, const int* keep, int n, float* out) = 0;
  // The same with 8-bit tiles (n x 3 x T x T bytes), a quarter of the data to move: the GPU model takes bytes
  // across PCIe and converts them on the device. encode_bytes gives exactly encode() of the floats
  // unit_from_byte(b); decode_bytes gives exactly byte_from_unit of decode()'s floats, as codec/ rounds them.
  // These defaults convert on the host, for models that only have the float path (test doubles).
  virtual std::vector<uint16_t> encode_bytes(const uint8_t* tiles, int n) {
    std::vector<float> floats(static_cast<size_t>(n) * tile_value_count());
    std::transform(tiles, tiles + floats.size(), floats.begin(), unit_from_byte);
    return encode(floats.data(), n);
  }
  virtual void decode_bytes(const uint16_t* tokens, const int* keep, int n, uint8_t* out) {
    std::vector<float> floats(static_cast<size_t>(n) * tile_value_count());
    decode(tokens, keep, n, floats.data());
    std::transform(floats.begin(), floats.end(), out, byte_from_unit);
  }
  // Largest batch of tiles the caller should pass at once on this device.
  virtual int preferred_batch() const = 0;

  // CPU decoding with bf16 matrix products (a bf16 copy of the products' weights, made on the first such
  // decode; layer norms and the residual stream stay fp32). On by default where cpu_has_native_bf16(); the
  // output stays close to fp32's (the tests bound the difference). Encoding on the CPU always runs in fp32:
  // its tokens are the reference the GPU is checked against. The library reads no environment: a program that
  // offers a switch (the tools' ODP_CPU_FP32) calls this. Models without the choice (test doubles) ignore it.
  virtual void set_cpu_bf16_decode(bool /*enable*/) {}
  virtual bool cpu_bf16_decode() const { return false; }

  // GPU passes of up to kMaxGraphBatch tiles replayed as CUDA graphs (on by default where LibTorch has CUDA):
  // such batches are bound by kernel launches, not by the GPU. Each batch size and precision is captured on
  // first use and keeps its activations' memory (at most 8 graphs). Ignored on the CPU and by models without
  // the choice.
  static constexpr int kMaxGraphBatch = 16;
  virtual void set_gpu_graphs(bool /*enable*/) {}
  virtual bool gpu_graphs() const { return false; }

  // GPU passes of fewer than kMaxGraphBatch tiles padded to 8 or 16 tiles (zero pixels, no tokens kept),
  // so that a process meets at most two small batch shapes: each new shape pays once for its lazy GPU work
  // (kernel selection, graph capture), which dominates a one-image search whose candidates have 1, 2, 6 ...
  // tiles. The padding's results are dropped. Off by default; ignored on the CPU and by models without the
  // choice.
  virtual void set_gpu_batch_padding(bool /*enable*/) {}
  virtual bool gpu_batch_padding() const { return false; }

  // The GPU encoder's arithmetic (see GpuEncodePrecision). Ignored on the CPU and by models without the
  // choice.
  virtual void set_gpu_encode_precision(GpuEncodePrecision /*precision*/) {}
  virtual GpuEncodePrecision gpu_encode_precision() const { return GpuEncodePrecision::kTf32; }

  // Bytes of network weights held in the model's device memory now. On the GPU the fp32 network that kTf32
  // and kFp32 encoding use is made on the first such encode, so a model that only decodes or encodes in bf16
  // never holds it (the file's fp32 weights wait in host memory until then). On the CPU the bf16 decoder's
  // copy of the weights (set_cpu_bf16_decode) counts once the first bf16 decode has made it. 0 for models
  // without weights.
  virtual int64_t device_weight_bytes() const { return 0; }

 protected:
  // Values in one tile: 3 x tile_size x tile_size.
  size_t tile_value_count() const {
    const size_t t = static_cast<size_t>(info().config.tile_size);
    return 3 * t * t;
  }
};

}  // namespace odp::model
