// The One-D-Piece tokenizer network: layers, FSQ and the encode/decode passes.
#include "model/network.h"

#include <cmath>
#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif

// GPU inference uses fused kernels where LibTorch has CUDA and the kernels of cuda/ are built
// (ODP_TORCH_CUDA, set by model/CMakeLists.txt); the plain LibTorch ops stay the reference and the path for
// training and the CPU.
#if defined(ODP_TORCH_CUDA) && TORCH_VERSION_MAJOR >= 2
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "cuda/odp_cuda.h"
#define ODP_FUSED_CUDA_INFERENCE 1
#endif

namespace odp::model {

FiniteScalarQuantizer::FiniteScalarQuantizer(std::vector<int> levels) : levels_(std::move(levels)) {
  const int d = dims();
  std::vector<float> half_width(d), half_l(d), offset(d), shift(d);
  std::vector<int64_t> basis(d), lv(d);
  int64_t b = 1;
  for (int i = 0; i < d; ++i) {
    const int L = levels_[i];
    lv[i] = L;
    half_width[i] = static_cast<float>(L / 2);
    half_l[i] = static_cast<float>((L - 1) * (1.0 - 1e-3) / 2.0);
    offset[i] = (L % 2 == 0) ? 0.5f : 0.0f;
    shift[i] = static_cast<float>(std::atanh(offset[i] / half_l[i]));
    basis[i] = b;
    b *= L;
  }
  auto f = [](std::vector<float>& v) { return torch::tensor(v, torch::kFloat32); };
  half_width_t_ = f(half_width);
  half_l_t_ = f(half_l);
  offset_t_ = f(offset);
  shift_t_ = f(shift);
  basis_t_ = torch::tensor(basis, torch::kInt64);
  levels_t_ = torch::tensor(lv, torch::kInt64);
}

int64_t FiniteScalarQuantizer::codebook_size() const {
  int64_t n = 1;
  for (int L : levels_) n *= L;
  return n;
}

const torch::Tensor& FiniteScalarQuantizer::on(torch::Tensor& t, const torch::Tensor& like) const {
  if (t.device() != like.device()) t = t.to(like.device());
  return t;
}

torch::Tensor FiniteScalarQuantizer::quantize(const torch::Tensor& z_in) const {
  // FSQ runs in float32 even under bf16 autocast: rounding boundaries must not depend on the precision.
  const auto z = z_in.to(torch::kFloat32);
  const auto bounded = torch::tanh(z + on(shift_t_, z)) * on(half_l_t_, z) - on(offset_t_, z);
  const auto rounded = bounded + (torch::round(bounded) - bounded).detach();
  return rounded / on(half_width_t_, z);
}

torch::Tensor FiniteScalarQuantizer::codes_to_indices(const torch::Tensor& codes) const {
  const auto hw = on(half_width_t_, codes);
  const auto shifted = torch::round(codes.to(torch::kFloat32) * hw + hw).to(torch::kInt64);
  return (shifted * on(basis_t_, codes)).sum(-1);
}

torch::Tensor FiniteScalarQuantizer::indices_to_codes(const torch::Tensor& indices) const {
  const auto idx = indices.to(torch::kInt64).unsqueeze(-1);
  const auto digits = torch::remainder(torch::div(idx, on(basis_t_, idx), "floor"), on(levels_t_, idx));
  const auto hw = on(half_width_t_, idx);
  return (digits.to(torch::kFloat32) - hw) / hw;
}

namespace {
// Whether x and weight take the fused GPU inference path: bf16 tensors on a GPU, no autograd, kernels built
// in.
bool fused_cuda_inference(const torch::Tensor& x, const torch::Tensor& weight) {
#ifdef ODP_FUSED_CUDA_INFERENCE
  return x.is_cuda() && x.scalar_type() == torch::kBFloat16 && weight.scalar_type() == torch::kBFloat16 &&
         !torch::GradMode::is_enabled();
#else
  (void)x;
  (void)weight;
  return false;
#endif
}

// Whether x and weight take the CPU's bf16 inference path: fp32 activations with bf16 weights (a network made
// by cpu_bf16_inference_copy), on the CPU, without autograd.
bool cpu_bf16_inference(const torch::Tensor& x, const torch::Tensor& weight) {
  return !x.is_cuda() && x.scalar_type() == torch::kFloat32 && weight.scalar_type() == torch::kBFloat16 &&
         !torch::GradMode::is_enabled();
}
}  // namespace

DenseImpl::DenseImpl(int64_t in_features, int64_t out_features, WeightInit init) {
  weight = register_parameter("weight", torch::empty({out_features, in_features}));
  bias = register_parameter("bias", torch::empty({out_features}));
  if (init == WeightInit::kRandom) {
    torch::NoGradGuard no_grad;
    const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
    weight.uniform_(-bound, bound);
    bias.uniform_(-bound, bound);
  }
}

TransformerBlockImpl::TransformerBlockImpl(int width, int heads_, int mlp_ratio, WeightInit init)
    : heads(heads_) {
  norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
  norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
  qkv = register_module("qkv", Dense(width, 3 * width, init));
  proj = register_module("proj", Dense(width, width, init));
  fc1 = register_module("fc1", Dense(width, mlp_ratio * width, init));
  fc2 = register_module("fc2", Dense(mlp_ratio * width, width, init));
}

namespace {
// Multi-head attention of q, k, v: [B, heads, L, head_dim] -> [B, heads, L, head_dim].
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
#if TORCH_VERSION_MAJOR >= 2
  // Fused (flash / memory-efficient) attention where LibTorch has it.
  return at::scaled_dot_product_attention(q, k, v);
#else
  // Scaling q (L x d) rather than the scores (L x L) saves a pass over the largest tensor, and contiguous
  // operands let the batched products run as plain BLAS calls (q k^T ~30% faster on 2 CPU cores).
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  return torch::softmax(torch::matmul((q * scale).contiguous(), k.contiguous().transpose(-2, -1)), -1)
      .matmul(v.contiguous());
#endif
}

// x [..., in] times a linear layer's weight, plus its bias, as one product: the bias is the product's initial
// value (beta = 1), not a separate pass over the output.
torch::Tensor linear_in_one_product(const torch::Tensor& x, const Dense& layer) {
  auto sizes = x.sizes().vec();
  sizes.back() = layer->weight.size(0);
  return at::addmm(layer->bias, x.reshape({-1, x.size(-1)}), layer->weight.t()).view(sizes);
}
}  // namespace

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor& x) {
  if (cpu_bf16_inference(x, qkv->weight)) return forward_cpu_bf16(x);
  const auto B = x.size(0), L = x.size(1), C = x.size(2);
  std::vector<torch::Tensor> q_k_v;
  if (torch::GradMode::is_enabled()) {
    // Training: q, k and v as three products with row blocks of the qkv weight, so that their gradients come
    // back as three tensors that the weight gradient reads directly. Cut from one packed product, they would
    // be stacked back into one qkv-sized gradient per block (5% of a GPU training step in a trace).
    const auto normed = norm1(x);
    for (int64_t part = 0; part < 3; ++part)
      q_k_v.push_back(
          torch::linear(normed, qkv->weight.narrow(0, part * C, C), qkv->bias.narrow(0, part * C, C))
              .view({B, L, heads, C / heads})
              .transpose(1, 2));
  } else {
    // Inference: one packed product; unbind makes views of it.
    q_k_v = qkv(norm1(x)).view({B, L, 3, heads, C / heads}).permute({2, 0, 3, 1, 4}).unbind(0);
  }
  auto attended = attention(q_k_v[0], q_k_v[1], q_k_v[2]);
  auto y = x + proj(attended.transpose(1, 2).reshape({B, L, C}));
#ifdef ODP_FUSED_CUDA_INFERENCE
  if (fused_cuda_inference(x, fc1->weight)) {
    // cuBLASLt adds the bias and applies GELU as the product is written: no pass over the 4x-wide hidden
    // activations (trunk -9% on an H200). Its GELU is the tanh form, within 5e-4 of the erf form the model
    // was trained with, an eighth of a bf16 rounding step at 1.0.
    auto hidden = at::_addmm_activation(fc1->bias, norm2(y).reshape({B * L, C}), fc1->weight.t(), 1, 1, true);
    return y + fc2(hidden.view({B, L, -1}));
  }
#endif
  return y + fc2(torch::gelu(fc1(norm2(y))));
}

torch::Tensor TransformerBlockImpl::forward_cpu_bf16(const torch::Tensor& x) {
  const auto B = x.size(0), L = x.size(1), C = x.size(2);
  // The residual stream and the layer norms stay fp32 (bf16 layer norm is 10x slower here, and the stream
  // accumulates); the products take bf16 operands and add their bias as they are written.
  auto qkv_out = linear_in_one_product(norm1(x).to(torch::kBFloat16), qkv)
                     .view({B, L, 3, heads, C / heads})
                     .permute({2, 0, 3, 1, 4});
  auto attended = attention(qkv_out[0], qkv_out[1], qkv_out[2]);
  auto y = x + linear_in_one_product(attended.transpose(1, 2).reshape({B, L, C}), proj);
  auto hidden = torch::gelu(linear_in_one_product(norm2(y).to(torch::kBFloat16), fc1));
  return y + linear_in_one_product(hidden, fc2);
}

UpsampleHeadImpl::UpsampleHeadImpl(int in_channels, const std::vector<int>& channels) {
  stages = register_module("stages", torch::nn::ModuleList());
  int c_in = in_channels;
  for (int c : channels) {
    stages->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(c_in, c, 3).padding(1)));
    c_in = c;
  }
  to_rgb = register_module("to_rgb", torch::nn::Conv2d(torch::nn::Conv2dOptions(c_in, 3, 3).padding(1)));
}

torch::Tensor UpsampleHeadImpl::forward_reference(torch::Tensor x) {
  namespace F = torch::nn::functional;
  for (const auto& stage : *stages) {
    x = F::interpolate(
        x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2.0, 2.0}).mode(torch::kNearest));
    x = torch::gelu(stage->as<torch::nn::Conv2d>()->forward(x));
  }
  return to_rgb(x);
}

namespace {
// Output pixel (2i+a, 2j+b) of "2x nearest upsample, then 3x3 conv (padding 1)" reads input rows i-1..i for a
// = 0 (kernel rows 0 | 1+2) and rows i..i+1 for a = 1 (kernel rows 0+1 | 2), likewise for columns. So each of
// the four output phases is a 2x2 conv of the input; they run as the 4 channel blocks of one conv, then
// interleave. fold[a][u][k]: whether 3x3 kernel row k adds to 2x2 tap u in phase a (the same table serves
// columns).
torch::Tensor sub_pixel_fold_table() {
  return torch::tensor({1.f, 0.f, 0.f, 0.f, 1.f, 1.f, 1.f, 1.f, 0.f, 0.f, 0.f, 1.f}).view({2, 2, 3});
}

// w: [C, Cin, 3, 3] -> [4C, Cin, 2, 2], phase (a,b) in channel block 2a+b; fold: the table on w's device.
torch::Tensor fold_to_sub_pixel(const torch::Tensor& w, const torch::Tensor& fold) {
  // Summed in fp32 so that half-precision weights lose nothing to the folding.
  return torch::einsum("auy,bvx,ocyx->abocuv", {fold, fold, w.to(torch::kFloat32)})
      .reshape({4 * w.size(0), w.size(1), 2, 2})
      .to(w.scalar_type());
}

// The same stage as one transposed convolution (stride 2, padding 1, 4x4 taps), which adds input row m into
// output rows 2m - 1 + t, t = 0..3. Output row 2i (phase 0 above) thus takes input row i through tap 1 and
// row i-1 through tap 3; row 2i+1 takes row i through tap 2 and row i+1 through tap 0. So tap t collects 3x3
// kernel rows t=0: {2}, t=1: {1,2}, t=2: {0,1}, t=3: {0}; likewise for columns. table[t][k]: whether row k
// adds to tap t.
torch::Tensor transposed_fold_table() {
  return torch::tensor({0.f, 0.f, 1.f, 0.f, 1.f, 1.f, 1.f, 1.f, 0.f, 1.f, 0.f, 0.f}).view({4, 3});
}

// w: [C, Cin, 3, 3] -> the transposed convolution's [Cin, C, 4, 4]; table: transposed_fold_table on w's
// device. Differentiable (training folds on every step; the weights are small next to the activations).
torch::Tensor fold_to_transposed(const torch::Tensor& w, const torch::Tensor& table) {
  return torch::einsum("tk,sl,oikl->iots", {table, table, w.to(torch::kFloat32)}).to(w.scalar_type());
}

torch::Tensor upsample_conv_gelu_transposed(const torch::Tensor& x, const torch::Tensor& weight,
                                            const torch::Tensor& bias) {
  namespace F = torch::nn::functional;
  return torch::gelu(
      F::conv_transpose2d(x, weight, F::ConvTranspose2dFuncOptions().stride(2).padding(1).bias(bias)));
}

torch::Tensor upsample_conv_gelu_sub_pixel(const torch::Tensor& x, const torch::Tensor& weight,
                                           const torch::Tensor& bias) {
  const int64_t B = x.size(0), H = x.size(2), W = x.size(3), C = weight.size(0) / 4;
  const auto y = torch::nn::functional::conv2d(
      x, weight, torch::nn::functional::Conv2dFuncOptions().padding(1).bias(bias));
  // y: [B, 4C, H+1, W+1]; phase (a,b) of output (i,j) is y[2a+b block, i+a, j+b]. In NHWC memory that is one
  // strided view [B, H, a, W, b, C] of y; copying it out gives the upsampled image, channels-last.
  // GELU runs on the NHWC view (contiguous when the convolution wrote channels-last, as cuDNN and oneDNN do):
  // LibTorch 1.13's CPU GELU takes 10x longer on the same memory seen as a channels-last NCHW tensor.
  const auto nhwc = torch::gelu(y.permute({0, 2, 3, 1}).contiguous());
  const int64_t row = (W + 1) * 4 * C, col = 4 * C;
  const auto phases =
      nhwc.as_strided({B, H, 2, W, 2, C}, {nhwc.stride(0), row, row + 2 * C, col, col + C, 1});
  return phases.reshape({B, 2 * H, 2 * W, C}).permute({0, 3, 1, 2});
}
}  // namespace

const UpsampleHeadImpl::FoldedStage& UpsampleHeadImpl::folded_stage(size_t index) {
  const auto& conv = *stages[index]->as<torch::nn::Conv2d>();
  if (folded_.size() < stages->size()) folded_.resize(stages->size());
  auto& entry = folded_[index];
  // The table lives on the weights' device: a host-to-GPU copy per call would stall the GPU queue.
  if (!fold_table_.defined() || fold_table_.device() != conv.weight.device())
    fold_table_ = sub_pixel_fold_table().to(conv.weight.device());
  const bool cache = !torch::GradMode::is_enabled();
  if (!cache || entry.source != conv.weight.data_ptr() || entry.version != conv.weight._version() ||
      !entry.weight.defined() || entry.weight.scalar_type() != conv.weight.scalar_type()) {
    entry.weight = fold_to_sub_pixel(conv.weight, fold_table_);
    entry.bias = conv.bias.repeat({4});
    entry.source = cache ? conv.weight.data_ptr() : nullptr;
    entry.version = cache ? conv.weight._version() : -1;
  }
  return entry;
}

#ifdef ODP_FUSED_CUDA_INFERENCE
namespace {
// upsample_conv_gelu_sub_pixel with GELU and the phase interleave in one kernel
// (cuda::gelu_pixel_interleave): two fewer passes over the stage's largest tensor. to_rgb: when given (the
// last stage), the RGB convolution is folded into the same pass as well (cuda::gelu_interleave_to_rgb): the
// upsampled image, the head's largest tensor, is never written.
torch::Tensor fused_upsample_conv_gelu(const torch::Tensor& x, const torch::Tensor& weight,
                                       const torch::Tensor& bias, const torch::nn::Conv2d& to_rgb = nullptr) {
  const int64_t B = x.size(0), H = x.size(2), W = x.size(3), C = weight.size(0) / 4;
  const c10::cuda::CUDAGuard device(x.device());
  const auto y = torch::nn::functional::conv2d(
                     x, weight, torch::nn::functional::Conv2dFuncOptions().padding(1).bias(bias))
                     .permute({0, 2, 3, 1})
                     .contiguous();
  const auto stream = c10::cuda::getCurrentCUDAStream().stream();
  if (to_rgb) {
    const auto rgb_weight = to_rgb->weight.contiguous(), rgb_bias = to_rgb->bias.contiguous();
    auto rgb = torch::empty({B, 3, 2 * H, 2 * W}, y.options());
    cuda::gelu_interleave_to_rgb(y.data_ptr(), B, static_cast<int>(H), static_cast<int>(W),
                                 static_cast<int>(C), rgb_weight.data_ptr(), rgb_bias.data_ptr(),
                                 rgb.data_ptr(), stream);
    return rgb;
  }
  auto out = torch::empty({B, 2 * H, 2 * W, C}, y.options());
  cuda::gelu_pixel_interleave(y.data_ptr(), B, static_cast<int>(H), static_cast<int>(W), static_cast<int>(C),
                              out.data_ptr(), stream);
  return out.permute({0, 3, 1, 2});
}

// Whether cuda::gelu_interleave_to_rgb can run the last stage of a head and its to_rgb: 3x3 to 3 channels
// with padding 1, from a multiple of 8 channels up to 64, in one call's batch limit.
bool fits_gelu_interleave_to_rgb(const torch::nn::Conv2d& to_rgb, int64_t batch) {
  const auto& w = to_rgb->weight;
  return w.size(0) == 3 && w.size(1) % 8 == 0 && w.size(1) <= 64 && w.size(2) == 3 && w.size(3) == 3 &&
         to_rgb->bias.defined() && batch <= 65535;
}
}  // namespace
#endif

torch::Tensor UpsampleHeadImpl::forward(torch::Tensor x) {
  // The CPU's bf16 inference path hands over fp32 activations; the head runs in its weights' bf16 throughout.
  if (cpu_bf16_inference(x, to_rgb->weight)) x = x.to(torch::kBFloat16);
  [[maybe_unused]] const bool fused = fused_cuda_inference(x, to_rgb->weight);
  if (form == HeadForm::kTransposed && !fused) {
    const auto& weight = to_rgb->weight;
    if (!transposed_table_.defined() || transposed_table_.device() != weight.device())
      transposed_table_ = transposed_fold_table().to(weight.device());
    for (const auto& stage : *stages) {
      const auto& conv = *stage->as<torch::nn::Conv2d>();
      x = upsample_conv_gelu_transposed(x, fold_to_transposed(conv.weight, transposed_table_), conv.bias);
    }
    return to_rgb(x);
  }
  for (size_t i = 0; i < stages->size(); ++i) {
    const auto& stage = folded_stage(i);
#ifdef ODP_FUSED_CUDA_INFERENCE
    if (fused && stage.weight.size(0) % 32 == 0) {  // 4 phases x a multiple of 8 channels
      if (i + 1 == stages->size() && fits_gelu_interleave_to_rgb(to_rgb, x.size(0)))
        return fused_upsample_conv_gelu(x, stage.weight, stage.bias, to_rgb);
      x = fused_upsample_conv_gelu(x, stage.weight, stage.bias);
      continue;
    }
#endif
    x = upsample_conv_gelu_sub_pixel(x, stage.weight, stage.bias);
  }
  return to_rgb(x);
}

TokenizerNetImpl::TokenizerNetImpl(const ModelConfig& cfg, WeightInit init)
    : config(cfg), fsq(cfg.fsq_levels) {
  config.validate();
  const int W = config.width;
  const int grid = config.tile_size / config.patch_size;
  const int64_t patches = static_cast<int64_t>(grid) * grid;
  const int64_t N = config.num_tokens;
  const auto small_normal = [init](std::vector<int64_t> shape) {
    return init == WeightInit::kRandom ? torch::randn(shape) * 0.02 : torch::empty(shape);
  };
  patch_embed = register_module(
      "patch_embed",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(3, W, config.patch_size).stride(config.patch_size)));
  encoder_pos = register_parameter("encoder_pos", small_normal({1, patches, W}));
  latent_tokens = register_parameter("latent_tokens", small_normal({1, N, W}));
  latent_pos = register_parameter("latent_pos", small_normal({1, N, W}));
  encoder_blocks = register_module("encoder_blocks", torch::nn::ModuleList());
  for (int i = 0; i < config.encoder_layers; ++i)
    encoder_blocks->push_back(TransformerBlock(W, config.heads, config.mlp_ratio, init));
  encoder_norm = register_module("encoder_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({W})));
  to_code = register_module("to_code", Dense(W, fsq.dims(), init));
  from_code = register_module("from_code", Dense(fsq.dims(), W, init));
  mask_token = register_parameter("mask_token", small_normal({1, 1, W}));
  decoder_token_pos = register_parameter("decoder_token_pos", small_normal({1, N, W}));
  image_queries = register_parameter("image_queries", small_normal({1, patches, W}));
  decoder_blocks = register_module("decoder_blocks", torch::nn::ModuleList());
  for (int i = 0; i < config.decoder_layers; ++i)
    decoder_blocks->push_back(TransformerBlock(W, config.heads, config.mlp_ratio, init));
  decoder_norm = register_module("decoder_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({W})));
  head = register_module("head", UpsampleHead(W, config.head_channels));
}

torch::Tensor TokenizerNetImpl::encode_latents(const torch::Tensor& images) {
  const auto B = images.size(0);
  // Inputs are centred so that the first layer sees zero-mean data.
  const auto centred = (images * 2.0 - 1.0).to(patch_embed->weight.dtype());
  torch::Tensor patches;
  if (centred.is_cuda()) {
    // The stride-P PxP convolution is a matrix product of the flattened patches; cuDNN's kernels for 3 input
    // channels run it several times slower, in inference and in training alike.
    const int64_t P = config.patch_size, G = config.tile_size / P;
    const auto flat =
        centred.view({B, 3, G, P, G, P}).permute({0, 2, 4, 1, 3, 5}).reshape({B, G * G, 3 * P * P});
    patches = torch::nn::functional::linear(flat, patch_embed->weight.view({config.width, 3 * P * P}),
                                            patch_embed->bias);
  } else {
    patches = patch_embed(centred).flatten(2).transpose(1, 2);
  }
  patches = patches + encoder_pos;
  auto latents = (latent_tokens + latent_pos).expand({B, -1, -1});
  auto x = torch::cat({patches, latents.to(patches.dtype())}, 1);
  for (const auto& block : *encoder_blocks) x = block->as<TransformerBlock>()->forward(x);
  x = encoder_norm(x.narrow(1, patches.size(1), config.num_tokens));
  return to_code(x);
}

torch::Tensor TokenizerNetImpl::encode_codes(const torch::Tensor& images) {
  return fsq.quantize(encode_latents(images));
}

torch::Tensor TokenizerNetImpl::encode_indices(const torch::Tensor& images) {
  return fsq.codes_to_indices(encode_codes(images));
}

torch::Tensor TokenizerNetImpl::decode_codes(const torch::Tensor& codes, const torch::Tensor& keep) {
  const auto B = codes.size(0);
  const int64_t N = config.num_tokens;
  auto tokens = from_code(codes.to(from_code->weight.dtype()));
  // Tail Token Drop: every position at or past keep[b] sees the learned mask token instead of its code.
  auto positions = torch::arange(N, torch::TensorOptions().device(codes.device())).unsqueeze(0);
  auto dropped = (positions >= keep.to(codes.device()).view({B, 1})).unsqueeze(-1);
  tokens = torch::where(dropped, mask_token.to(tokens.dtype()), tokens) + decoder_token_pos;
  auto queries = image_queries.expand({B, -1, -1});
  auto x = torch::cat({queries.to(tokens.dtype()), tokens}, 1);
  for (const auto& block : *decoder_blocks) x = block->as<TransformerBlock>()->forward(x);
  const int grid = config.tile_size / config.patch_size;
  x = decoder_norm(x.narrow(1, 0, queries.size(1)));
  // [B, grid*grid, width] read as NHWC is the channels-last layout of [B, width, grid, grid]: no copy, and
  // the convolutions of the head stay channels-last, which cuDNN and oneDNN run much faster than NCHW.
  x = x.view({B, grid, grid, config.width}).permute({0, 3, 1, 2});
  return head(x);
}

torch::Tensor TokenizerNetImpl::decode_indices(const torch::Tensor& indices, const torch::Tensor& keep) {
  return decode_codes(fsq.indices_to_codes(indices), keep);
}

namespace {
void set_cuda_autocast(bool enable) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  at::autocast::set_autocast_enabled(at::kCUDA, enable);
  if (enable) at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
#else
  at::autocast::set_enabled(enable);
  if (enable) at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
#endif
}
}  // namespace

AutocastBf16::AutocastBf16(bool enable) : enabled_(enable) {
  if (enabled_) set_cuda_autocast(true);
}

AutocastBf16::~AutocastBf16() {
  if (!enabled_) return;
  set_cuda_autocast(false);
  at::autocast::clear_cache();
}

bool cpu_has_native_bf16() {
#if defined(__x86_64__) && defined(__GNUC__)
  // CPUID leaf 7 sub-leaf 1, EAX bit 5: AVX512_BF16. Leaf 7 sub-leaf 0, EDX bit 22: AMX-BF16.
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) return false;
  const bool avx512_bf16 = (eax >> 5) & 1;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  const bool amx_bf16 = (edx >> 22) & 1;
  // __builtin_cpu_supports also checks that the OS saves the AVX-512 registers (XGETBV).
  return (avx512_bf16 || amx_bf16) && __builtin_cpu_supports("avx512f");
#else
  return false;
#endif
}

TokenizerNet network_copy(TokenizerNet& net, const torch::Device& device, torch::ScalarType dtype) {
  TokenizerNet copy(net->config, WeightInit::kNone);
  torch::NoGradGuard no_grad;
  auto source = net->named_parameters();
  for (auto& item : copy->named_parameters()) item.value().copy_(source[item.key()]);
  copy->eval();
  copy->to(device, dtype);
  return copy;
}

TokenizerNet cpu_bf16_inference_copy(TokenizerNet& net) {
  TokenizerNet copy = network_copy(net, torch::kCPU, torch::kFloat32);
  for (const auto& module : copy->modules(/*include_self=*/false))
    if (module->as<Dense>() != nullptr || module->as<torch::nn::Conv2d>() != nullptr)
      module->to(torch::kBFloat16);
  return copy;
}

int64_t count_parameters(torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace odp::model
