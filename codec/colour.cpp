// ICC-tagged pixels to sRGB with Little CMS: one context per call (its error messages are the caller's), an
// exact pass-through when the profile already is sRGB.
#include "codec/colour.h"

#include <lcms2.h>

#include <cstdlib>
#include <memory>
#include <type_traits>
#include <vector>

namespace odp::codec {
namespace {

void collect_error(cmsContext context, cmsUInt32Number, const char* text) {
  auto* errors = static_cast<std::string*>(cmsGetContextUserData(context));
  if (errors && text) *errors += (errors->empty() ? "" : "; ") + std::string(text);
}

struct ContextCloser {
  void operator()(cmsContext context) const { cmsDeleteContext(context); }
};
struct ProfileCloser {
  void operator()(void* profile) const { cmsCloseProfile(static_cast<cmsHPROFILE>(profile)); }
};
struct TransformCloser {
  void operator()(void* transform) const { cmsDeleteTransform(static_cast<cmsHTRANSFORM>(transform)); }
};

std::string description_of(cmsHPROFILE profile) {
  char text[256] = {};
  if (cmsGetProfileInfoASCII(profile, cmsInfoDescription, "en", "US", text, sizeof text) == 0)
    return "unnamed";
  return text;
}

// Whether the transform moves no sample of a 16-level RGB lattice (and no grey) by more than one level: then
// the profile is sRGB in all but its encoding (the common 3,144-byte "sRGB IEC61966-2.1" profile differs from
// Little CMS's own sRGB by rounding) and the pixels stay bit-exact rather than pick up rounding noise.
bool is_srgb_already(cmsHTRANSFORM transform, bool grey_input) {
  std::vector<uint8_t> rgb;
  for (int r = 0; r < 256; r += 17)
    for (int g = 0; g < 256; g += 17)
      for (int b = 0; b < 256; b += 17) rgb.insert(rgb.end(), {uint8_t(r), uint8_t(g), uint8_t(b)});
  for (int v = 0; v < 256; ++v) rgb.insert(rgb.end(), {uint8_t(v), uint8_t(v), uint8_t(v)});
  const size_t pixels = rgb.size() / 3;
  std::vector<uint8_t> in = rgb, out(rgb.size());
  if (grey_input) {  // one channel in: the expected output is that value in all three
    in.resize(pixels);
    for (size_t i = 0; i < pixels; ++i) in[i] = rgb[3 * i], rgb[3 * i + 1] = rgb[3 * i + 2] = rgb[3 * i];
  }
  cmsDoTransform(transform, in.data(), out.data(), static_cast<cmsUInt32Number>(pixels));
  for (size_t i = 0; i < rgb.size(); ++i)
    if (std::abs(int{out[i]} - int{rgb[i]}) > 1) return false;
  return true;
}

}  // namespace

SrgbConversion convert_to_srgb(base::Image& image) {
  SrgbConversion result;
  if (image.icc.empty()) {
    result.is_srgb = true;
    return result;
  }
  std::string errors;
  std::unique_ptr<std::remove_pointer_t<cmsContext>, ContextCloser> context(
      cmsCreateContext(nullptr, &errors));
  if (!context) {
    result.message = "Little CMS could not start; the pixels are coded as they are (colour unspecified)";
    return result;
  }
  cmsSetLogErrorHandlerTHR(context.get(), collect_error);
  const auto refuse = [&](const std::string& why) {
    result.message = "the ICC profile (" + std::to_string(image.icc.size()) +
                     " bytes) was refused by Little CMS: " + why +
                     (errors.empty() ? "" : " (" + errors + ")") +
                     "; the pixels are coded as they are (colour unspecified)";
    return result;
  };
  std::unique_ptr<void, ProfileCloser> source(cmsOpenProfileFromMemTHR(
      context.get(), image.icc.data(), static_cast<cmsUInt32Number>(image.icc.size())));
  if (!source) return refuse("not a readable profile");
  const cmsColorSpaceSignature space = cmsGetColorSpace(source.get());
  if (space != cmsSigRgbData && space != cmsSigGrayData)
    return refuse("it describes neither RGB nor grey pixels");
  const bool grey_input = space == cmsSigGrayData;
  std::unique_ptr<void, ProfileCloser> srgb(cmsCreate_sRGBProfileTHR(context.get()));
  std::unique_ptr<void, TransformCloser> transform(
      cmsCreateTransformTHR(context.get(), source.get(), grey_input ? TYPE_GRAY_8 : TYPE_RGB_8, srgb.get(),
                            TYPE_RGB_8, INTENT_RELATIVE_COLORIMETRIC, cmsFLAGS_BLACKPOINTCOMPENSATION));
  if (!transform) return refuse("no transform to sRGB");
  const std::string name = description_of(source.get());
  result.is_srgb = true;
  if (is_srgb_already(transform.get(), grey_input)) {
    result.message = "ICC profile '" + name + "' is sRGB (within one level): pixels kept as they are";
    return result;
  }
  const size_t pixels = static_cast<size_t>(image.width) * image.height;
  if (grey_input) {  // a grey profile describes the first channel (the readers expand grey to R = G = B)
    std::vector<uint8_t> grey(pixels);
    for (size_t i = 0; i < pixels; ++i) grey[i] = image.rgb[3 * i];
    cmsDoTransform(transform.get(), grey.data(), image.rgb.data(), static_cast<cmsUInt32Number>(pixels));
  } else {
    cmsDoTransform(transform.get(), image.rgb.data(), image.rgb.data(), static_cast<cmsUInt32Number>(pixels));
  }
  result.changed_pixels = true;
  result.message = "converted from ICC profile '" + name + "' to sRGB";
  return result;
}

}  // namespace odp::codec
