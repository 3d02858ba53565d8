// PDF layout analysis: turns the positioned words poppler extracts from each
// page into text written for training, not for print:
//   - words become lines (vertical overlap), lines become paragraphs (line
//     spacing, first-line indents, short lines ending a sentence);
//   - lines broken mid-sentence are rejoined, and end-of-line hyphenation
//     ("docu-\nment") is undone when the next line starts in lower case;
//   - running headers and footers (the same top or bottom line on at least
//     half of the pages, digits ignored so "Page 3" matches "Page 4") and
//     bare page numbers are dropped;
//   - regions whose lines split into the same number of aligned columns
//     (two or more rows) become Markdown tables;
//   - a paragraph cut by a page break is joined with its continuation.
// Coordinates are PDF points with y growing downwards (poppler's text boxes).
// Thread safety: stateless; safe from any thread.
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

struct PdfPage {
  double width = 612, height = 792;
  std::vector<PdfWord> words;  // in poppler's reading order
};

struct PdfLayoutOptions {
  bool drop_headers_footers = true;
  bool tables = true;
};

struct PdfText {
  std::string text;                       // paragraphs separated by blank lines
  std::vector<std::size_t> page_offsets;  // byte offset in text where each page starts
  int n_tables = 0;
  int n_dropped_lines = 0;  // headers, footers and page numbers
};

PdfText layout_pdf_text(const std::vector<PdfPage>& pages, const PdfLayoutOptions& options = {});

}  // namespace enclave::data
