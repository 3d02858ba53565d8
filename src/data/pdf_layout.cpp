#include "data/pdf_layout.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string_view>

#include "data/markdown.h"
#include "data/pdf_line_join.h"
#include "data/pdf_lines.h"
#include "data/pdf_regions.h"
#include "data/pdf_running_lines.h"
#include "data/pdf_tables.h"

namespace enclave::data {

namespace {

using pdf::Flow;
using pdf::FlowKind;
using pdf::Line;
using pdf::LineJoiner;

// Footnote lines are at most this share of the body's line height ...
constexpr double kFootnoteHeight = 0.88;
// ... and start in the lower part of the page.
constexpr double kFootnoteTop = 0.5;

enum class BlockKind { kParagraph, kTable };
struct Block {
  BlockKind kind = BlockKind::kParagraph;
  std::string text;
};

// A region of a page after layout: text lines, or a table's rows.
struct Region {
  FlowKind kind = FlowKind::kText;
  std::vector<Line> lines;  // kText
  Flow flow;                // kTable, kRuledTable
};

struct PageWork {
  std::vector<Region> regions;
  std::vector<pdf::RuledTable> tables;
  std::vector<std::vector<const PdfWord*>> table_words;  // per ruled table
};

struct Footnote {
  std::string label;
  std::string text;
};

bool ends_sentence(std::string_view text) {
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  // Footnote references after the full stop: "... 였다.[^1]".
  while (text.ends_with("]") && text.rfind("[^") != std::string_view::npos)
    text = text.substr(0, text.rfind("[^"));
  if (text.empty()) return true;
  static const std::string_view kEnds[] = {".", "!", "?",      ":",      ";",     "\"",
                                           "'", ")", "\u3002", "\u201D", "\u2019"};
  return std::any_of(std::begin(kEnds), std::end(kEnds),
                     [&](std::string_view e) { return text.ends_with(e); });
}

// The marker a footnote line starts with ("[^1]", "1)", "*", "주1)"), split
// off: {label, rest}; label empty when the line has none.
std::pair<std::string, std::string> footnote_marker(const std::string& text) {
  std::size_t i = 0;
  auto digits = [&](std::size_t from) {
    std::size_t j = from;
    while (j < text.size() && j - from < 3 && std::isdigit(static_cast<unsigned char>(text[j])))
      ++j;
    return j;
  };
  auto rest = [&](std::size_t from) {
    while (from < text.size() && text[from] == ' ') ++from;
    return text.substr(from);
  };
  if (text.starts_with("[^")) {
    const std::size_t close = text.find(']');
    if (close != std::string::npos && close > 2)
      return {text.substr(2, close - 2), rest(close + 1)};
  }
  if (text.starts_with("\uC8FC")) {  // 주1), 주 1)
    i = 3;
    if (i < text.size() && text[i] == ' ') ++i;
  }
  const std::size_t end = digits(i);
  if (end > i && end < text.size() && (text[end] == ')' || text[end] == '.') &&
      end + 1 < text.size() && text[end + 1] == ' ')
    return {text.substr(i, end - i), rest(end + 1)};
  for (std::string_view mark : {"*", "\u2020", "\u2021"}) {
    if (text.starts_with(mark) && text.size() > mark.size())
      return {std::string(mark), rest(mark.size())};
  }
  return {"", ""};
}

// Moves the footnotes at the bottom of a text region into `notes`.
void take_footnotes(std::vector<Line>& lines, double body_height, double page_height,
                    std::vector<std::pair<std::string, std::vector<Line>>>& notes) {
  std::size_t start = lines.size();
  while (start > 0 && lines[start - 1].height() <= kFootnoteHeight * body_height &&
         lines[start - 1].y0 > kFootnoteTop * page_height)
    --start;
  // The small block must open with a marker; lines above the first marker
  // stay in the body.
  while (start < lines.size() && footnote_marker(lines[start].text()).first.empty()) ++start;
  if (start == lines.size()) return;
  for (std::size_t i = start; i < lines.size(); ++i) {
    std::string label = footnote_marker(lines[i].text()).first;
    if (!label.empty() || notes.empty()) {
      notes.push_back({label, {}});
    }
    notes.back().second.push_back(std::move(lines[i]));
  }
  lines.resize(start);
}

std::vector<Block> text_blocks(const std::vector<Line>& lines, LineJoiner& joiner) {
  std::vector<double> heights, pitches, x0s, x1s;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    heights.push_back(lines[i].height());
    x0s.push_back(lines[i].x0);
    x1s.push_back(lines[i].x1);
    if (i > 0) pitches.push_back(lines[i].y0 - lines[i - 1].y0);
  }
  const double h = pdf::median(heights);
  // The line pitch: steps inside paragraphs outnumber the wider steps
  // between them, so a low percentile is the pitch even in short regions.
  double pitch = 0;
  if (pitches.size() >= 2) {
    std::sort(pitches.begin(), pitches.end());
    pitch = pitches[(pitches.size() - 1) * 3 / 10];
  }
  const double left = x0s.empty() ? 0 : *std::min_element(x0s.begin(), x0s.end());
  const double right = x1s.empty() ? 0 : *std::max_element(x1s.begin(), x1s.end());
  std::vector<Block> blocks;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const Line& line = lines[i];
    bool new_paragraph = blocks.empty();
    if (!new_paragraph) {
      const Line& prev = lines[i - 1];
      const double step = line.y0 - prev.y0;
      const bool wide_gap = pitch > 0 ? step > 1.4 * pitch : line.y0 - prev.y1 > 0.8 * h;
      const bool indented = line.x0 > left + 1.0 * h && prev.x0 <= left + 1.0 * h;
      const bool short_end = ends_sentence(blocks.back().text) && prev.x1 < right - 4.0 * h;
      new_paragraph = wide_gap || indented || short_end;
    }
    if (new_paragraph) blocks.push_back({BlockKind::kParagraph, ""});
    joiner.append(blocks.back().text, line.text());
  }
  return blocks;
}

std::vector<std::string> word_texts(const Line& line) {
  std::vector<std::string> out;
  for (const PdfWord* w : line.words) out.push_back(w->text);
  return out;
}

}  // namespace

PdfText layout_pdf_text(const std::vector<PdfPage>& pages, const PdfLayoutOptions& options) {
  PdfText out;
  pdf::RunningLines running;
  if (options.drop_headers_footers) running = pdf::find_running_lines(pages);
  out.n_dropped_lines = running.n_lines;
  LineJoiner joiner(options.korean_words);

  // Pass 1: regions and their lines; the joiner counts every printed line.
  std::vector<PageWork> work(pages.size());
  std::vector<double> heights;
  for (std::size_t p = 0; p < pages.size(); ++p) {
    PageWork& page = work[p];
    std::vector<const PdfWord*> words = pdf::page_words(pages[p]);
    std::erase_if(words, [&](const PdfWord* w) { return running.words.count(w) > 0; });
    std::vector<pdf::Box> boxes;
    if (options.tables) {
      page.tables = pdf::find_ruled_tables(pages[p].rules);
      page.table_words.resize(page.tables.size());
      std::erase_if(words, [&](const PdfWord* w) {
        const double x = (w->x0 + w->x1) / 2, y = (w->y0 + w->y1) / 2;
        for (std::size_t t = 0; t < page.tables.size(); ++t) {
          const pdf::Box& b = page.tables[t].box;
          if (x > b.x0 && x < b.x1 && y > b.y0 && y < b.y1) {
            page.table_words[t].push_back(w);
            return true;
          }
        }
        return false;
      });
      for (const auto& t : page.tables) boxes.push_back(t.box);
    }
    pdf::PageFlows flows = pdf::order_regions(words, boxes);
    out.n_column_regions += flows.n_column_regions;
    for (Flow& flow : flows.flows) {
      Region region;
      region.kind = options.tables ? flow.kind : FlowKind::kText;
      if (region.kind == FlowKind::kText) {
        region.lines = pdf::build_lines(flow.words);
        for (const Line& l : region.lines) {
          joiner.add_line(word_texts(l));
          heights.push_back(l.height());
        }
      } else {
        region.flow = std::move(flow);
      }
      page.regions.push_back(std::move(region));
    }
  }
  const double body_height = pdf::median(heights);

  // Pass 2: blocks in reading order, joined across region and page breaks.
  std::vector<std::pair<std::string, std::vector<Line>>> notes;
  std::vector<Block> blocks;
  // Where each page starts: (block index, byte offset inside that block).
  std::vector<std::pair<std::size_t, std::size_t>> starts(pages.size(), {std::string::npos, 0});
  for (std::size_t p = 0; p < pages.size(); ++p) {
    for (Region& region : work[p].regions) {
      std::vector<Block> page_blocks;
      if (region.kind == FlowKind::kText) {
        if (options.footnotes)
          take_footnotes(region.lines, body_height, pages[p].height > 0 ? pages[p].height : 792,
                         notes);
        page_blocks = text_blocks(region.lines, joiner);
      } else {
        std::optional<pdf::TableRows> rows;
        if (region.kind == FlowKind::kRuledTable) {
          const auto t = static_cast<std::size_t>(region.flow.table);
          rows = pdf::ruled_table_rows(work[p].tables[t], work[p].table_words[t], joiner);
        } else {
          rows = pdf::aligned_table_rows(region.flow.words, region.flow.gutters, joiner);
        }
        if (rows) {
          page_blocks.push_back({BlockKind::kTable, markdown_table(*rows)});
          ++out.n_tables;
        } else {
          page_blocks = text_blocks(pdf::build_lines(region.flow.words), joiner);
        }
      }
      if (page_blocks.empty()) continue;
      std::size_t first = 0;
      const bool page_start = starts[p].first == std::string::npos;
      if (!blocks.empty() && page_blocks[0].kind == BlockKind::kParagraph &&
          blocks.back().kind == BlockKind::kParagraph && !ends_sentence(blocks.back().text)) {
        // A paragraph cut by a column or page break continues here.
        joiner.append(blocks.back().text, page_blocks[0].text);
        if (page_start)
          starts[p] = {blocks.size() - 1, blocks.back().text.size() - page_blocks[0].text.size()};
        first = 1;
      } else if (page_start) {
        starts[p] = {blocks.size(), 0};
      }
      for (std::size_t b = first; b < page_blocks.size(); ++b)
        blocks.push_back(std::move(page_blocks[b]));
    }
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
  // Footnotes after the body, one paragraph each.
  for (auto& [label, lines] : notes) {
    std::string text;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const std::string line = lines[i].text();
      joiner.append(text, i == 0 && !label.empty() ? footnote_marker(line).second : line);
    }
    if (!out.text.empty()) out.text += "\n\n";
    out.text += label.empty() ? text : "[^" + label + "]: " + text;
    ++out.n_footnotes;
  }
  return out;
}

}  // namespace enclave::data
