// A picture grid for the report: one row per image, one column per codec, all at the same byte budget.
#pragma once

#include <string>
#include <vector>

#include "base/image.h"

namespace odp::bench {

struct GridCell {
  bool present = false;    // false: the codec could not reach the budget (drawn as a grey square)
  odp::base::Image image;  // the full reconstruction; the grid shows its centre crop
  std::string caption;     // under the crop, e.g. "312 B"
};

// Column titles over the first row; each row must have one cell per title. Text is drawn with a built-in
// 5x7 pixel font (upper-case letters, digits and a few signs; other characters become blanks); labels are cut
// to the crop's width.
// Throws BenchError when a row's cell count differs from the titles'.
odp::base::Image crop_grid(const std::vector<std::string>& column_titles,
                           const std::vector<std::vector<GridCell>>& rows, int crop_size,
                           const std::string& title);

// Draws `text` with the built-in font at (x, y), each font pixel scale x scale image pixels.
void draw_text(odp::base::Image& image, int x, int y, const std::string& text, int scale, uint8_t gray);

}  // namespace odp::bench
