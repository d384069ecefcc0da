// Training and evaluating the tokenizer: data in memory, Tail Token Drop, AdamW + EMA, evaluation table.
#pragma once

#include <random>
#include <string>
#include <vector>

#include "model/network.h"

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
  torch::Tensor sample(int batch, std::mt19937& rng) const;

 private:
  std::vector<torch::Tensor> images_;
  int tile_size_;
  torch::Device device_;
};

// An evaluation image: resized (short side to T, bicubic) and centre-cropped to T x T -> [3,T,T] in [0,1].
torch::Tensor eval_crop(const uint8_t* rgb, int width, int height, int tile_size);

struct EvalRow {
  int tokens = 0;
  double psnr = 0, ms_ssim = 0;
};
struct EvalResult {
  std::vector<EvalRow> rows;
  double codebook_use = 0;             // fraction of codes seen on the set (at full length)
  std::vector<double> contribution;    // mean |L1 change| when token i is replaced by a random code
  std::string table_markdown() const;
};

// Evaluates `net` (already on its device) at 1, 2, 4, ... num_tokens tokens.
EvalResult evaluate(TokenizerNet& net, const torch::Tensor& images, bool with_contribution, bool autocast);

struct TrainOptions {
  std::string out_dir;            // log.tsv, checkpoint-fp16.safetensors
  std::string init_model;         // resume from these weights (a re-warm-up restarts the schedule)
  ModelConfig config;
  int batch = 128;
  int64_t max_steps = 100000;
  double minutes = 10;            // wall-clock budget: the cosine schedule is fitted to it after 50 steps
  double lr = 1e-3, min_lr_ratio = 0.05, weight_decay = 0.05, grad_clip = 1.0, ema_decay = 0.999;
  int64_t warmup_steps = 500;
  double l1_weight = 0.0, mse_weight = 1.0, ms_ssim_weight = 0.0;
  double gan_weight = 0.0;        // > 0: adversarial stage with a patch discriminator after gan_start_fraction
  double gan_start_fraction = 0.8;
  std::string lpips_path;         // LPIPS-alex weights file (model/lpips.h; the state dict of lpips.LPIPS(net='alex'))
  double lpips_weight = 0.0;      // > 0: adds lpips_weight * LPIPS(recon, images) to the loss from the first step
  int eval_every = 1000;
  double save_every_minutes = 4;
  uint64_t seed = 1;
  std::string device = "auto";
};

// Runs training; writes checkpoints (fp16 EMA weights + training record) and a log into out_dir.
// eval_images: [E,3,T,T] on the CPU (may be undefined: no evaluation).
void train(const TrainOptions& options, const ImageBank& bank, const torch::Tensor& eval_images);

// Fits per-position token frequency tables (sum 65536, each >= 1) by encoding `samples` random training crops.
std::vector<uint16_t> fit_token_frequencies(TokenizerNet& net, const ImageBank& bank, int samples, bool autocast,
                                            std::mt19937& rng);

}  // namespace odp::model
