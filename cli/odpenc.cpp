// odpenc: compress images (PNG, JPEG, WebP, PPM/PGM) into .odp files with the shipped model.
#include <iostream>
#include <optional>
#include <sstream>

#include "cli/cli_common.h"
#include "codec/colour.h"

namespace {

const std::string kUsage = R"(usage: odpenc IMAGE... [-o OUT] [rate] [options]
Compresses each IMAGE (PNG, JPEG, WebP, PPM/PGM; "-" = stdin) into a .odp file. Without -o, a.png
becomes a.odp beside it; with several inputs -o names an existing directory.
Rate (at most one; default --quality 75, fewer tokens for an image smaller than a 256x256 tile, in
proportion to its area):
  --tokens N         tokens per 256x256 tile, 1..256 (more tokens: more detail, more bytes)
  --quality Q        0..100, tokens per tile = round(256^(Q/100)): Q=0 -> 1, 50 -> 16, 75 -> 64, 100 -> 256
  --size BYTES       the best quality whose file fits BYTES (e.g. 1500, 20k): tries the image downscaled
                     (1, 1/2, 1/3, 1/4, 1/6, 1/8; overlap 0, auto, or 32 over a copy shrunk to keep the
                     tiles), keeps the best PSNR; fails naming the smallest size
  --target-psnr DB   adaptive: the image reaches DB (e.g. 19) with the fewest tokens, spent across tiles
                     where they remove the most error (a flat sky gets fewer than a tree line)
Options:
  -o OUT             output file (or directory for several inputs); "-" = stdout
  --model FILE       model weights (.safetensors); see the search order below
  --device D         cpu, cuda or auto (default: auto, CUDA when a GPU is present)
  --gpu-precision P  the encoder's arithmetic on CUDA: tf32 (default; the same tokens as the CPU on 99.85%
                     of positions in the benchmark), bf16 (3x faster on large batches, 96.6% the same)
                     or fp32 (100%, slowest). Decoding is unaffected
  --scale S          code the image downscaled by S (0 < S <= 1, e.g. 0.5 or 1/2; bicubic) and record its
                     size; the decoder upsamples to the original size. Default: --size chooses, others 1
  --overlap PX|auto  pixels shared by neighbouring tiles, 0..128. auto (default): only where that costs no
                     extra tile (padding becomes overlap, blended); elsewhere seams are smoothed at decode.
                     32 hides seams in busy regions better but costs tiles (768x512: 12 instead of 6)
  --flatten-alpha    composite transparent images onto white (otherwise they are refused)
  --metadata LIST    what to copy into the file, as cwebp: all, none (default), or a comma list of icc, exif,
                     xmp (kept chunks are zstd-compressed). Pixels are converted to sRGB from an ICC profile
                     first, and EXIF orientation applied, whatever is kept. --strip-metadata: --metadata none
  -v                 say what was converted on reading and what each file got (tokens, bytes, bits/pixel)
  -q                 no progress bar
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

// For -v: " coded at CWxCH (+N candidates tried)" when the tokens code a downscaled copy or --size searched.
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
  return cli::run_tool(
      argc, argv, kUsage,
      {"-o", "--tokens", "--quality", "--size", "--target-psnr", "--model", "--device", "--overlap",
       "--gpu-precision", "--metadata", "--scale"},
      {"--flatten-alpha", "--strip-metadata", "-v", "-q"}, [](const cli::Arguments& arguments) {
        if (arguments.count_of({"--tokens", "--quality", "--size", "--target-psnr"}) > 1)
          throw cli::UsageError("give at most one of --tokens, --quality, --size and --target-psnr");
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
          options.tile_overlap = arguments.integer("--overlap", 0, 128);
        if (arguments.has("--strip-metadata") && arguments.has("--metadata"))
          throw cli::UsageError("give --metadata or --strip-metadata, not both");
        const KeptMetadata kept = parse_metadata(arguments);
        imageio::ReadOptions read_options;
        read_options.flatten_alpha = arguments.has("--flatten-alpha");
        const bool verbose = arguments.has("-v");
        const std::vector<std::string> outputs = cli::output_paths(arguments, ".odp", false);
        // Parsed before the model loads, so that a bad value fails at once; without the flag the model keeps
        // its default (TF32).
        std::optional<model::GpuEncodePrecision> precision;
        if (arguments.has("--gpu-precision")) {
          try {
            precision = model::parse_gpu_encode_precision(arguments.text("--gpu-precision"));
          } catch (const model::ModelError& error) {
            throw cli::UsageError(std::string("--gpu-precision: ") + error.what());
          }
        }
        auto model = cli::load_tool_model(arguments, verbose);
        if (precision) model->set_gpu_encode_precision(*precision);
        int result = cli::kOk;
        for (size_t i = 0; i < outputs.size(); ++i) {
          const std::string& input = arguments.inputs()[i];
          int code = cli::for_input(arguments, input, [&] {
            codec::Image image = imageio::read_image(input, read_options);
            if (verbose)
              for (const std::string& note : image.notes)
                std::cerr << "odpenc: " << input << ": " << note << "\n";
            // .odp codes sRGB: convert from the input's profile; a profile Little CMS refuses leaves the
            // pixels as they are, recorded as unspecified colour.
            const codec::SrgbConversion colour = codec::convert_to_srgb(image);
            if (verbose && !colour.message.empty())
              std::cerr << "odpenc: " << input << ": " << colour.message << "\n";
            options.colour = colour.is_srgb ? codec::EncodeOptions::Colour::kSrgb
                                            : codec::EncodeOptions::Colour::kUnspecified;
            if (!kept.icc) image.icc.clear();
            if (!kept.exif) image.exif.clear();  // (the readers keep no XMP yet, so "xmp" keeps nothing)
            options.progress = cli::progress_bar(!arguments.has("-q"), input);
            const codec::EncodeResult encoded = codec::encode(image, *model, options);
            base::write_file_atomic(outputs[i], encoded.bytes);
            if (verbose)
              std::cerr << "odpenc: " << input << " -> " << outputs[i] << ": " << image.width << "x"
                        << image.height << coded_size_note(encoded.stats, image) << ", "
                        << encoded.stats.tiles << " tiles (overlap " << encoded.stats.tile_overlap << "), "
                        << encoded.stats.mean_tokens << " tokens/tile on average, " << encoded.stats.bytes
                        << " bytes, " << 8.0 * encoded.stats.bytes / (double(image.width) * image.height)
                        << " bits/pixel\n";
          });
          if (result == cli::kOk) result = code;
        }
        return result;
      });
}
