// Lines of a PDF page region: words grouped by vertical overlap, left to
// right, split into cells at wide gaps. Shared by the layout files
// (pdf_layout.cpp, pdf_regions.cpp, pdf_tables.cpp, pdf_running_lines.cpp);
// not a public interface.
// Thread safety: stateless.
#pragma once

#include <string>
#include <vector>

#include "data/pdf_layout.h"

namespace enclave::data::pdf {

// A gap wider than this many line heights separates cells of a line.
constexpr double kCellGap = 1.5;

struct Cell {
  std::string text;
  double x0 = 0, x1 = 0;
};

struct Line {
  std::vector<Cell> cells;
  std::vector<const PdfWord*> words;  // left to right
  double x0 = 0, x1 = 0, y0 = 0, y1 = 0;

  double height() const { return y1 - y0; }
  std::string text() const;  // cells joined by single spaces
};

double median(std::vector<double> v);

// Words whose height is at most this share of their line's and that sit
// above its middle are superscripts; digits and * † ‡ among them are
// footnote markers, written "[^1]".
constexpr double kSuperscriptHeight = 0.75;

// Lines of the words, top to bottom. Words without text or height are
// skipped.
std::vector<Line> build_lines(std::vector<const PdfWord*> words);

// Coordinates beyond this (points; a page is at most 14400) are corrupt.
constexpr double kMaxCoordinate = 1e6;

// A box with finite coordinates within kMaxCoordinate and x0 <= x1,
// y0 <= y1.
bool usable_box(double x0, double y0, double x1, double y1);

// Words of a page that carry text and have a usable box of some height, in
// the page's order. Every layout step works on these only.
std::vector<const PdfWord*> page_words(const PdfPage& page);

}  // namespace enclave::data::pdf
