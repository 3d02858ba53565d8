// Tables of a PDF page, as rows of cell texts for markdown_table:
//   - ruled tables: the grid the ruling lines draw (pdf_rulings.h). Column
//     and row lines are the distinct vertical and horizontal rulings of one
//     connected set (outer borders may be missing: the horizontal rules'
//     ends stand in for them); a cell edge without a ruling merges the two
//     cells, and a merged cell's text sits in its top-left position with the
//     positions it covers left empty, so every row keeps its columns;
//   - aligned tables: words of a region whose lines share column gaps
//     (pdf_regions.h), the column gaps taken from the lines that fill most
//     columns (a heading spanning two columns goes to the leftmost one); rows
//     are the lines, except that when the row spacing
//     is wider than the line spacing inside rows, lines closer than that are
//     one row (cells of several lines). Missing words are empty cells.
// A cell of several lines is rejoined with the document's line joiner.
// Internal to the PDF layout. Thread safety: stateless.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "data/pdf_layout.h"
#include "data/pdf_line_join.h"
#include "data/pdf_regions.h"

namespace enclave::data::pdf {

using TableRows = std::vector<std::vector<std::string>>;

struct RuledTable {
  Box box;
  std::vector<double> xs, ys;  // column and row boundaries, ascending
  std::vector<int> owner;      // per grid cell (row * columns + col): its merged cell's top-left
  int columns() const { return static_cast<int>(xs.size()) - 1; }
  int rows() const { return static_cast<int>(ys.size()) - 1; }
  // Grid cell of a point inside box, as row * columns + col.
  int cell_at(double x, double y) const;
};

// Grids of at least two rows and two columns drawn by the rulings.
std::vector<RuledTable> find_ruled_tables(const std::vector<PdfRule>& rules);

// The cells of a ruled table from the words inside it.
TableRows ruled_table_rows(const RuledTable& table, const std::vector<const PdfWord*>& words,
                           LineJoiner& joiner);

// The cells of an aligned region, or nothing when it is not a table (fewer
// than two rows or columns, or most rows with a single cell).
std::optional<TableRows> aligned_table_rows(const std::vector<const PdfWord*>& words,
                                            const std::vector<Gutter>& gutters, LineJoiner& joiner);

}  // namespace enclave::data::pdf
