// The tools against hostile input (issue 17): each defect of the issue's list, end to end, with exit codes,
// messages and no output file left behind; memory bounded with ulimit -v where a defect was a memory one.
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "base/file_io.h"
#include "cli/process.h"
#include "codec/odp.h"
#include "format/odp_format.h"
#include "imageio/image.h"
#include "model/model_file.h"
#include "model/safetensors.h"
#include "tests/cli/tool_runner.h"
#include "tests/codec/test_support.h"

namespace {

using odp::test::exists;
using odp::test::Result;
using odp::test::slurp;

// A scratch folder with the tiny model, a photo and its .odp, made once for the whole run.
struct Workspace : odp::test::ScratchFolder {
  Workspace() : ScratchFolder("odp-cli-hostile") {
    REQUIRE(std::system((std::string(MAKE_TEST_MODEL) + " " + dir + "/tiny.safetensors 1").c_str()) == 0);
    odp::imageio::write_image(dir + "/photo.png", odp::test::synthetic_image(70, 45));
  }
};

const Workspace& workspace() {
  static Workspace instance;
  return instance;
}

// Runs a shell command line in the workspace with ODP_MODEL pointing at the tiny model.
Result run(const std::string& command) {
  return odp::test::run_in(workspace().dir, workspace().path("tiny.safetensors"), command);
}

const std::string odpenc_tool = ODPENC, odpdec_tool = ODPDEC, odptrunc_tool = ODPTRUNC,
                  odpinfo_tool = ODPINFO;

// photo.odp, encoded once.
const std::string& photo_odp() {
  static const std::string path = [] {
    REQUIRE(run(odpenc_tool + " photo.png -o photo.odp --tokens 8 --quiet").code == 0);
    return workspace().path("photo.odp");
  }();
  return path;
}

// The tiny model's file with its JSON header passed through edit (the data section unchanged).
void write_edited_model(const std::string& name, const std::function<std::string(std::string)>& edit) {
  std::vector<uint8_t> bytes = odp::base::read_file(workspace().path("tiny.safetensors"));
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t{bytes[i]} << (8 * i);
  const std::string header = edit(std::string(bytes.begin() + 8, bytes.begin() + 8 + n));
  std::vector<uint8_t> out;
  out.reserve(8 + header.size() + bytes.size());
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(uint64_t{header.size()} >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), bytes.begin() + 8 + n, bytes.end());
  odp::base::write_file_atomic(workspace().path(name), out);
}

std::string replace_first(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("a truncated JPEG is refused with exit 2 and no output", "[cli][hostile]") {
  const std::vector<uint8_t> jpeg =
      odp::imageio::encode_image(odp::test::synthetic_image(96, 64), odp::imageio::ImageFormat::kJpeg, 90);
  odp::base::write_file_atomic(workspace().path("cut.jpg"),
                               std::vector<uint8_t>(jpeg.begin(), jpeg.begin() + jpeg.size() / 2));
  const Result result = run(odpenc_tool + " cut.jpg -o cut.odp --quiet");
  CHECK(result.code == 2);
  CHECK_THAT(result.err, Catch::Contains("cut.jpg") && Catch::Contains("JPEG"));
  CHECK_FALSE(exists(workspace().path("cut.odp")));
}

TEST_CASE("hostile model files are model problems (exit 4) naming the field", "[cli][hostile]") {
  const std::string odp = photo_odp();
  // numel overflow: 2^62 x 4 elements in no bytes (wrapped to 0 and passed; then exit 2 with a backtrace).
  write_edited_model("overflow.safetensors", [](std::string header) {
    return replace_first(header, "{",
                         R"({"zz.hostile":{"dtype":"F32","shape":[4611686018427387904,4],)"
                         R"("data_offsets":[0,0]},)");
  });
  Result result = run(odpdec_tool + " photo.odp -o a.png --quiet --model overflow.safetensors");
  CHECK(result.code == 4);
  CHECK_THAT(result.err, Catch::Contains("zz.hostile") && Catch::Contains("shape"));
  CHECK_FALSE(exists(workspace().path("a.png")));
  // A floating-point data offset (undefined behaviour inside the JSON conversion before).
  write_edited_model("float.safetensors", [](std::string header) {
    return replace_first(header, "\"data_offsets\":[0,", "\"data_offsets\":[0.0,");
  });
  result = run(odpdec_tool + " photo.odp -o a.png --quiet --model float.safetensors");
  CHECK(result.code == 4);
  CHECK_THAT(result.err, Catch::Contains("data_offsets"));
  // odp.width 1048576 (a multiple of heads) allocated 3.4 GB inside LibTorch and exited 2; here memory is
  // capped at 1.5 GB so that the old behaviour fails quickly instead of swapping.
  write_edited_model("wide.safetensors", [](std::string header) {
    return replace_first(header, "\"odp.width\":\"32\"", "\"odp.width\":\"1048576\"");
  });
  result = run("ulimit -v 1500000; " + odpdec_tool + " photo.odp -o a.png --quiet --model wide.safetensors");
  CHECK(result.code == 4);
  CHECK_THAT(result.err, Catch::Contains("odp.width") && Catch::Contains("1048576"));
  CHECK_FALSE(exists(workspace().path("a.png")));
}

TEST_CASE("a network that cannot be built (no memory for its tensors) is a model problem, exit 4",
          "[cli][hostile]") {
  const std::string odp = photo_odp();
  // Every aligned allocation of 4 kB or more fails: LibTorch's allocator cannot give the tiny network's
  // tensors (16 kB and more) their memory, while reading the inputs (malloc) still works.
  const std::string failing =
      "LD_PRELOAD=" + std::string(FAILING_ALIGNED_ALLOC) + " ODP_FAIL_ALIGNED_ALLOC_BYTES=4096 ";
  Result result = run(failing + odpdec_tool + " photo.odp -o a.png --quiet");
  CHECK(result.code == 4);
  CHECK_THAT(result.err, Catch::Contains("tiny.safetensors") && Catch::Contains("allocate"));
  CHECK(result.err.find('\n') == result.err.size() - 1);  // one line: no backtrace, no abort
  CHECK_FALSE(exists(workspace().path("a.png")));
  result = run(failing + odpenc_tool + " photo.png -o b.odp --quiet");
  CHECK(result.code == 4);
  CHECK_THAT(result.err, Catch::Contains("tiny.safetensors") && Catch::Contains("allocate"));
  CHECK_FALSE(exists(workspace().path("b.odp")));
  // The shim itself fails nothing without its variable.
  CHECK(run("LD_PRELOAD=" + std::string(FAILING_ALIGNED_ALLOC) + " " + odpdec_tool +
            " photo.odp -o a.png --quiet")
            .code == 0);
}

TEST_CASE("a file whose overlap is above tile / 2 (valid per spec) encodes and decodes", "[cli][hostile]") {
  // The tiny model's tiles are 32 px: overlap 24 was refused as a usage error (exit 1).
  Result result = run(odpenc_tool + " photo.png -o wide.odp --tokens 4 --overlap 24 --quiet");
  REQUIRE(result.code == 0);
  CHECK_THAT(run(odpinfo_tool + " wide.odp").out, Catch::Contains("overlap 24"));
  result = run(odpdec_tool + " wide.odp -o wide.png --quiet");
  CHECK(result.code == 0);
  CHECK(odp::imageio::read_image(workspace().path("wide.png")).width == 70);
}

TEST_CASE("odptrunc on a file cut so short that no token survives says so, exit 2", "[cli][hostile]") {
  const std::vector<uint8_t> bytes = odp::base::read_file(photo_odp());
  const odp::codec::FileInfo info = odp::codec::inspect(bytes.data(), bytes.size());
  odp::base::write_file_atomic(
      workspace().path("nothing.odp"),
      std::vector<uint8_t>(bytes.begin(), bytes.begin() + info.header_bytes + info.metadata_bytes));
  const Result result = run(odptrunc_tool + " nothing.odp -o nothing-cut.odp --tokens 2");
  CHECK(result.code == 2);
  CHECK_THAT(result.err, Catch::Contains("nothing.odp") && Catch::Contains("no token survives"));
  CHECK_FALSE(exists(workspace().path("nothing-cut.odp")));
}

TEST_CASE("names with control characters are escaped in messages", "[cli][hostile]") {
  const Result result = run(odpinfo_tool + " \"$(printf 'evil\\033[2Jname.odp')\"");
  CHECK(result.code == 3);
  CHECK(result.err.find('\x1b') == std::string::npos);
  CHECK_THAT(result.err, Catch::Contains("evil\\x1B[2Jname.odp"));
}

TEST_CASE("a 250-character output name works", "[cli][hostile]") {
  photo_odp();
  const std::string name = std::string(246, 'x') + ".odp";
  const Result result = run(odptrunc_tool + " photo.odp -o " + name + " --tokens 2");
  CHECK(result.code == 0);
  CHECK(exists(workspace().path(name)));
  const Result decoded = run(odpdec_tool + " " + name + " --quiet");  // beside it: 246 x's + .png
  CHECK(decoded.code == 0);
  CHECK(exists(workspace().path(std::string(246, 'x') + ".png")));
}

TEST_CASE("an ICC profile too long for JPEG's APP2 markers is refused when writing .jpg", "[cli][hostile]") {
  auto model = odp::codec::load_model(workspace().path("tiny.safetensors"), "cpu");
  odp::codec::Image image = odp::test::synthetic_image(40, 30);
  image.icc.assign(255u * 65519u + 1, 7);
  odp::codec::EncodeOptions options;
  options.tokens = 2;
  options.colour = odp::codec::EncodeOptions::Colour::kUnspecified;  // so that the profile is decoded back
  odp::base::write_file_atomic(workspace().path("bigicc.odp"),
                               odp::codec::encode(image, *model, options).bytes);
  const Result result = run(odpdec_tool + " bigicc.odp -o bigicc.jpg --quiet");
  CHECK(result.code == 1);
  CHECK_THAT(result.err, Catch::Contains("ICC profile"));
  CHECK_FALSE(exists(workspace().path("bigicc.jpg")));
  CHECK(run(odpdec_tool + " bigicc.odp -o bigicc.png --quiet").code == 0);  // PNG holds it
}

TEST_CASE("--max-pixels: images above it are refused from their header, before the model loads",
          "[cli][hostile]") {
  Result result = run(odpenc_tool + " photo.png -o small.odp --max-pixels 3000 --quiet");
  CHECK(result.code == 2);
  CHECK_THAT(result.err, Catch::Contains("above the limit of 3000"));
  CHECK_FALSE(exists(workspace().path("small.odp")));
  photo_odp();
  result = run(odpdec_tool + " photo.odp -o small.png --max-pixels 3000 --quiet --model missing.safetensors");
  CHECK(result.code == 2);  // the limit, not the missing model: the input is checked first
  CHECK_THAT(result.err, Catch::Contains("3000"));
  CHECK(run(odpdec_tool + " photo.odp -o small.png --max-pixels 3150 --quiet").code == 0);  // 70 x 45 = 3150
  CHECK(run(odpenc_tool + " photo.png -o x.odp --max-pixels 300000000").code == 1);
  // A PNG header declaring 1 x 2^28 (took 21 s and 3.2 GB): refused at the header, memory capped at 1 GB.
  std::vector<uint8_t> png =
      odp::imageio::encode_image(odp::test::synthetic_image(1, 1), odp::imageio::ImageFormat::kPng);
  // IHDR: type at 12..15, width at 16..19, height at 20..23, then its CRC (libpng checks it).
  png[20] = 0x10, png[21] = 0, png[22] = 0, png[23] = 0;
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 12; i < 29; ++i) {
    crc ^= png[i];
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  crc ^= 0xFFFFFFFFu;
  for (int i = 0; i < 4; ++i) png[29 + i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
  odp::base::write_file_atomic(workspace().path("tall.png"), png);
  result = run("ulimit -v 1000000; " + odpenc_tool + " tall.png -o tall.odp --quiet");
  CHECK(result.code == 2);
  CHECK_THAT(result.err, Catch::Contains("1x268435456") && Catch::Contains("65535"));
  CHECK_FALSE(exists(workspace().path("tall.odp")));
}

TEST_CASE("odpinfo and odpdec cap what they read: /dev/zero and stdin are refused", "[cli][hostile]") {
  // Refused from the first bytes (no .odp signature); a stream that starts like a .odp file stops at the cap.
  Result result = run("ulimit -v 1000000; " + odpinfo_tool + " /dev/zero");
  CHECK(result.code == 2);
  CHECK_THAT(result.err, Catch::Contains("/dev/zero") && Catch::Contains("not an .odp file"));
  result = run("ulimit -v 1000000; " + odpdec_tool + " - --quiet < /dev/zero > /dev/null");
  CHECK(result.code == 2);
  CHECK_THAT(result.err, Catch::Contains("stdin") && Catch::Contains("not an .odp file"));
  result = run("ulimit -v 1000000; (printf ODP; cat /dev/zero) | " + odpinfo_tool + " -");
  CHECK(result.code == 2);
  CHECK_THAT(result.err, Catch::Contains("limit of"));
}

TEST_CASE("odpenc refuses a stream with no image signature from its first bytes", "[cli][hostile]") {
  // It read up to its cap first (579 MB for 64 Mpx; 1.18 GB of RSS with the buffer's doubling), which this
  // address-space limit does not leave room for.
  Result result = run("ulimit -v 1000000; " + odpenc_tool + " - -o zero.odp --quiet < /dev/zero");
  CHECK(result.code == 2);
  CHECK_THAT(result.err, Catch::Contains("stdin") && Catch::Contains("unknown signature"));
  CHECK_FALSE(exists(workspace().path("zero.odp")));
}

namespace {
// In a child: optionally the tools' signal policy, then a write that SIGXFSZ interrupts after its temporary
// file exists; SIGXFSZ's handler sends SIGTERM, as a user's kill would arrive in the middle of the write.
void interrupted_write(const std::string& path, bool with_policy) {
  std::signal(SIGTERM, SIG_DFL);  // as in a fresh process (Catch2 installs its own handlers)
  std::signal(SIGINT, SIG_DFL);
  if (with_policy) odp::cli::remove_temporary_files_on_signals();
  std::signal(SIGXFSZ, [](int) { std::raise(SIGTERM); });
  struct rlimit limit {};
  limit.rlim_cur = limit.rlim_max = 64 * 1024;
  ::setrlimit(RLIMIT_FSIZE, &limit);
  odp::base::write_file_atomic(path, std::vector<uint8_t>(1 << 20, 1));
  ::_exit(0);  // not reached: the write is killed
}
}  // namespace

TEST_CASE("SIGTERM in the middle of a write leaves no temporary file behind", "[cli][hostile]") {
  namespace fs = std::filesystem;
  for (const bool with_policy : {false, true}) {
    const fs::path dir = workspace().path(with_policy ? "signal-policy" : "signal-default");
    fs::create_directories(dir);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) interrupted_write((dir / "out.odp").string(), with_policy);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGTERM);
    const auto left = std::distance(fs::directory_iterator(dir), fs::directory_iterator());
    INFO("with the signal policy: " << with_policy);
    // Without the policy the temporary file stays (what the tools did before); with it, nothing is left.
    CHECK(left == (with_policy ? 0 : 1));
  }
}

TEST_CASE("a hostile corpus through all four tools: refused, no output, memory under a limit",
          "[cli][hostile]") {
  const Workspace& w = workspace();
  // A valid file for the tiny model declaring 8192 x 8192 in 65,536 one-token tiles (~100 kB).
  const odp::model::ModelInfo info = odp::model::read_model_info(w.path("tiny.safetensors"));
  odp::format::TokenFile bomb;
  bomb.header.width = bomb.header.height = 8192;
  bomb.header.tile_size = static_cast<uint32_t>(info.config.tile_size);
  bomb.header.model_id = info.model_id;
  bomb.header.codebook_bits = static_cast<uint8_t>(info.config.codebook_bits());
  bomb.tile_tokens.assign(bomb.header.tile_count(), std::vector<uint16_t>(1, 0));
  const std::vector<uint8_t> bomb_bytes = odp::format::write(bomb);
  odp::base::write_file_atomic(w.path("corpus-bomb.odp"), bomb_bytes);
  odp::base::write_file_atomic(w.path("corpus-bomb-cut.odp"),
                               std::vector<uint8_t>(bomb_bytes.begin(), bomb_bytes.begin() + 64));
  const std::vector<uint8_t> jpeg =
      odp::imageio::encode_image(odp::test::synthetic_image(64, 64), odp::imageio::ImageFormat::kJpeg, 90);
  std::vector<uint8_t> huge_jpeg = jpeg;
  for (size_t i = 0; i + 8 < huge_jpeg.size(); ++i)
    if (huge_jpeg[i] == 0xFF && huge_jpeg[i + 1] == 0xC0) {
      huge_jpeg[i + 5] = 0x40, huge_jpeg[i + 6] = 0, huge_jpeg[i + 7] = 0x40, huge_jpeg[i + 8] = 0;
      break;
    }
  odp::base::write_file_atomic(w.path("corpus-huge.jpg"), huge_jpeg);
  odp::base::write_file_atomic(w.path("corpus-cut.jpg"),
                               std::vector<uint8_t>(jpeg.begin(), jpeg.begin() + jpeg.size() / 2));
  const std::string garbage = "ODP\x02garbage\x1b[31m";
  odp::base::write_file_atomic(w.path("corpus-garbage.odp"),
                               std::vector<uint8_t>(garbage.begin(), garbage.end()));
  const std::string pnm = "P6 100000 100000 255\n";
  odp::base::write_file_atomic(w.path("corpus-huge.ppm"), std::vector<uint8_t>(pnm.begin(), pnm.end()));

  const std::string limit = "ulimit -v 2000000; ";  // 2 GB of address space (LibTorch maps ~1 GB at start)
  for (const char* name : {"corpus-bomb.odp", "corpus-bomb-cut.odp", "corpus-garbage.odp"}) {
    INFO(name);
    CHECK(run(limit + odpdec_tool + " " + name + " -o corpus-out.png --quiet").code == 2);
    // odptrunc never decodes pixels: the valid bomb is truncated in milliseconds, the others are refused.
    const bool valid = std::string(name) == "corpus-bomb.odp";
    CHECK(run(limit + odptrunc_tool + " " + name + " -o corpus-trunc.odp --tokens 1").code ==
          (valid ? 0 : 2));
    CHECK(exists(w.path("corpus-trunc.odp")) == valid);
    std::remove(w.path("corpus-trunc.odp").c_str());
    const int info_code = run(limit + odpinfo_tool + " " + name).code;
    CHECK((info_code == 0 || info_code == 2));  // odpinfo only reads the header: a valid bomb is described
    CHECK(run(limit + odpenc_tool + " " + name + " -o corpus-out.odp --quiet").code == 2);
  }
  for (const char* name : {"corpus-huge.jpg", "corpus-cut.jpg", "corpus-huge.ppm"}) {
    INFO(name);
    CHECK(run(limit + odpenc_tool + " " + name + " -o corpus-out.odp --quiet").code == 2);
    CHECK(run(limit + odpdec_tool + " " + name + " -o corpus-out.png --quiet").code == 2);
    CHECK(run(limit + odpinfo_tool + " " + name).code == 2);
  }
  CHECK_FALSE(exists(w.path("corpus-out.png")));
  CHECK_FALSE(exists(w.path("corpus-out.odp")));
  CHECK(run("ls -a | grep -c odp-tmp").out == "0\n");
}
