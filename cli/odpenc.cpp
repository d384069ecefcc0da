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
Rate (at most one; default --quality 75):
  --tokens N         tokens per 256x256 tile, 1..256 (more tokens: more detail, more bytes)
  --quality Q        0..100, tokens per tile = round(256^(Q/100)): Q=0 -> 1, 50 -> 16, 75 -> 64, 100 -> 256
  --size BYTES       the best quality whose file fits BYTES (e.g. 1500, 20k); fails naming the smallest size
  --target-psnr DB   adaptive: per tile, the fewest tokens whose reconstruction reaches DB (e.g. 19); a tile
                     that cannot reach DB stops within )" +
                           odp::cli::decimal(odp::codec::kAdaptiveSlackDb) +
                           R"( dB of what all its tokens give
Options:
  -o OUT             output file (or directory for several inputs); "-" = stdout
  --max-pixels N     refuse images above N pixels (e.g. 50M) from their header (default 64M = 64000000)
  --model FILE       model weights (.safetensors); see the search order below
  --device D         cpu, cuda or auto (default: auto, CUDA when a GPU is present)
  --gpu-precision P  the encoder's arithmetic on CUDA: tf32 (default; the same tokens as the CPU on 99.85%
                     of positions in the benchmark), bf16 (3x faster on large batches, 96.6% the same)
                     or fp32 (100%, slowest). Decoding is unaffected
  --overlap PX|auto  pixels shared by neighbouring tiles, 0..128. auto (default): at least 32, widened where
                     that costs no extra tile; seams are blended away. 0: fewest tiles (smallest files),
                     seams are smoothed at decode but stay faintly visible in busy regions
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

}  // namespace

int main(int argc, char** argv) {
  using namespace odp;
  return cli::run_tool(
      argc, argv, kUsage,
      {"-o", "--tokens", "--quality", "--size", "--target-psnr", "--model", "--device", "--overlap",
       "--gpu-precision", "--metadata", "--max-pixels"},
      {"--flatten-alpha", "--strip-metadata", "-v", "-q"}, [](const cli::Arguments& arguments) {
        if (arguments.count_of({"--tokens", "--quality", "--size", "--target-psnr"}) > 1)
          throw cli::UsageError("give at most one of --tokens, --quality, --size and --target-psnr");
        codec::EncodeOptions options;
        options.rate = codec::RateControl::kQuality;
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
        read_options.max_pixels = cli::max_pixels(arguments);
        read_options.max_side = 65535;  // the .odp format's largest width and height
        // The largest file such an image can need: 16-bit RGBA uncompressed, 8 bytes a pixel, + metadata.
        read_options.max_input_bytes = read_options.max_pixels * 8 + (64u << 20);
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
        std::unique_ptr<model::TileModel> model;  // loaded once the first image has been read
        int result = cli::kOk;
        for (size_t i = 0; i < outputs.size(); ++i) {
          const std::string& input = arguments.inputs()[i];
          int code = cli::for_input(arguments, input, [&] {
            codec::Image image = imageio::read_image(input, read_options);
            if (!model) {
              model = cli::load_tool_model(arguments, verbose);
              if (precision) model->set_gpu_encode_precision(*precision);
            }
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
                        << image.height << ", " << encoded.stats.tiles << " tiles, "
                        << encoded.stats.mean_tokens << " tokens/tile on average, " << encoded.stats.bytes
                        << " bytes, " << 8.0 * encoded.stats.bytes / (double(image.width) * image.height)
                        << " bits/pixel\n";
          });
          if (result == cli::kOk) result = code;
        }
        return result;
      });
}
