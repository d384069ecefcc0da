// convert_to_srgb: sRGB profiles keep pixels bit-exact, a wide-gamut profile is converted, a broken one is
// refused with a reason and the pixels left alone; encode() records the colour it is told.
#include <lcms2.h>

#include <catch2/catch.hpp>

#include "codec/colour.h"
#include "codec/odp.h"
#include "format/odp_format.h"
#include "test_support.h"

using namespace odp::codec;

namespace {

std::vector<uint8_t> saved(cmsHPROFILE profile) {
  cmsUInt32Number size = 0;
  REQUIRE(cmsSaveProfileToMem(profile, nullptr, &size));
  std::vector<uint8_t> bytes(size);
  REQUIRE(cmsSaveProfileToMem(profile, bytes.data(), &size));
  cmsCloseProfile(profile);
  return bytes;
}

// Adobe RGB (1998)-like: wider primaries than sRGB, gamma 2.2.
std::vector<uint8_t> wide_gamut_profile() {
  const cmsCIExyY white = {0.3127, 0.3290, 1.0};
  const cmsCIExyYTRIPLE primaries = {{0.64, 0.33, 1.0}, {0.21, 0.71, 1.0}, {0.15, 0.06, 1.0}};
  cmsToneCurve* gamma = cmsBuildGamma(nullptr, 2.2);
  cmsToneCurve* curves[3] = {gamma, gamma, gamma};
  cmsHPROFILE profile = cmsCreateRGBProfile(&white, &primaries, curves);
  cmsFreeToneCurve(gamma);
  return saved(profile);
}

}  // namespace

TEST_CASE("convert_to_srgb: none, sRGB, wide gamut, grey and refused profiles", "[codec]") {
  const Image original = odp::test::synthetic_image(30, 20);

  Image image = original;
  SrgbConversion result = convert_to_srgb(image);
  CHECK(result.is_srgb);
  CHECK(result.message.empty());

  image.icc = saved(cmsCreate_sRGBProfile());
  result = convert_to_srgb(image);
  CHECK(result.is_srgb);
  CHECK_FALSE(result.changed_pixels);
  CHECK(image.rgb == original.rgb);
  CHECK_THAT(result.message, Catch::Contains("is sRGB"));

  image = original;
  image.icc = wide_gamut_profile();
  result = convert_to_srgb(image);
  CHECK(result.is_srgb);
  CHECK(result.changed_pixels);
  CHECK_THAT(result.message, Catch::Contains("converted"));
  // Saturated wide-gamut red lies outside sRGB: it clips to full red; a mid grey stays grey.
  Image red;
  red.width = 2, red.height = 1;
  red.rgb = {255, 0, 0, 128, 128, 128};
  red.icc = wide_gamut_profile();
  convert_to_srgb(red);
  CHECK(red.rgb[0] == 255);
  CHECK(red.rgb[1] <= 2);
  CHECK(red.rgb[3] == red.rgb[4]);
  CHECK(red.rgb[4] == red.rgb[5]);

  Image grey = original;
  cmsToneCurve* gamma = cmsBuildGamma(nullptr, 1.8);
  grey.icc = saved(cmsCreateGrayProfile(cmsD50_xyY(), gamma));
  cmsFreeToneCurve(gamma);
  result = convert_to_srgb(grey);
  CHECK(result.is_srgb);
  for (size_t i = 0; i < grey.rgb.size(); i += 3)
    CHECK((grey.rgb[i] == grey.rgb[i + 1] && grey.rgb[i] == grey.rgb[i + 2]));

  image = original;
  image.icc = {1, 2, 3, 4, 5, 6, 7, 8};
  result = convert_to_srgb(image);
  CHECK_FALSE(result.is_srgb);
  CHECK(image.rgb == original.rgb);
  CHECK_THAT(result.message, Catch::Contains("refused by Little CMS") && Catch::Contains("as they are"));
  image.icc = saved(cmsCreateLab4Profile(nullptr));  // readable, but not RGB or grey
  result = convert_to_srgb(image);
  CHECK_FALSE(result.is_srgb);
  CHECK_THAT(result.message, Catch::Contains("neither RGB nor grey"));
}

TEST_CASE("encode records the colour it is told, sRGB in no header byte", "[codec]") {
  odp::test::FakeTileModel model;
  Image image = odp::test::synthetic_image(32, 32);
  EncodeOptions options;
  options.rate = RateControl::kTokens;
  options.tokens = 4;
  const auto colour_of = [&](const Image& input) {
    const EncodeResult encoded = encode(input, model, options);
    return odp::format::summarize(encoded.bytes.data(), encoded.bytes.size()).header.colour;
  };
  CHECK(colour_of(image) == odp::format::ColourSpace::kSrgb);
  image.icc = {1, 2, 3};
  CHECK(colour_of(image) == odp::format::ColourSpace::kUnspecified);  // kAuto: a profile that was not applied
  options.colour = EncodeOptions::Colour::kSrgb;                      // odpenc converted the pixels
  CHECK(colour_of(image) == odp::format::ColourSpace::kSrgb);
  options.colour = EncodeOptions::Colour::kUnspecified;
  image.icc.clear();
  CHECK(colour_of(image) == odp::format::ColourSpace::kUnspecified);
}

TEST_CASE("decode tags its output with a kept profile only when the pixels were not converted", "[codec]") {
  odp::test::FakeTileModel model;
  Image image = odp::test::synthetic_image(32, 32);
  image.icc = {1, 2, 3};
  EncodeOptions options;
  options.rate = RateControl::kTokens;
  options.tokens = 4;
  options.colour = EncodeOptions::Colour::kSrgb;  // converted: the profile is the source's, for the record
  EncodeResult encoded = encode(image, model, options);
  CHECK(odp::format::summarize(encoded.bytes.data(), encoded.bytes.size()).metadata.size() == 1);
  CHECK(decode(encoded.bytes.data(), encoded.bytes.size(), model).icc.empty());
  options.colour = EncodeOptions::Colour::kUnspecified;  // coded as they were: the profile describes them
  encoded = encode(image, model, options);
  CHECK(decode(encoded.bytes.data(), encoded.bytes.size(), model).icc == image.icc);
}
