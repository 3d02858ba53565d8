// Ingest: turns files and folders of documents into dataset records. Folders
// are read recursively in sorted order (symlinks are reported, never
// followed); .txt, .md, .jsonl, .pdf, .docx, .html/.htm, .hwp and .hwpx are
// read, other files are counted as ignored. Every document gets an id, its
// source path, its type and metadata (pages and page offsets for PDFs,
// sections for Markdown/DOCX/HTML/HWP/HWPX, the line for JSONL). A file that is corrupt,
// encrypted, hostile (zip bomb, path-escaping entry, entity expansion,
// decompression bomb) or over the limits is reported with the reason and
// skipped; it never stops the batch. JSONL is streamed line by line with
// bounded memory; a bad line is reported and skipped.
// Thread safety: ingest() uses its own worker pool; call it from one thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/document.h"
#include "data/pdf_reader.h"
#include "data/safe_zip.h"

namespace enclave::data {

enum class FileType { kTxt, kMd, kJsonl, kPdf, kDocx, kHtml, kHwp, kHwpx };
std::string_view to_string(FileType type);
// By extension, case-insensitive; nullopt for files ingest does not read.
std::optional<FileType> file_type_of(const std::filesystem::path& path);

struct IngestOptions {
  std::vector<std::filesystem::path> paths;
  // JSONL: the field holding the text ("text", or a dotted path "data.body").
  // Records without it that hold "messages", "prompt"/"completion" or
  // "prompt"/"chosen" get their text from those (turns joined by blank lines).
  std::string jsonl_field = "text";
  int threads = 0;  // 0: every core
  std::uint64_t max_file_bytes = std::uint64_t{1} << 30;
  std::size_t max_line_bytes = std::size_t{64} << 20;
  ZipLimits zip;
  PdfLimits pdf;
  bool show_progress = false;
};

struct IngestReport {
  std::map<std::string, std::int64_t> files;  // files read, by type
  struct Skipped {
    std::string path;
    std::string reason;
  };
  std::vector<Skipped> skipped;
  std::int64_t ignored_files = 0;  // unknown extensions
  std::int64_t documents = 0;
  std::int64_t chars = 0;                      // code points of text written
  std::int64_t bad_lines = 0;                  // JSONL lines skipped
  std::vector<std::string> bad_line_examples;  // "file:line: reason", at most 20
  std::uint64_t bytes_read = 0;
};
nlohmann::json to_json(const IngestReport& report);

// Reads every file and calls sink for each document, in a stable order
// (files sorted by path, then position in the file). Throws Error(kNotFound)
// for a path that does not exist; bad files are reported, not thrown.
IngestReport ingest(const IngestOptions& options, const std::function<void(Document&&)>& sink);

// The document a JSONL record yields (see IngestOptions::jsonl_field): the
// record's "id" (if a string) and "meta" (if an object) are kept, meta gets
// "line" (when line_number > 0), other fields travel as extra. Throws
// Error(kInvalidInput) with the reason for a bad record.
Document document_from_record(std::string_view line, std::string_view field,
                              std::uint64_t line_number = 0);

}  // namespace enclave::data
