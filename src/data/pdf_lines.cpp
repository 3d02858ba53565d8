#include "data/pdf_lines.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace enclave::data::pdf {

namespace {

// The label of a footnote marker ("1", "1)", "*"), or "" when the text is
// not one.
std::string marker_label(std::string t) {
  if (t == "*" || t == "\u2020" || t == "\u2021") return t;
  if (t.ends_with(")")) t.pop_back();
  const bool digits = !t.empty() && t.size() <= 3 &&
                      std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
  return digits ? t : "";
}

}  // namespace

std::string Line::text() const {
  std::string out;
  for (const auto& c : cells) out += (out.empty() ? "" : " ") + c.text;
  return out;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

bool usable_box(double x0, double y0, double x1, double y1) {
  // Also false for NaN: a hostile or crashed reader can send any numbers.
  auto in_range = [](double v) { return std::abs(v) <= kMaxCoordinate; };
  return in_range(x0) && in_range(y0) && in_range(x1) && in_range(y1) && x1 >= x0 && y1 >= y0;
}

std::vector<const PdfWord*> page_words(const PdfPage& page) {
  std::vector<const PdfWord*> out;
  for (const auto& w : page.words) {
    if (!w.text.empty() && usable_box(w.x0, w.y0, w.x1, w.y1) && w.y1 > w.y0) out.push_back(&w);
  }
  return out;
}

std::vector<Line> build_lines(std::vector<const PdfWord*> words) {
  std::erase_if(words, [](const PdfWord* w) { return w->text.empty() || !(w->y1 > w->y0); });
  std::stable_sort(words.begin(), words.end(), [](const PdfWord* a, const PdfWord* b) {
    return a->y0 + a->y1 < b->y0 + b->y1;
  });
  std::vector<std::vector<const PdfWord*>> groups;
  double ly0 = 0, ly1 = 0;
  for (const PdfWord* w : words) {
    if (!groups.empty()) {
      const double overlap = std::min(ly1, w->y1) - std::max(ly0, w->y0);
      if (overlap >= 0.5 * std::min(ly1 - ly0, w->y1 - w->y0)) {
        groups.back().push_back(w);
        ly0 = std::min(ly0, w->y0);
        ly1 = std::max(ly1, w->y1);
        continue;
      }
    }
    groups.push_back({w});
    ly0 = w->y0;
    ly1 = w->y1;
  }
  std::vector<Line> lines;
  for (auto& g : groups) {
    std::stable_sort(g.begin(), g.end(),
                     [](const PdfWord* a, const PdfWord* b) { return a->x0 < b->x0; });
    std::vector<double> heights, bottoms;
    for (const PdfWord* w : g) {
      heights.push_back(w->y1 - w->y0);
      bottoms.push_back(w->y1);
    }
    const double h = median(heights);
    const double bottom = median(bottoms);
    Line line;
    line.y0 = 1e300;
    line.y1 = -1e300;
    const PdfWord* prev = nullptr;
    for (const PdfWord* w : g) {
      const std::string label = marker_label(w->text);
      const bool superscript =
          w->y1 - w->y0 <= kSuperscriptHeight * h && w->y1 < bottom - 0.25 * h && !label.empty();
      const std::string text = superscript ? "[^" + label + "]" : w->text;
      if (!superscript) {
        line.y0 = std::min(line.y0, w->y0);
        line.y1 = std::max(line.y1, w->y1);
      }
      const double gap = prev ? w->x0 - prev->x1 : 0;
      if (!prev || gap > kCellGap * h) {
        line.cells.push_back({text, w->x0, w->x1});
      } else {
        Cell& c = line.cells.back();
        if (!superscript && (prev->space_after || gap > 0.1 * h)) c.text += ' ';
        c.text += text;
        c.x1 = std::max(c.x1, w->x1);
      }
      line.words.push_back(w);
      prev = w;
    }
    if (line.y1 <= line.y0) {  // only superscripts
      line.y0 = g.front()->y0;
      line.y1 = g.front()->y1;
    }
    line.x0 = line.cells.front().x0;
    line.x1 = line.cells.back().x1;
    lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace enclave::data::pdf
