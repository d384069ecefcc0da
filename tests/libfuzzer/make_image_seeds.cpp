// Writes the image fuzzers' seed corpus: small PNG, JPEG, WebP and PPM files (with ICC and EXIF where the
// format carries them), each behind the mode byte fuzz_image reads and the two budget bytes of
// fuzz_image_alloc (in DIR/alloc). usage: odp_image_fuzz_seeds DIR
#include <filesystem>
#include <string>

#include "base/file_io.h"
#include "imageio/image.h"

int main(int argc, char** argv) {
  if (argc < 2) return 1;
  namespace fs = std::filesystem;
  const fs::path dir = argv[1];
  fs::create_directories(dir / "alloc");
  odp::imageio::Image image;
  image.width = 13, image.height = 9;
  image.rgb.resize(13 * 9 * 3);
  for (size_t i = 0; i < image.rgb.size(); ++i) image.rgb[i] = static_cast<uint8_t>(i * 37);
  // A little-endian TIFF block with orientation 6, as cameras write it.
  image.exif = {'I', 'I', '*', 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0};
  int n = 0;
  auto save = [&](const std::vector<uint8_t>& bytes, uint8_t mode) {
    std::vector<uint8_t> seed = {mode};
    seed.insert(seed.end(), bytes.begin(), bytes.end());
    odp::base::write_file_atomic((dir / ("seed" + std::to_string(n))).string(), seed);
    for (uint8_t budget : {3, 40}) {
      std::vector<uint8_t> alloc = {budget, 0};
      alloc.insert(alloc.end(), seed.begin(), seed.end());
      odp::base::write_file_atomic(
          (dir / "alloc" / ("seed" + std::to_string(n) + "-" + std::to_string(budget))).string(), alloc);
    }
    ++n;
  };
  using odp::imageio::ImageFormat;
  for (ImageFormat format : {ImageFormat::kPng, ImageFormat::kJpeg, ImageFormat::kPpm, ImageFormat::kWebp}) {
    try {
      save(odp::imageio::encode_image(image, format, 80), 0);
    } catch (const odp::imageio::Error&) {  // a build without WebP
    }
  }
  const std::string ascii = "P3\n2 2\n255\n0 0 0 255 255 255 1 2 3 4 5 6\n";
  save(std::vector<uint8_t>(ascii.begin(), ascii.end()), 1);
  save(image.exif, 0xEE);
  return 0;
}
