// Text tables and terminal-width text for the store's listings (`models
// list`, `runs list`, `audit list`, the request log): columns sized to their
// content, measured in terminal cells so Hangul and other wide characters
// line up, and text shortened only between characters, never inside one.
// Thread safety: plain values and pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace enclave::store {

// Terminal cells text takes: 2 for East Asian wide characters (Hangul, CJK,
// fullwidth forms, most emoji), 0 for combining marks and controls, 1
// otherwise. Invalid UTF-8 bytes count 1 each (they print as one
// replacement character).
std::size_t display_width(std::string_view text);

// text cut to at most max_cells cells, ending in "…" when it was cut; never
// splits a UTF-8 sequence. Newlines and tabs become spaces first, so a cell
// stays on one line.
std::string shorten(std::string_view text, std::size_t max_cells);

enum class Align { kLeft, kRight };

class Table {
 public:
  struct Column {
    std::string header;
    Align align = Align::kLeft;
  };
  explicit Table(std::vector<Column> columns);

  // One row, a cell per column (missing cells are empty).
  void add_row(std::vector<std::string> cells);

  // Header and rows, each column as wide as its widest cell, two spaces
  // between columns, no trailing spaces.
  std::string render() const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace enclave::store
