// Writes fuzz_codec_decode's seed corpus: .odp files made with its tiny random model (one tile and many,
// overlap 0, 8 and 24 of 32, cut payloads, a downscaled file, metadata), each behind an option byte.
// usage: odp_codec_fuzz_seeds DIR
#include <filesystem>
#include <string>

#include "base/file_io.h"
#include "fuzz_codec_common.h"

int main(int argc, char** argv) {
  if (argc < 2) return 1;
  namespace fs = std::filesystem;
  const fs::path dir = argv[1];
  fs::create_directories(dir);
  int n = 0;
  auto save = [&](const std::vector<uint8_t>& file, uint8_t option_byte) {
    std::vector<uint8_t> seed = {option_byte};
    seed.insert(seed.end(), file.begin(), file.end());
    odp::base::write_file_atomic((dir / ("seed" + std::to_string(n++))).string(), seed);
  };
  struct Shape {
    int width, height, overlap, tokens;
    double scale;
    uint8_t option_byte;
  };
  const Shape shapes[] = {{20, 14, 0, 16, 1, 0},    {70, 40, 0, 4, 1, 0x40},  {70, 40, 8, 8, 1, 0x13},
                          {64, 64, 24, 2, 1, 0x20}, {100, 30, 8, 1, 1, 0x31}, {90, 60, 0, 6, 0.5, 0x05}};
  for (const Shape& shape : shapes) {
    odp::base::Image image;
    image.width = shape.width;
    image.height = shape.height;
    image.rgb.resize(static_cast<size_t>(shape.width) * shape.height * 3);
    for (size_t i = 0; i < image.rgb.size(); ++i) image.rgb[i] = static_cast<uint8_t>((i * 37) / 11 + i / 97);
    if (shape.width == 70) image.icc.assign(40, 3);
    odp::codec::EncodeOptions options;
    options.tokens = shape.tokens;
    options.tile_overlap = shape.overlap;
    options.scale = shape.scale;
    const std::vector<uint8_t> file = odp::codec::encode(image, odp::fuzz::tiny_model(), options).bytes;
    save(file, shape.option_byte);
    if (file.size() > 24) save(std::vector<uint8_t>(file.begin(), file.end() - file.size() / 3), 0);
  }
  return 0;
}
