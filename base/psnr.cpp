// PSNR over whole images, in terms of the one formula of psnr.h.
#include "base/psnr.h"

#include <string>

#include "base/error.h"

namespace odp::base {

double psnr(const Image& reference, const Image& decoded) {
  if (reference.width != decoded.width || reference.height != decoded.height ||
      reference.rgb.size() != decoded.rgb.size())
    throw Error("cannot compare images of different sizes (" + std::to_string(reference.width) + "x" +
                    std::to_string(reference.height) + " and " + std::to_string(decoded.width) + "x" +
                    std::to_string(decoded.height) + ")",
                ErrorKind::kUsage);
  double squared = 0;
  for (size_t i = 0; i < reference.rgb.size(); ++i) {
    const double difference = double(reference.rgb[i]) - decoded.rgb[i];
    squared += difference * difference;
  }
  return psnr_from_squared_error(squared, reference.rgb.size());
}

}  // namespace odp::base
