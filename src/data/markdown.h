// The bits of Markdown the readers write: tables (DOCX, HTML and PDF tables
// all become GitHub-style pipe tables) and heading lists for metadata.
// Thread safety: stateless; safe from any thread.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace enclave::data {

// Rows of cells as a Markdown table, the first row as the header; short rows
// are padded. Cells have '|' escaped and line breaks turned into spaces.
std::string markdown_table(const std::vector<std::vector<std::string>>& rows);

// The headings ("# Title" lines) of Markdown text, without the '#', in order
// (at most 1000).
nlohmann::json markdown_sections(std::string_view text);

// One cell of a table whose cells may span rows and columns (HWP, HWPX,
// DOCX, HTML), placed by its top-left corner.
struct SpannedCell {
  std::size_t row = 0;
  std::size_t col = 0;
  std::size_t row_span = 1;
  std::size_t col_span = 1;
  std::string text;
};

// The rows of a table with merged cells, every column kept: a merged cell's
// text sits in its top-left slot and the slots it covers stay empty, so
// each column of the Markdown table is one column of the document's table.
// The grid is at least n_rows x n_cols and grows to fit every cell. Throws
// Error(kInvalidInput) naming `what` when it would pass max_cells slots or a
// span is 0.
std::vector<std::vector<std::string>> spanned_table_rows(const std::vector<SpannedCell>& cells,
                                                         std::size_t n_rows, std::size_t n_cols,
                                                         std::string_view what,
                                                         std::size_t max_cells = 1 << 20);

}  // namespace enclave::data
