// The bits of Markdown the readers write: tables (DOCX, HTML and PDF tables
// all become GitHub-style pipe tables) and heading lists for metadata.
// Thread safety: stateless; safe from any thread.
#pragma once

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

}  // namespace enclave::data
