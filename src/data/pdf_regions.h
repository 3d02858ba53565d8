// Reading order of a PDF page: the page is cut into horizontal bands (runs
// of words whose middles overlap vertically), each band's column gaps are
// found (blank x ranges at least a line height wide), and consecutive bands
// that share their gaps form a section. A section whose columns each read
// as text (several lines, three or more words a line, lines filling their
// column) is a multi-column region: each column is read top to bottom, in
// turn, left to right, and laid out again on its own (a column may hold a
// table). Other sections with shared gaps are table candidates; the rest is
// running text. Ruled tables (pdf_tables.h) take part as boxes, so they
// land where they stand in the reading order. This is the recursive XY cut
// (Nagy and Seth, 1984) with bands merged by shared gaps, so columns whose
// paragraph breaks happen to line up are not cut into pieces.
// Internal to the PDF layout. Thread safety: stateless.
#pragma once

#include <vector>

#include "data/pdf_layout.h"

namespace enclave::data::pdf {

struct Box {
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

// A column gap is at least this many word heights wide; word spaces are
// about a third of one.
constexpr double kGutterWidth = 1.0;

struct Gutter {
  double x0 = 0, x1 = 0;  // a blank x range between columns
};

enum class FlowKind {
  kText,        // running text, lines top to bottom
  kTable,       // aligned columns split by gutters: a table candidate
  kRuledTable,  // the ruled table `table`
};

struct Flow {
  FlowKind kind = FlowKind::kText;
  std::vector<const PdfWord*> words;
  std::vector<Gutter> gutters;  // kTable
  int table = -1;               // kRuledTable: index into the page's tables
};

struct PageFlows {
  std::vector<Flow> flows;  // in reading order
  int n_column_regions = 0;
};

// The overlaps of two lists of gutters sorted by x, at least min_width
// wide, in one sweep.
std::vector<Gutter> intersect_gutters(const std::vector<Gutter>& a, const std::vector<Gutter>& b,
                                      double min_width);

// `tables`: boxes of the page's ruled tables (their words already removed).
PageFlows order_regions(const std::vector<const PdfWord*>& words, const std::vector<Box>& tables);

}  // namespace enclave::data::pdf
