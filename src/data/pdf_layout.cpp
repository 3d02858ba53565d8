#include "data/pdf_layout.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <numeric>
#include <string_view>

#include "data/markdown.h"

namespace enclave::data {

namespace {

// A gap wider than this many line heights separates table cells.
constexpr double kCellGap = 1.5;

struct Cell {
  std::string text;
  double x0 = 0, x1 = 0;
};

struct Line {
  std::vector<Cell> cells;
  double x0 = 0, x1 = 0, y0 = 0, y1 = 0;

  double height() const { return y1 - y0; }
  std::string text() const {
    std::string out;
    for (const auto& c : cells) out += (out.empty() ? "" : " ") + c.text;
    return out;
  }
};

enum class BlockKind { kParagraph, kTable };
struct Block {
  BlockKind kind = BlockKind::kParagraph;
  std::string text;
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

std::vector<Line> build_lines(const PdfPage& page) {
  std::vector<const PdfWord*> words;
  for (const auto& w : page.words) {
    if (!w.text.empty() && w.y1 > w.y0) words.push_back(&w);
  }
  std::stable_sort(words.begin(), words.end(), [](const PdfWord* a, const PdfWord* b) {
    return a->y0 + a->y1 < b->y0 + b->y1;
  });
  std::vector<std::vector<const PdfWord*>> groups;
  std::vector<std::pair<double, double>> ranges;
  for (const PdfWord* w : words) {
    bool placed = false;
    if (!groups.empty()) {
      auto& [ly0, ly1] = ranges.back();
      const double overlap = std::min(ly1, w->y1) - std::max(ly0, w->y0);
      if (overlap >= 0.5 * std::min(ly1 - ly0, w->y1 - w->y0)) {
        groups.back().push_back(w);
        ly0 = std::min(ly0, w->y0);
        ly1 = std::max(ly1, w->y1);
        placed = true;
      }
    }
    if (!placed) {
      groups.push_back({w});
      ranges.emplace_back(w->y0, w->y1);
    }
  }
  std::vector<Line> lines;
  for (auto& g : groups) {
    std::stable_sort(g.begin(), g.end(),
                     [](const PdfWord* a, const PdfWord* b) { return a->x0 < b->x0; });
    std::vector<double> heights;
    for (const PdfWord* w : g) heights.push_back(w->y1 - w->y0);
    const double h = median(heights);
    Line line;
    line.y0 = g.front()->y0;
    line.y1 = g.front()->y1;
    const PdfWord* prev = nullptr;
    for (const PdfWord* w : g) {
      line.y0 = std::min(line.y0, w->y0);
      line.y1 = std::max(line.y1, w->y1);
      const double gap = prev ? w->x0 - prev->x1 : 0;
      if (!prev || gap > kCellGap * h) {
        line.cells.push_back({w->text, w->x0, w->x1});
      } else {
        Cell& c = line.cells.back();
        if (prev->space_after || gap > 0.1 * h) c.text += ' ';
        c.text += w->text;
        c.x1 = std::max(c.x1, w->x1);
      }
      prev = w;
    }
    line.x0 = line.cells.front().x0;
    line.x1 = line.cells.back().x1;
    lines.push_back(std::move(line));
  }
  return lines;
}

// Text with digits as '#', lowercased, single spaces: "Page 3 of 9" and
// "Page 4 of 9" share a key.
std::string line_key(const std::string& text) {
  std::string key;
  bool space = false;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isspace(c)) {
      space = !key.empty();
      continue;
    }
    if (space) key += ' ';
    space = false;
    key += std::isdigit(c) ? '#' : static_cast<char>(std::tolower(c));
  }
  return key;
}

bool is_page_number(const std::string& key) {
  static const char* kForms[] = {"#",   "- # -",       "-#-",  "page #", "# / #",
                                 "#/#", "page # of #", "p. #", "— # —"};
  std::string k = key;
  // Collapse digit runs: "##" -> "#".
  k.erase(std::unique(k.begin(), k.end(), [](char a, char b) { return a == '#' && b == '#'; }),
          k.end());
  return std::any_of(std::begin(kForms), std::end(kForms), [&](const char* f) { return k == f; });
}

// Headers and footers live in the page margins: the top or bottom 12%.
constexpr double kMarginBand = 0.12;

// Drops running headers/footers and page numbers; returns how many lines.
int drop_headers_footers(std::vector<std::vector<Line>>& pages, const std::vector<PdfPage>& sizes) {
  const auto n_pages = static_cast<int>(
      std::count_if(pages.begin(), pages.end(), [](auto& p) { return !p.empty(); }));
  if (n_pages < 2) return 0;
  const int needed = std::max(2, (n_pages + 1) / 2);
  std::vector<std::vector<bool>> drop(pages.size());
  for (std::size_t p = 0; p < pages.size(); ++p) drop[p].assign(pages[p].size(), false);
  for (int from_bottom = 0; from_bottom < 2; ++from_bottom) {
    for (int depth = 0; depth < 2; ++depth) {
      std::map<std::string, int> counts;
      // The line at this depth from the top or bottom, if it sits in the margin.
      auto index = [&](std::size_t p) -> int {
        const auto& lines = pages[p];
        if (static_cast<int>(lines.size()) <= depth) return -1;
        const int i = from_bottom ? static_cast<int>(lines.size()) - 1 - depth : depth;
        const double h = sizes[p].height > 0 ? sizes[p].height : 792;
        const bool in_margin =
            from_bottom ? lines[i].y1 > (1 - kMarginBand) * h : lines[i].y0 < kMarginBand * h;
        return in_margin ? i : -1;
      };
      for (std::size_t p = 0; p < pages.size(); ++p) {
        if (int i = index(p); i >= 0) ++counts[line_key(pages[p][i].text())];
      }
      for (std::size_t p = 0; p < pages.size(); ++p) {
        const int i = index(p);
        if (i < 0) continue;
        const std::string key = line_key(pages[p][i].text());
        if (counts[key] >= needed || (depth == 0 && is_page_number(key))) drop[p][i] = true;
      }
    }
  }
  int dropped = 0;
  for (std::size_t p = 0; p < pages.size(); ++p) {
    std::vector<Line> kept;
    for (std::size_t i = 0; i < pages[p].size(); ++i) {
      if (drop[p][i]) {
        ++dropped;
      } else {
        kept.push_back(std::move(pages[p][i]));
      }
    }
    pages[p] = std::move(kept);
  }
  return dropped;
}

bool aligned_row(const Line& first, const Line& row) {
  if (row.cells.size() != first.cells.size() || row.cells.size() < 2) return false;
  const double tolerance = 2.0 * std::max(first.height(), row.height());
  for (std::size_t c = 0; c < row.cells.size(); ++c) {
    const Cell& a = first.cells[c];
    const Cell& b = row.cells[c];
    const bool overlap = std::min(a.x1, b.x1) > std::max(a.x0, b.x0);
    if (!overlap && std::abs(a.x0 - b.x0) > tolerance && std::abs(a.x1 - b.x1) > tolerance)
      return false;
  }
  return true;
}

std::string table_text(const std::vector<const Line*>& rows) {
  std::vector<std::vector<std::string>> cells;
  for (const Line* row : rows) {
    cells.emplace_back();
    for (const Cell& c : row->cells) cells.back().push_back(c.text);
  }
  return markdown_table(cells);
}

bool ends_sentence(std::string_view text) {
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty()) return true;
  static const std::string_view kEnds[] = {".", "!", "?",      ":",      ";",     "\"",
                                           "'", ")", "\u3002", "\u201D", "\u2019"};
  return std::any_of(std::begin(kEnds), std::end(kEnds),
                     [&](std::string_view e) { return text.ends_with(e); });
}

bool starts_lower(std::string_view text) {
  return !text.empty() && std::islower(static_cast<unsigned char>(text.front()));
}

// Joins a line (or a page's first paragraph) onto a paragraph, undoing
// end-of-line hyphenation before a lower-case continuation.
void join_text(std::string& paragraph, const std::string& next) {
  if (paragraph.empty()) {
    paragraph = next;
    return;
  }
  const std::size_t n = paragraph.size();
  if (n >= 2 && paragraph[n - 1] == '-' &&
      std::isalpha(static_cast<unsigned char>(paragraph[n - 2])) && starts_lower(next)) {
    paragraph.pop_back();
    paragraph += next;
    return;
  }
  paragraph += ' ';
  paragraph += next;
}

std::vector<Block> page_blocks(const std::vector<Line>& lines, bool tables, int* n_tables) {
  std::vector<Block> blocks;
  std::vector<bool> in_table(lines.size(), false);
  if (tables) {
    for (std::size_t i = 0; i < lines.size();) {
      std::size_t j = i + 1;
      while (j < lines.size() && aligned_row(lines[i], lines[j])) ++j;
      if (lines[i].cells.size() >= 2 && j - i >= 2) {
        for (std::size_t k = i; k < j; ++k) in_table[k] = true;
        i = j;
      } else {
        ++i;
      }
    }
  }
  std::vector<double> heights, pitches, x0s, x1s;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (in_table[i]) continue;
    heights.push_back(lines[i].height());
    x0s.push_back(lines[i].x0);
    x1s.push_back(lines[i].x1);
    if (i > 0 && !in_table[i - 1]) pitches.push_back(lines[i].y0 - lines[i - 1].y0);
  }
  const double h = median(heights);
  const double pitch = pitches.size() >= 2 ? median(pitches) : 0;
  const double left = x0s.empty() ? 0 : *std::min_element(x0s.begin(), x0s.end());
  const double right = x1s.empty() ? 0 : *std::max_element(x1s.begin(), x1s.end());
  Block* paragraph = nullptr;
  for (std::size_t i = 0; i < lines.size();) {
    if (in_table[i]) {
      std::vector<const Line*> rows;
      std::size_t j = i;
      while (j < lines.size() && in_table[j] && (j == i || aligned_row(lines[i], lines[j])))
        rows.push_back(&lines[j++]);
      blocks.push_back({BlockKind::kTable, table_text(rows)});
      ++*n_tables;
      paragraph = nullptr;
      i = j;
      continue;
    }
    const Line& line = lines[i];
    bool new_paragraph = paragraph == nullptr;
    if (!new_paragraph) {
      const Line& prev = lines[i - 1];
      const double step = line.y0 - prev.y0;
      const bool wide_gap = pitch > 0 ? step > 1.4 * pitch : line.y0 - prev.y1 > 0.8 * h;
      const bool indented = line.x0 > left + 1.0 * h && prev.x0 <= left + 1.0 * h;
      const bool short_end = ends_sentence(paragraph->text) && prev.x1 < right - 4.0 * h;
      new_paragraph = wide_gap || indented || short_end;
    }
    if (new_paragraph) {
      blocks.push_back({BlockKind::kParagraph, ""});
      paragraph = &blocks.back();
    }
    join_text(paragraph->text, line.text());
    ++i;
  }
  return blocks;
}

}  // namespace

PdfText layout_pdf_text(const std::vector<PdfPage>& pages, const PdfLayoutOptions& options) {
  PdfText out;
  std::vector<std::vector<Line>> lines;
  lines.reserve(pages.size());
  for (const auto& page : pages) lines.push_back(build_lines(page));
  if (options.drop_headers_footers) out.n_dropped_lines = drop_headers_footers(lines, pages);
  std::vector<Block> blocks;
  // Where each page starts: (block index, byte offset inside that block).
  std::vector<std::pair<std::size_t, std::size_t>> starts(pages.size(), {std::string::npos, 0});
  for (std::size_t p = 0; p < lines.size(); ++p) {
    std::vector<Block> page = page_blocks(lines[p], options.tables, &out.n_tables);
    if (page.empty()) continue;
    std::size_t first = 0;
    if (!blocks.empty() && page[0].kind == BlockKind::kParagraph &&
        blocks.back().kind == BlockKind::kParagraph && !ends_sentence(blocks.back().text)) {
      // A paragraph cut by the page break continues on this page.
      starts[p] = {blocks.size() - 1, blocks.back().text.size() + 1};
      join_text(blocks.back().text, page[0].text);
      first = 1;
    } else {
      starts[p] = {blocks.size(), 0};
    }
    for (std::size_t b = first; b < page.size(); ++b) blocks.push_back(std::move(page[b]));
  }
  std::vector<std::size_t> block_offsets;
  for (const auto& b : blocks) {
    if (!out.text.empty()) out.text += "\n\n";
    block_offsets.push_back(out.text.size());
    out.text += b.text;
  }
  out.page_offsets.assign(pages.size(), out.text.size());
  for (std::size_t p = pages.size(); p-- > 0;) {
    if (starts[p].first != std::string::npos) {
      out.page_offsets[p] =
          std::min(out.text.size(), block_offsets[starts[p].first] + starts[p].second);
    } else if (p + 1 < pages.size()) {
      out.page_offsets[p] =
          out.page_offsets[p + 1];  // an empty page starts where the next one does
    }
  }
  return out;
}

}  // namespace enclave::data
