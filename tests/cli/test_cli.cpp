// End-to-end tests of the four tools: every flag, stdin/stdout, several inputs, and the bad-input list.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CATCH_CONFIG_MAIN
#include <lcms2.h>
#include <zlib.h>
#ifdef ODP_HAVE_WEBP
#include <webp/encode.h>
#include <webp/mux.h>
#endif

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "base/file_io.h"
#include "cli/cli_common.h"
#include "codec/odp.h"
#include "imageio/image.h"
#include "tests/cli/tool_runner.h"
#include "tests/codec/test_support.h"

namespace {

using odp::test::exists;
using odp::test::Result;
using odp::test::slurp;

// A scratch folder with the test models and images, made once for the whole run.
struct Workspace : odp::test::ScratchFolder {
  Workspace() : ScratchFolder("odp-cli-test") {
    for (const char* arguments :
         {"tiny.safetensors 1", "other.safetensors 2", "tables.safetensors 3 --tables",
          "libtorch-fails.safetensors 4 --libtorch-fails"})
      REQUIRE(std::system((std::string(MAKE_TEST_MODEL) + " " + dir + "/" + arguments).c_str()) == 0);
    odp::imageio::write_image(dir + "/photo.png", odp::test::synthetic_image(70, 45));
    odp::imageio::write_image(dir + "/second.png", odp::test::synthetic_image(33, 40));
  }
};

const Workspace& workspace() {
  static Workspace instance;
  return instance;
}

// Runs a shell command line with ODP_MODEL pointing at the tiny model (unless the line sets it itself).
Result run(const std::string& command) {
  return odp::test::run_in(workspace().dir, workspace().path("tiny.safetensors"), command);
}

const std::string odpenc_tool = ODPENC, odpdec_tool = ODPDEC, odptrunc_tool = ODPTRUNC,
                  odpinfo_tool = ODPINFO;

odp::codec::FileInfo inspect_file(const std::string& path) {
  const std::vector<uint8_t> bytes = odp::base::read_file(path);
  return odp::codec::inspect(bytes.data(), bytes.size());
}

uint64_t file_size(const std::string& path) { return odp::base::read_file(path).size(); }

}  // namespace

TEST_CASE("every tool has --help with the exit codes", "[cli]") {
  for (const std::string& tool : {odpenc_tool, odpdec_tool, odptrunc_tool, odpinfo_tool}) {
    const Result result = run(tool + " --help");
    CHECK(result.code == 0);
    CHECK_THAT(result.out, Catch::Contains("usage:") && Catch::Contains("Exit codes"));
  }
}

TEST_CASE("odpenc rate flags, odpinfo and odpdec", "[cli]") {
  const Workspace& w = workspace();
  REQUIRE(run(odpenc_tool + " photo.png -o tokens.odp --tokens 4 --quiet --device cpu").code == 0);
  CHECK(inspect_file(w.path("tokens.odp")).tokens_per_tile == std::vector<uint16_t>(6, 4));
  REQUIRE(run(odpenc_tool + " photo.png -o quality.odp --quality 25").code == 0);
  CHECK(inspect_file(w.path("quality.odp")).tokens_per_tile == std::vector<uint16_t>(6, 4));
  REQUIRE(run(odpenc_tool + " photo.png -o full.odp --tokens 256 --overlap 4").code == 0);
  CHECK(inspect_file(w.path("full.odp")).tile_overlap == 4);
  REQUIRE(run(odpenc_tool + " photo.png -o flat.odp --tokens 4 --overlap 0").code == 0);
  CHECK(inspect_file(w.path("flat.odp")).tokens_per_tile == std::vector<uint16_t>(6, 4));  // 3x2 tiles
  REQUIRE(run(odpenc_tool + " photo.png -o auto.odp --tokens 4 --overlap auto").code == 0);
  CHECK(inspect_file(w.path("auto.odp")).tile_overlap == 13);  // the padding of 3x2 tiles, no extra tile
  CHECK(run(odpenc_tool + " photo.png -o bad.odp --overlap wide").code == 1);
  // The GPU precision only matters on CUDA; on the CPU a valid value changes nothing, a bad one is a usage
  // error.
  REQUIRE(run(odpenc_tool + " photo.png -o bf16.odp --tokens 4 --overlap 0 --gpu-precision bf16").code == 0);
  CHECK(file_size(w.path("bf16.odp")) == file_size(w.path("flat.odp")));
  const Result bad_precision = run(odpenc_tool + " photo.png -o bad.odp --gpu-precision int8");
  CHECK(bad_precision.code == 1);
  CHECK_THAT(bad_precision.err, Catch::Contains("--gpu-precision") && Catch::Contains("int8") &&
                                    Catch::Contains("bf16, tf32 or fp32"));
  CHECK_FALSE(exists(w.path("bad.odp")));
  const uint64_t full_size = file_size(w.path("full.odp"));
  REQUIRE(run(odpenc_tool + " photo.png -o sized.odp --size " + std::to_string(full_size / 2)).code == 0);
  CHECK(file_size(w.path("sized.odp")) <= full_size / 2);
  const Result too_small = run(odpenc_tool + " photo.png -o tiny.odp --size 10");
  CHECK(too_small.code == 1);
  CHECK_THAT(too_small.err, Catch::Contains("smallest file"));
  CHECK_FALSE(exists(w.path("tiny.odp")));
  // --scale codes a downscaled copy; the decoder returns the original size.
  REQUIRE(run(odpenc_tool + " photo.png -o half.odp --tokens 8 --scale 1/2").code == 0);
  CHECK(inspect_file(w.path("half.odp")).coded_width == 35);
  REQUIRE(run(odpdec_tool + " half.odp -o half.png").code == 0);
  CHECK(odp::imageio::read_image(w.path("half.png")).width == 70);
  for (const char* bad : {"0", "1.5", "1/0.5", "x"}) {
    const Result refused = run(odpenc_tool + " photo.png -o bad.odp --scale " + bad);
    CHECK(refused.code == 1);
    CHECK_THAT(refused.err, Catch::Contains("--scale"));
  }
  const Result adaptive = run(odpenc_tool + " photo.png -o adaptive.odp --target-psnr 12 -v");
  REQUIRE(adaptive.code == 0);
  CHECK_THAT(adaptive.err, Catch::Contains("tokens/tile") && Catch::Contains("bytes"));
  CHECK(adaptive.err.find('\r') == std::string::npos);  // no progress bar when stderr is not a terminal

  const Result described = run(odpinfo_tool + " tokens.odp -v");
  REQUIRE(described.code == 0);
  // 70x45 in 32-px tiles with the default overlap (auto: 13, what the padding of 3x2 tiles leaves).
  CHECK_THAT(described.out, Catch::Contains("70x45") && Catch::Contains("3x2 of 32 px, overlap 13") &&
                                Catch::Contains("model id") && Catch::Contains("per tile:    4 4 4 4 4 4\n"));

  REQUIRE(run(odpdec_tool + " full.odp -o full.png").code == 0);
  const odp::base::Image decoded = odp::imageio::read_image(w.path("full.png"));
  CHECK(decoded.width == 70);
  CHECK(decoded.height == 45);
  const Result compared = run(odpdec_tool + " full.odp -o compared.png --compare photo.png");
  REQUIRE(compared.code == 0);
  CHECK_THAT(compared.out, Catch::StartsWith("full.odp: PSNR ") && Catch::Contains("bits/pixel"));
  REQUIRE(run(odpdec_tool + " full.odp -o two.ppm --tokens 2").code == 0);
  CHECK(slurp(w.path("two.ppm")).rfind("P6", 0) == 0);
  REQUIRE(run(odpdec_tool + " full.odp -o out.jpg --jpeg-quality 80").code == 0);
  CHECK(odp::imageio::read_image(w.path("out.jpg")).width == 70);
}

TEST_CASE("stdin, stdout and several inputs", "[cli]") {
  const Workspace& w = workspace();
  REQUIRE(run("cat photo.png | " + odpenc_tool + " - --tokens 2 > piped.odp").code == 0);
  CHECK(inspect_file(w.path("piped.odp")).width == 70);
  REQUIRE(run(odpdec_tool + " - < piped.odp > piped.png").code == 0);
  CHECK(odp::imageio::read_image(w.path("piped.png")).height == 45);
  REQUIRE(run("mkdir -p many && " + odpenc_tool + " photo.png second.png -o many --tokens 1").code == 0);
  CHECK(inspect_file(w.path("many/photo.odp")).width == 70);
  CHECK(inspect_file(w.path("many/second.odp")).width == 33);
  REQUIRE(run(odpdec_tool + " many/photo.odp many/second.odp").code == 0);  // beside the inputs
  CHECK(exists(w.path("many/second.png")));
  CHECK(run(odpenc_tool + " photo.png second.png -o not-a-dir.odp").code == 1);
}

TEST_CASE("odptrunc: tokens, quality, size, in place, without the model", "[cli]") {
  const Workspace& w = workspace();
  REQUIRE(run(odpenc_tool + " photo.png -o t.odp --tokens 16").code == 0);
  const uint64_t size = file_size(w.path("t.odp"));
  // ODP_MODEL names nothing: truncation of a uniformly coded file must not need the model.
  REQUIRE(run("ODP_MODEL=/nonexistent " + odptrunc_tool + " t.odp -o t8.odp --tokens 8").code == 0);
  CHECK(inspect_file(w.path("t8.odp")).tokens_per_tile == std::vector<uint16_t>(6, 8));
  REQUIRE(run(odptrunc_tool + " t.odp -o tq.odp --quality 25").code == 0);
  CHECK(inspect_file(w.path("tq.odp")).tokens_per_tile == std::vector<uint16_t>(6, 4));
  REQUIRE(run(odptrunc_tool + " t.odp -o ts.odp --size " + std::to_string(size / 3)).code == 0);
  CHECK(file_size(w.path("ts.odp")) <= size / 3);
  // A cut to bytes that ends inside a layer leaves counts differing by one, stored packed (spec 4.1, flags
  // bit 6) and listed by odpinfo -v as any counts are.
  const std::vector<uint16_t> cut_counts = inspect_file(w.path("ts.odp")).tokens_per_tile;
  std::string listed = "per tile:   ";
  for (uint16_t count : cut_counts) listed += " " + std::to_string(count);
  CHECK_THAT(run(odpinfo_tool + " ts.odp -v").out, Catch::Contains(listed + "\n"));
  const bool equal =
      std::all_of(cut_counts.begin(), cut_counts.end(), [&](uint16_t c) { return c == cut_counts[0]; });
  CHECK(((slurp(w.path("ts.odp")).at(2) & 0x40) != 0) == !equal);
  REQUIRE(run("cp t.odp inplace.odp && " + odptrunc_tool + " inplace.odp -o inplace.odp --tokens 2").code ==
          0);
  CHECK(inspect_file(w.path("inplace.odp")).tokens_per_tile == std::vector<uint16_t>(6, 2));
  CHECK(run(odptrunc_tool + " t.odp --tokens 2").code == 1);                      // -o is required
  CHECK(run(odptrunc_tool + " t.odp -o x.odp --tokens 2 --size 100").code == 1);  // exactly one
  // Files coded with the model's tables need them (the model file is read, the network never run).
  REQUIRE(run("ODP_MODEL=tables.safetensors " + odpenc_tool + " photo.png -o tables.odp --tokens 16").code ==
          0);
  CHECK(inspect_file(w.path("tables.odp")).position_tables);
  const Result without =
      run("ODP_MODEL=/nonexistent " + odptrunc_tool + " tables.odp -o tables8.odp --size 200");
  CHECK(without.code == 4);
  CHECK(run(odptrunc_tool + " tables.odp -o tables8.odp --size 200 --model tables.safetensors").code == 0);
  CHECK(file_size(w.path("tables8.odp")) <= 200);
}

TEST_CASE("bad input: one line naming the file and cause, non-zero exit, nothing left behind", "[cli]") {
  const Workspace& w = workspace();
  REQUIRE(run(odpenc_tool + " photo.png -o good.odp --tokens 8").code == 0);
  const std::string original = slurp(w.path("good.odp"));
  auto expect = [&](const std::string& command, int code, const std::string& named,
                    const std::string& cause) {
    const Result result = run(command);
    CHECK(result.code == code);
    CHECK_THAT(result.err, Catch::Contains(named) && Catch::Contains(cause));
    CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
    return result;
  };
  expect(odpenc_tool + " missing.png -o out1.odp", 3, "missing.png", "No such file");
  expect(odpenc_tool + " many -o out1.odp", 3, "many", "directory");
  run("echo 'not an image' > text.png");
  expect(odpenc_tool + " text.png -o out1.odp", 2, "text.png", "unsupported");
  run("printf 'P6 0 0 255\\n' > empty.ppm");
  expect(odpenc_tool + " empty.ppm -o out1.odp", 2, "empty.ppm", "empty");
  run("printf 'P6 100000 100000 255\\n' > huge.ppm");
  expect(odpenc_tool + " huge.ppm -o out1.odp", 2, "huge.ppm", "limit");
  expect(odpenc_tool + " photo.png -o /nonexistent-dir/out1.odp", 3, "/nonexistent-dir/out1.odp",
         "No such file");
  expect(odpenc_tool + " photo.png -o /dev/full", 3, "/dev/full", "No space");
  expect(odpdec_tool + " good.odp -o /dev/full", 3, "/dev/full", "No space");
  expect(odptrunc_tool + " good.odp -o /dev/full --tokens 2", 3, "/dev/full", "No space");
  CHECK_FALSE(exists(w.path("out1.odp")));
  expect("ODP_MODEL=other.safetensors " + odpdec_tool + " good.odp -o out1.png", 4, "good.odp", "model");
  run("head -c 40 good.odp > cut.odp; printf 'ODPxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' > corrupt.odp");
  expect(odpdec_tool + " corrupt.odp -o out1.png", 2, "corrupt.odp", "not a valid .odp");
  const Result cut =
      run(odpdec_tool + " cut.odp -o cut.png");  // a short prefix decodes or is refused, never crashes
  CHECK((cut.code == 0 || cut.code == 2));
  expect(odpdec_tool + " photo.png -o out1.png", 2, "photo.png", ".odp");
  expect(odpinfo_tool + " missing.odp", 3, "missing.odp", "No such file");
  expect("ODP_MODEL=/nonexistent " + odpenc_tool + " photo.png -o out1.odp", 4, "/nonexistent", "ODP_MODEL");
  expect(odpenc_tool + " photo.png -o out1.odp --model /etc/hostname", 4, "/etc/hostname", "");
  // LibTorch's own errors are model problems (exit 4), not bad input, and print one line without a backtrace.
  expect(odpenc_tool + " photo.png -o out1.odp --model libtorch-fails.safetensors", 4,
         "libtorch-fails.safetensors", "LibTorch");
  expect(odpdec_tool + " good.odp -o out1.png --model libtorch-fails.safetensors", 4,
         "libtorch-fails.safetensors", "LibTorch");
  expect(odpenc_tool + " photo.png -o out1.odp --tokens 1 --quality 5", 1, "at most one", "--help");
  expect(odpenc_tool + " photo.png -o out1.odp --quality 101", 1, "--quality", "0..100");
  expect(odpenc_tool + " photo.png -o out1.odp --bogus", 1, "unknown option", "--bogus");
  expect(odpenc_tool + " photo.png -o out1.odp --device tpu", 1, "--device", "tpu");
  run("printf '\\x89PNG\\r\\n\\x1a\\n' > alpha-less.png");
  expect(odpenc_tool + " alpha-less.png -o out1.odp", 2, "alpha-less.png", "PNG");
  CHECK(slurp(w.path("good.odp")) == original);  // inputs are never modified
  const Result listing = run("ls");
  CHECK(listing.out.find("tmp") == std::string::npos);  // no temporary files left
  CHECK(listing.out.find("out1") == std::string::npos);
}

TEST_CASE("transparent images are refused unless flattened", "[cli]") {
  odp::base::Image image = odp::test::synthetic_image(20, 20);
  // A PAM-free way to get alpha: a gray+alpha PNG via libpng's simplified API is in the codec tests;
  // here check the flag is accepted and an opaque image still encodes with it.
  odp::imageio::write_image(workspace().path("opaque.png"), image);
  CHECK(run(odpenc_tool + " opaque.png -o opaque.odp --flatten-alpha --strip-metadata").code == 0);
}

TEST_CASE("the model is found from --model, ODP_MODEL, or refused listing where it looked", "[cli]") {
  using odp::cli::find_model;
  CHECK_THROWS_WITH(find_model("/nonexistent/m.safetensors", ""),
                    Catch::Contains("/nonexistent/m.safetensors"));
  ::setenv("ODP_MODEL", "/nonexistent/env.safetensors", 1);
  CHECK_THROWS_WITH(find_model("", ""), Catch::Contains("ODP_MODEL"));
  ::setenv("ODP_MODEL", "/etc/hostname", 1);
  CHECK(find_model("", "") == "/etc/hostname");
  ::unsetenv("ODP_MODEL");
  CHECK(find_model("/etc/hostname", "") == "/etc/hostname");
}

TEST_CASE("odpenc --metadata as cwebp (default none); ICC inputs are converted to sRGB", "[cli]") {
  const Workspace& w = workspace();
  // Adobe RGB (1998)-like profile from Little CMS: wider primaries than sRGB, gamma 2.2.
  const cmsCIExyY white = {0.3127, 0.3290, 1.0};
  const cmsCIExyYTRIPLE primaries = {{0.64, 0.33, 1.0}, {0.21, 0.71, 1.0}, {0.15, 0.06, 1.0}};
  cmsToneCurve* gamma = cmsBuildGamma(nullptr, 2.2);
  cmsToneCurve* curves[3] = {gamma, gamma, gamma};
  cmsHPROFILE profile = cmsCreateRGBProfile(&white, &primaries, curves);
  cmsFreeToneCurve(gamma);
  cmsUInt32Number size = 0;
  REQUIRE(cmsSaveProfileToMem(profile, nullptr, &size));
  odp::codec::Image tagged = odp::test::synthetic_image(40, 30);
  tagged.icc.resize(size);
  REQUIRE(cmsSaveProfileToMem(profile, tagged.icc.data(), &size));
  cmsCloseProfile(profile);
  tagged.exif = {'I', 'I', 42, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  odp::imageio::write_image(w.path("tagged.png"), tagged);
  // A header-only profile that libpng accepts and Little CMS cannot build a transform from.
  odp::codec::Image broken = tagged;
  broken.icc.assign(600, 0);
  broken.icc[2] = 600 >> 8, broken.icc[3] = 600 & 0xff, broken.icc[8] = 2;
  for (int i = 0; i < 4; ++i) broken.icc[12 + i] = "mntr"[i], broken.icc[16 + i] = "RGB "[i];
  for (int i = 0; i < 4; ++i) broken.icc[20 + i] = "XYZ "[i], broken.icc[36 + i] = "acsp"[i];
  const uint8_t d50[12] = {0, 0, 0xf6, 0xd6, 0, 1, 0, 0, 0, 0, 0xd3, 0x2d};
  std::copy(d50, d50 + 12, broken.icc.begin() + 68);
  for (size_t i = 132; i < broken.icc.size(); ++i) broken.icc[i] = static_cast<uint8_t>(i * 37 % 251);
  odp::imageio::write_image(w.path("broken.png"), broken);

  const Result none = run(odpenc_tool + " tagged.png -o none.odp --tokens 4 --quiet -v");
  REQUIRE(none.code == 0);
  CHECK_THAT(none.err, Catch::Contains("converted from ICC profile"));
  CHECK_THAT(run(odpinfo_tool + " none.odp").out, Catch::Contains("metadata:    none"));
  REQUIRE(run(odpenc_tool + " tagged.png -o icc.odp --tokens 4 --quiet --metadata icc").code == 0);
  const std::string icc_info = run(odpinfo_tool + " icc.odp").out;
  CHECK_THAT(icc_info, Catch::Contains("ICCP") && !Catch::Contains("EXIF"));
  REQUIRE(run(odpenc_tool + " tagged.png -o all.odp --tokens 4 --quiet --metadata all").code == 0);
  CHECK_THAT(run(odpinfo_tool + " all.odp").out, Catch::Contains("ICCP") && Catch::Contains("EXIF"));
  REQUIRE(run(odpenc_tool + " tagged.png -o exif.odp --tokens 4 --quiet --metadata exif,xmp").code == 0);
  CHECK_THAT(run(odpinfo_tool + " exif.odp").out, Catch::Contains("EXIF") && !Catch::Contains("ICCP"));
  const Result bogus = run(odpenc_tool + " tagged.png -o bogus.odp --metadata gps");
  CHECK(bogus.code == 1);
  CHECK_THAT(bogus.err, Catch::Contains("--metadata") && Catch::Contains("gps"));
  CHECK(run(odpenc_tool + " tagged.png -o both.odp --metadata icc --strip-metadata").code == 1);

  // The converted file records sRGB (no colour byte); the refused profile codes the pixels as they are.
  const std::vector<uint8_t> converted = odp::base::read_file(w.path("none.odp"));
  const Result refused = run(odpenc_tool + " broken.png -o refused.odp --tokens 4 --quiet -v");
  REQUIRE(refused.code == 0);
  CHECK_THAT(refused.err, Catch::Contains("refused by Little CMS") && Catch::Contains("as they are"));
  const std::vector<uint8_t> unconverted = odp::base::read_file(w.path("refused.odp"));
  CHECK(unconverted.size() == converted.size() + 2);  // ext_flags + colour "unspecified"
  CHECK(run(odpenc_tool + " broken.png -o quiet.odp --tokens 4 --quiet")
            .err.empty());  // a warning only under -v
}

// ---- Issue 19: the tools as cwebp and cjxl users expect them. ----

namespace {

odp::codec::Image flat_image(int width, int height, uint8_t r, uint8_t g, uint8_t b) {
  odp::codec::Image image;
  image.width = width;
  image.height = height;
  for (int i = 0; i < width * height; ++i) image.rgb.insert(image.rgb.end(), {r, g, b});
  return image;
}

// The largest difference between two same-sized images' samples (256 when the sizes differ).
int max_difference(const odp::codec::Image& a, const odp::codec::Image& b) {
  if (a.width != b.width || a.height != b.height) return 256;
  int most = 0;
  for (size_t i = 0; i < a.rgb.size(); ++i) most = std::max(most, std::abs(a.rgb[i] - b.rgb[i]));
  return most;
}

void put_u16(std::string& out, unsigned value) { out += char(value & 255), out += char(value >> 8); }
void put_u32(std::string& out, unsigned value) { put_u16(out, value & 0xFFFF), put_u16(out, value >> 16); }

// A baseline little-endian TIFF: 8-bit RGB, uncompressed, one strip (pixels: width x height x 3).
std::string tiff_file(int width, int height, const std::vector<uint8_t>& pixels) {
  std::string out = "II*";
  out += '\0';
  put_u32(out, 8);
  const unsigned entries = 10, bits_at = 8 + 2 + entries * 12 + 4, data_at = bits_at + 6;
  put_u16(out, entries);
  auto entry = [&](unsigned tag, unsigned type, unsigned count, unsigned value) {
    put_u16(out, tag), put_u16(out, type), put_u32(out, count), put_u32(out, value);
  };
  entry(256, 3, 1, width);          // ImageWidth
  entry(257, 3, 1, height);         // ImageLength
  entry(258, 3, 3, bits_at);        // BitsPerSample 8,8,8
  entry(259, 3, 1, 1);              // no compression
  entry(262, 3, 1, 2);              // RGB
  entry(273, 4, 1, data_at);        // StripOffsets
  entry(277, 3, 1, 3);              // SamplesPerPixel
  entry(278, 3, 1, height);         // RowsPerStrip
  entry(279, 4, 1, pixels.size());  // StripByteCounts
  entry(284, 3, 1, 1);              // contiguous
  put_u32(out, 0);
  for (int i = 0; i < 3; ++i) put_u16(out, 8);
  out.append(pixels.begin(), pixels.end());
  return out;
}

// A GIF89a of `frames` frames, each width x height in a 2-colour table: row y is colour (y + frame) % 2.
// LZW with 2-bit minimum code size, every pixel coded as a literal with a clear code before each, so no
// compression logic is needed (each code is 3 bits).
std::string gif_file(int width, int height, int frames) {
  std::string out = "GIF89a";
  put_u16(out, width), put_u16(out, height);
  out += char(0x80), out += char(0), out += char(0);  // global table of 2 colours
  out += std::string("\xC8\x1E\x28\x10\x80\xF0", 6);  // (200,30,40), (16,128,240)
  if (frames > 1) out += std::string("\x21\xFF\x0BNETSCAPE2.0\x03\x01\x00\x00\x00", 19);
  for (int frame = 0; frame < frames; ++frame) {
    out += std::string("\x21\xF9\x04\x00\x0A\x00\x00\x00", 8);  // graphic control: 0.1 s, no transparency
    out += ',';
    put_u16(out, 0), put_u16(out, 0), put_u16(out, width), put_u16(out, height);
    out += char(0);
    out += char(2);  // LZW minimum code size
    std::string data;
    uint32_t bits = 0;
    int count = 0;
    auto code = [&](unsigned value) {
      bits |= value << count, count += 3;
      while (count >= 8) data += char(bits & 255), bits >>= 8, count -= 8;
    };
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x) code(4), code((y + frame) % 2);  // clear, then the literal
    code(5);                                                           // end of information
    if (count > 0) data += char(bits & 255);
    for (size_t at = 0; at < data.size(); at += 255) {
      const size_t n = std::min<size_t>(255, data.size() - at);
      out += char(n);
      out += data.substr(at, n);
    }
    out += char(0);
  }
  out += ';';
  return out;
}

// A PNG made animated: an acTL chunk (2 frames) inserted after IHDR; libpng reads its default image.
std::string apng_file(const std::string& png) {
  std::string chunk = std::string("\0\0\0\x08", 4) + "acTL" + std::string("\0\0\0\x02\0\0\0\0", 8);
  const uint32_t crc = static_cast<uint32_t>(crc32(
      0, reinterpret_cast<const unsigned char*>(chunk.data() + 4), static_cast<unsigned>(chunk.size() - 4)));
  for (int shift = 24; shift >= 0; shift -= 8) chunk += char((crc >> shift) & 255);
  return png.substr(0, 33) + chunk + png.substr(33);  // 8 signature + 25 IHDR
}

void save(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

}  // namespace

TEST_CASE("-q is the quality; cwebp's single-dash spellings; an unknown option gets a suggestion", "[cli]") {
  const Workspace& w = workspace();
  const Result quality = run(odpenc_tool + " photo.png -o q.odp -q 25");
  REQUIRE(quality.code == 0);
  CHECK(inspect_file(w.path("q.odp")).tokens_per_tile == std::vector<uint16_t>(6, 4));
  CHECK(run(odpenc_tool + " photo.png -o q.odp -q 25 --quality 30").code == 1);  // one option, given twice
  for (const std::string quiet : {"-quiet", "--quiet"}) {
    const Result silent = run(odpenc_tool + " photo.png -o quiet.odp --tokens 2 -mt " + quiet);
    CHECK(silent.code == 0);
    CHECK(silent.err.empty());
  }
  REQUIRE(run(odpenc_tool + " photo.png -o size.odp -size 400 -metadata all").code == 0);
  CHECK(file_size(w.path("size.odp")) <= 400);
  CHECK(run(odpenc_tool + " photo.png -o psnr.odp -psnr 5").code == 0);
  const Result short_line = run(odpenc_tool + " photo.png -o short.odp -short -print_psnr");
  CHECK(short_line.code == 0);
  CHECK(short_line.err == std::to_string(file_size(w.path("short.odp"))) + " " +
                              short_line.err.substr(short_line.err.find(' ') + 1));
  CHECK_THAT(short_line.err, Catch::Matches("[0-9]+ [0-9.inf]+\n"));
  CHECK(run(odptrunc_tool + " q.odp -o q2.odp -q 0").code == 0);
  CHECK(inspect_file(w.path("q2.odp")).tokens_per_tile == std::vector<uint16_t>(6, 1));
  const Result typo = run(odpenc_tool + " photo.png -o typo.odp -tokns 3");
  CHECK(typo.code == 1);
  CHECK_THAT(typo.err, Catch::Contains("unknown option -tokns; did you mean --tokens?"));
  CHECK_THAT(run(odpenc_tool + " photo.png --qualty 3").err, Catch::Contains("did you mean --quality?"));
  CHECK_THAT(run(odpdec_tool + " q.odp -q").err, Catch::Contains("unknown option -q; did you mean --quiet?"));
  CHECK_THAT(run(odpenc_tool + " photo.png --zzzzzz").err, !Catch::Contains("did you mean"));
}

TEST_CASE("--version on every tool: odp, format, LibTorch, CUDA, the default model's id", "[cli]") {
  const Workspace& w = workspace();
  const std::vector<uint8_t> model = odp::base::read_file(w.path("tiny.safetensors"));
  char id[16];
  std::snprintf(id, sizeof id, "%08x", static_cast<unsigned>(crc32(0, model.data(), model.size())));
  for (const std::string& tool : {odpenc_tool, odpdec_tool, odptrunc_tool, odpinfo_tool}) {
    for (const std::string flag : {" --version", " -version"}) {
      const Result version = run(tool + flag);
      CHECK(version.code == 0);
      CHECK_THAT(version.out, Catch::Contains("(odp) 0.") && Catch::Contains("writes .odp version 2") &&
                                  Catch::Contains("reads versions 1 and 2") && Catch::Contains("LibTorch") &&
                                  Catch::Contains(std::string("model: ") + id));
    }
    CHECK_THAT(run("ODP_MODEL=/nonexistent " + tool + " --version").out, Catch::Contains("no model found"));
  }
  CHECK_THAT(run(odpenc_tool + " --version").out, Catch::Contains("CUDA: "));
  CHECK_THAT(run(odpdec_tool + " --version").out, Catch::Contains("CUDA: "));
}

TEST_CASE("no silent overwrites: never an input, never two inputs onto one output", "[cli]") {
  const Workspace& w = workspace();
  const std::string photo = slurp(w.path("photo.png"));
  run("ln -sf photo.png photo-link.png; mkdir -p other over");
  const std::string parent_spelling = "../" + w.dir.substr(w.dir.rfind('/') + 1) + "/photo.png";
  for (const std::string& output :
       std::vector<std::string>{"photo.png", "./photo.png", parent_spelling, "photo-link.png"}) {
    const Result refused = run(odpenc_tool + " photo.png -o " + output);
    CHECK(refused.code == 1);
    CHECK_THAT(refused.err, Catch::Contains(output) && Catch::Contains("overwrite the input photo.png"));
    CHECK(slurp(w.path("photo.png")) == photo);
  }
  REQUIRE(run(odpenc_tool + " photo.png -o over/photo.odp --tokens 2").code == 0);
  const std::string encoded = slurp(w.path("over/photo.odp"));
  const Result decode_over = run(odpdec_tool + " over/photo.odp -o over/./photo.odp");
  CHECK(decode_over.code == 1);
  CHECK(slurp(w.path("over/photo.odp")) == encoded);
  // a.png and other/a.png would both become dir/a.odp.
  run("cp second.png other/photo.png");
  const Result clash = run(odpenc_tool + " photo.png other/photo.png -o over");
  CHECK(clash.code == 1);
  CHECK_THAT(clash.err,
             Catch::Contains("photo.png and other/photo.png would both be written to over/photo.odp"));
  CHECK(slurp(w.path("over/photo.odp")) == encoded);
  // Without -o: photo.png -> photo.odp, which is also given as an input to odpenc.
  CHECK(run(odpdec_tool + " over/photo.odp over/photo.odp").code == 1);
  // An existing output that is no input is replaced, as cwebp does; odptrunc may still work in place.
  CHECK(run(odpenc_tool + " photo.png -o over/photo.odp --tokens 3").code == 0);
  CHECK(slurp(w.path("over/photo.odp")) != encoded);
  CHECK(run(odptrunc_tool + " over/photo.odp -o over/photo.odp --tokens 1").code == 0);
  // odpdec never writes over the --compare original either.
  REQUIRE(run("cp photo.png over/photo.png").code == 0);
  CHECK(run(odpdec_tool + " over/photo.odp -o over/photo.png --compare over/photo.png").code == 1);
  CHECK(slurp(w.path("over/photo.png")) == photo);
}

TEST_CASE("grey stays grey (a greyscale PNG out); flat stays flat, also when cut", "[cli]") {
  const Workspace& w = workspace();
  odp::codec::Image grey = odp::test::synthetic_image(70, 45);
  for (size_t i = 0; i < grey.rgb.size(); i += 3) grey.rgb[i + 1] = grey.rgb[i + 2] = grey.rgb[i];
  odp::imageio::write_image(w.path("grey-in.ppm"), grey);
  REQUIRE(run(odpenc_tool + " grey-in.ppm -o grey.odp --tokens 4").code == 0);
  REQUIRE(run(odpdec_tool + " grey.odp -o grey-out.png").code == 0);
  const std::string png = slurp(w.path("grey-out.png"));
  REQUIRE(png.size() > 26);
  CHECK(int(png[25]) == 0);  // IHDR colour type 0: greyscale
  const odp::codec::Image back = odp::imageio::read_image(w.path("grey-out.png"));
  for (size_t i = 0; i < back.rgb.size(); i += 3)
    CHECK((back.rgb[i] == back.rgb[i + 1] && back.rgb[i] == back.rgb[i + 2]));

  // A 1x1 image of a saturated colour, and flat images of several tiles (70x45: 4x2 tiles).
  for (const auto& [name, image] : {std::make_pair(std::string("one"), flat_image(1, 1, 200, 30, 40)),
                                    std::make_pair(std::string("flat"), flat_image(70, 45, 16, 128, 240))}) {
    odp::imageio::write_image(w.path(name + ".ppm"), image);
    REQUIRE(run(odpenc_tool + " " + name + ".ppm -o " + name + ".odp").code == 0);
    REQUIRE(run(odpdec_tool + " " + name + ".odp -o " + name + "-out.ppm").code == 0);
    CHECK(max_difference(odp::imageio::read_image(w.path(name + "-out.ppm")), image) <= 3);
    // Cut by odptrunc and by head -c (the header survives): still its colour.
    REQUIRE(run(odptrunc_tool + " " + name + ".odp -o " + name + "-cut.odp --tokens 1").code == 0);
    REQUIRE(run(odpdec_tool + " " + name + "-cut.odp -o " + name + "-cut.ppm").code == 0);
    CHECK(max_difference(odp::imageio::read_image(w.path(name + "-cut.ppm")), image) <= 3);
    const uint64_t header = inspect_file(w.path(name + ".odp")).header_bytes;
    run("head -c " + std::to_string(header) + " " + name + ".odp > " + name + "-head.odp");
    REQUIRE(run(odpdec_tool + " " + name + "-head.odp -o " + name + "-head.ppm").code == 0);
    CHECK(max_difference(odp::imageio::read_image(w.path(name + "-head.ppm")), image) <= 3);
  }
  // A flat tile among busy ones keeps its colour in its interior.
  odp::codec::Image half = odp::test::synthetic_image(70, 45);
  for (int y = 0; y < 45; ++y)
    for (int x = 0; x < 35; ++x)
      for (int c = 0; c < 3; ++c) half.rgb[(y * 70 + x) * 3 + c] = c == 0 ? 250 : 5;
  odp::imageio::write_image(w.path("half.ppm"), half);
  REQUIRE(run(odpenc_tool + " half.ppm -o half.odp --overlap 0").code == 0);
  REQUIRE(run(odpdec_tool + " half.odp -o half-out.ppm").code == 0);
  const odp::codec::Image half_back = odp::imageio::read_image(w.path("half-out.ppm"));
  REQUIRE(half_back.width == 70);
  for (int c = 0; c < 3; ++c)
    CHECK(std::abs(half_back.rgb[(10 * 70 + 10) * 3 + c] - (c == 0 ? 250 : 5)) <= 3);
}

TEST_CASE("odpdec --compare with another size says so before decoding and writes nothing", "[cli]") {
  const Workspace& w = workspace();
  REQUIRE(run(odpenc_tool + " photo.png -o mismatch.odp --tokens 2").code == 0);
  const Result mismatch = run(odpdec_tool + " mismatch.odp -o mismatch.png --compare second.png");
  CHECK(mismatch.code == 1);
  CHECK_THAT(mismatch.err, Catch::Contains("70x45") && Catch::Contains("second.png is 33x40"));
  CHECK(mismatch.out.empty());
  CHECK_FALSE(exists(w.path("mismatch.png")));
  const Result match = run(odpdec_tool + " mismatch.odp -o mismatch.png --compare photo.png");
  CHECK(match.code == 0);
  CHECK_THAT(match.out, Catch::Matches("mismatch.odp: PSNR [0-9.]+ dB, [0-9]+ bytes, [0-9.]+ bits/pixel\n"));
}

TEST_CASE("-v says what a user wants to know; -print_psnr decodes", "[cli]") {
  odp::imageio::write_image(workspace().path("small.png"), odp::test::synthetic_image(20, 20));
  const Result one = run(odpenc_tool + " small.png -o small.odp --tokens 3 -v -print_psnr");
  REQUIRE(one.code == 0);
  CHECK_THAT(one.err, Catch::Contains("on cpu") && Catch::Contains("loaded in") &&
                          Catch::Contains("1 tile,") && Catch::Contains("3.0 tokens/tile") &&
                          Catch::Contains("bits/pixel") && Catch::Contains("read ") &&
                          Catch::Contains("encode ") && Catch::Contains("write "));
  CHECK_THAT(one.err, Catch::Matches("(.|\n)*PSNR [0-9.]+ dB(.|\n)*"));
  CHECK_THAT(one.err, Catch::Contains(std::to_string(file_size(workspace().path("small.odp"))) + " bytes"));
  CHECK_THAT(run(odpenc_tool + " photo.png -o v.odp -v").err, Catch::Contains("6 tiles,"));
  const Result psnr_only = run(odpenc_tool + " small.png -o small.odp -print_psnr");
  CHECK_THAT(psnr_only.err,
             Catch::Matches("odpenc: small.png: PSNR [0-9.]+ dB, [0-9]+ bytes, [0-9.]+ bits/pixel\n"));
  const Result decoded = run(odpdec_tool + " small.odp -o small-out.png -v");
  CHECK_THAT(decoded.err, Catch::Contains("on cpu") && Catch::Contains("1 tile,") &&
                              Catch::Contains("tokens/tile") && Catch::Contains("decode "));
}

TEST_CASE("TIFF and GIF are read; an animated PNG, GIF or WebP is encoded as its first frame, with a warning",
          "[cli]") {
  const Workspace& w = workspace();
  const odp::codec::Image picture = odp::test::synthetic_image(5, 3);
  save(w.path("picture.tif"), tiff_file(5, 3, picture.rgb));
  const Result tiff = run(odpenc_tool + " picture.tif -o tif.odp");
  CHECK(tiff.code == 0);
  CHECK(tiff.err.empty());
  CHECK(inspect_file(w.path("tif.odp")).width == 5);
  save(w.path("still.gif"), gif_file(6, 4, 1));
  const Result still = run(odpenc_tool + " still.gif -o still.odp");
  CHECK(still.code == 0);
  CHECK(still.err.empty());
  CHECK(inspect_file(w.path("still.odp")).height == 4);
  save(w.path("moving.gif"), gif_file(6, 4, 3));
  const Result moving = run(odpenc_tool + " moving.gif -o moving.odp");
  CHECK(moving.code == 0);
  CHECK_THAT(moving.err,
             Catch::Contains("moving.gif: warning: animated GIF (3 frames): encoded the first frame"));
  CHECK(run(odpenc_tool + " moving.gif -o moving.odp --quiet").err.empty());
  // The first frame is what was read: row 0 is colour 0, row 1 colour 1.
  const odp::codec::Image frame = odp::imageio::read_image(w.path("moving.gif"));
  CHECK((frame.rgb[0] == 200 && frame.rgb[6 * 3] == 16));

  save(w.path("animated.png"), apng_file(slurp(w.path("photo.png"))));
  const Result apng = run(odpenc_tool + " animated.png -o apng.odp --tokens 2");
  CHECK(apng.code == 0);
  CHECK_THAT(apng.err, Catch::Contains("animated.png: warning: animated PNG: encoded the first frame only"));
#ifdef ODP_HAVE_WEBP
  WebPAnimEncoderOptions options;
  REQUIRE(WebPAnimEncoderOptionsInit(&options));
  WebPAnimEncoder* encoder = WebPAnimEncoderNew(6, 4, &options);
  REQUIRE(encoder);
  for (int frame_index = 0; frame_index < 2; ++frame_index) {
    WebPPicture frame_picture;
    REQUIRE(WebPPictureInit(&frame_picture));
    frame_picture.width = 6, frame_picture.height = 4, frame_picture.use_argb = 1;
    const odp::codec::Image pixels = flat_image(6, 4, 200, 30, frame_index ? 200 : 40);
    REQUIRE(WebPPictureImportRGB(&frame_picture, pixels.rgb.data(), 18));
    WebPConfig config;
    REQUIRE(WebPConfigInit(&config));
    config.lossless = 1;
    REQUIRE(WebPAnimEncoderAdd(encoder, &frame_picture, frame_index * 100, &config));
    WebPPictureFree(&frame_picture);
  }
  REQUIRE(WebPAnimEncoderAdd(encoder, nullptr, 200, nullptr));
  WebPData assembled;
  WebPDataInit(&assembled);
  REQUIRE(WebPAnimEncoderAssemble(encoder, &assembled));
  save(w.path("animated.webp"), std::string(reinterpret_cast<const char*>(assembled.bytes), assembled.size));
  WebPDataClear(&assembled);
  WebPAnimEncoderDelete(encoder);
  const Result webp = run(odpenc_tool + " animated.webp -o webp.odp");
  CHECK(webp.code == 0);
  CHECK_THAT(webp.err,
             Catch::Contains("animated.webp: warning: animated WebP (2 frames): encoded the first frame"));
  const odp::codec::Image first = odp::imageio::read_image(w.path("animated.webp"));
  CHECK((first.width == 6 && first.rgb[2] == 40));
#endif
}

TEST_CASE("a man page per tool, made from its --help", "[cli]") {
  for (const std::string tool : {"odpenc", "odpdec", "odptrunc", "odpinfo"}) {
    const std::string page = slurp(std::string(ODP_MAN_DIR) + "/" + tool + ".1");
    std::string upper = tool;
    for (char& c : upper) c = static_cast<char>(std::toupper(c));
    CHECK_THAT(page, Catch::Contains(".TH " + upper + " 1") && Catch::Contains(".SH NAME") &&
                         Catch::Contains("Exit codes"));
  }
  CHECK_THAT(slurp(std::string(ODP_MAN_DIR) + "/odpenc.1"), Catch::Contains("\\-q, \\-\\-quality"));
}
