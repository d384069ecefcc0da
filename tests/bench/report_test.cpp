// CSV, Markdown and SVG output: columns line up, means and ratios are right, odd values are handled.
#include "bench/report.h"

#include <catch2/catch.hpp>
#include <cmath>

#include "bench/rate_match.h"
#include "bench/svg_chart.h"

using namespace odp::bench;

namespace {

ResultRow make_row(const std::string& image, const std::string& codec, const std::string& point,
                   uint64_t bytes, double psnr) {
  ResultRow r;
  r.image = image, r.width = 1000, r.height = 1000, r.codec = codec, r.point = point;
  r.budget = bytes, r.bytes = bytes, r.quality.psnr_rgb = psnr, r.quality.ms_ssim = 0.9, r.quality.swd = 10;
  r.encode_ms = 2, r.decode_ms = 4;
  return r;
}

// Commas outside double quotes.
int count_fields(const std::string& line) {
  int fields = 1;
  bool quoted = false;
  for (char c : line) {
    if (c == '"')
      quoted = !quoted;
    else if (c == ',' && !quoted)
      ++fields;
  }
  return fields;
}

}  // namespace

TEST_CASE("every CSV line has as many fields as the header") {
  ResultRow reached = make_row("a,b.png", "jpeg", "t16", 300, 25);
  reached.setting = "q=5 1/2 420";
  reached.match_reached = true, reached.match_bytes = 700;
  ResultRow missed = make_row("c.png", "webp", "t1", 30, 0);
  missed.reached = false;
  const int header_fields = count_fields(csv_header());
  for (const auto& r : {reached, missed, make_row("d.png", "odp", "t1", 30, 20)}) {
    const std::string line = csv_line(r);
    CAPTURE(line);
    CHECK(count_fields(line) == header_fields);
  }
  CHECK(csv_line(reached).rfind("\"a,b.png\",", 0) == 0);
  CHECK(csv_line(missed).find("cannot reach") != std::string::npos);
  CHECK(csv_line(reached).find(",2.000,4.000,") != std::string::npos);  // ms per megapixel at 1 Mpx
}

TEST_CASE("the summary averages reached rows and takes the geometric mean of byte ratios") {
  std::vector<ResultRow> rows = {make_row("1", "odp", "t4", 100, 20), make_row("2", "odp", "t4", 200, 30)};
  ResultRow j1 = make_row("1", "jpeg", "t4", 100, 18), j2 = make_row("2", "jpeg", "t4", 200, 0);
  j2.reached = false;
  j1.match_reached = true, j1.match_bytes = 200;   // 2x odp
  j2.match_reached = true, j2.match_bytes = 1600;  // 8x odp
  rows.push_back(j1);
  rows.push_back(j2);
  const auto cells = summarize(rows);
  REQUIRE(cells.size() == 2);
  CHECK(cells[0].codec == "odp");
  CHECK(cells[0].quality.psnr_rgb == Approx(25));
  CHECK(cells[0].bytes == Approx(150));
  CHECK(cells[1].reached == 1);
  CHECK(cells[1].images == 2);
  CHECK(cells[1].quality.psnr_rgb == Approx(18));
  CHECK(cells[1].match_ratio == Approx(4));
  CHECK(cells[1].matched == 2);
  const std::string md = markdown_summary(rows, "test run");
  CHECK(md.find("test run") != std::string::npos);
  CHECK(md.find("| t4 | jpeg | 1/2 |") != std::string::npos);
  CHECK(md.find("| 4.00 | 2/2 |") != std::string::npos);
}

TEST_CASE("a codec that reaches nothing says so") {
  ResultRow r = make_row("1", "webp", "t1", 20, 0);
  r.reached = false;
  const std::string md = markdown_summary({make_row("1", "odp", "t1", 20, 15), r}, "");
  CHECK(md.find("| t1 | webp | 0/1 | 20 | cannot reach |") != std::string::npos);
}

TEST_CASE("with LPIPS the CSV gains an lpips column after swd and the summary an LPIPS column") {
  ResultRow measured = make_row("1", "odp", "t4", 100, 20), other = make_row("2", "odp", "t4", 200, 30);
  measured.quality.lpips = 0.25, other.quality.lpips = 0.5;
  ResultRow unmeasured = make_row("3", "odp", "t4", 300, 25);  // e.g. an image too small for AlexNet
  ResultRow missed = make_row("1", "jpeg", "t4", 100, 0);
  missed.reached = false;
  const std::string header = csv_header(true);
  CHECK(header.find(",swd,lpips,encode_ms,") != std::string::npos);
  CHECK(csv_header().find("lpips") == std::string::npos);
  for (const auto& r : {measured, unmeasured, missed}) {
    CAPTURE(csv_line(r, true));
    CHECK(count_fields(csv_line(r, true)) == count_fields(header));
    CHECK(count_fields(csv_line(r)) == count_fields(csv_header()));
    CHECK(csv_line(r).find("0.250000") == std::string::npos);
  }
  CHECK(csv_line(measured, true).find(",10.000,0.250000,2.000,") != std::string::npos);
  CHECK(csv_line(unmeasured, true).find(",10.000,,2.000,") != std::string::npos);

  const std::vector<ResultRow> rows = {measured, other, unmeasured, missed};
  const auto cells = summarize(rows);
  REQUIRE(cells.size() == 2);
  CHECK(cells[0].lpips_measured == 2);
  CHECK(cells[0].quality.lpips == Approx(0.375));  // over the rows that have a value
  CHECK(cells[1].lpips_measured == 0);
  CHECK(std::isnan(cells[1].quality.lpips));
  const std::string md = markdown_summary(rows, "", true);
  CHECK(md.find("| SWD | LPIPS | enc ms/MP |") != std::string::npos);
  CHECK(md.find("| 10.0 | 0.3750 | ") != std::string::npos);
  CHECK(md.find("| t4 | jpeg | 0/1 | 100 | cannot reach | | | | | | | | |\n") != std::string::npos);
  const std::string plain = markdown_summary(rows, "");
  CHECK(plain.find("LPIPS") == std::string::npos);
  CHECK(plain.find("| t4 | jpeg | 0/1 | 100 | cannot reach | | | | | | | |\n") != std::string::npos);
  // The rate curve leaves out points where LPIPS is missing on some image.
  const std::string svg =
      rate_plot_svg({measured, other, make_row("1", "odp", "t16", 400, 30)}, PlotMeasure::kLpips);
  CHECK(svg.find("LPIPS") != std::string::npos);
  CHECK(svg.find("nan") == std::string::npos);
}

TEST_CASE("rate plots are SVG documents with a legend and skip unreachable points") {
  std::vector<ResultRow> rows = {make_row("1", "odp", "t1", 20, 15), make_row("1", "odp", "t4", 50, 18)};
  ResultRow missed = make_row("1", "jpeg", "t1", 20, 0);
  missed.reached = false;
  rows.push_back(missed);
  rows.push_back(make_row("1", "jpeg", "t4", 48, 14));
  const std::string svg = rate_plot_svg(rows, PlotMeasure::kPsnr);
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(svg.find("</svg>") != std::string::npos);
  CHECK(svg.find(">odp</text>") != std::string::npos);
  CHECK(svg.find(">jpeg</text>") != std::string::npos);
  CHECK(svg.find("nan") == std::string::npos);
  ChartSeries odd{"odd", {{0, 1}, {NAN, 2}, {10, INFINITY}, {100, 3}}, false};
  CHECK(line_chart_svg({odd}, {}).find("nan") == std::string::npos);
}

TEST_CASE("nice ticks use 1-2-5 steps") {
  CHECK(nice_ticks(0, 10, 5) == std::vector<double>{0, 2, 4, 6, 8, 10});
  const auto ticks = nice_ticks(0.13, 0.91, 4);
  REQUIRE(ticks.size() == 4);
  for (size_t i = 0; i < ticks.size(); ++i) CHECK(ticks[i] == Approx(0.2 * (i + 1)));
}

TEST_CASE("numbers are formatted with fixed digits and named infinities") {
  CHECK(format_number(3.14159, 2) == "3.14");
  CHECK(format_number(INFINITY, 2) == "inf");
  CHECK(format_number(NAN, 2) == "nan");
}

TEST_CASE("the fixed token count at a PSNR is found by bisection and its bytes interpolated") {
  // PSNR = 10 + 2 log2(tokens), bytes = 20 + 1.5 tokens: a typical shape.
  int calls = 0;
  const auto mean_at = [&](int tokens) {
    ++calls;
    return RatePoint{10 + 2 * std::log2(tokens), 20 + 1.5 * tokens};
  };
  const FixedMatch exact = fixed_tokens_at_psnr(10 + 2 * std::log2(40), 256, mean_at);
  REQUIRE(exact.reachable);
  CHECK(exact.above == 40);
  CHECK(exact.bytes == Approx(20 + 1.5 * 40));
  CHECK(calls < 30);
  const FixedMatch between = fixed_tokens_at_psnr(10 + 2 * std::log2(40.5), 256, mean_at);
  CHECK(between.below == 40);
  CHECK(between.above == 41);
  CHECK(between.bytes > 20 + 1.5 * 40);
  CHECK(between.bytes < 20 + 1.5 * 41);
  CHECK_FALSE(fixed_tokens_at_psnr(99, 256, mean_at).reachable);
  const FixedMatch lowest = fixed_tokens_at_psnr(0, 256, mean_at);
  CHECK(lowest.above == 1);
  CHECK(lowest.bytes == Approx(21.5));
}
