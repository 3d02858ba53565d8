#include "eval/task_docs.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/file.h"
#include "core/hash.h"
#include "core/json.h"
#include "eval/doc_files.h"
#include "store/registry.h"

namespace enclave::eval {
namespace fs = std::filesystem;
namespace {

constexpr std::uint64_t kMaxJsonlBytes = std::uint64_t{2} << 30;

// The file of a split: the data_files entry of the split, the path itself when
// it is a file, else <folder>/<split>.jsonl (or .json, .csv).
fs::path split_file(const DatasetSpec& ds, const fs::path& location, const std::string& split,
                    std::string_view what) {
  std::error_code ec;
  if (!ds.split_files.empty()) {
    auto it = ds.split_files.find(split);
    if (it != ds.split_files.end()) return it->second;
    std::string list;
    for (const auto& [name, file] : ds.split_files) list += (list.empty() ? "" : ", ") + name;
    fail(ErrorKind::kNotFound, "{}: split '{}' is not in dataset_kwargs.data_files (splits: {})",
         what, split, list);
  }
  if (!fs::is_directory(location, ec)) {
    if (!fs::exists(location, ec))
      fail(ErrorKind::kNotFound, "{}: dataset {} does not exist", what, location.string());
    return location;
  }
  for (const char* ext : kDocumentExtensions) {
    fs::path file = location / (split + ext);
    if (fs::is_regular_file(file, ec)) return file;
  }
  const fs::path file = location / (split + ".jsonl");
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(location, ec)) {
    for (const char* ext : kDocumentExtensions) {
      if (entry.path().extension() == ext) found.push_back(entry.path().stem().string());
    }
  }
  std::sort(found.begin(), found.end());
  std::string list;
  for (const auto& s : found) list += (list.empty() ? "" : ", ") + s;
  fail(ErrorKind::kNotFound, "{}: split '{}' not found: no {} (splits here: {})", what, split,
       file.string(), list.empty() ? "none" : list);
}

}  // namespace

std::vector<nlohmann::json> read_jsonl(const fs::path& path, std::uint64_t max_docs) {
  const std::string text = read_file(path, kMaxJsonlBytes);
  if (text.size() >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) {
    fail_input("{}: line 1: starts with a UTF-8 byte order mark; save the file without it",
               path.string());
  }
  std::vector<nlohmann::json> docs;
  std::size_t pos = 0;
  std::size_t line_no = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    ++line_no;
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    const std::string where = fmt::format("{}: line {}", path.string(), line_no);
    nlohmann::json doc = parse_json(line, where);
    if (!doc.is_object())
      fail_input("{}: expected a JSON object, got {}", where, json_type_name(doc));
    if (docs.size() >= max_docs) fail_input("{}: more than {} documents", path.string(), max_docs);
    docs.push_back(std::move(doc));
  }
  return docs;
}

std::size_t apply_limit(std::size_t n, std::optional<double> limit) {
  if (!limit) return n;
  if (*limit < 1)
    return std::min(n, static_cast<std::size_t>(std::ceil(*limit * static_cast<double>(n))));
  return std::min(n, static_cast<std::size_t>(*limit));
}

TaskDocs load_task_docs(const TaskSpec& task, const DocsOptions& options) {
  TaskDocs out;
  const std::string what = fmt::format("task '{}'", task.name);
  const DatasetSpec& ds = task.dataset;
  std::vector<nlohmann::json> docs;
  if (ds.path.empty() && ds.ref.empty() && ds.split_files.empty()) {
    docs = ds.docs;
    if (!ds.fewshot_docs.empty()) {
      out.fewshot_pool = ds.fewshot_docs;
      out.fewshot_from_docs = false;
    }
  } else {
    fs::path location = ds.path;
    if (!ds.ref.empty()) {
      auto workspace = store::Workspace::open(options.workspace);
      out.dataset_version_id =
          store::resolve_version(workspace->db(), store::RegistryKind::kDataset, ds.ref).id;
      location = store::version_path(*workspace, store::RegistryKind::kDataset, ds.ref);
    }
    const fs::path file = split_file(ds, location, ds.split, what);
    docs = read_documents(file, options.max_docs);
    out.data_sha256 = sha256_file_hex(file);
    if (!ds.fewshot_split.empty() && ds.fewshot_split != ds.split) {
      out.fewshot_pool =
          read_documents(split_file(ds, location, ds.fewshot_split, what), options.max_docs);
      out.fewshot_from_docs = false;
    }
  }
  if (docs.empty()) fail_input("{}: split '{}' has no documents", what, ds.split);
  out.n_available = docs.size();
  if (out.fewshot_from_docs)
    out.fewshot_pool = docs;  // the whole split, so the limit does not shrink the pool
  docs.resize(apply_limit(docs.size(), options.limit ? options.limit : task.limit));
  out.docs = std::move(docs);
  return out;
}

}  // namespace enclave::eval
