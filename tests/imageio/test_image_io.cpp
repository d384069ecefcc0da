// Image reading and writing: every input variant, metadata and orientation, and the refusals.
#include <malloc.h>
#include <png.h>
#include <unistd.h>

#include <algorithm>
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

// ---- Hostile input (issue 17) ----

namespace {

// An RGB PNG written with libpng's full API, so that it can be Adam7-interlaced (the simplified API cannot).
std::vector<uint8_t> interlaced_png(int width, int height) {
  std::vector<uint8_t> out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  REQUIRE((png && info));
  png_set_write_fn(
      png, &out,
      [](png_structp p, png_bytep data, png_size_t length) {
        auto* bytes = static_cast<std::vector<uint8_t>*>(png_get_io_ptr(p));
        bytes->insert(bytes->end(), data, data + length);
      },
      nullptr);
  png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_ADAM7,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  const Image image = odp::test::synthetic_image(width, height);
  std::vector<png_bytep> rows(height);
  for (int y = 0; y < height; ++y)
    rows[y] = const_cast<png_bytep>(image.rgb.data() + static_cast<size_t>(y) * width * 3);
  png_write_image(png, rows.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

}  // namespace

TEST_CASE("a truncated JPEG is refused, not completed with grey", "[image][hostile]") {
  const std::vector<uint8_t> whole = encode_image(odp::test::synthetic_image(96, 96), ImageFormat::kJpeg, 90);
  REQUIRE(decode(whole).width == 96);
  for (double kept : {0.5, 0.8, 0.95}) {
    std::vector<uint8_t> cut(whole.begin(), whole.begin() + static_cast<ptrdiff_t>(whole.size() * kept));
    try {
      decode(cut);
      FAIL("a JPEG cut to " << cut.size() << " of " << whole.size() << " bytes was accepted");
    } catch (const Error& error) {
      CHECK(error.kind() == ErrorKind::kBadInput);
      CHECK_THAT(error.what(), Catch::Contains("test-input") && Catch::Contains("JPEG"));
    }
  }
  // A JPEG that only lacks its closing EOI marker still has all its data: libjpeg does not warn.
  std::vector<uint8_t> without_eoi(whole.begin(), whole.end() - 2);
  CHECK(decode(without_eoi).width == 96);
}

TEST_CASE("a corrupt PNG leaks nothing across libpng's longjmp", "[image][hostile]") {
  // Interlaced (the reader needs every row pointer at once) and plain, both cut inside the image data: the
  // row-pointer vector used to be built after setjmp, and each failure leaked it (8 bytes x height).
  for (const bool interlaced : {true, false}) {
    std::vector<uint8_t> png = interlaced
                                   ? interlaced_png(2, 40000)
                                   : encode_image(odp::test::synthetic_image(2, 40000), ImageFormat::kPng);
    png.resize(png.size() * 3 / 4);
    CHECK_THROWS_AS(decode(png), Error);  // warm up libpng and the allocator
    const size_t before = mallinfo2().uordblks;
    for (int i = 0; i < 50; ++i) CHECK_THROWS_AS(decode(png), Error);
    const size_t after = mallinfo2().uordblks;
    INFO("interlaced " << interlaced << ": heap in use grew by " << (after - before) << " bytes");
    CHECK(after < before + 256 * 1024);  // one leaked vector is 320 kB, fifty are 16 MB
  }
}

TEST_CASE("a JPEG's ICC profile beyond 255 APP2 markers is refused, at the limit it round-trips",
          "[image][hostile]") {
  Image image = odp::test::synthetic_image(16, 16);
  const size_t limit = 255u * 65519u;
  image.icc.assign(limit, 0);
  for (size_t i = 0; i < image.icc.size(); ++i) image.icc[i] = static_cast<uint8_t>(i * 7 + i / 65519);
  CHECK(decode(encode_image(image, ImageFormat::kJpeg, 90)).icc == image.icc);
  image.icc.push_back(1);
  try {
    encode_image(image, ImageFormat::kJpeg, 90);
    FAIL("a JPEG with a " << image.icc.size() << "-byte profile was written");
  } catch (const Error& error) {
    CHECK(error.kind() == ErrorKind::kUsage);
    CHECK_THAT(error.what(), Catch::Contains("ICC profile") && Catch::Contains(std::to_string(limit)));
  }
}

TEST_CASE("image headers are checked against max_side and max_pixels before pixels are decoded",
          "[image][hostile]") {
  ReadOptions options;
  options.max_side = 65535;
  // 1 x 65536: within max_pixels, but too tall for the .odp format (the 1 x 2^28 PNG took 21 s).
  const std::vector<uint8_t> tall = encode_image(odp::test::synthetic_image(1, 65536), ImageFormat::kPng);
  CHECK(decode(tall).height == 65536);
  CHECK_THROWS_WITH(decode(tall, options), Catch::Contains("taller than the limit of 65535"));
  // A JPEG header declaring 16384 x 16384 followed by almost no data: refused at its end (truncated), with
  // the sample buffer grown only as far as rows were decoded.
  std::vector<uint8_t> big = encode_image(odp::test::synthetic_image(64, 64), ImageFormat::kJpeg, 90);
  for (size_t i = 0; i + 8 < big.size(); ++i)
    if (big[i] == 0xFF && big[i + 1] == 0xC0) {  // SOF0: length(2) precision(1) height(2) width(2)
      big[i + 5] = 0x40, big[i + 6] = 0x00, big[i + 7] = 0x40, big[i + 8] = 0x00;
      break;
    }
  bool patched = false;
  try {
    const Image decoded = decode(big);
    FAIL("decoded " << decoded.width << "x" << decoded.height);
  } catch (const Error& error) {
    patched = true;
    CHECK_THAT(error.what(), Catch::Contains("JPEG"));
  }
  REQUIRE(patched);
  ReadOptions few;
  few.max_pixels = 1 << 20;
  CHECK_THROWS_WITH(decode(big, few), Catch::Contains("16384x16384") && Catch::Contains("above the limit"));
}

TEST_CASE("read_image refuses input with no image signature from its first bytes", "[image][hostile]") {
  // /dev/zero never ends; the cap (1 GiB by default) used to be read in full before the signature was
  // looked at (odpenc - < /dev/zero: 1.18 GB). Now the first bytes decide.
  try {
    read_image("/dev/zero");
    FAIL("/dev/zero was read as an image");
  } catch (const Error& error) {
    CHECK(error.kind() == ErrorKind::kBadInput);
    CHECK_THAT(error.what(), Catch::Contains("/dev/zero") && Catch::Contains("unknown signature") &&
                                 Catch::Contains("not a PNG, JPEG, WebP"));
  }
  const uint8_t odp_v2[] = {0x4F, 0x82, 0};
  CHECK_THROWS_WITH(check_image_signature(odp_v2, sizeof odp_v2, "x.odp"), Catch::Contains(".odp file"));
  CHECK_THROWS_WITH(check_image_signature(nullptr, 0, "x"), Catch::Contains("empty"));
  // Every format decode_image reads passes the check with its first kImageSignatureBytes bytes.
  const Image image = odp::test::synthetic_image(5, 4);
  for (ImageFormat format : {ImageFormat::kPng, ImageFormat::kPpm, ImageFormat::kJpeg, ImageFormat::kWebp}) {
    const std::vector<uint8_t> bytes = encode_image(image, format);
    CHECK_NOTHROW(check_image_signature(bytes.data(), std::min(bytes.size(), kImageSignatureBytes), "x"));
  }
}
