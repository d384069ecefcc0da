// odpdec: decode .odp files back to images (PNG, PPM, JPEG or WebP, chosen by the output's extension).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>

#include "cli/cli_common.h"
#include "model/model_file.h"

namespace {

const char* const kUsage = R"(usage: odpdec FILE.odp... [-o OUT] [options]
Decodes each .odp file ("-" = stdin) to an image; the output's extension picks the format (.png, .ppm,
.jpg, .webp; PNG otherwise and on stdout). Without -o, a.odp becomes a.png beside it; with several
inputs -o names an existing directory. The ICC profile and EXIF stored in the file are written back
(PNG, JPEG, WebP).
Options:
  -o OUT             output image (or directory for several inputs); "-" = stdout. An existing file is
                     replaced, but never an input (or the --compare original), and two inputs may not share
                     an output
  --tokens N         decode only the first N tokens of each tile (1..256); the file is not changed
  --jpeg-quality Q   quality for .jpg/.webp output, 1..100 (default 95)
  --compare PATH     print "FILE: PSNR dB, bytes, bits/pixel" on stdout against the original image PATH
                     (one input), or DIR/<name>.png for each input a DIR/<name>.odp (several inputs); an
                     original of another size is refused before decoding, and nothing is written
  --max-pixels N     refuse images above N pixels (e.g. 50M) before decoding (default 64M, i.e. 64000000)
  --model FILE       model weights (.safetensors); see the search order below
  --device D         cpu, cuda or auto (default: auto)
  -v                 say what was decoded: the model and device, per file its size, tiles, tokens per tile,
                     bytes, bits/pixel and the time to read, decode and write
  -quiet, --quiet    no progress bar
  -mt                accepted for cwebp's sake: odp always uses every CPU core
A file that records a greyscale source is written as a greyscale PNG.
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace odp;
  using cli::fixed;
  using cli::seconds_since;
  using Clock = std::chrono::steady_clock;
  return cli::run_tool(
      argc, argv, kUsage,
      {"-o", "--tokens", "--jpeg-quality", "--compare", "--model", "--device", "--max-pixels"},
      {"-v", "--mt"},
      [](const cli::Arguments& arguments) {
        codec::DecodeOptions options;
        if (arguments.has("--tokens")) options.max_tokens = arguments.integer("--tokens", 1, 256);
        const int output_quality =
            arguments.has("--jpeg-quality") ? arguments.integer("--jpeg-quality", 1, 100) : 95;
        const bool verbose = arguments.has("-v");
        options.limits.max_pixels = cli::max_pixels(arguments);
        const std::vector<std::string> outputs = cli::output_paths(arguments, ".png", false);
        if (arguments.has("--compare"))
          for (size_t i = 0; i < outputs.size(); ++i)
            if (cli::same_file(outputs[i], cli::compare_path(arguments, arguments.inputs()[i])))
              throw cli::UsageError(outputs[i] +
                                    ": writing it would overwrite the --compare original; name " +
                                    "another output with -o");
        std::unique_ptr<model::TileModel> model;  // loaded once the first input has passed the limits
        int result = cli::kOk;
        for (size_t i = 0; i < outputs.size(); ++i) {
          const std::string& input = arguments.inputs()[i];
          int code = cli::for_input(arguments, input, [&] {
            const Clock::time_point read_start = Clock::now();
            const std::vector<uint8_t> bytes = codec::read_odp_file(input, options.limits.max_input_bytes);
            codec::check_decode_limits(bytes.data(), bytes.size(), options.limits);
            const codec::FileInfo info = codec::inspect(bytes.data(), bytes.size());
            // The original is read first: a wrong pairing is reported before the slow decode, and nothing is
            // written.
            std::optional<codec::Image> original;
            if (arguments.has("--compare")) {
              const std::string original_path = cli::compare_path(arguments, input);
              original = imageio::read_image(original_path);
              if (original->width != static_cast<int>(info.width) ||
                  original->height != static_cast<int>(info.height))
                throw codec::CodecError(input + " is " + std::to_string(info.width) + "x" +
                                            std::to_string(info.height) + " but the --compare original " +
                                            original_path + " is " + std::to_string(original->width) + "x" +
                                            std::to_string(original->height) + ": nothing to compare",
                                        codec::ErrorKind::kUsage);
            }
            const double read_seconds = seconds_since(read_start);
            if (!model) {
              const Clock::time_point load_start = Clock::now();
              model = cli::load_tool_model(arguments, verbose);
              if (verbose)
                std::cerr << "odpdec: model " << model::model_id_text(model->info().model_id) << " on "
                          << (model->device() == model::Device::kCuda ? "cuda" : "cpu") << ", loaded in "
                          << fixed(seconds_since(load_start), 2) << " s\n";
            }
            options.progress = cli::progress_bar(!arguments.has("--quiet"), input);
            const Clock::time_point decode_start = Clock::now();
            const codec::Image image = codec::decode(bytes.data(), bytes.size(), *model, options);
            const double decode_seconds = seconds_since(decode_start);
            const Clock::time_point write_start = Clock::now();
            imageio::write_image(outputs[i], image, output_quality);
            const double write_seconds = seconds_since(write_start);
            const double bits_per_pixel = 8.0 * bytes.size() / (double(image.width) * image.height);
            if (original)
              std::cout << input << ": PSNR " << codec::psnr(*original, image) << " dB, " << bytes.size()
                        << " bytes, " << bits_per_pixel << " bits/pixel\n";
            if (verbose) {
              for (const std::string& note : image.notes)
                std::cerr << "odpdec: " << input << ": " << note << "\n";
              double tokens = 0;
              for (uint16_t count : info.tokens_per_tile)
                tokens += options.max_tokens > 0 ? std::min<int>(count, options.max_tokens) : count;
              std::cerr << "odpdec: " << input << " -> " << outputs[i] << ": " << image.width << "x"
                        << image.height << ", " << cli::count_of_things(info.tiles_x * info.tiles_y, "tile")
                        << ", " << fixed(tokens / std::max<size_t>(1, info.tokens_per_tile.size()), 1)
                        << " tokens/tile on average, " << cli::count_of_things(bytes.size(), "byte") << ", "
                        << fixed(bits_per_pixel, 4) << " bits/pixel; read " << fixed(read_seconds, 3)
                        << " s, decode " << fixed(decode_seconds, 3) << " s, write "
                        << fixed(write_seconds, 3) << " s\n";
            }
          });
          if (result == cli::kOk) result = code;
        }
        return result;
      },
      cli::libtorch_description);
}
