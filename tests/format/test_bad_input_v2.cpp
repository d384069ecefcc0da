// Bad input, version 2: a file cut at every byte, every bit flipped, every field's reserved and
// non-canonical values, absurd sizes: an error naming the field, or the best prefix for a cut, never a crash.
#include <catch2/catch.hpp>
#include <cstdio>
#include <random>

#include "format_test_util.h"

using namespace odp::format;
using namespace odp::format::test;

namespace {

void require_rejected(const std::vector<uint8_t>& file, const std::string& expected,
                      const ReadLimits& limits = {}) {
  try {
    read(file.data(), file.size(), {}, limits);
    FAIL("accepted a file that should fail with: " << expected);
  } catch (const FormatError& e) {
    INFO("message: " << e.what() << "\nexpected: " << expected);
    CHECK(std::string(e.what()).find(expected) != std::string::npos);
  }
}

// A two-tile file with per-tile counts, overlap, colour, coded size and a stored and a zstd chunk: every
// optional field of spec section 3 present.
TokenFile every_field_image() {
  TokenFile image = make_image(600, 300, 256, 8, 7, {4, 2, 4, 4}, 9);
  image.header.colour = ColourSpace::kUnspecified;
  image.header.grey = true;
  image.header.coded_width = 400;
  image.header.coded_height = 280;  // 2x2 tiles at overlap 8
  image.metadata.push_back({"EXIF", {1, 2, 3}});
  image.metadata.push_back({"ICCP", std::vector<uint8_t>(200, 0x55)});
  return image;
}

}  // namespace

TEST_CASE("version 2: a cut at every byte is an error inside the header, else a reported prefix") {
  for (const TokenFile& image : {every_field_image(), make_image(256, 256, 256, 0, 12, {40}, 3)}) {
    const std::vector<uint8_t> file = write(image);
    const size_t header = summarize(file.data(), file.size()).header_bytes;
    for (size_t cut = 0; cut < file.size(); ++cut) {
      INFO("cut " << cut << " of " << file.size());
      if (cut < header) {
        CHECK_THROWS_AS(read(file.data(), cut), FormatError);
        continue;
      }
      const TokenFile back = read(file.data(), cut);
      CHECK(back.was_cut);
      CHECK(back.tile_tokens == token_major_prefix(image, total_tokens(back)).tile_tokens);
    }
    CHECK_FALSE(read(file.data(), file.size()).was_cut);
  }
}

TEST_CASE("version 2: no single-bit flip is read as a whole file") {
  int errors = 0, cuts = 0;
  for (const TokenFile& image : {every_field_image(), make_image(256, 256, 256, 0, 12, {16}, 4)}) {
    const std::vector<uint8_t> file = write(image);
    for (size_t bit = 0; bit < file.size() * 8; ++bit) {
      std::vector<uint8_t> flipped = file;
      flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      INFO("bit " << bit);
      try {
        const TokenFile back = read(flipped.data(), flipped.size());
        CHECK(back.was_cut);  // damage the reader cannot tell from a cut (spec 7.1), never "whole"
        ++cuts;
      } catch (const FormatError&) {
        ++errors;
      }
    }
  }
  std::printf("version 2 bit flips: %d refused with an error, %d read as cut files, 0 as whole\n", errors,
              cuts);
  CHECK(errors > 5 * cuts);
}

TEST_CASE("version 2: header fields edited under a valid check: every value is checked or decodes") {
  const std::vector<uint8_t> file = write(every_field_image());
  const size_t header_end = summarize(file.data(), file.size()).header_bytes;
  std::mt19937 random(11);
  int accepted = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    std::vector<uint8_t> edited = file;
    for (int edits = 1 + random() % 3; edits > 0; --edits) {
      edited[2 + random() % (header_end - 4)] = static_cast<uint8_t>(random());
    }
    try {
      const Summary summary = summarize(edited.data(), edited.size());
      reseal_v2(edited, summary.header_bytes);
      read(edited.data(), edited.size());
      ++accepted;
    } catch (const FormatError&) {
    }
  }
  CHECK(accepted > 0);  // the resealing reached the checks behind the CRC
}

TEST_CASE("version 2: size form 3 and the one-tile coded size, and the earlier writers' forms they replace") {
  const RawV2 valid;
  const auto with = [&](auto edit) {
    RawV2 raw = valid;
    edit(raw);
    return raw.bytes();
  };
  const auto scaled = [](std::vector<uint8_t> extensions) {  // a 64x32 image (size form 1), 16-pixel tiles
    return [extensions](RawV2& f) { f.flags |= 0x11, f.size = {63, 31}, f.extensions = extensions; };
  };
  // Form 3 (u24le, two 12-bit sides): only for a side above 256; form 2 for such a size is an earlier
  // writer's and reads (spec 3.3).
  require_rejected(with([](RawV2& f) { f.flags |= 3, f.size = {15, 0xF0, 0x00}; }), "must use size_form 0");
  require_rejected(with([](RawV2& f) {
                     f.flags |= 3, f.size = {19, 0xB0, 0x00};
                   }),
                   "20x12 is stored in size_form 3 but must use size_form 1");
  std::vector<uint8_t> cut_in_size = with([](RawV2& f) { f.flags |= 3, f.size = {0x2B, 0x31, 0x01}; });
  cut_in_size.resize(9);  // signature, flags, model_id, coding, 2 of the 3 size bytes
  require_rejected(cut_in_size, "'size'");
  const auto wide_tile = [](RawV2& f) { f.coding = {9, 0x03}; };  // 512-pixel tiles: 300x20 is one tile
  const std::vector<uint8_t> form3 = with([&](RawV2& f) {
    wide_tile(f), f.flags |= 3, f.size = {0x2B, 0x31, 0x01};
  });
  const TokenFile wide = read(form3.data(), form3.size());
  CHECK(wide.header.width == 300);
  CHECK(wide.header.height == 20);
  const std::vector<uint8_t> form2 = with([&](RawV2& f) {
    wide_tile(f), f.flags |= 2, f.size = {0xAB, 0x02, 0x13};
  });
  const TokenFile wide_earlier = read(form2.data(), form2.size());
  CHECK(wide_earlier.header.width == 300);
  CHECK(wide_earlier.header.height == 20);
  CHECK(write(wide_earlier) == form3);
  // The one-tile form (ext_flags bit 5 without bit 4, no bytes): the image squeezed into one 16-pixel tile.
  require_rejected(with([](RawV2& f) {
                     f.flags |= 0x11, f.size = {63, 31}, f.extensions = {0x20};
                   }),
                   "bit 5 (coded_size's per-axis or one-tile form) is set without bit 1");
  require_rejected(
      with([](RawV2& f) {
        f.flags |= 0x11, f.size = {15, 7}, f.extensions = {0x22};
      }),
      "field 'ext_flags' = 0x22: bit 5 without bit 4 (coded_size's one-tile form) on a 16x8 image "
      "that fits one tile of 16");
  const std::vector<uint8_t> one_tile = with(scaled({0x22}));
  const Header one_tile_header = read(one_tile.data(), one_tile.size()).header;
  CHECK(one_tile_header.coded_width == 16);
  CHECK(one_tile_header.coded_height == 16);
  // The same coded size in per-axis form, as writers before the one-tile form wrote it: read, rewritten
  // 2 bytes shorter.
  const std::vector<uint8_t> one_tile_earlier = with(scaled({0x32, 63, 32}));
  const TokenFile one_tile_earlier_back = read(one_tile_earlier.data(), one_tile_earlier.size());
  CHECK(one_tile_earlier_back.header.coded_width == 16);
  CHECK(one_tile_earlier_back.header.coded_height == 16);
  CHECK(write(one_tile_earlier_back) == one_tile);
}

TEST_CASE("version 2: reserved and non-canonical values name their field") {
  const RawV2 valid;
  REQUIRE_NOTHROW(read(valid.bytes().data(), valid.bytes().size()));
  const auto with = [&](auto edit) {
    RawV2 raw = valid;
    edit(raw);
    return raw.bytes();
  };
  require_rejected(with([](RawV2& f) { f.byte1 = 0x83; }), "version 3");
  require_rejected(with([](RawV2& f) { f.byte1 = 0x81; }), "version 1 (field 'signature'");
  require_rejected(with([&](RawV2& f) { f.flags = static_cast<uint8_t>(f.flags | 0x80); }), "reserved bit 7");
  require_rejected(with([](RawV2& f) { f.coding = {3, 0x03}; }), "field 'tile_log2'");
  require_rejected(with([](RawV2& f) { f.coding = {13, 0x03}; }), "field 'tile_log2'");
  require_rejected(with([](RawV2& f) { f.coding = {8, 0x1B}; }), "hold the defaults");
  for (int model = 2; model < 16; ++model)
    require_rejected(with([&](RawV2& f) {
                       f.coding = {4, static_cast<uint8_t>(model << 4 | 3)};
                     }),
                     "'coding'");
  // size: each form only where it is the canonical one.
  require_rejected(with([](RawV2& f) { f.flags |= 1, f.size = {15, 15}; }), "must use size_form 0");
  require_rejected(with([](RawV2& f) { f.flags |= 2, f.size = {19, 11}; }), "must use size_form 1");
  require_rejected(with([](RawV2& f) {
                     f.flags |= 2, f.size = {0xFF, 0xFF, 0x03, 0};
                   }),
                   "field 'width' = 65536");
  require_rejected(with([](RawV2& f) { f.flags |= 2, f.size = {0x80, 0x00, 0}; }), "non-minimal LEB128");
  // overlap: present only when non-zero, below the tile.
  require_rejected(with([](RawV2& f) { f.flags |= 8, f.overlap = {0}; }), "field 'tile_overlap' is 0");
  require_rejected(with([](RawV2& f) { f.flags |= 8, f.overlap = {16}; }), "field 'tile_overlap' = 16");
  // extensions.
  require_rejected(with([](RawV2& f) { f.flags |= 0x10, f.extensions = {0}; }), "field 'ext_flags'");
  require_rejected(with([](RawV2& f) { f.flags |= 0x10, f.extensions = {0x10}; }), "field 'ext_flags'");
  require_rejected(with([](RawV2& f) { f.flags |= 0x10, f.extensions = {1, 0}; }), "field 'colour' is 0x00");
  require_rejected(with([](RawV2& f) {
                     f.flags |= 0x10, f.extensions = {1, 2};
                   }),
                   "colour space 2 is reserved");
  const std::vector<uint8_t> grey = with([](RawV2& f) { f.flags |= 0x10, f.extensions = {1, 0x81}; });
  CHECK(read(grey.data(), grey.size()).header.grey);
  require_rejected(with([](RawV2& f) {
                     f.flags |= 0x10, f.extensions = {2, 15, 15};
                   }),
                   "equals the image size");
  require_rejected(with([](RawV2& f) {
                     f.flags |= 0x10, f.extensions = {2, 16, 3};
                   }),
                   "exceeds the image size");
  // coded_size's scale form (5.2), over a 64x32 image (size form 1).
  const auto scaled = [](std::vector<uint8_t> extensions) {
    return [extensions](RawV2& f) { f.flags |= 0x11, f.size = {63, 31}, f.extensions = extensions; };
  };
  require_rejected(with(scaled({0x12, 16})), "field 'coded_scale' = 16 out of range");
  require_rejected(with(scaled({0x12, 0})), "field 'coded_scale' = 0 out of range");
  require_rejected(with([](RawV2& f) {
                     f.flags |= 0x11, f.size = {7, 7}, f.extensions = {0x12, 19};
                   }),
                   "field 'coded_scale' = 19 is not canonical: 18 gives the same coded size 7x7");
  require_rejected(with(scaled({0x12})), "'coded_scale'");  // the file ends where q should be
  require_rejected(with([](RawV2& f) {
                     f.flags |= 0x11, f.size = {7, 7}, f.extensions = {0x12, 17};
                   }),
                   "field 'coded_scale' = 17 gives the image size 8x8");
  const std::vector<uint8_t> halved = with(scaled({0x12, 32}));
  const Header header = read(halved.data(), halved.size()).header;
  CHECK(header.coded_width == 32);
  CHECK(header.coded_height == 16);
  // Its per-axis form (ext_flags bits 4 and 5, two q of 16..255), over the same 64x32 image.
  require_rejected(with(scaled({0x32, 15, 32})), "field 'coded_scale_x' = 15 out of range (16..255)");
  require_rejected(with(scaled({0x32, 16, 0})), "field 'coded_scale_y' = 0 out of range (16..255)");
  require_rejected(with(scaled({0x32, 15, 3})), "field 'coded_scale_x' = 15 out of range");
  require_rejected(with(scaled({0x32, 16, 16})), "give the image size");
  require_rejected(with(scaled({0x32, 32, 32})),
                   "not canonical: the one-byte scale form 32 gives the same coded size 32x16");
  require_rejected(with(scaled({0x32, 16})), "'coded_scale_y'");  // the file ends where qy should be
  require_rejected(with([](RawV2& f) {
                     f.flags |= 0x11, f.size = {7, 7}, f.extensions = {0x32, 17, 32};
                   }),
                   "field 'coded_scale_x' = 17 is not canonical: 16 gives the same coded size 8x4");
  const std::vector<uint8_t> squashed = with(scaled({0x32, 16, 32}));
  const Header squashed_header = read(squashed.data(), squashed.size()).header;
  CHECK(squashed_header.coded_width == 64);
  CHECK(squashed_header.coded_height == 16);
  // metadata.
  require_rejected(with([](RawV2& f) { f.flags |= 0x10, f.extensions = {4, 0}; }), "'metadata_chunk_count'");
  require_rejected(with([](RawV2& f) { f.flags |= 0x10, f.extensions = {4, 1, 'E', 'X', 1, 'F', 0, 0}; }),
                   "'metadata_tag'");
  require_rejected(with([](RawV2& f) { f.flags |= 0x10, f.extensions = {4, 1, 'E', 'X', 'I', 'F', 2, 0}; }),
                   "field 'chunk_coding' of chunk 0 = 2");
  require_rejected(
      with([](RawV2& f) { f.flags |= 0x10, f.extensions = {4, 1, 'E', 'X', 'I', 'F', 1, 2, 1, 2}; }),
      "not a zstd frame");
  // counts.
  require_rejected(with([](RawV2& f) {
                     f.flags = 0x25, f.size = {31, 15}, f.counts = {0, 0};
                   }),
                   "same count");
  // packed counts (4.1), over a 32x32 image of 2x2 tiles (size form 1): valid are count_max 2, width 1,
  // deficits 0 1 0 0 (bits 3-6 of the first byte), i.e. counts 2 1 2 2.
  const auto packed = [](std::vector<uint8_t> counts) {
    return [counts](RawV2& f) { f.flags = 0x45, f.size = {31, 31}, f.counts = counts; };
  };
  {
    TokenFile image = make_image(32, 32, 16, 0, 4, {2, 1, 2, 2}, 3);
    const std::vector<uint8_t> file = write(image);
    REQUIRE(file[2] == 0x45);
    REQUIRE(std::vector<uint8_t>(file.begin() + 9, file.begin() + 11) == std::vector<uint8_t>{0x01, 0x10});
    CHECK(read(file.data(), file.size()).tile_tokens == image.tile_tokens);
  }
  require_rejected(with([](RawV2& f) {
                     f.flags = 0x65, f.size = {31, 31}, f.counts = {1, 0x10};
                   }),
                   "bits 5 (PER_TILE_COUNTS) and 6 (PACKED_COUNTS) are both set");
  require_rejected(with(packed({0, 0x10})), "field 'count_deficits': tile 1's deficit 1 leaves no token");
  require_rejected(with(packed({1, 0x90})), "field 'count_deficits': the padding bits");
  require_rejected(with(packed({1, 0x00})), "PACKED_COUNTS) is set but all tiles have the same count");
  require_rejected(with(packed({2, 0xC9, 0x02})), "field 'count_max' = 3 is not canonical");
  require_rejected(with(packed({1, 0x21, 0x00})), "field 'count_width' = 2 is not canonical");
  require_rejected(with([](RawV2& f) {
                     f.flags = 0x45, f.size = {31, 15}, f.counts = {1, 0x10};
                   }),
                   "PACKED_COUNTS) is not canonical: its 2 bytes are not fewer than the per-tile form's 2");
  const std::vector<uint8_t> whole = with(packed({1, 0x10}));
  require_rejected({whole.begin(), whole.begin() + 9}, "field 'count_max'");        // the file ends before it
  require_rejected({whole.begin(), whole.begin() + 10}, "field 'count_deficits'");  // ... before the bits
  // payload and check.
  require_rejected(with([](RawV2& f) { f.payload.push_back(0); }), "1 trailing byte(s)");
  require_rejected(with([](RawV2& f) { f.payload = {0x81}; }), "not the canonical encoding");
  require_rejected(with([](RawV2& f) { f.check = {0, 0}; }), "check mismatch (field 'check'");
  const std::vector<uint8_t> valid_bytes = valid.bytes();
  const std::vector<uint8_t> valid_check{valid_bytes.end()[-3], valid_bytes.end()[-2]};
  require_rejected(with([&](RawV2& f) {
                     f.model_id = {0x35, 0x12}, f.check = valid_check;
                   }),
                   "check mismatch");
}

TEST_CASE("version 2: zstd metadata is checked before and after decompressing") {
  TokenFile image = make_image(16, 16, 16, 0, 4, {1}, 1);
  image.metadata.push_back({"ICCP", std::vector<uint8_t>(5000, 0x41)});
  std::vector<uint8_t> file = write(image);
  REQUIRE(read(file.data(), file.size()).metadata.at(0).bytes == image.metadata[0].bytes);
  ReadLimits small;
  small.max_metadata_bytes = 4999;  // the stored frame is tiny; its content is not
  require_rejected(file, "metadata exceeds the reader's limit of 4999 bytes (field 'metadata_bytes'", small);
  // Damage inside the frame: the frame checks or the check field catch it, never a crash.
  const size_t header = summarize(file.data(), file.size()).header_bytes;
  for (size_t at = 5; at + 3 < header; ++at) {
    for (int value : {0x00, 0xFF, 0x28}) {
      std::vector<uint8_t> edited = file;
      edited[at] = static_cast<uint8_t>(value);
      try {
        const Summary summary = summarize(edited.data(), edited.size());
        reseal_v2(edited, summary.header_bytes);
        read(edited.data(), edited.size());
      } catch (const FormatError&) {
      }
    }
  }
}

TEST_CASE("version 2: declarations that would need absurd memory are refused before allocating") {
  RawV2 huge;
  huge.flags = 0x06;                                 // size_form 2, CODING
  huge.size = {0xFE, 0xFF, 0x03, 0xFE, 0xFF, 0x03};  // 65535 x 65535
  require_rejected(huge.bytes(), "pixels");
  ReadLimits generous;
  generous.max_pixels = uint64_t{1} << 40;
  require_rejected(huge.bytes(), "tiles", generous);  // 4096 x 4096 tiles of 16 px
  huge.coding = {12, 0x03};
  huge.flags |= 0x20;  // 16 x 16 = 256 per-tile counts that are not there
  require_rejected(huge.bytes(), "'token_counts'", generous);

  RawV2 metadata;
  metadata.flags |= 0x10;
  metadata.extensions = {4, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F};  // 2^32 - 1 chunks
  require_rejected(metadata.bytes(), "'metadata_chunk_count'");
  metadata.extensions = {4, 1, 'I', 'C', 'C', 'P', 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F};  // a 4 GiB chunk
  require_rejected(metadata.bytes(), "metadata exceeds");
  ReadLimits no_metadata_limit;
  no_metadata_limit.max_metadata_bytes = UINT64_MAX;
  require_rejected(metadata.bytes(), "'metadata_bytes'", no_metadata_limit);
}

TEST_CASE("version 2: write refuses what it cannot represent") {
  TokenFile image = make_image(40, 16, 16, 0, 4, {3, 3, 3});
  image.header.colour = static_cast<ColourSpace>(5);
  CHECK_THROWS_WITH(write(image), Catch::Contains("field 'colour'"));
  image = make_image(40, 16, 16, 0, 4, {3, 3, 3});
  image.header.coded_width = 41;
  CHECK_THROWS_WITH(write(image), Catch::Contains("field 'coded_size'"));
  image.header.coded_width = 0;
  const std::vector<uint8_t> v2 = write(image);
  TokenFile back = read(v2.data(), v2.size());
  back.header.version = 1;  // a 16-bit id cannot become version 1's 32-bit one
  CHECK_THROWS_WITH(write(back), Catch::Contains("32-bit model_id"));
  image.header.version = 3;
  CHECK_THROWS_WITH(write(image), Catch::Contains("version 3"));
}
