// odp-train: trains the tokenizer, evaluates a model file, and fits its entropy-coding tables.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>

#include "cli/cli_common.h"
#include "cli/process.h"
#include "imageio/image.h"
#include "model/model_file.h"
#include "model/weights.h"
#include "train/blend.h"
#include "train/effort.h"
#include "train/metrics.h"
#include "train/trainer.h"

namespace fs = std::filesystem;
using namespace odp::model;

namespace {

const char* kUsage = R"(usage:
  odp-train train --data DIR[,DIR...] --out DIR [--eval DIR] [--init MODEL] [--resume STATE [--new-schedule]]
                  [--minutes M] [--steps S] [--stop-after S]
                  [--batch B] [--lr X] [--warmup S] [--ema D] [--full-length F] [--log-uniform F] [--l1 W] [--mse W] [--log-mse W] [--ms-ssim W]
                  [--augment F] [--weight-decay W] [--min-lr-ratio R] [--gan W] [--gan-start FRACTION] [--lpips FILE [--lpips-weight W]]
                  [--eval-every S] [--save-every-minutes M] [--state-dtype bf16|f32]
                  [--head-form auto|sub-pixel|transposed] [--trace FILE.json]
                  [--device auto|cpu|cuda] [--seed N] [--width W] [--layers ENC,DEC] [--heads H]
                  [--tile T] [--patch P] [--tokens N] [--head-channels C,C,...]
  odp-train eval --model MODEL --eval DIR [--device D] [--contribution]
  odp-train effort --model MODEL --eval DIR [--steps K,K,...] [--lr X] [--lengths N,N,...] [--batch B]
                   [--device D]
      the evaluation table of the encoder's tokens and of tokens refined by K steps of encoder search (Adam on
      the latents through the frozen decoder, mean log MSE over the prefix lengths; default 10,30,100 steps,
      lr 0.05, lengths 16,32,64, 2 tiles a batch), with the search's time per tile and step
  odp-train slim-state --state STATE --out SLIM
      writes the train state without its weights (moments, steps, schedule, random state), to keep beside the
      model file it belongs to; resume it with --init MODEL --resume SLIM
  odp-train tables --model MODEL --data DIR[,DIR...] --out MODEL [--samples N] [--device D]
      fits per-position token frequencies on training crops and writes MODEL (fp16) with them
  odp-train blend --model A --with B --alpha X --out MODEL
      writes (1 - X) * A + X * B, every weight and buffer, for two models of one architecture (fp16, A's
      metadata and entropy tables: refit them with odp-train tables before shipping)
--init starts from a model file's weights with a fresh optimizer (a warm-up restarts the schedule). --resume
continues from the train-state file (train-state.safetensors in an earlier --out, written with every checkpoint):
weights, EMA, AdamW moments, step, schedule and random state; the saved schedule goes on exactly, or with
--new-schedule a new warm-up (--warmup, default 0 then) + cosine segment at --lr is fitted to --minutes/--steps.
A slim state (odp-train slim-state) takes its weights from --init. --stop-after S ends the run after S steps without changing its schedule (resume it later). --state-dtype f32
makes the state file twice as large and the resume bit-exact. --trace writes a Chrome trace of three training
steps (CUDA). --full-length F: Tail Token Drop keeps all N tokens in a fraction F of the samples, the others
1..N uniformly (default 0.25; 0: all uniform, as runs 1-5 trained). --log-uniform F: of those others, a fraction F
draws its length log-uniformly over 1..N (more short prefixes; default 0). --minutes 0 --steps S runs exactly S steps. --log-mse W adds W * the mean ln(MSE) per image, each
scaled by its length octave's running mean MSE (the evaluation's mean PSNR as a loss; --mse 0 --log-mse 1
replaces plain MSE with it). --augment F gives a fraction F of the training crops a random colour change (white
balance, gamma, contrast, brightness, saturation; default 0). --weight-decay W (AdamW's on matrices, default 0.05)
and --min-lr-ratio R (the cosine's floor as a fraction of --lr, default 0.05). --head-form auto (default) times both forms of the upsampling head on CUDA and keeps the faster.
Images are JPEG/PNG/WebP/PPM files; every file directly inside DIR (or its sub-folders) is read.
--lpips FILE adds W * LPIPS(reconstruction, image) to the loss (W: --lpips-weight, default 0.1), with the
LPIPS-alex weights in FILE: a .safetensors state dict of lpips.LPIPS(net='alex'), made as bench/README.md says.
)";

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::vector<int> split_ints(const std::string& s) {
  std::vector<int> out;
  for (const auto& t : split(s, ',')) out.push_back(std::stoi(t));
  return out;
}

bool is_image_name(const fs::path& p) {
  std::string ext = p.extension().string();
  for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".webp" || ext == ".ppm" || ext == ".pgm";
}

std::vector<fs::path> image_files(const std::string& folder) {
  std::vector<fs::path> files;
  if (!fs::is_directory(folder)) throw std::runtime_error(folder + ": not a folder");
  for (const auto& e : fs::recursive_directory_iterator(folder))
    if (e.is_regular_file() && is_image_name(e.path())) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

ImageBank load_bank(const std::string& folders, int tile, torch::Device device) {
  ImageBank bank(tile, device);
  for (const auto& folder : split(folders, ',')) {
    for (const auto& f : image_files(folder)) {
      try {
        auto img = odp::imageio::read_image(f.string());
        bank.add(img.rgb.data(), img.width, img.height);
      } catch (const std::exception& e) {
        std::cerr << "odp-train: skipping " << f << ": " << e.what() << "\n";
      }
    }
  }
  std::cout << "# " << bank.size() << " training images in memory\n";
  return bank;
}

torch::Tensor load_eval(const std::string& folder, int tile) {
  std::vector<torch::Tensor> crops;
  for (const auto& f : image_files(folder)) {
    auto img = odp::imageio::read_image(f.string());
    crops.push_back(eval_crop(img.rgb.data(), img.width, img.height, tile));
  }
  if (crops.empty()) throw std::runtime_error(folder + ": no images");
  return torch::stack(crops, 0);
}

// Every command's options, read by the tools' one parser (cli::Arguments); a command ignores the others'.
const std::set<std::string> kValueOptions = {
    "--data",          "--with",         "--alpha",        "--out",
    "--eval",          "--init",         "--resume",       "--minutes",
    "--steps",         "--stop-after",   "--batch",        "--lr",
    "--warmup",        "--ema",          "--l1",           "--mse",
    "--log-mse",       "--ms-ssim",      "--gan",          "--gan-start",
    "--lpips",         "--lpips-weight", "--eval-every",   "--save-every-minutes",
    "--full-length",   "--log-uniform",  "--state-dtype",  "--head-form",
    "--augment",       "--weight-decay", "--min-lr-ratio", "--trace",
    "--device",        "--seed",         "--width",        "--layers",
    "--heads",         "--tile",         "--patch",        "--tokens",
    "--head-channels", "--model",        "--samples",      "--state",
    "--lengths"};
const std::set<std::string> kSwitches = {"--contribution", "--new-schedule"};

// The options after the command word, by their names without the leading "--".
struct Args {
  odp::cli::Arguments arguments;
  bool has(const std::string& k) const { return arguments.has("--" + k); }
  std::string get(const std::string& k, const std::string& def = "") const {
    return arguments.text("--" + k, def);
  }
};

Args parse(int argc, char** argv) {
  // argv[1] is the command: the parser reads what follows it and names the command in its messages.
  Args a{odp::cli::Arguments(argc - 1, argv + 1, kValueOptions, kSwitches)};
  if (!a.arguments.inputs().empty())
    throw std::invalid_argument("unexpected argument '" + a.arguments.inputs().front() + "'");
  return a;
}

int run_train(const Args& a) {
  TrainOptions o;
  if (!a.has("data") || !a.has("out")) throw std::invalid_argument("train needs --data and --out");
  o.out_dir = a.get("out");
  o.init_model = a.get("init");
  o.resume_state = a.get("resume");
  o.new_schedule = a.has("new-schedule");
  if (o.new_schedule && o.resume_state.empty())
    throw std::invalid_argument("--new-schedule needs --resume STATE");
  o.stop_after_steps = std::stoll(a.get("stop-after", "0"));
  const std::string state_dtype = a.get("state-dtype", "bf16");
  if (state_dtype != "bf16" && state_dtype != "f32")
    throw std::invalid_argument("--state-dtype is bf16 or f32");
  o.state_dtype = state_dtype == "f32" ? torch::kFloat32 : torch::kBFloat16;
  o.head_form = a.get("head-form", "auto");
  o.trace_path = a.get("trace");
  o.device = a.get("device", "auto");
  o.minutes = std::stod(a.get("minutes", "10"));
  o.max_steps = std::stoll(a.get("steps", "1000000"));
  o.batch = std::stoi(a.get("batch", "128"));
  o.lr = std::stod(a.get("lr", "1e-3"));
  // Resumed moments are warm: a new schedule segment needs no warm-up unless asked for.
  o.warmup_steps = std::stoll(a.get("warmup", o.resume_state.empty() ? "500" : "0"));
  o.ema_decay = std::stod(a.get("ema", "0.999"));
  o.full_length_fraction = std::stod(a.get("full-length", "0.25"));
  if (!(o.full_length_fraction >= 0 && o.full_length_fraction <= 1))
    throw std::invalid_argument("--full-length is a fraction in [0, 1]");
  o.log_uniform_fraction = std::stod(a.get("log-uniform", "0"));
  if (!(o.log_uniform_fraction >= 0 && o.log_uniform_fraction <= 1))
    throw std::invalid_argument("--log-uniform is a fraction in [0, 1]");
  o.colour_jitter_fraction = std::stod(a.get("augment", "0"));
  if (!(o.colour_jitter_fraction >= 0 && o.colour_jitter_fraction <= 1))
    throw std::invalid_argument("--augment is a fraction in [0, 1]");
  o.weight_decay = std::stod(a.get("weight-decay", "0.05"));
  if (!(o.weight_decay >= 0 && o.weight_decay < 1))
    throw std::invalid_argument("--weight-decay is in [0, 1)");
  o.min_lr_ratio = std::stod(a.get("min-lr-ratio", "0.05"));
  if (!(o.min_lr_ratio >= 0 && o.min_lr_ratio <= 1))
    throw std::invalid_argument("--min-lr-ratio is a fraction in [0, 1]");
  o.l1_weight = std::stod(a.get("l1", "0"));
  o.mse_weight = std::stod(a.get("mse", "1"));
  o.log_mse_weight = std::stod(a.get("log-mse", "0"));
  if (!(o.log_mse_weight >= 0)) throw std::invalid_argument("--log-mse is a weight of at least 0");
  o.ms_ssim_weight = std::stod(a.get("ms-ssim", "0"));
  o.gan_weight = std::stod(a.get("gan", "0"));
  o.gan_start_fraction = std::stod(a.get("gan-start", "0.8"));
  if (a.has("lpips-weight") && !a.has("lpips"))
    throw std::invalid_argument("--lpips-weight needs --lpips FILE (the LPIPS-alex weights)");
  if (a.has("lpips")) {
    o.lpips_path = a.get("lpips");
    o.lpips_weight = std::stod(a.get("lpips-weight", "0.1"));
    if (!(o.lpips_weight > 0)) throw std::invalid_argument("--lpips-weight must be above 0");
    // Before the photos are read (minutes on the GPU machine); train() checks the file's tensors.
    if (!fs::is_regular_file(o.lpips_path))
      throw std::runtime_error("LPIPS weights " + o.lpips_path + ": no such file");
  }
  o.eval_every = std::stoi(a.get("eval-every", "1000"));
  o.save_every_minutes = std::stod(a.get("save-every-minutes", "4"));
  o.seed = std::stoull(a.get("seed", "1"));
  ModelConfig& c = o.config;
  if (a.has("width")) c.width = std::stoi(a.get("width"));
  if (a.has("layers")) {
    auto l = split_ints(a.get("layers"));
    c.encoder_layers = l.at(0);
    c.decoder_layers = l.at(l.size() > 1 ? 1 : 0);
  }
  if (a.has("heads")) c.heads = std::stoi(a.get("heads"));
  if (a.has("tile")) c.tile_size = std::stoi(a.get("tile"));
  if (a.has("patch")) c.patch_size = std::stoi(a.get("patch"));
  if (a.has("tokens")) c.num_tokens = std::stoi(a.get("tokens"));
  if (a.has("head-channels")) c.head_channels = split_ints(a.get("head-channels"));
  c.validate();
  const bool cuda = parse_device(o.device) == Device::kCuda;
  const torch::Device device(cuda ? torch::kCUDA : torch::kCPU);
  int tile = c.tile_size;
  if (!o.init_model.empty()) tile = load_network(o.init_model).info.config.tile_size;
  if (!o.resume_state.empty()) {
    const std::set<std::string> no_tensors;
    const auto state = parse_safetensors(read_model_bytes(o.resume_state), o.resume_state, &no_tensors);
    tile = config_from_metadata(state.metadata, o.resume_state).tile_size;
  }
  auto bank = load_bank(a.get("data"), tile, device);
  torch::Tensor eval_images;
  if (a.has("eval")) eval_images = load_eval(a.get("eval"), tile);
  train(o, bank, eval_images);
  return 0;
}

int run_eval(const Args& a) {
  if (!a.has("model") || !a.has("eval")) throw std::invalid_argument("eval needs --model and --eval");
  auto loaded = load_network(a.get("model"));
  const bool cuda = parse_device(a.get("device", "auto")) == Device::kCuda;
  loaded.net->to(cuda ? torch::kCUDA : torch::kCPU);
  auto images = load_eval(a.get("eval"), loaded.info.config.tile_size);
  auto result = evaluate(loaded.net, images, a.has("contribution"), cuda);
  std::printf("model %s (id %08x, %lld parameters), %lld images\n\n", a.get("model").c_str(),
              loaded.info.model_id, static_cast<long long>(loaded.info.parameters),
              static_cast<long long>(images.size(0)));
  std::cout << result.table_markdown();
  if (!result.contribution.empty()) {
    std::cout << "\ncontribution";
    for (double c : result.contribution) std::cout << "\t" << c;
    std::cout << "\n";
  }
  return 0;
}

int run_effort(const Args& a) {
  if (!a.has("model") || !a.has("eval")) throw std::invalid_argument("effort needs --model and --eval");
  auto loaded = load_network(a.get("model"));
  const bool cuda = parse_device(a.get("device", "auto")) == Device::kCuda;
  const torch::Device device(cuda ? torch::kCUDA : torch::kCPU);
  loaded.net->to(device);
  auto images = load_eval(a.get("eval"), loaded.info.config.tile_size);
  EffortOptions o;
  o.lr = std::stod(a.get("lr", "0.05"));
  o.batch = std::stoi(a.get("batch", "2"));
  o.lengths = split_ints(a.get("lengths", "16,32,64"));
  auto steps = split_ints(a.get("steps", "10,30,100"));
  std::sort(steps.begin(), steps.end());
  if (steps.empty() || steps.front() < 1) throw std::invalid_argument("--steps are counts of at least 1");
  o.steps = steps.back();
  const auto base = evaluate(loaded.net, images, false, cuda);
  const auto t0 = std::chrono::steady_clock::now();
  const auto refined = refine_indices(loaded.net, images.to(device), o, steps);
  if (cuda) torch::cuda::synchronize();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<EvalResult> results;
  for (const auto& indices : refined) results.push_back(evaluate(loaded.net, images, false, cuda, indices));
  std::printf("model %s (id %08x), %lld images; lr %g, lengths %s, batch %d\n", a.get("model").c_str(),
              loaded.info.model_id, static_cast<long long>(images.size(0)), o.lr,
              a.get("lengths", "16,32,64").c_str(), o.batch);
  std::printf("search: %.1f s for %d steps, %.3f s per tile per step\n\n", seconds, o.steps,
              seconds / (static_cast<double>(images.size(0)) * o.steps));
  // Bytes per tile of a prefix under the model's entropy-coding tables (the ideal code length, -log2 of each
  // token's frequency at its position): refined tokens may be rarer ones and cost more.
  const auto& frequencies = loaded.info.token_frequencies;
  const int64_t codebook = loaded.info.config.codebook_size();
  const auto prefix_bytes = [&](const torch::Tensor& indices, int tokens) {
    if (frequencies.empty()) return 0.0;
    const auto idx = indices.to(torch::kCPU, torch::kInt64).contiguous();
    double bits = 0;
    for (int64_t i = 0; i < idx.size(0); ++i)
      for (int64_t j = 0; j < tokens; ++j)
        bits -= std::log2(frequencies[j * codebook + idx[i][j].item<int64_t>()] / 65536.0);
    return bits / 8.0 / static_cast<double>(idx.size(0));
  };
  torch::Tensor encoder_indices;
  {
    torch::NoGradGuard no_grad;
    encoder_indices = loaded.net->encode_indices(images.to(device));
  }
  std::printf("| tokens | PSNR, encoder (dB) | bytes |");
  for (int k : steps) std::printf(" K=%d: PSNR, gain | bytes |", k);
  std::printf("\n|---:|---:|---:|");
  for (size_t i = 0; i < steps.size(); ++i) std::printf("---:|---:|");
  std::printf("\n");
  for (size_t r = 0; r < base.rows.size(); ++r) {
    const int tokens = base.rows[r].tokens;
    std::printf("| %d | %.2f | %.1f |", tokens, base.rows[r].psnr, prefix_bytes(encoder_indices, tokens));
    for (size_t i = 0; i < results.size(); ++i)
      std::printf(" %.2f, %+.2f | %.1f |", results[i].rows[r].psnr,
                  results[i].rows[r].psnr - base.rows[r].psnr, prefix_bytes(refined[i], tokens));
    std::printf("\n");
  }
  return 0;
}

int run_slim_state(const Args& a) {
  if (!a.has("state") || !a.has("out")) throw std::invalid_argument("slim-state needs --state and --out");
  const auto state = parse_safetensors(read_model_bytes(a.get("state")), a.get("state"));
  write_safetensors_file(a.get("out"), slim_train_state(state));
  std::printf("wrote %s (%s without its weights)\n", a.get("out").c_str(), a.get("state").c_str());
  return 0;
}

int run_tables(const Args& a) {
  if (!a.has("model") || !a.has("data") || !a.has("out"))
    throw std::invalid_argument("tables needs --model, --data and --out");
  auto loaded = load_network(a.get("model"));
  const bool cuda = parse_device(a.get("device", "auto")) == Device::kCuda;
  const torch::Device device(cuda ? torch::kCUDA : torch::kCPU);
  loaded.net->to(device);
  auto bank = load_bank(a.get("data"), loaded.info.config.tile_size, device);
  std::mt19937 rng(7);
  auto freqs = fit_token_frequencies(loaded.net, bank, std::stoi(a.get("samples", "20000")), cuda, rng);
  // Report the ideal code length the tables give, per position group, against the uniform 12 bits.
  const int K = loaded.info.config.codebook_size();
  double bits = 0;
  for (size_t i = 0; i < freqs.size(); ++i) {
    const double p = freqs[i] / 65536.0;
    bits -= p * std::log2(p);
  }
  std::printf("mean entropy of the fitted tables: %.3f bits/token (uniform: %d)\n",
              bits / loaded.info.config.num_tokens, loaded.info.config.codebook_bits());
  loaded.net->to(torch::kCPU);
  const uint32_t id = save_network(a.get("out"), loaded.net, torch::kFloat16, loaded.metadata, freqs);
  std::printf("wrote %s (model id %08x, codebook %d)\n", a.get("out").c_str(), id, K);
  return 0;
}

int run_blend(const Args& a) {
  if (!a.has("model") || !a.has("with") || !a.has("alpha") || !a.has("out"))
    throw std::invalid_argument("blend needs --model, --with, --alpha and --out");
  const double alpha = std::stod(a.get("alpha"));
  auto base = load_network(a.get("model"));
  auto other = load_network(a.get("with"));
  if (config_to_metadata(base.info.config) != config_to_metadata(other.info.config))
    throw std::invalid_argument("blend: " + a.get("model") + " and " + a.get("with") +
                                " have different hyper-parameters");
  blend_networks(base.net, other.net, alpha);
  auto metadata = base.metadata;
  metadata["train.blend"] = a.get("model") + " * " + std::to_string(1 - alpha) + " + " + a.get("with") +
                            " * " + std::to_string(alpha);
  const uint32_t id =
      save_network(a.get("out"), base.net, torch::kFloat16, metadata, base.info.token_frequencies);
  std::printf("wrote %s (model id %08x): %s\n", a.get("out").c_str(), id, metadata["train.blend"].c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 1 : 0;
  }
  odp::cli::use_all_physical_cpu_cores();  // CPU evaluation and training, as the tools do
  try {
    const std::string cmd = argv[1];
    const Args a = parse(argc, argv);
    if (cmd == "train") return run_train(a);
    if (cmd == "eval") return run_eval(a);
    if (cmd == "effort") return run_effort(a);
    if (cmd == "tables") return run_tables(a);
    if (cmd == "slim-state") return run_slim_state(a);
    if (cmd == "blend") return run_blend(a);
    std::fprintf(stderr, "odp-train: unknown command '%s'\n%s", cmd.c_str(), kUsage);
    return 1;
  } catch (const odp::cli::UsageError& e) {
    std::fprintf(stderr, "odp-train: %s\n%s", e.what(), kUsage);
    return 1;
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "odp-train: %s\n%s", e.what(), kUsage);
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "odp-train: %s\n", e.what());
    return 2;
  }
}
