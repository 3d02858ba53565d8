// Test-only builders for the document fixtures the reader tests need: tiny
// PDFs (Helvetica text at given positions, optionally encrypted, compressed
// or with a cyclic page tree), ZIP containers with arbitrary entries
// (including hostile names and symlinks) and DOCX files around a body XML.
// Compiled into enclave_data_test only.
// Thread safety: stateless.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/scratch_dir_testing.h"

namespace enclave::data::testing {

struct TestText {
  double x = 72;
  double y = 72;  // from the top of the page, in points
  double size = 11;
  std::string text;  // Latin-1 range only (standard 14 font)
};
using TestPage = std::vector<TestText>;

struct PdfBuildOptions {
  bool encrypted = false;         // an /Encrypt dictionary whose user password is not empty
  bool compress = false;          // FlateDecode content streams
  std::string raw_content;        // replaces every page's content stream when set
  bool cyclic_page_tree = false;  // /Pages lists itself as a kid
};

std::string make_pdf(const std::vector<TestPage>& pages, const PdfBuildOptions& options = {});
// A PDF file of the given objects (objects[i] is object i + 1, the catalog
// first) with its cross-reference table; trailer_extra goes into the trailer.
std::string pdf_file(const std::vector<std::string>& objects,
                     const std::string& trailer_extra = "");

struct ZipEntry {
  std::string name;
  std::string data;
  bool symlink = false;
};
void write_zip(const std::filesystem::path& path, const std::vector<ZipEntry>& entries);

// A DOCX whose word/document.xml holds body_xml inside w:document/w:body.
std::vector<ZipEntry> docx_entries(const std::string& body_xml);
std::string docx_paragraph(const std::string& text, const std::string& style = "");
std::string docx_table(const std::vector<std::vector<std::string>>& rows);

// Extraction accuracy against what a fixture was built from, for the
// readers' golden tests. character_accuracy: 1 - (edit distance in code
// points) / (code points of `expected`), floored at 0; the distance is
// computed in a band around the diagonal wide enough for 5% of errors, so
// anything worse reads as at most 0.95.
double character_accuracy(const std::string& expected, const std::string& actual);
// The Markdown tables of `text` (consecutive lines starting with '|',
// separator rows dropped, cells trimmed, "\|" unescaped), in order.
std::vector<std::vector<std::vector<std::string>>> markdown_tables(const std::string& text);
// The share of the expected tables' cells whose text the n-th table of
// `text` has at the same row and column (1 when there are no cells).
double table_cell_accuracy(const std::vector<std::vector<std::vector<std::string>>>& expected,
                           const std::string& text, std::size_t* n_cells = nullptr);

using enclave::testing::ScratchDir;
void write_bytes(const std::filesystem::path& path, const std::string& bytes);

}  // namespace enclave::data::testing
