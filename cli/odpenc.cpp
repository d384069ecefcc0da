// odpenc: compress images (PNG, JPEG, WebP, TIFF, GIF, PPM/PGM) into .odp files with the shipped model.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli/cli_common.h"
#include "codec/colour.h"
#include "model/model_file.h"

namespace {

const std::string kUsage = R"(usage: odpenc IMAGE... [-o OUT] [rate] [options]
Compresses each IMAGE (PNG, JPEG, WebP, TIFF, GIF, PPM/PGM; "-" = stdin) into a .odp file. Without -o,
a.png becomes a.odp beside it; with several inputs -o names an existing directory. An existing output is
replaced, but never an input, and two inputs may not share an output. An animated PNG, WebP or GIF is
encoded as its first frame, with a warning.
Rate (at most one; default -q 75, fewer tokens for an image smaller than a 256x256 tile, in proportion to
its area):
  --tokens N         tokens per 256x256 tile, 1..256 (more tokens: more detail, more bytes)
  -q, --quality Q    0..100, tokens per tile = round(256^(Q/100)): Q=0 -> 1, 50 -> 16, 75 -> 64, 100 -> 256
  -size, --size BYTES
                     the best quality whose file fits BYTES (e.g. 1500, 20k): tries the image downscaled
                     (1, 1/2, 1/3, 1/4, 1/6, 1/8; overlap 0, auto, or 32 over a copy shrunk to keep the
                     tiles), keeps the best PSNR; fails naming the smallest size
  -psnr, --target-psnr DB
                     adaptive: the smallest file whose image reaches DB (e.g. 19): tokens spent across
                     tiles where they remove the most error (a flat sky gets fewer than a tree line), and
                     the image downscaled as --size tries it where that is smaller; out of reach, the
                     full-size file that comes closest. --scale 1 keeps the full size
Options:
  -o OUT             output file (or directory for several inputs); "-" = stdout
  --max-pixels N     refuse images above N pixels (e.g. 50M) from their header (default 64M = 64000000)
  --model FILE       model weights (.safetensors); see the search order below
  --device D         cpu, cuda or auto (default: auto, CUDA when a GPU is present)
  --gpu-precision P  the encoder's arithmetic on CUDA: tf32 (default; the same tokens as the CPU on 99.85%
                     of positions in the benchmark), bf16 (3x faster on large batches, 96.6% the same)
                     or fp32 (100%, slowest). Decoding is unaffected
  --scale S          code the image downscaled by S (0 < S <= 1, e.g. 0.5 or 1/2; bicubic) and record its
                     size; the decoder upsamples to the original size. Default: --size and --target-psnr
                     choose, others 1
  --overlap PX|auto  pixels shared by neighbouring tiles, 0..255. auto (default): only where that costs no
                     extra tile (padding becomes overlap, blended); elsewhere seams are smoothed at decode.
                     32 hides seams in busy regions better but costs tiles (768x512: 12 instead of 6)
  --flatten-alpha    composite transparent images onto white (otherwise they are refused)
  -metadata, --metadata LIST
                     what to copy into the file, as cwebp: all, none (default), or a comma list of icc, exif,
                     xmp (kept chunks are zstd-compressed). Pixels are converted to sRGB from an ICC profile
                     first, and EXIF orientation applied, whatever is kept. --strip-metadata: --metadata none
  -v                 say what was converted on reading, the model and device, and per file: tiles, tokens
                     per tile, bytes, bits/pixel and the time to read, encode and write
  -print_psnr, --print-psnr
                     decode the result and print its PSNR against the input (takes a decode's time)
  -short, --short    print one line per file on stderr: its bytes (and PSNR with --print-psnr)
  -quiet, --quiet    no progress bar, no warnings
  -mt                accepted for cwebp's sake: odp always uses every CPU core
A fully opaque alpha channel is dropped silently (nothing is lost); 16-bit images are rounded to 8-bit.
)";

// --metadata LIST (cwebp's -metadata): which of the input's chunks to keep.
struct KeptMetadata {
  bool icc = false, exif = false, xmp = false;
};

KeptMetadata parse_metadata(const odp::cli::Arguments& arguments) {
  KeptMetadata kept;
  if (!arguments.has("--metadata")) return kept;
  std::stringstream list(arguments.text("--metadata"));
  std::string item;
  while (std::getline(list, item, ',')) {
    if (item == "all") {
      kept = {true, true, true};
    } else if (item == "icc") {
      kept.icc = true;
    } else if (item == "exif") {
      kept.exif = true;
    } else if (item == "xmp") {
      kept.xmp = true;
    } else if (item != "none") {
      throw odp::cli::UsageError("--metadata: '" + item + "' is not one of all, none, icc, exif, xmp");
    }
  }
  return kept;
}

// For -v: " coded at CWxCH (best of N candidates)" when the tokens code a downscaled copy or a search
// (--size, --target-psnr) encoded several.
std::string coded_size_note(const odp::codec::EncodeStats& stats, const odp::codec::Image& image) {
  std::string note;
  if (stats.coded_width != image.width || stats.coded_height != image.height)
    note = " coded at " + std::to_string(stats.coded_width) + "x" + std::to_string(stats.coded_height);
  if (stats.candidates > 1) note += " (best of " + std::to_string(stats.candidates) + " candidates)";
  return note;
}

// --scale S: a number in (0, 1] or a fraction 1/N.
double parse_scale(const odp::cli::Arguments& arguments) {
  const std::string text = arguments.text("--scale");
  if (text.rfind("1/", 0) == 0) {
    try {
      size_t used = 0;
      const double divisor = std::stod(text.substr(2), &used);
      if (used == text.size() - 2 && divisor >= 1 && divisor <= 1e6) return 1.0 / divisor;
    } catch (const std::exception&) {
    }
    throw odp::cli::UsageError("--scale: '" + text + "' is not 1/N with N >= 1");
  }
  const double scale = arguments.number("--scale", 0, 1);
  if (scale <= 0) throw odp::cli::UsageError("--scale must be more than 0");
  return scale;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace odp;
  using cli::fixed;
  using cli::seconds_since;
  using Clock = std::chrono::steady_clock;
  return cli::run_tool(
      argc, argv, kUsage,
      {"-o", "--tokens", "--quality", "--size", "--target-psnr", "--model", "--device", "--overlap",
       "--gpu-precision", "--metadata", "--max-pixels", "--scale"},
      {"--flatten-alpha", "--strip-metadata", "-v", "--print-psnr", "--short", "--mt"},
      [](const cli::Arguments& arguments) {
        if (arguments.count_of({"--tokens", "--quality", "--size", "--target-psnr"}) > 1)
          throw cli::UsageError("give at most one of --tokens, -q/--quality, --size and --target-psnr");
        codec::EncodeOptions options;
        options.rate = codec::RateControl::kQuality;
        options.tokens_by_area =
            arguments.count_of({"--tokens", "--quality", "--size", "--target-psnr"}) == 0;
        if (arguments.has("--scale")) options.scale = parse_scale(arguments);
        if (arguments.has("--tokens")) {
          options.rate = codec::RateControl::kTokens;
          options.tokens = arguments.integer("--tokens", 1, 256);
        } else if (arguments.has("--quality")) {
          options.quality = arguments.number("--quality", 0, 100);
        } else if (arguments.has("--size")) {
          options.rate = codec::RateControl::kSize;
          options.max_bytes = arguments.byte_count("--size");
        } else if (arguments.has("--target-psnr")) {
          options.rate = codec::RateControl::kTargetPsnr;
          options.target_psnr = arguments.number("--target-psnr", 1, 150);
        }
        if (arguments.has("--overlap") && arguments.text("--overlap") != "auto")
          options.tile_overlap = arguments.integer("--overlap", 0, 255);
        if (arguments.has("--strip-metadata") && arguments.has("--metadata"))
          throw cli::UsageError("give --metadata or --strip-metadata, not both");
        const KeptMetadata kept = parse_metadata(arguments);
        imageio::ReadOptions read_options;
        read_options.flatten_alpha = arguments.has("--flatten-alpha");
        read_options.max_pixels = cli::max_pixels(arguments);
        read_options.max_side = 65535;  // the .odp format's largest width and height
        // The largest file such an image can need: 16-bit RGBA uncompressed, 8 bytes a pixel, + metadata.
        read_options.max_input_bytes = read_options.max_pixels * 8 + (64u << 20);
        const bool verbose = arguments.has("-v"), quiet = arguments.has("--quiet");
        const std::vector<std::string> outputs = cli::output_paths(arguments, ".odp", false);
        // Parsed before any image is read or the model loads, so that a bad value fails at once.
        if (arguments.has("--gpu-precision")) {
          try {
            options.gpu_precision = codec::parse_gpu_precision(arguments.text("--gpu-precision"));
          } catch (const codec::CodecError& error) {
            throw cli::UsageError(std::string("--gpu-precision: ") + error.what());
          }
        }
        std::unique_ptr<model::TileModel> model;  // loaded once the first image has been read
        int result = cli::kOk;
        for (size_t i = 0; i < outputs.size(); ++i) {
          const std::string& input = arguments.inputs()[i];
          int code = cli::for_input(arguments, input, [&] {
            const Clock::time_point read_start = Clock::now();
            codec::Image image = imageio::read_image(input, read_options);
            if (!quiet)
              for (const std::string& warning : image.warnings)
                std::cerr << "odpenc: " << input << ": warning: " << warning << "\n";
            double load_seconds = 0;  // the first image's: not part of its read time
            if (!model) {
              const Clock::time_point load_start = Clock::now();
              model = cli::load_tool_model(arguments, verbose);
              // A CUDA graph is captured at a batch shape's first use and pays back only over many replays;
              // one image (even --size's search over it) meets each shape a few times, so its captures cost
              // more than they save (docs/notes/2026-12-03-size-search-speed.md). Several inputs replay them.
              model->set_gpu_graphs(outputs.size() > 1);
              if (verbose)
                std::cerr << "odpenc: model " << model::model_id_text(model->info().model_id) << " on "
                          << (model->device() == model::Device::kCuda ? "cuda" : "cpu") << ", loaded in "
                          << fixed(seconds_since(load_start), 2) << " s\n";
              load_seconds = seconds_since(load_start);
            }
            if (verbose)
              for (const std::string& note : image.notes)
                std::cerr << "odpenc: " << input << ": " << note << "\n";
            // .odp codes sRGB: convert from the input's profile; a profile Little CMS refuses leaves the
            // pixels as they are, recorded as unspecified colour.
            const codec::SrgbConversion colour = codec::convert_to_srgb(image);
            if (verbose && !colour.message.empty())
              std::cerr << "odpenc: " << input << ": " << colour.message << "\n";
            const double read_seconds = seconds_since(read_start) - load_seconds;
            options.colour = colour.is_srgb ? codec::EncodeOptions::Colour::kSrgb
                                            : codec::EncodeOptions::Colour::kUnspecified;
            if (!kept.icc) image.icc.clear();
            if (!kept.exif) image.exif.clear();  // (the readers keep no XMP yet, so "xmp" keeps nothing)
            options.progress = cli::progress_bar(!quiet, input);
            const Clock::time_point encode_start = Clock::now();
            const codec::EncodeResult encoded = codec::encode(image, *model, options);
            const double encode_seconds = seconds_since(encode_start);
            const Clock::time_point write_start = Clock::now();
            base::write_file_atomic(outputs[i], encoded.bytes);
            const double write_seconds = seconds_since(write_start);
            std::optional<double> psnr;
            if (arguments.has("--print-psnr")) {  // as cwebp -print_psnr: what a decoder will show
              const codec::Image decoded = codec::decode(encoded.bytes.data(), encoded.bytes.size(), *model);
              psnr = codec::psnr(image, decoded);
            }
            const double bits_per_pixel = 8.0 * encoded.stats.bytes / (double(image.width) * image.height);
            if (arguments.has("--short")) {
              std::cerr << encoded.stats.bytes << (psnr ? " " + fixed(*psnr, 2) : "") << "\n";
            } else if (verbose) {
              std::cerr << "odpenc: " << input << " -> " << outputs[i] << ": " << image.width << "x"
                        << image.height << coded_size_note(encoded.stats, image) << ", "
                        << cli::count_of_things(encoded.stats.tiles, "tile") << ", overlap "
                        << encoded.stats.tile_overlap << ", " << fixed(encoded.stats.mean_tokens, 1)
                        << " tokens/tile on average, "
                        << cli::count_of_things(static_cast<long long>(encoded.stats.bytes), "byte") << ", "
                        << fixed(bits_per_pixel, 4) << " bits/pixel"
                        << (psnr ? ", PSNR " + fixed(*psnr, 2) + " dB" : "") << "; read "
                        << fixed(read_seconds, 3) << " s, encode " << fixed(encode_seconds, 3) << " s, write "
                        << fixed(write_seconds, 3) << " s\n";
            } else if (psnr) {
              std::cerr << "odpenc: " << input << ": PSNR " << fixed(*psnr, 2) << " dB, "
                        << encoded.stats.bytes << " bytes, " << fixed(bits_per_pixel, 4) << " bits/pixel\n";
            }
          });
          if (result == cli::kOk) result = code;
        }
        return result;
      },
      cli::libtorch_description);
}
