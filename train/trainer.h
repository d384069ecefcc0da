// Training and evaluating the tokenizer: data in memory, Tail Token Drop, AdamW + EMA, evaluation table.
#pragma once

#include <random>
#include <string>
#include <vector>

#include "model/network.h"
#include "model/safetensors.h"

namespace odp::model {

// Photos decoded once into memory as uint8 [3,H,W] tensors on `device`, each with a short side of at least
// the tile size. Draws random resized crops with horizontal flips. (Decoding files is codec/'s job: the
// caller reads them and adds the pixels, which keeps model/ free of image-format code.)
class ImageBank {
 public:
  ImageBank(int tile_size, torch::Device device) : tile_size_(tile_size), device_(device) {}
  void add(const uint8_t* rgb, int width, int height);
  size_t size() const { return images_.size(); }
  // [batch,3,T,T] float in [0,1]. The crop's side is drawn between T and the image's short side, so the
  // network sees both full-resolution detail and whole scenes downscaled (like the evaluation set).
  // A fraction colour_jitter_fraction (in [0, 1]) of the crops then get a random colour change
  // (jitter_colours); 0 draws no more random numbers than the call without it.
  torch::Tensor sample(int batch, std::mt19937& rng, double colour_jitter_fraction = 0) const;

 private:
  std::vector<torch::Tensor> images_;
  int tile_size_;
  torch::Device device_;
};

// Random photometric changes, one draw per image of [B,3,H,W] in [0,1], each applied with probability
// fraction (in [0, 1]) from rng: per-channel gains exp(±0.05) (white balance), gamma and contrast (about the
// image's mean) each in [0.85, 1.18] log-uniformly, brightness ±0.08 and saturation in [0.75, 1.3] (a blend
// with Rec. 601 luma); the result is clamped to [0, 1]. Images not drawn stay bit-identical. Geometric
// changes are left out on purpose: a rotated photo teaches priors (sky at the bottom) that the short prefixes
// would pay for. fraction 0 draws nothing from rng and returns images unchanged.
torch::Tensor jitter_colours(const torch::Tensor& images, std::mt19937& rng, double fraction);

// An evaluation image: resized (short side to T, bicubic) and centre-cropped to T x T -> [3,T,T] in [0,1].
torch::Tensor eval_crop(const uint8_t* rgb, int width, int height, int tile_size);

struct EvalRow {
  int tokens = 0;
  double psnr = 0, ms_ssim = 0;
};
struct EvalResult {
  std::vector<EvalRow> rows;
  double codebook_use = 0;           // fraction of codes seen on the set (at full length)
  std::vector<double> contribution;  // mean |L1 change| when token i is replaced by a random code
  std::string table_markdown() const;
};

// Evaluates `net` (already on its device) at 1, 2, 4, ... num_tokens tokens. indices: int64 [E,N] tokens of
// the images to decode instead of the encoder's (undefined: the encoder's), e.g. those an encoder search
// chose.
EvalResult evaluate(TokenizerNet& net, const torch::Tensor& images, bool with_contribution, bool autocast,
                    const torch::Tensor& indices = {});

struct TrainOptions {
  std::string out_dir;     // log.tsv, checkpoint-fp16.safetensors, train-state.safetensors
  std::string init_model;  // start from these weights (fresh optimizer: a warm-up restarts the schedule)
  // Resume from a train-state file of an earlier run (kTrainStateFile in its out_dir): weights, EMA, AdamW
  // moments and steps, the step count, the schedule and the random state, so that no re-warm-up is needed.
  // A slim state (slim_train_state) takes its weights from init_model; a full one refuses init_model.
  // Without new_schedule the run continues the saved schedule exactly where it stopped (minutes and
  // max_steps do not refit it); with new_schedule a new warm-up (warmup_steps, may be 0) + cosine segment of
  // peak lr starts at the resumed step and is fitted to minutes / max_steps (counted from the resumed step).
  std::string resume_state;
  bool new_schedule = false;
  int64_t stop_after_steps = 0;  // > 0: end this run after that many steps (state saved), schedule unchanged
  // The state file's tensor dtype: kFloat32 resumes bit-exactly; kBFloat16 halves the file (the moments need
  // fp32's range, which bf16 keeps; the weights lose their low bits once, at the resume).
  torch::ScalarType state_dtype = torch::kBFloat16;
  std::string head_form = "auto";  // "auto" (CUDA: both forms timed, the faster kept; CPU: sub-pixel),
                                   // "sub-pixel" or "transposed" (HeadForm in network.h)
  std::string trace_path;  // CUDA: a Chrome trace (Kineto) of three training steps, written after the profile
  ModelConfig config;
  int batch = 128;
  int64_t max_steps = 100000;
  double minutes = 10;  // wall-clock budget: the cosine schedule is fitted to it after 50 steps
  double lr = 1e-3, min_lr_ratio = 0.05, weight_decay = 0.05, grad_clip = 1.0, ema_decay = 0.999;
  int64_t warmup_steps = 500;
  // Tail Token Drop's mixture: the fraction of samples that keep all tokens (draw_kept_lengths); 0.25 won
  // the A/B against uniform (model/TRAINING.md, run 6).
  double full_length_fraction = 0.25;
  double log_uniform_fraction = 0;    // see draw_kept_lengths
  double colour_jitter_fraction = 0;  // see jitter_colours; 0 (runs 1-11) draws the crops runs 1-11 drew
  double l1_weight = 0.0, mse_weight = 1.0, ms_ssim_weight = 0.0;
  double log_mse_weight = 0.0;  // > 0: adds log_mse_weight * LengthBalancedLogMse (below) to the loss
  double gan_weight = 0.0;      // > 0: adversarial stage with a patch discriminator after gan_start_fraction
  double gan_start_fraction = 0.8;
  std::string
      lpips_path;  // LPIPS-alex weights file (model/lpips.h; the state dict of lpips.LPIPS(net='alex'))
  double lpips_weight = 0.0;  // > 0: adds lpips_weight * LPIPS(recon, images) to the loss from the first step
  int eval_every = 1000;
  double save_every_minutes = 4;
  uint64_t seed = 1;
  std::string device = "auto";
};

// The train-state file's name in out_dir.
extern const char* const kTrainStateFile;

// The state without its weights ("net.*", "ema.*"): moments, steps, schedule and random state, a third of the
// size, for keeping beside the shipped model file across GPU leases. Resuming it needs that model file as
// init_model, which supplies the network's weights and its EMA's (the shipped weights are the EMA).
SafetensorsFile slim_train_state(const SafetensorsFile& state);

// Tail Token Drop's kept lengths for one batch, on `device` from its default generator: each sample keeps
// 1..num_tokens tokens, uniformly, except that with probability full_length_fraction (in [0, 1]) it keeps all
// num_tokens. Uniform alone shows the tail's positions rarely (position 200 of 256 in 22% of samples); the
// mixture trains them more often. Of the samples not kept whole, a fraction log_uniform_fraction (in [0, 1])
// draws its length log-uniformly instead, P(k) = ln((k + 1) / k) / ln(N + 1) (mean ~N / ln N), which trains
// the short prefixes more than uniform does: the mirror of the full-length mixture. Both fractions 0 draw
// exactly the random numbers runs 1-5 drew, and log_uniform_fraction 0 those of runs 6-8.
torch::Tensor draw_kept_lengths(int64_t batch, int num_tokens, double full_length_fraction,
                                const torch::Device& device, double log_uniform_fraction = 0);

// The evaluation table's measure as a loss: the mean over samples of ln(MSE_i), whose gradient weights each
// image by 1 / MSE_i, so that a dB gained on an easy image counts as much as one on a hard image (plain MSE
// spends its gradient on the images and prefixes with the largest errors). Each sample's term is scaled by
// the running mean MSE of its kept length's octave (1, 2-3, 4-7, ..., 256; no gradient), so that the lengths
// keep the weights plain MSE gives them and only the weighting across images within a length changes: where
// every sample's MSE equals its octave's mean the gradient is exactly plain MSE's. The running means start
// from the first batch that has the octave (they are not in the train state: a resume restarts them).
class LengthBalancedLogMse {
 public:
  explicit LengthBalancedLogMse(int num_tokens, double momentum = 0.99);
  // recon, images: [B,3,H,W]; kept: [B] int64 kept lengths (1..num_tokens). Updates the running means from
  // this batch, then returns the scalar loss mean_i(ref[octave(kept_i)] * ln(MSE_i)).
  torch::Tensor operator()(const torch::Tensor& recon, const torch::Tensor& images,
                           const torch::Tensor& kept);
  // The running mean MSE per octave ([octaves]; -1 where no batch has had one yet).
  const torch::Tensor& reference() const { return reference_; }

 private:
  double momentum_;
  int octaves_;
  torch::Tensor reference_;
};

// Runs training; writes checkpoints (fp16 EMA weights + training record), the train state and a log into
// out_dir (the state with every checkpoint). eval_images: [E,3,T,T] on the CPU (may be undefined: no
// evaluation).
void train(const TrainOptions& options, const ImageBank& bank, const torch::Tensor& eval_images);

// Fits per-position token frequency tables (sum 65536, each >= 1) by encoding `samples` random training
// crops.
std::vector<uint16_t> fit_token_frequencies(TokenizerNet& net, const ImageBank& bank, int samples,
                                            bool autocast, std::mt19937& rng);

}  // namespace odp::model
