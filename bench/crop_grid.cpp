// Crop grid composition and a tiny bitmap font for its labels (so the PNG explains itself).
#include "bench/crop_grid.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "bench/metrics.h"

namespace odp::bench {
namespace {

// 5x7 glyphs, one string per row, '#' = ink.
const std::map<char, std::vector<const char*>>& font() {
  static const std::map<char, std::vector<const char*>> glyphs = {
      {'A', {".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"}},
      {'B', {"####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."}},
      {'C', {".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."}},
      {'D', {"####.", "#...#", "#...#", "#...#", "#...#", "#...#", "####."}},
      {'E', {"#####", "#....", "#....", "####.", "#....", "#....", "#####"}},
      {'F', {"#####", "#....", "#....", "####.", "#....", "#....", "#...."}},
      {'G', {".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"}},
      {'H', {"#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"}},
      {'I', {".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."}},
      {'J', {"..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."}},
      {'K', {"#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"}},
      {'L', {"#....", "#....", "#....", "#....", "#....", "#....", "#####"}},
      {'M', {"#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"}},
      {'N', {"#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"}},
      {'O', {".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."}},
      {'P', {"####.", "#...#", "#...#", "####.", "#....", "#....", "#...."}},
      {'Q', {".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"}},
      {'R', {"####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"}},
      {'S', {".####", "#....", "#....", ".###.", "....#", "....#", "####."}},
      {'T', {"#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."}},
      {'U', {"#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."}},
      {'V', {"#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."}},
      {'W', {"#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."}},
      {'X', {"#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"}},
      {'Y', {"#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."}},
      {'Z', {"#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"}},
      {'0', {".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."}},
      {'1', {"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."}},
      {'2', {".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"}},
      {'3', {"#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."}},
      {'4', {"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."}},
      {'5', {"#####", "#....", "####.", "....#", "....#", "#...#", ".###."}},
      {'6', {"..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."}},
      {'7', {"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."}},
      {'8', {".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."}},
      {'9', {".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."}},
      {'.', {".....", ".....", ".....", ".....", ".....", ".##..", ".##.."}},
      {',', {".....", ".....", ".....", ".....", ".##..", "..#..", ".#..."}},
      {':', {".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."}},
      {'-', {".....", ".....", ".....", "#####", ".....", ".....", "....."}},
      {'=', {".....", ".....", "#####", ".....", "#####", ".....", "....."}},
      {'/', {".....", "....#", "...#.", "..#..", ".#...", "#....", "....."}},
      {'(', {"...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#."}},
      {')', {".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#..."}},
  };
  return glyphs;
}

constexpr int kGap = 6;

void fill(odp::base::Image& image, int x0, int y0, int w, int h, uint8_t gray) {
  for (int y = std::max(0, y0); y < std::min(image.height, y0 + h); ++y)
    for (int x = std::max(0, x0); x < std::min(image.width, x0 + w); ++x)
      std::fill_n(&image.rgb[(static_cast<size_t>(y) * image.width + x) * 3], 3, gray);
}

// The text cut to what fits in `width` pixels at font scale 2, so that labels never run into the next cell.
std::string fit(const std::string& text, int width) {
  return text.substr(0, static_cast<size_t>(std::max(0, width / 12)));
}

}  // namespace

void draw_text(odp::base::Image& image, int x, int y, const std::string& text, int scale, uint8_t gray) {
  for (char raw : text) {
    const auto found = font().find(static_cast<char>(std::toupper(static_cast<unsigned char>(raw))));
    if (found != font().end())
      for (int row = 0; row < 7; ++row)
        for (int col = 0; col < 5; ++col)
          if (found->second[row][col] == '#')
            fill(image, x + col * scale, y + row * scale, scale, scale, gray);
    x += 6 * scale;
  }
}

odp::base::Image crop_grid(const std::vector<std::string>& column_titles,
                           const std::vector<std::vector<GridCell>>& rows, int crop_size,
                           const std::string& title) {
  if (crop_size <= 0) throw BenchError("crop grid: crop size must be positive");
  const int columns = static_cast<int>(column_titles.size());
  for (const auto& row : rows)
    if (static_cast<int>(row.size()) != columns)
      throw BenchError("crop grid: a row has " + std::to_string(row.size()) + " cells for " +
                       std::to_string(columns) + " columns");
  const int text_h = 7 * 2, title_h = text_h + 2 * kGap, caption_h = text_h + kGap;
  const int cell_w = crop_size + kGap, row_h = crop_size + caption_h + kGap;
  odp::base::Image grid;
  grid.width = kGap + columns * cell_w;
  grid.height = title_h + title_h + static_cast<int>(rows.size()) * row_h;
  grid.rgb.assign(static_cast<size_t>(grid.width) * grid.height * 3, 255);
  draw_text(grid, kGap, kGap, fit(title, grid.width - kGap), 2, 0);
  for (int c = 0; c < columns; ++c)
    draw_text(grid, kGap + c * cell_w, title_h + kGap, fit(column_titles[c], crop_size), 2, 0);
  for (size_t r = 0; r < rows.size(); ++r) {
    const int top = 2 * title_h + static_cast<int>(r) * row_h;
    for (int c = 0; c < columns; ++c) {
      const GridCell& cell = rows[r][c];
      const int left = kGap + c * cell_w;
      if (!cell.present || cell.image.width <= 0 || cell.image.height <= 0) {
        fill(grid, left, top, crop_size, crop_size, 200);
      } else {
        const odp::base::Image& src = cell.image;
        const int w = std::min(crop_size, src.width), h = std::min(crop_size, src.height);
        const int sx = (src.width - w) / 2, sy = (src.height - h) / 2;
        for (int y = 0; y < h; ++y)
          std::copy_n(&src.rgb[(static_cast<size_t>(sy + y) * src.width + sx) * 3],
                      static_cast<size_t>(w) * 3,
                      &grid.rgb[(static_cast<size_t>(top + y) * grid.width + left) * 3]);
      }
      draw_text(grid, left, top + crop_size + kGap / 2, fit(cell.caption, crop_size), 2, 60);
    }
  }
  return grid;
}

}  // namespace odp::bench
