// Running headers, running footers and page numbers of PDF pages.
// A top or bottom margin line is running when the same text (digits as '#',
// case and spacing ignored) is printed on the same side of another page
// within kRunningWindow pages: headers that change by chapter and headers
// that alternate between even and odd pages both repeat on nearby pages,
// which the old rule (the same line on half of all pages) missed. Page
// numbers ("3", "- 3 -", "Page 3 of 9", "3쪽", "iv") are dropped on their own.
// Internal to the PDF layout (pdf_layout.cpp). Thread safety: stateless.
#pragma once

#include <unordered_set>
#include <vector>

#include "data/pdf_layout.h"

namespace enclave::data::pdf {

constexpr int kRunningWindow = 4;
// Headers and footers live in the page margins: the top or bottom 12%.
constexpr double kMarginBand = 0.12;

// The words of the running lines and page numbers of every page, and how
// many lines they make.
struct RunningLines {
  std::unordered_set<const PdfWord*> words;
  int n_lines = 0;
};
RunningLines find_running_lines(const std::vector<PdfPage>& pages);

}  // namespace enclave::data::pdf
