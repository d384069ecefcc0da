// odpdec: decode .odp files back to images (PNG, PPM, JPEG or WebP, chosen by the output's extension).
#include <iostream>

#include "cli/cli_common.h"

namespace {

const char* const kUsage = R"(usage: odpdec FILE.odp... [-o OUT] [options]
Decodes each .odp file ("-" = stdin) to an image; the output's extension picks the format (.png, .ppm,
.jpg, .webp; PNG otherwise and on stdout). Without -o, a.odp becomes a.png beside it; with several
inputs -o names an existing directory. The ICC profile and EXIF stored in the file are written back
(PNG, JPEG, WebP).
Options:
  -o OUT             output image (or directory for several inputs); "-" = stdout
  --tokens N         decode only the first N tokens of each tile (1..256); the file is not changed
  --jpeg-quality Q   quality for .jpg/.webp output, 1..100 (default 95)
  --compare PATH     print "FILE: PSNR dB, bytes, bits/pixel" on stdout against the original image PATH
                     (one input), or DIR/<name>.png for each input a DIR/<name>.odp (several inputs)
  --max-pixels N     refuse images above N pixels (e.g. 50M) before decoding (default 64M, i.e. 64000000)
  --model FILE       model weights (.safetensors); see the search order below
  --device D         cpu, cuda or auto (default: auto)
  -v                 say what was decoded
  -q                 no progress bar
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace odp;
  return cli::run_tool(
      argc, argv, kUsage,
      {"-o", "--tokens", "--jpeg-quality", "--compare", "--model", "--device", "--max-pixels"}, {"-v", "-q"},
      [](const cli::Arguments& arguments) {
        codec::DecodeOptions options;
        if (arguments.has("--tokens")) options.max_tokens = arguments.integer("--tokens", 1, 256);
        const int output_quality =
            arguments.has("--jpeg-quality") ? arguments.integer("--jpeg-quality", 1, 100) : 95;
        const bool verbose = arguments.has("-v");
        options.limits.max_pixels = cli::max_pixels(arguments);
        const std::vector<std::string> outputs = cli::output_paths(arguments, ".png", false);
        std::unique_ptr<model::TileModel> model;  // loaded once the first input has passed the limits
        int result = cli::kOk;
        for (size_t i = 0; i < outputs.size(); ++i) {
          const std::string& input = arguments.inputs()[i];
          int code = cli::for_input(arguments, input, [&] {
            const std::vector<uint8_t> bytes = base::read_file(input, options.limits.max_input_bytes);
            codec::check_decode_limits(bytes.data(), bytes.size(), options.limits);
            if (!model) model = cli::load_tool_model(arguments, verbose);
            options.progress = cli::progress_bar(!arguments.has("-q"), input);
            const codec::Image image = codec::decode(bytes.data(), bytes.size(), *model, options);
            imageio::write_image(outputs[i], image, output_quality);
            if (arguments.has("--compare")) {
              const codec::Image original = imageio::read_image(cli::compare_path(arguments, input));
              std::cout << input << ": PSNR " << codec::psnr(original, image) << " dB, " << bytes.size()
                        << " bytes, " << 8.0 * bytes.size() / (double(image.width) * image.height)
                        << " bits/pixel\n";
            }
            if (verbose) {
              for (const std::string& note : image.notes)
                std::cerr << "odpdec: " << input << ": " << note << "\n";
              std::cerr << "odpdec: " << input << " -> " << outputs[i] << ": " << image.width << "x"
                        << image.height << "\n";
            }
          });
          if (result == cli::kOk) result = code;
        }
        return result;
      });
}
