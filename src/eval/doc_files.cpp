#include "eval/doc_files.h"

#include <cerrno>
#include <cstdlib>

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "eval/task_docs.h"

namespace enclave::eval {
namespace fs = std::filesystem;
namespace {

constexpr std::uint64_t kMaxFileBytes = std::uint64_t{2} << 30;

void check_count(std::size_t n, std::uint64_t max_docs, const fs::path& path) {
  if (n >= max_docs) fail_input("{}: more than {} documents", path.string(), max_docs);
}

std::vector<nlohmann::json> read_json_array(const fs::path& path, std::uint64_t max_docs) {
  const std::string text = read_file(path, kMaxFileBytes);
  std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || text[first] != '[') return read_jsonl(path, max_docs);
  nlohmann::json value = parse_json(text, path.string());
  std::vector<nlohmann::json> docs;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_object())
      fail_input("{}: item {}: expected a JSON object, got {}", path.string(), i,
                 json_type_name(value[i]));
    check_count(docs.size(), max_docs, path);
    docs.push_back(std::move(value[i]));
  }
  return docs;
}

nlohmann::json csv_cell(const std::string& cell) {
  if (cell.empty()) return nullptr;
  if (cell == "True" || cell == "true" || cell == "TRUE") return true;
  if (cell == "False" || cell == "false" || cell == "FALSE") return false;
  const char* begin = cell.c_str();
  char* end = nullptr;
  errno = 0;
  long long i = std::strtoll(begin, &end, 10);
  if (errno == 0 && *end == '\0' && !std::isspace(static_cast<unsigned char>(cell[0]))) return i;
  errno = 0;
  double d = std::strtod(begin, &end);
  if (errno == 0 && *end == '\0' && cell.find_first_of("0123456789") != std::string::npos &&
      !std::isspace(static_cast<unsigned char>(cell[0])) && cell.find('x') == std::string::npos &&
      cell.find('X') == std::string::npos)
    return d;
  return cell;
}

// Splits CSV text into rows of cells, tracking the line each row starts on.
struct CsvRow {
  std::vector<std::string> cells;
  std::size_t line = 0;
};

std::vector<CsvRow> parse_csv(const std::string& text, const fs::path& path) {
  std::vector<CsvRow> rows;
  std::size_t pos = 0;
  std::size_t line = 1;
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) pos = 3;  // Excel writes a BOM; pandas drops it
  while (pos < text.size()) {
    CsvRow row;
    row.line = line;
    std::string cell;
    bool row_done = false;
    while (!row_done) {
      cell.clear();
      if (pos < text.size() && text[pos] == '"') {
        std::size_t open_line = line;
        ++pos;
        while (true) {
          if (pos >= text.size())
            fail_input("{}: line {}: quoted field is never closed", path.string(), open_line);
          char c = text[pos++];
          if (c == '"') {
            if (pos < text.size() && text[pos] == '"') {
              cell += '"';
              ++pos;
              continue;
            }
            break;
          }
          if (c == '\n') ++line;
          cell += c;
        }
        if (pos < text.size() && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r')
          fail_input("{}: line {}: text after a closing quote", path.string(), line);
      } else {
        while (pos < text.size() && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r') {
          if (text[pos] == '"')
            fail_input("{}: line {}: a quote inside an unquoted field", path.string(), line);
          cell += text[pos++];
        }
      }
      row.cells.push_back(cell);
      if (pos < text.size() && text[pos] == ',') {
        ++pos;
        continue;
      }
      if (pos < text.size() && text[pos] == '\r') ++pos;
      if (pos < text.size() && text[pos] == '\n') ++pos;
      ++line;
      row_done = true;
    }
    bool blank = row.cells.size() == 1 && row.cells[0].empty();
    if (!blank) rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<nlohmann::json> read_csv(const fs::path& path, std::uint64_t max_docs) {
  const std::string text = read_file(path, kMaxFileBytes);
  std::vector<CsvRow> rows = parse_csv(text, path);
  if (rows.empty()) fail_input("{}: no header row", path.string());
  const std::vector<std::string>& header = rows[0].cells;
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i].empty()) fail_input("{}: line 1: column {} has no name", path.string(), i + 1);
    for (std::size_t j = 0; j < i; ++j) {
      if (header[j] == header[i])
        fail_input("{}: line 1: column '{}' appears twice", path.string(), header[i]);
    }
  }
  std::vector<nlohmann::json> docs;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const CsvRow& row = rows[r];
    if (row.cells.size() != header.size())
      fail_input("{}: line {}: {} fields, the header has {}", path.string(), row.line,
                 row.cells.size(), header.size());
    nlohmann::json doc = nlohmann::json::object();
    for (std::size_t i = 0; i < header.size(); ++i) doc[header[i]] = csv_cell(row.cells[i]);
    check_count(docs.size(), max_docs, path);
    docs.push_back(std::move(doc));
  }
  return docs;
}

}  // namespace

std::vector<nlohmann::json> read_documents(const fs::path& path, std::uint64_t max_docs) {
  const std::string ext = path.extension().string();
  if (ext == ".jsonl") return read_jsonl(path, max_docs);
  if (ext == ".json") return read_json_array(path, max_docs);
  if (ext == ".csv") return read_csv(path, max_docs);
  fail_input("{}: unknown document format '{}' (expected .jsonl, .json or .csv)", path.string(),
             ext);
}

}  // namespace enclave::eval
