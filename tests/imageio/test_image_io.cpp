// Image reading and writing: every input variant, metadata and orientation, and the refusals.
#include <png.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "base/file_io.h"
#include "imageio/image.h"
#include "tests/codec/test_support.h"

using namespace odp::imageio;

namespace {

// A PNG written by libpng's simplified API in any of its formats (gray, GA, RGB, RGBA, 16-bit, colormap).
std::vector<uint8_t> png_bytes(int width, int height, uint32_t format, const void* pixels,
                               const void* colormap = nullptr, int colormap_entries = 0) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = width;
  image.height = height;
  image.format = format;
  image.colormap_entries = colormap_entries;
  png_alloc_size_t size = 0;
  REQUIRE(png_image_write_to_memory(&image, nullptr, &size, 0, pixels, 0, colormap));
  std::vector<uint8_t> bytes(size);
  REQUIRE(png_image_write_to_memory(&image, bytes.data(), &size, 0, pixels, 0, colormap));
  bytes.resize(size);
  return bytes;
}

Image decode(const std::vector<uint8_t>& bytes, const ReadOptions& options = {}) {
  return decode_image(bytes.data(), bytes.size(), "test-input", options);
}

// A well-formed ICC profile of 600 bytes: header, no tags, varied filler. (libpng checks the header, and
// drops very short profiles on reading, so it is not minimal.)
std::vector<uint8_t> icc_profile() {
  std::vector<uint8_t> icc(600, 0);
  icc[2] = 600 >> 8;
  icc[3] = 600 & 0xff;
  icc[8] = 2;  // version 2.0
  std::memcpy(&icc[12], "mntr", 4);
  std::memcpy(&icc[16], "RGB ", 4);
  std::memcpy(&icc[20], "XYZ ", 4);
  std::memcpy(&icc[36], "acsp", 4);
  const uint8_t d50[12] = {0, 0, 0xf6, 0xd6, 0, 1, 0, 0, 0, 0, 0xd3, 0x2d};
  std::memcpy(&icc[68], d50, 12);
  for (size_t i = 132; i < icc.size(); ++i) icc[i] = static_cast<uint8_t>(i * 37 % 251);
  return icc;
}

// EXIF (TIFF, little-endian) with one IFD0 entry: orientation.
std::vector<uint8_t> exif_with_orientation(int orientation) {
  return {'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, static_cast<uint8_t>(orientation),
          0,   0,   0,  0, 0, 0, 0};
}

bool contains(const std::vector<std::string>& notes, const std::string& word) {
  for (const std::string& note : notes)
    if (note.find(word) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("PNG round trip keeps pixels, ICC profile and EXIF", "[image]") {
  Image image = odp::test::synthetic_image(37, 21);
  image.icc = icc_profile();
  image.exif = exif_with_orientation(1);
  const Image back = decode(encode_image(image, ImageFormat::kPng));
  CHECK(back.width == 37);
  CHECK(back.height == 21);
  CHECK(back.rgb == image.rgb);
  CHECK(back.icc == image.icc);
  CHECK(back.exif == image.exif);
}

TEST_CASE("PNG gray, palette and 16-bit inputs become 8-bit RGB", "[image]") {
  const uint8_t gray[4] = {0, 85, 170, 255};
  Image image = decode(png_bytes(2, 2, PNG_FORMAT_GRAY, gray));
  CHECK(image.rgb == std::vector<uint8_t>{0, 0, 0, 85, 85, 85, 170, 170, 170, 255, 255, 255});

  const uint8_t palette[6] = {255, 0, 0, 0, 0, 255};
  const uint8_t indices[2] = {1, 0};
  image = decode(png_bytes(2, 1, PNG_FORMAT_RGB_COLORMAP, indices, palette, 2));
  CHECK(image.rgb == std::vector<uint8_t>{0, 0, 255, 255, 0, 0});

  // The simplified API stores 16-bit "linear" data; just check the size and that the reduction is reported.
  const uint16_t deep[6] = {0, 65535, 0, 65535, 0, 65535};
  image = decode(png_bytes(2, 1, PNG_FORMAT_LINEAR_RGB, deep));
  CHECK(image.width == 2);
  CHECK(image.rgb[0] == 0);
  CHECK(image.rgb[1] == 255);
  CHECK(contains(image.notes, "16-bit"));
}

TEST_CASE("alpha: opaque is dropped, transparent refused unless flattened", "[image]") {
  const uint8_t opaque[8] = {10, 20, 30, 255, 40, 50, 60, 255};
  Image image = decode(png_bytes(2, 1, PNG_FORMAT_RGBA, opaque));
  CHECK(image.rgb == std::vector<uint8_t>{10, 20, 30, 40, 50, 60});
  CHECK(contains(image.notes, "opaque"));

  const uint8_t see_through[8] = {0, 0, 0, 0, 0, 0, 0, 255};
  const std::vector<uint8_t> transparent = png_bytes(2, 1, PNG_FORMAT_RGBA, see_through);
  CHECK_THROWS_WITH(decode(transparent), Catch::Contains("test-input") && Catch::Contains("--flatten-alpha"));
  ReadOptions flatten;
  flatten.flatten_alpha = true;
  image = decode(transparent, flatten);
  CHECK(image.rgb == std::vector<uint8_t>{255, 255, 255, 0, 0, 0});
  const uint8_t gray_alpha[2] = {100, 255};
  CHECK(decode(png_bytes(1, 1, PNG_FORMAT_GA, gray_alpha)).rgb == std::vector<uint8_t>{100, 100, 100});
}

TEST_CASE("JPEG round trip carries ICC and EXIF and applies EXIF orientation", "[image]") {
  Image image = odp::test::synthetic_image(40, 24);
  image.icc = std::vector<uint8_t>(3000, 7);  // any bytes: JPEG does not validate ICC profiles
  image.exif = exif_with_orientation(6);      // "rotate 90 degrees clockwise to display"
  const Image back = decode(encode_image(image, ImageFormat::kJpeg, 95));
  CHECK(back.icc == image.icc);
  REQUIRE(back.width == 24);  // rotated upright
  REQUIRE(back.height == 40);
  CHECK(back.exif == exif_with_orientation(1));  // reset so that viewers do not rotate again
  // Displayed (x, y) comes from stored (y, H - 1 - x): compare a corner region loosely (JPEG is lossy).
  auto stored = [&](int x, int y, int c) { return int(image.rgb[(y * 40 + x) * 3 + c]); };
  auto shown = [&](int x, int y, int c) { return int(back.rgb[(y * 24 + x) * 3 + c]); };
  CHECK(std::abs(shown(5, 30, 0) - stored(30, 23 - 5, 0)) < 24);
  CHECK(std::abs(shown(20, 2, 1) - stored(2, 23 - 20, 1)) < 24);
}

TEST_CASE("WebP round trip carries ICC", "[image]") {
#ifdef ODP_HAVE_WEBP
  Image image = odp::test::synthetic_image(30, 20);
  image.icc = icc_profile();
  const Image back = decode(encode_image(image, ImageFormat::kWebp, 90));
  CHECK(back.width == 30);
  CHECK(back.icc == image.icc);
#else
  WARN("built without WebP");
#endif
}

TEST_CASE("PPM and PGM, binary and ASCII, 8 and 16 bit", "[image]") {
  auto text = [](const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); };
  Image image = decode(text("P3\n# comment\n2 1\n255\n1 2 3 4 5 6\n"));
  CHECK(image.rgb == std::vector<uint8_t>{1, 2, 3, 4, 5, 6});
  image = decode(text("P2 1 1 15 15"));
  CHECK(image.rgb == std::vector<uint8_t>{255, 255, 255});
  std::vector<uint8_t> deep = text("P5 2 1 65535\n");
  deep.insert(deep.end(), {0xff, 0xff, 0x00, 0x00});
  image = decode(deep);
  CHECK(image.rgb == std::vector<uint8_t>{255, 255, 255, 0, 0, 0});
  CHECK(contains(image.notes, "16-bit"));
  const Image color = odp::test::synthetic_image(5, 4);
  CHECK(decode(encode_image(color, ImageFormat::kPpm)).rgb == color.rgb);
  CHECK(format_for_path("x.JPG") == ImageFormat::kJpeg);
  CHECK(format_for_path("x.ppm") == ImageFormat::kPpm);
  CHECK(format_for_path("x.webp") == ImageFormat::kWebp);
  CHECK(format_for_path("x") == ImageFormat::kPng);
}

TEST_CASE("bad images are refused with the name and the cause", "[image]") {
  auto text = [](const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); };
  CHECK_THROWS_WITH(decode(text("P6 0 5 255\n")), Catch::Contains("test-input") && Catch::Contains("empty"));
  CHECK_THROWS_WITH(decode(text("hello world")), Catch::Contains("unsupported image format"));
  CHECK_THROWS_WITH(decode({}), Catch::Contains("empty"));
  CHECK_THROWS_WITH(decode(text("P6 4 4 255\nabc")), Catch::Contains("truncated"));
  // Enormous: refused from the header, before any pixel buffer (a 1e5 x 1e5 PPM header with no data).
  ReadOptions small;
  small.max_pixels = 1000;
  CHECK_THROWS_WITH(decode(text("P6 100000 100000 255\n")), Catch::Contains("above the limit"));
  CHECK_THROWS_WITH(decode(encode_image(odp::test::synthetic_image(40, 40), ImageFormat::kPng), small),
                    Catch::Contains("above the limit"));
  // Truncated and corrupted PNG / JPEG.
  std::vector<uint8_t> png = encode_image(odp::test::synthetic_image(40, 40), ImageFormat::kPng);
  png.resize(png.size() / 2);
  CHECK_THROWS_WITH(decode(png), Catch::Contains("PNG"));
  std::vector<uint8_t> jpeg = encode_image(odp::test::synthetic_image(40, 40), ImageFormat::kJpeg, 90);
  jpeg.resize(20);
  CHECK_THROWS_AS(decode(jpeg), Error);
  try {
    decode(text("hello"));
  } catch (const Error& error) {
    CHECK(error.kind() == ErrorKind::kBadInput);
  }
}

TEST_CASE("files: missing input, missing output directory, full disk leave nothing behind", "[image]") {
  CHECK_THROWS_WITH(read_image("/nonexistent/x.png"), Catch::Contains("/nonexistent/x.png"));
  try {
    odp::base::read_file("/nonexistent/x.png");
  } catch (const Error& error) {
    CHECK(error.kind() == ErrorKind::kIo);
  }
  CHECK_THROWS_WITH(odp::base::read_file("/tmp"), Catch::Contains("/tmp"));
  const Image image = odp::test::synthetic_image(8, 8);
  CHECK_THROWS_WITH(write_image("/nonexistent-dir/out.png", image),
                    Catch::Contains("/nonexistent-dir/out.png"));
  CHECK_THROWS_WITH(write_image("/dev/full", image),
                    Catch::Contains("/dev/full") && Catch::Contains("space"));
  const std::string path = "/tmp/odp-test-image-io-" + std::to_string(::getpid()) + ".png";
  write_image(path, image);
  CHECK(read_image(path).rgb == image.rgb);
  std::remove(path.c_str());
}
