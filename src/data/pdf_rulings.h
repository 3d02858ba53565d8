// Ruling lines of PDF pages: the straight horizontal and vertical strokes
// and thin filled rectangles that draw table borders. poppler-cpp gives text
// boxes only, so the page content streams are read with qpdf and their path
// operators (m l re h S s B b f F n, q Q cm, and Do for form XObjects)
// interpreted here.
// Runs inside the PDF reader's child process (pdf_reader.h), so a hostile
// content stream costs at most that child's limits.
// Thread safety: stateless; each call owns its qpdf objects.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "data/pdf_layout.h"

namespace enclave::data {

// The rulings of each page of the PDF at `path`, in page order, in the
// coordinates of PdfWord (points, y downwards from the top of the media
// box). At most `max_rules_per_page` per page; pages past that keep what was
// found so far. Returns an empty vector when qpdf cannot read the file or its
// page count differs from `n_pages` (rulings are a hint: text still flows).
std::vector<std::vector<PdfRule>> read_pdf_rulings(const std::string& path, std::size_t n_pages,
                                                   std::size_t max_rules_per_page = 20000);

}  // namespace enclave::data
