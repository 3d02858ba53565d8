// PDF layout analysis: turns the positioned words and ruling lines poppler
// and qpdf extract from each page into text written for training, not for
// print:
//   - running headers and footers (a top or bottom margin line repeated on
//     nearby pages, on the same page side: chapter titles that change by
//     chapter and even/odd headers included; digits ignored so "Page 3"
//     matches "Page 4") and page numbers are dropped (pdf_running_lines.h);
//   - the page is cut into regions read in order: text columns column by
//     column, tables as tables (pdf_regions.h);
//   - tables come from ruling lines (grids, merged cells, cells of several
//     lines) or from aligned columns of words (empty cells, cells of several
//     lines), and become Markdown tables (pdf_tables.h);
//   - words become lines (vertical overlap), lines become paragraphs (line
//     spacing, first-line indents, short lines ending a sentence);
//   - footnotes (small lines at the bottom of a region starting with a
//     marker) are kept apart, after the body, as "[^1]: text"; superscript
//     markers in the body become "[^1]";
//   - broken lines are rejoined as the language needs (pdf_line_join.h):
//     Korean breaks inside words are joined without a space when the
//     document's own words, the particle/ending list or a Korean word list
//     say so; English end-of-line hyphenation is undone;
//   - a paragraph cut by a column or page break is joined with its
//     continuation.
// Coordinates are PDF points with y growing downwards (poppler's text boxes).
// Thread safety: safe from any thread (the Korean word list is loaded once,
// under a lock).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace enclave::data {

struct PdfWord {
  std::string text;
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // bounding box, y0 < y1
  bool space_after = false;
};

// A straight horizontal or vertical ruling line (x0 == x1 or y0 == y1,
// within half a point), x0 <= x1, y0 <= y1.
struct PdfRule {
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

struct PdfPage {
  double width = 612, height = 792;
  std::vector<PdfWord> words;  // in poppler's reading order
  std::vector<PdfRule> rules;  // table borders and other straight strokes
};

struct PdfLayoutOptions {
  bool drop_headers_footers = true;
  bool tables = true;
  bool footnotes = true;  // false: footnotes stay where they are printed
  // hunspell-ko's word list (Debian hunspell-ko), NFD or NFC; a missing file
  // only removes that evidence from Korean line joins.
  std::string korean_words = "/usr/share/hunspell/ko.dic";
};

struct PdfText {
  std::string text;                       // paragraphs separated by blank lines
  std::vector<std::size_t> page_offsets;  // byte offset in text where each page starts
  int n_tables = 0;
  int n_dropped_lines = 0;  // headers, footers and page numbers
  int n_footnotes = 0;
  int n_column_regions = 0;  // regions read as two or more text columns
};

PdfText layout_pdf_text(const std::vector<PdfPage>& pages, const PdfLayoutOptions& options = {});

}  // namespace enclave::data
