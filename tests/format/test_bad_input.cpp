// Bad input, version 1 (and what both versions share): bit flips, random bytes, foreign/empty files, reserved
// values, oversized declarations. Version 2's own cases are in test_bad_input_v2.cpp.
#include <catch2/catch.hpp>
#include <random>

#include "format_test_util.h"

using namespace odp::format;
using namespace odp::format::test;

namespace {

// read() must refuse `file` with a FormatError whose message contains `expected`.
void require_rejected(const std::vector<uint8_t>& file, const std::string& expected,
                      const ReadLimits& limits = {}) {
  try {
    read(file.data(), file.size(), {}, limits);
    FAIL("accepted a file that should fail with: " << expected);
  } catch (const FormatError& e) {
    INFO("message: " << e.what());
    CHECK(std::string(e.what()).find(expected) != std::string::npos);
  }
}

// Parses, allowing only success or FormatError (anything else fails the test).
void read_or_format_error(const std::vector<uint8_t>& file) {
  try {
    summarize(file.data(), file.size());
    read(file.data(), file.size());
  } catch (const FormatError&) {
  }
}

}  // namespace

TEST_CASE("every single-bit flip of a small version 1 file is rejected") {
  TokenFile image = make_image(40, 20, 16, 2, 7, {4, 2, 4, 4, 4, 4}, 9);
  image.header.version = 1;
  image.metadata.push_back({"EXIF", {1, 2, 3}});
  const std::vector<uint8_t> file = write(image);
  for (size_t bit = 0; bit < file.size() * 8; ++bit) {
    std::vector<uint8_t> flipped = file;
    flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    INFO("bit " << bit);
    CHECK_THROWS_AS(read(flipped.data(), flipped.size()), FormatError);
  }
}

TEST_CASE("empty, foreign and random input gives FormatError, never a crash") {
  require_rejected({}, "empty input");
  require_rejected({0x89, 'P', 'N', 'G', 0x0D, 0x0A}, "not an .odp file");
  require_rejected({'O', 'D'}, "not an .odp file");
  require_rejected({'O', 'D', 'P'}, "field 'version'");
  std::mt19937 random(42);
  for (int trial = 0; trial < 20000; ++trial) {
    std::vector<uint8_t> bytes(random() % 48);
    for (auto& b : bytes) b = static_cast<uint8_t>(random());
    if (trial % 4 == 1 && bytes.size() >= 4) {  // a quarter of the time get past v1's magic and version
      bytes[0] = 'O', bytes[1] = 'D', bytes[2] = 'P', bytes[3] = 1;
    }
    if (trial % 4 == 3 && bytes.size() >= 3) {  // a quarter: v2's signature, reserved flag bits clear
      bytes[0] = 0x4F, bytes[1] = 0x82, bytes[2] &= 0x3F;
    }
    read_or_format_error(bytes);
  }
}

TEST_CASE("version 1 header fields edited under a valid CRC: every value is checked or decodes") {
  TokenFile image = make_image(50, 30, 16, 3, 4, {3, 3, 2, 3, 3, 3, 3, 3, 3, 1, 3, 3}, 4);
  image.header.version = 1;
  const std::vector<uint8_t> file = write(image);
  const size_t header_end = summarize(file.data(), file.size()).header_bytes;
  std::mt19937 random(7);
  for (int trial = 0; trial < 20000; ++trial) {
    std::vector<uint8_t> edited = file;
    for (int edits = 1 + random() % 3; edits > 0; --edits) {
      edited[3 + random() % (header_end - 11)] = static_cast<uint8_t>(random());
    }
    reseal_header(edited, header_end);
    read_or_format_error(edited);
  }
}

TEST_CASE("reserved and out-of-range header values name their field") {
  RawHeader valid;
  REQUIRE_NOTHROW(read(valid.bytes().data(), valid.bytes().size()));
  const auto with = [&](auto edit) {
    RawHeader raw = valid;
    edit(raw);
    return raw.bytes();
  };
  require_rejected(with([](RawHeader& h) { h.version = 2; }), "version 2 in field 'version'");
  for (int bit = 2; bit < 8; ++bit) {
    require_rejected(with([&](RawHeader& h) { h.flags = static_cast<uint8_t>(1 << bit); }), "reserved bits");
  }
  for (int model = 2; model < 16; ++model) {
    require_rejected(with([&](RawHeader& h) { h.coding = static_cast<uint8_t>(model << 4 | 3); }),
                     "'coding'");
  }
  require_rejected(with([](RawHeader& h) { h.tile_log2 = 3; }), "'tile_log2'");
  require_rejected(with([](RawHeader& h) { h.tile_log2 = 13; }), "'tile_log2'");
  require_rejected(with([](RawHeader& h) { h.overlap = {16}; }), "'tile_overlap'");
  require_rejected(with([](RawHeader& h) { h.width = {0}; }), "'width'");
  require_rejected(with([](RawHeader& h) { h.height = {0x80, 0x80, 0x04}; }), "'width'/'height'");
  require_rejected(with([](RawHeader& h) { h.width = {0x90, 0x00}; }), "non-minimal LEB128");
  require_rejected(with([](RawHeader& h) {
                     h.width = {0xFF, 0xFF, 0xFF, 0xFF, 0x1F};
                   }),
                   "does not fit 32 bits");
  // Two tiles with the same count must use the single-count form.
  require_rejected(with([](RawHeader& h) { h.flags = 2, h.width = {32}, h.counts = {0, 0}; }), "same count");
  require_rejected(with([](RawHeader& h) { h.flags = 1, h.metadata = {0}; }), "'metadata_chunk_count'");
  require_rejected(with([](RawHeader& h) { h.flags = 1, h.metadata = {1, 'E', 'X', 0x01, 'F', 0}; }),
                   "'metadata_tag'");
  require_rejected(with([](RawHeader& h) {
                     h.payload.push_back(0);
                     h.payload_size = {1};
                   }),
                   "trailing");
  require_rejected(with([](RawHeader& h) { h.payload = {}; }), "determines only 0 of 1");
  std::vector<uint8_t> bad_payload_crc = valid.bytes();
  bad_payload_crc.back() ^= 1;
  require_rejected(bad_payload_crc, "payload CRC");
  std::vector<uint8_t> bad_header_crc = valid.bytes();
  bad_header_crc[9] ^= 0x40;  // model_id: any value is valid, only the CRC notices
  require_rejected(bad_header_crc, "header CRC");
}

TEST_CASE("declarations that would need absurd memory are refused before allocating") {
  RawHeader huge;
  huge.width = {0xFF, 0xFF, 0x03};  // 65535
  huge.height = {0xFF, 0xFF, 0x03};
  require_rejected(huge.bytes(), "pixels");
  ReadLimits generous;
  generous.max_pixels = uint64_t{1} << 40;
  require_rejected(huge.bytes(), "tiles", generous);  // 4096 x 4096 tiles of 16 px
  huge.tile_log2 = 12;
  huge.flags = 2;  // 16 x 16 = 256 per-tile counts that are not there
  require_rejected(huge.bytes(), "'token_counts'", generous);

  RawHeader metadata;
  metadata.flags = 1;
  metadata.metadata = {0xFF, 0xFF, 0xFF, 0xFF, 0x0F};  // 2^32 - 1 chunks
  require_rejected(metadata.bytes(), "'metadata_chunk_count'");
  metadata.metadata = {1, 'I', 'C', 'C', 'P', 0xFF, 0xFF, 0xFF, 0xFF, 0x0F};  // a 4 GiB chunk
  require_rejected(metadata.bytes(), "metadata exceeds");
  ReadLimits no_metadata_limit;
  no_metadata_limit.max_metadata_bytes = UINT64_MAX;
  require_rejected(metadata.bytes(), "'metadata_bytes'", no_metadata_limit);
}

TEST_CASE("write refuses images it cannot represent") {
  const auto rejects = [](const TokenFile& image, const std::string& expected) {
    try {
      write(image);
      FAIL("wrote an image that should fail with: " << expected);
    } catch (const FormatError& e) {
      INFO("message: " << e.what());
      CHECK(std::string(e.what()).find(expected) != std::string::npos);
    }
  };
  const TokenFile good = make_image(40, 16, 16, 0, 4, {3, 3, 3});
  REQUIRE_NOTHROW(write(good));
  TokenFile image = good;
  image.tile_tokens.pop_back();
  rejects(image, "grid needs 3");
  image = good;
  image.tile_tokens[1].clear();
  rejects(image, "tile 1 has 0 tokens");
  image.tile_tokens[1].assign(257, 0);
  rejects(image, "tile 1 has 257 tokens");
  image = good;
  image.tile_tokens[2][0] = 16;
  rejects(image, "token 16");
  image = good;
  image.header.tile_size = 48;
  rejects(image, "power of two");
  image = good;
  image.header.width = 70000;
  rejects(image, "'width'");
  image = good;
  image.metadata.push_back({"EXIF1", {}});
  rejects(image, "metadata tag");
  image = good;
  image.header.entropy_model = EntropyModel::kPositionTables;
  rejects(image, "none were supplied");
  FrequencyTables bad_sum;
  bad_sum.codebook_size = 16;
  bad_sum.per_position.assign(1, std::vector<uint16_t>(16, 4096));
  bad_sum.per_position[0][3] = 4095;
  CHECK_THROWS_WITH(write(image, bad_sum), Catch::Contains("sums to 65535"));
  bad_sum.per_position[0][3] = 0;
  bad_sum.per_position[0][4] = 8192;
  CHECK_THROWS_WITH(write(image, bad_sum), Catch::Contains("frequency 0"));
}
