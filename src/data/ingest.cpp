#include "data/ingest.h"

#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "core/error.h"
#include "core/hash.h"
#include "core/progress.h"
#include "data/line_reader.h"
#include "data/pdf_layout.h"
#include "data/readers.h"
#include "data/worker_pool.h"
#include "text/utf8.h"

namespace enclave::data {

std::string_view to_string(FileType type) {
  switch (type) {
    case FileType::kTxt:
      return "txt";
    case FileType::kMd:
      return "md";
    case FileType::kJsonl:
      return "jsonl";
    case FileType::kPdf:
      return "pdf";
    case FileType::kDocx:
      return "docx";
    case FileType::kHtml:
      return "html";
    case FileType::kHwp:
      return "hwp";
    case FileType::kHwpx:
      return "hwpx";
  }
  return "txt";
}

std::optional<FileType> file_type_of(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".txt" || ext == ".text") return FileType::kTxt;
  if (ext == ".md" || ext == ".markdown") return FileType::kMd;
  if (ext == ".jsonl" || ext == ".ndjson") return FileType::kJsonl;
  if (ext == ".pdf") return FileType::kPdf;
  if (ext == ".docx") return FileType::kDocx;
  if (ext == ".html" || ext == ".htm") return FileType::kHtml;
  if (ext == ".hwp") return FileType::kHwp;
  if (ext == ".hwpx") return FileType::kHwpx;
  return std::nullopt;
}

nlohmann::json to_json(const IngestReport& r) {
  nlohmann::json skipped = nlohmann::json::array();
  for (const auto& s : r.skipped) skipped.push_back({{"path", s.path}, {"reason", s.reason}});
  return {{"files", r.files},
          {"skipped_files", skipped},
          {"ignored_files", r.ignored_files},
          {"documents", r.documents},
          {"chars", r.chars},
          {"bad_lines", r.bad_lines},
          {"bad_line_examples", r.bad_line_examples},
          {"bytes_read", r.bytes_read}};
}

namespace {

constexpr std::size_t kFileBatch = 32;
constexpr std::size_t kLineBatch = 4096;
constexpr std::size_t kMaxExamples = 20;

std::string document_id(std::string_view source, std::uint64_t index) {
  return sha256_hex(std::string(source) + "\n" + std::to_string(index)).substr(0, 16);
}

std::int64_t count_chars(std::string_view s) {
  std::int64_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

simdjson::dom::parser& thread_parser() {
  thread_local simdjson::dom::parser parser = [] {
    simdjson::dom::parser p;
    if (p.allocate(1 << 16, 64) != simdjson::SUCCESS)
      fail(ErrorKind::kIo, "out of memory allocating the JSON parser");
    return p;
  }();
  return parser;
}

std::string join_turns(simdjson::dom::element messages) {
  simdjson::dom::array turns;
  if (messages.get_array().get(turns) != simdjson::SUCCESS)
    fail_input("field 'messages': expected an array");
  std::string out;
  for (auto turn : turns) {
    std::string_view content;
    if (turn["content"].get_string().get(content) != simdjson::SUCCESS) {
      fail_input("field 'messages': every turn needs a string 'content'");
    }
    if (!out.empty()) out += "\n\n";
    out += content;
  }
  return out;
}

// Text of a prompt/completion-like field: a string or a list of turns.
std::string field_text(simdjson::dom::element value, std::string_view key) {
  std::string_view s;
  if (value.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
  if (value.is_array()) return join_turns(value);
  fail_input("field '{}': expected a string or a list of messages", key);
}

std::vector<std::filesystem::path> expand_paths(const std::vector<std::filesystem::path>& paths,
                                                IngestReport& report) {
  std::vector<std::filesystem::path> files;
  for (const auto& arg : paths) {
    std::error_code ec;
    const auto status = std::filesystem::symlink_status(arg, ec);
    if (ec || !std::filesystem::exists(status))
      fail(ErrorKind::kNotFound, "{}: no such file or folder", arg.string());
    if (std::filesystem::is_directory(status)) {
      std::vector<std::filesystem::path> found;
      auto it = std::filesystem::recursive_directory_iterator(
          arg, std::filesystem::directory_options::skip_permission_denied, ec);
      if (ec) fail(ErrorKind::kIo, "{}: cannot list: {}", arg.string(), ec.message());
      for (; it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) {
          report.skipped.push_back({arg.string(), "cannot list: " + ec.message()});
          break;
        }
        const auto st = it->symlink_status(ec);
        if (std::filesystem::is_symlink(st)) {
          if (file_type_of(it->path()))
            report.skipped.push_back({it->path().string(), "symbolic link (not followed)"});
          continue;
        }
        if (std::filesystem::is_regular_file(st)) found.push_back(it->path());
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (std::filesystem::is_symlink(status)) {
      // A link named on the command line is the user's choice: follow it.
      files.push_back(arg);
    } else {
      files.push_back(arg);
    }
  }
  return files;
}

struct FileResult {
  std::string error;
  ExtractedText extracted;
};

void read_one(const std::filesystem::path& path, FileType type, const IngestOptions& options,
              FileResult& r) {
  try {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) fail(ErrorKind::kIo, "cannot read: {}", ec.message());
    if (size > options.max_file_bytes) fail_input("larger than {} bytes", options.max_file_bytes);
    switch (type) {
      case FileType::kTxt:
        r.extracted = read_text_file(path, false, options.max_file_bytes);
        break;
      case FileType::kMd:
        r.extracted = read_text_file(path, true, options.max_file_bytes);
        break;
      case FileType::kDocx:
        r.extracted = read_docx(path, options.zip);
        break;
      case FileType::kHtml:
        r.extracted = read_html(path, options.max_file_bytes);
        break;
      case FileType::kHwp:
        r.extracted = read_hwp(path, options.zip);
        break;
      case FileType::kHwpx:
        r.extracted = read_hwpx(path, options.zip);
        break;
      default:
        ENCLAVE_CHECK(false);
    }
  } catch (const Error& e) {
    r.error = e.what();
    // Readers name the file; the report already does.
    if (r.error.starts_with(path.string() + ": ")) r.error.erase(0, path.string().size() + 2);
  } catch (const std::exception& e) {
    r.error = e.what();
  }
}

class Ingester {
 public:
  Ingester(const IngestOptions& options, const std::function<void(Document&&)>& sink)
      : options_(options), sink_(sink), pool_(options.threads) {}

  IngestReport run() {
    const auto files = expand_paths(options_.paths, report_);
    Progress progress({.label = "ingesting", .total = files.size(), .unit = "files"}, stderr,
                      options_.show_progress && isatty(2));
    std::vector<std::pair<std::filesystem::path, FileType>> batch;
    for (const auto& f : files) {
      auto type = file_type_of(f);
      if (!type) {
        ++report_.ignored_files;
        progress.advance();
        continue;
      }
      if (*type == FileType::kJsonl) {
        flush_batch(batch, progress);
        read_jsonl(f);
        progress.advance();
        continue;
      }
      batch.emplace_back(f, *type);
      if (batch.size() >= kFileBatch) flush_batch(batch, progress);
    }
    flush_batch(batch, progress);
    progress.finish();
    return std::move(report_);
  }

 private:
  void emit(Document&& doc) {
    ++report_.documents;
    report_.chars += count_chars(doc.text);
    sink_(std::move(doc));
  }

  void flush_batch(std::vector<std::pair<std::filesystem::path, FileType>>& batch,
                   Progress& progress) {
    if (batch.empty()) return;
    std::vector<FileResult> results(batch.size());
    // PDFs first, in child processes, while the pool's threads are idle.
    std::vector<std::filesystem::path> pdfs;
    std::vector<std::size_t> pdf_index;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].second == FileType::kPdf) {
        pdfs.push_back(batch[i].first);
        pdf_index.push_back(i);
      }
    }
    std::vector<PdfExtraction> extracted = extract_pdf_words(pdfs, options_.pdf, pool_.size());
    pool_.for_each(batch.size(), [&](std::size_t i, int) {
      const auto& [path, type] = batch[i];
      if (type != FileType::kPdf) {
        read_one(path, type, options_, results[i]);
        return;
      }
      const std::size_t k = static_cast<std::size_t>(
          std::find(pdf_index.begin(), pdf_index.end(), i) - pdf_index.begin());
      PdfExtraction& pdf = extracted[k];
      if (!pdf.error.empty()) {
        results[i].error = pdf.error;
        return;
      }
      PdfText text = layout_pdf_text(pdf.pages);
      results[i].extracted.text = sanitize_utf8(text.text);
      results[i].extracted.meta = {
          {"pages", pdf.pages.size()},     {"page_offsets", text.page_offsets},
          {"tables", text.n_tables},       {"dropped_header_footer_lines", text.n_dropped_lines},
          {"footnotes", text.n_footnotes}, {"column_regions", text.n_column_regions}};
      pdf.pages.clear();
    });
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto& [path, type] = batch[i];
      FileResult& r = results[i];
      std::error_code ec;
      report_.bytes_read += std::filesystem::file_size(path, ec);
      if (r.error.empty() && r.extracted.text.find_first_not_of(" \n\t") == std::string::npos) {
        r.error = type == FileType::kPdf ? "no text (a scanned image?)" : "no text";
      }
      if (!r.error.empty()) {
        report_.skipped.push_back({path.string(), r.error});
      } else {
        ++report_.files[std::string(to_string(type))];
        Document doc;
        doc.source = path.generic_string();
        doc.id = document_id(doc.source, 0);
        doc.type = to_string(type);
        doc.text = std::move(r.extracted.text);
        doc.meta = r.extracted.meta.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        emit(std::move(doc));
      }
      progress.advance();
    }
    batch.clear();
  }

  void read_jsonl(const std::filesystem::path& path) {
    std::unique_ptr<LineReader> reader;
    try {
      reader = std::make_unique<LineReader>(path, options_.max_line_bytes);
    } catch (const Error& e) {
      report_.skipped.push_back({path.string(), e.what()});
      return;
    }
    const std::string source = path.generic_string();
    std::vector<std::string> lines;
    std::vector<std::uint64_t> numbers;
    std::vector<Document> docs;
    std::vector<std::string> errors;
    std::int64_t read_docs = 0;
    auto flush = [&] {
      docs.assign(lines.size(), Document{});
      pool_.for_each(lines.size(), [&](std::size_t i, int) {
        if (!errors[i].empty()) return;  // too long: reported in line order below
        try {
          docs[i] = document_from_record(lines[i], options_.jsonl_field, numbers[i]);
        } catch (const Error& e) {
          errors[i] = e.what();
        }
      });
      for (std::size_t i = 0; i < lines.size(); ++i) {
        if (!errors[i].empty()) {
          bad_line(source, numbers[i], errors[i]);
          continue;
        }
        Document& d = docs[i];
        d.source = source;
        d.type = "jsonl";
        if (d.id.empty()) d.id = document_id(source, numbers[i]);
        ++read_docs;
        emit(std::move(d));
      }
      lines.clear();
      numbers.clear();
      errors.clear();
    };
    Line line;
    try {
      while (reader->next(line)) {
        if (!line.too_long && line.text.find_first_not_of(" \t") == std::string_view::npos)
          continue;
        lines.emplace_back(line.text);
        numbers.push_back(line.number);
        errors.push_back(
            line.too_long ? fmt::format("line longer than {} bytes", options_.max_line_bytes) : "");
        if (lines.size() >= kLineBatch) flush();
      }
      flush();
    } catch (const Error& e) {
      report_.skipped.push_back({path.string(), e.what()});
    }
    report_.bytes_read += reader->bytes_read();
    if (read_docs > 0) ++report_.files["jsonl"];
  }

  void bad_line(const std::string& source, std::uint64_t number, const std::string& reason) {
    ++report_.bad_lines;
    if (report_.bad_line_examples.size() < kMaxExamples) {
      report_.bad_line_examples.push_back(fmt::format("{}:{}: {}", source, number, reason));
    }
  }

  const IngestOptions& options_;
  const std::function<void(Document&&)>& sink_;
  WorkerPool pool_;
  IngestReport report_;
};

}  // namespace

Document document_from_record(std::string_view line, std::string_view field,
                              std::uint64_t line_number) {
  simdjson::padded_string padded(line);
  simdjson::dom::element root;
  if (auto err = thread_parser().parse(padded).get(root); err) {
    fail_input("invalid JSON: {}", simdjson::error_message(err));
  }
  simdjson::dom::object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS) fail_input("expected a JSON object");
  Document doc;
  const std::string_view top = field.substr(0, field.find('.'));
  // The text field, following a dotted path.
  simdjson::dom::element text_value;
  bool found = root.at_key(top).get(text_value) == simdjson::SUCCESS;
  std::string_view rest =
      top.size() < field.size() ? field.substr(top.size() + 1) : std::string_view();
  while (found && !rest.empty()) {
    const std::string_view key = rest.substr(0, rest.find('.'));
    found = text_value.at_key(key).get(text_value) == simdjson::SUCCESS;
    rest = key.size() < rest.size() ? rest.substr(key.size() + 1) : std::string_view();
  }
  if (found) {
    std::string_view s;
    if (text_value.get_string().get(s) != simdjson::SUCCESS)
      fail_input("field '{}': expected a string", field);
    doc.text = s;
  } else {
    simdjson::dom::element v;
    if (obj.at_key("messages").get(v) == simdjson::SUCCESS) {
      doc.text = join_turns(v);
    } else if (obj.at_key("prompt").get(v) == simdjson::SUCCESS) {
      doc.text = field_text(v, "prompt");
      for (const char* answer : {"completion", "chosen"}) {
        simdjson::dom::element a;
        if (obj.at_key(answer).get(a) == simdjson::SUCCESS)
          doc.text += "\n\n" + field_text(a, answer);
      }
    } else {
      fail_input("field '{}': missing", field);
    }
  }
  nlohmann::json meta = nlohmann::json::object();
  for (auto member : obj) {
    const std::string_view key = member.key;
    if (key == top && found) continue;
    if (key == "id") {
      std::string_view id;
      if (member.value.get_string().get(id) == simdjson::SUCCESS) {
        doc.id = id;
        continue;
      }
    }
    if (key == "meta" && member.value.is_object()) {
      meta = nlohmann::json::parse(simdjson::minify(member.value));
      continue;
    }
    if (key == "source" || key == "type" || key == "text") continue;  // ours to set
    if (!doc.extra.empty()) doc.extra += ',';
    append_json_string(doc.extra, key);
    doc.extra += ':';
    doc.extra += simdjson::minify(member.value);
  }
  if (line_number > 0 && !meta.contains("line")) meta["line"] = line_number;
  doc.meta = meta.dump();
  return doc;
}

IngestReport ingest(const IngestOptions& options, const std::function<void(Document&&)>& sink) {
  Ingester ingester(options, sink);
  return ingester.run();
}

}  // namespace enclave::data
