#include "data/markdown.h"

#include <algorithm>

#include "core/error.h"

namespace enclave::data {

std::string markdown_table(const std::vector<std::vector<std::string>>& rows) {
  std::size_t width = 0;
  for (const auto& r : rows) width = std::max(width, r.size());
  if (rows.empty() || width == 0) return "";
  auto cell = [](const std::string& text) {
    std::string out;
    for (char c : text) {
      if (c == '|') {
        out += "\\|";
      } else if (c == '\n' || c == '\r') {
        if (!out.empty() && out.back() != ' ') out += ' ';
      } else {
        out += c;
      }
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
  };
  std::string out;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    out += "|";
    for (std::size_t c = 0; c < width; ++c)
      out += " " + (c < rows[r].size() ? cell(rows[r][c]) : "") + " |";
    out += "\n";
    if (r == 0) {
      out += "|";
      for (std::size_t c = 0; c < width; ++c) out += " --- |";
      out += "\n";
    }
  }
  out.pop_back();
  return out;
}

nlohmann::json markdown_sections(std::string_view text) {
  nlohmann::json out = nlohmann::json::array();
  std::size_t pos = 0;
  while (pos < text.size() && out.size() < 1000) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    std::size_t hashes = 0;
    while (hashes < line.size() && line[hashes] == '#') ++hashes;
    if (hashes >= 1 && hashes <= 6 && hashes < line.size() && line[hashes] == ' ') {
      std::string_view title = line.substr(hashes + 1);
      while (!title.empty() && (title.back() == ' ' || title.back() == '\r'))
        title.remove_suffix(1);
      if (!title.empty()) out.push_back(std::string(title));
    }
    pos = end + 1;
  }
  return out;
}

std::vector<std::vector<std::string>> spanned_table_rows(const std::vector<SpannedCell>& cells,
                                                         std::size_t n_rows, std::size_t n_cols,
                                                         std::string_view what,
                                                         std::size_t max_cells) {
  for (const SpannedCell& c : cells) {
    if (c.row_span == 0 || c.col_span == 0)
      fail_input("{}: table cell at row {}, column {} spans 0", what, c.row, c.col);
    // Each bound alone first, so that the sums below cannot overflow.
    if (c.row >= max_cells || c.col >= max_cells || c.row_span > max_cells ||
        c.col_span > max_cells) {
      fail_input("{}: table cell at row {}, column {} lies past {} cells", what, c.row, c.col,
                 max_cells);
    }
    n_rows = std::max(n_rows, c.row + 1);
    n_cols = std::max(n_cols, c.col + 1);
  }
  if (n_rows == 0 || n_cols == 0) return {};
  if (n_rows > max_cells / n_cols)
    fail_input("{}: table of {} x {} cells (limit {})", what, n_rows, n_cols, max_cells);
  std::vector<std::vector<std::string>> rows(n_rows, std::vector<std::string>(n_cols));
  for (const SpannedCell& c : cells) {
    std::string& slot = rows[c.row][c.col];
    if (!slot.empty() && !c.text.empty()) slot += ' ';
    slot += c.text;
  }
  return rows;
}

}  // namespace enclave::data
