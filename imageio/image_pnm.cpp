// Netpbm: PGM/PPM (P2, P3, P5, P6; any maxval up to 65535) in, binary 8-bit PPM (P6) out.
#include <cctype>
#include <string>

#include "imageio/image_formats.h"

namespace odp::imageio::detail {
namespace {

// Reads the whitespace- and comment-separated header fields and ASCII samples of a Netpbm file.
class PnmScanner {
 public:
  PnmScanner(const uint8_t* data, size_t size, const std::string& name)
      : data_(data), size_(size), name_(name) {}

  uint64_t number(const char* field) {
    skip_separators();
    if (position_ >= size_ || !std::isdigit(data_[position_]))
      throw Error(name_ + ": corrupt PNM header: expected the " + field + " as a number");
    uint64_t value = 0;
    while (position_ < size_ && std::isdigit(data_[position_])) {
      value = value * 10 + (data_[position_++] - '0');
      if (value > (1ull << 40)) throw Error(name_ + ": corrupt PNM header: the " + field + " is too large");
    }
    return value;
  }
  size_t position() const { return position_; }
  void skip(size_t count) { position_ += count; }

 private:
  void skip_separators() {
    while (position_ < size_) {
      if (data_[position_] == '#') {
        while (position_ < size_ && data_[position_] != '\n') ++position_;
      } else if (std::isspace(data_[position_])) {
        ++position_;
      } else {
        return;
      }
    }
  }
  const uint8_t* data_;
  size_t size_;
  size_t position_ = 2;  // after the "Pn" magic
  const std::string& name_;
};

}  // namespace

Image decode_pnm(const uint8_t* data, size_t size, const std::string& name, const ReadOptions& options) {
  const char kind = static_cast<char>(data[1]);
  if (kind != '2' && kind != '3' && kind != '5' && kind != '6')
    throw Error(name + ": unsupported Netpbm variant P" + std::string(1, kind) +
                " (odp reads P2, P3, P5, P6)");
  const bool ascii = kind == '2' || kind == '3';
  const int channels = (kind == '3' || kind == '6') ? 3 : 1;
  PnmScanner scanner(data, size, name);
  const uint64_t width = scanner.number("width");
  const uint64_t height = scanner.number("height");
  const uint64_t max_value = scanner.number("maximum value");
  if (max_value == 0 || max_value > 65535)
    throw Error(name + ": corrupt PNM header: maximum value " + std::to_string(max_value) +
                " is not in 1..65535");
  check_dimensions(width, height, options, name);
  const uint64_t sample_count = width * height * channels;
  const int bytes_per_sample = max_value > 255 ? 2 : 1;
  if (ascii && sample_count > size)  // every ASCII sample takes at least two bytes
    throw Error(name + ": the PNM file is truncated (fewer samples than its size needs)");
  if (!ascii) {
    scanner.skip(1);  // exactly one whitespace byte separates the header from binary samples
    if (size < scanner.position() || (size - scanner.position()) / bytes_per_sample < sample_count)
      throw Error(name + ": the PNM file is truncated (fewer samples than " + std::to_string(width) + "x" +
                  std::to_string(height) + " needs)");
  }
  Image image;
  image.width = static_cast<int>(width);
  image.height = static_cast<int>(height);
  std::vector<uint8_t> samples(sample_count);
  const uint8_t* binary = data + scanner.position();
  for (uint64_t i = 0; i < sample_count; ++i) {
    uint64_t value = ascii ? scanner.number("sample")
                           : (bytes_per_sample == 2 ? (binary[2 * i] << 8 | binary[2 * i + 1]) : binary[i]);
    if (value > max_value) throw Error(name + ": corrupt PNM: a sample exceeds the maximum value");
    samples[i] = static_cast<uint8_t>((value * 255 + max_value / 2) / max_value);
  }
  if (max_value > 255) image.notes.push_back("reduced 16-bit samples to 8-bit");
  store_samples(image, samples.data(), channels, options, name);
  return image;
}

std::vector<uint8_t> encode_pnm(const Image& image) {
  std::string header = "P6\n" + std::to_string(image.width) + " " + std::to_string(image.height) + "\n255\n";
  std::vector<uint8_t> bytes(header.begin(), header.end());
  bytes.insert(bytes.end(), image.rgb.begin(), image.rgb.end());
  return bytes;
}

}  // namespace odp::imageio::detail
