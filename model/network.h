// The One-D-Piece tokenizer network in LibTorch: ViT encoder -> FSQ tokens -> ViT decoder + conv upsampling
// head.
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include "model/tile_model.h"

namespace odp::model {

// Finite Scalar Quantization (Mentzer et al. 2023). Per dimension with L levels:
//   half_l = (L-1)(1-1e-3)/2, offset = 0.5 for even L, shift = atanh(offset/half_l)
//   bounded = tanh(z + shift) * half_l - offset;  q = round(bounded) in [-L/2, L/2-1];  code = q / (L/2)
//   index = sum_i (q_i + L_i/2) * basis_i,  basis = cumulative product of the levels (first = 1).
// cuda/ implements the same arithmetic; keep the two in step.
class FiniteScalarQuantizer {
 public:
  explicit FiniteScalarQuantizer(std::vector<int> levels);
  // z: [..., d] -> codes in [-1, 1) with a straight-through gradient.
  torch::Tensor quantize(const torch::Tensor& z) const;
  torch::Tensor codes_to_indices(const torch::Tensor& codes) const;    // [..., d] -> int64 [...]
  torch::Tensor indices_to_codes(const torch::Tensor& indices) const;  // int64 [...] -> float [..., d]
  int dims() const { return static_cast<int>(levels_.size()); }
  int64_t codebook_size() const;

 private:
  std::vector<int> levels_;
  // Kept on the device of the last input: a host-to-GPU copy per call would synchronise the GPU queue.
  mutable torch::Tensor levels_t_, half_width_t_, basis_t_, half_l_t_, offset_t_, shift_t_;
  const torch::Tensor& on(torch::Tensor& t, const torch::Tensor& like) const;
};

// Whether a network's constructor draws random weights (training from scratch, random test models) or leaves
// them uninitialised for weights about to be copied in (a model file, a copy of another network): drawing
// random numbers that are overwritten at once is a visible part of a tool's start-up
// (bench/throughput/NOTES.md). kNone skips all but the convolutions' (torch::nn::Conv2d always draws its
// own).
enum class WeightInit { kRandom, kNone };

// A fully connected layer: torch::nn::Linear's parameters ("weight" [out, in], "bias" [out]) and, with
// WeightInit::kRandom, its initialisation (both uniform in +-1/sqrt(in), drawn in the same order), which
// torch::nn::Linear cannot leave out.
struct DenseImpl : torch::nn::Module {
  DenseImpl(int64_t in_features, int64_t out_features, WeightInit init);
  torch::Tensor forward(const torch::Tensor& x) { return torch::linear(x, weight, bias); }
  torch::Tensor weight, bias;
};
TORCH_MODULE(Dense);

struct TransformerBlockImpl : torch::nn::Module {
  TransformerBlockImpl(int width, int heads, int mlp_ratio, WeightInit init);
  torch::Tensor forward(const torch::Tensor& x);
  // Inference on the CPU with fp32 activations and bf16 products (see cpu_bf16_inference_copy).
  torch::Tensor forward_cpu_bf16(const torch::Tensor& x);
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  Dense qkv{nullptr}, proj{nullptr}, fc1{nullptr}, fc2{nullptr};
  int heads;
};
TORCH_MODULE(TransformerBlock);

// How UpsampleHeadImpl::forward computes each "2x nearest upsample + 3x3 conv" stage outside the fused GPU
// inference path. Both forms are the same function as the literal definition (tests check values and
// gradients against forward_reference) with 4/9 of its multiply-adds; which one is faster depends on the
// device and the convolution library, so the trainer times both and keeps the faster.
enum class HeadForm {
  kSubPixel,    // one 2x2 conv with 4x the output channels, then the four phases interleaved (one more copy)
  kTransposed,  // one stride-2 4x4 transposed convolution, which writes the upsampled image directly
};

// Decoder output head: one 2x nearest upsample + 3x3 conv + GELU per entry of head_channels, then a 3x3 conv
// to RGB. A plain per-patch linear output leaves a visible patch grid; the convolutions let neighbours blend.
struct UpsampleHeadImpl : torch::nn::Module {
  UpsampleHeadImpl(int in_channels, const std::vector<int>& channels);
  // Computes each upsample + 3x3 conv in `form` (never the literal upsampled copy). The weights keep their
  // 3x3 layout whatever the form.
  torch::Tensor forward(torch::Tensor x);
  // The literal upsample-then-convolve definition, kept as the reference that forward() is tested against.
  torch::Tensor forward_reference(torch::Tensor x);
  torch::nn::ModuleList stages{nullptr};
  torch::nn::Conv2d to_rgb{nullptr};
  HeadForm form = HeadForm::kSubPixel;

 private:
  // One stage's 2x2 sub-pixel kernel and bias. Without autograd (inference) they are kept between calls,
  // keyed by the weight's storage and version, so a decode does not redo the folding (at batch 1 on the GPU
  // the extra kernels halved throughput).
  struct FoldedStage {
    torch::Tensor weight, bias;
    const void* source = nullptr;
    int64_t version = -1;
  };
  std::vector<FoldedStage> folded_;
  torch::Tensor fold_table_, transposed_table_;
  const FoldedStage& folded_stage(size_t index);
};
TORCH_MODULE(UpsampleHead);

struct TokenizerNetImpl : torch::nn::Module {
  explicit TokenizerNetImpl(const ModelConfig& config, WeightInit init = WeightInit::kRandom);

  // images: [B,3,T,T] in [0,1] -> the latents [B,N,d] before FSQ (what encode_codes quantizes).
  torch::Tensor encode_latents(const torch::Tensor& images);
  // images: [B,3,T,T] in [0,1] -> continuous codes [B,N,d] (quantized, straight-through).
  torch::Tensor encode_codes(const torch::Tensor& images);
  torch::Tensor encode_indices(const torch::Tensor& images);  // -> int64 [B,N]
  // codes: [B,N,d]; keep: int64 [B] tokens kept per sample (positions >= keep get the mask token).
  torch::Tensor decode_codes(const torch::Tensor& codes, const torch::Tensor& keep);
  torch::Tensor decode_indices(const torch::Tensor& indices, const torch::Tensor& keep);

  ModelConfig config;
  FiniteScalarQuantizer fsq;
  torch::nn::Conv2d patch_embed{nullptr};
  torch::Tensor encoder_pos, latent_tokens, latent_pos;
  torch::nn::ModuleList encoder_blocks{nullptr};
  torch::nn::LayerNorm encoder_norm{nullptr};
  Dense to_code{nullptr}, from_code{nullptr};
  torch::Tensor mask_token, decoder_token_pos, image_queries;
  torch::nn::ModuleList decoder_blocks{nullptr};
  torch::nn::LayerNorm decoder_norm{nullptr};
  UpsampleHead head{nullptr};
};
TORCH_MODULE(TokenizerNet);

// A copy of net with the same weights, for inference (eval mode), in `dtype` on `device`.
TokenizerNet network_copy(TokenizerNet& net, const torch::Device& device, torch::ScalarType dtype);

// A copy of net for decoding on the CPU in bf16: the weights and biases of its matrix products and
// convolutions in bf16, everything else (layer norms, positions, mask token) fp32. Fed fp32 activations
// without autograd, it keeps the residual stream and layer norms in fp32 and runs the products on bf16
// operands, their bias added in the product. Unlike bf16 autocast over the fp32 network, it does not re-cast
// the weights on every call nor add each bias in a separate mixed-type pass (the measured gain and its
// accuracy against fp32 are in bench/throughput/NOTES.md).
TokenizerNet cpu_bf16_inference_copy(TokenizerNet& net);

int64_t count_parameters(torch::nn::Module& module);

// Turns bf16 autocast on for CUDA ops in this scope (training keeps fp32 master weights). LibTorch changed
// the autocast API in 2.4; both spellings are kept so the code builds on Debian's 1.13 and on 2.x.
class AutocastBf16 {
 public:
  explicit AutocastBf16(bool enable);
  ~AutocastBf16();
  AutocastBf16(const AutocastBf16&) = delete;
  AutocastBf16& operator=(const AutocastBf16&) = delete;

 private:
  bool enabled_;
};

}  // namespace odp::model
