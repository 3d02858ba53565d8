// PDF text extraction with poppler-cpp, each file in its own child process:
// a hostile PDF (a Flate/LZW bomb, cyclic object references, a false
// /Length, a parser crash) can then cost at most its time and memory limits
// and is reported as skipped, never taking the batch down. The child sends
// back each page's words with their boxes and its ruling lines (read with
// qpdf, pdf_rulings.h); layout (pdf_layout.h) happens in
// the caller.
// Fork safety: call from a thread while the process's other threads are
// idle or blocked (the ingest's worker pool is, between batches); the child
// only uses poppler and the allocator, then _exits.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "data/pdf_layout.h"

namespace enclave::data {

struct PdfLimits {
  double timeout_s = 60;  // wall time per file
  std::uint64_t max_memory_bytes = std::uint64_t{4}
                                   << 30;  // address space of the child; 0: no limit
  std::uint64_t max_text_bytes = std::uint64_t{256} << 20;  // words and boxes sent back
  int max_pages = 20000;
};

struct PdfExtraction {
  std::vector<PdfPage> pages;
  std::string error;  // non-empty: the file is skipped for this reason ("encrypted", "timed out
                      // after 60s", ...)
};

// What the child sends back, decoded into pages: "" on success, else why the
// bytes are not a whole message (truncated or corrupt). Pages decoded before
// the fault stay in `pages`. Exposed for the fuzz target (fuzz/pdf_fuzz.cpp).
std::string decode_pdf_words(std::string_view data, std::vector<PdfPage>& pages);

// Extracts the words of every file, running up to `parallel` children at
// once. Results are in the order of files. Never throws for a bad file.
std::vector<PdfExtraction> extract_pdf_words(const std::vector<std::filesystem::path>& files,
                                             const PdfLimits& limits, int parallel);

}  // namespace enclave::data
