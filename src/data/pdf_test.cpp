// PDF: layout analysis on synthetic word boxes, and the whole path (poppler
// in a child process, then layout) on tiny PDFs built here.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "data/pdf_layout.h"
#include "data/pdf_reader.h"
#include "data/test_documents.h"

namespace enclave::data {
namespace {

using testing::TestPage;
using testing::TestText;

// Words of one line laid out left to right from x, 6 points per character.
std::vector<PdfWord> line_words(const std::string& text, double x, double y, double size = 10) {
  std::vector<PdfWord> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find(' ', pos);
    if (end == std::string::npos) end = text.size();
    const std::string w = text.substr(pos, end - pos);
    out.push_back({w, x, y, x + 6.0 * static_cast<double>(w.size()), y + size, end < text.size()});
    x += 6.0 * static_cast<double>(w.size() + 1);
    pos = end + 1;
  }
  return out;
}

PdfPage page_of(const std::vector<std::pair<std::string, double>>& lines, double x = 72) {
  PdfPage page;
  for (const auto& [text, y] : lines) {
    auto words = line_words(text, x, y);
    page.words.insert(page.words.end(), words.begin(), words.end());
  }
  return page;
}

TEST(PdfLayout, RejoinsBrokenLinesAndUndoesHyphenation) {
  PdfPage page = page_of({{"The quarterly report describes how the", 100},
                          {"company expanded its operations in the", 112},
                          {"region and hired new engi-", 124},
                          {"neers for the research team.", 136},
                          {"A second paragraph starts after a gap.", 160}});
  PdfText out = layout_pdf_text({page});
  EXPECT_EQ(out.text,
            "The quarterly report describes how the company expanded its operations in the region "
            "and hired new "
            "engineers for the research team.\n\nA second paragraph starts after a gap.");
}

TEST(PdfLayout, KeepsHyphenBeforeCapitalOrDigit) {
  PdfPage page =
      page_of({{"the Seoul-", 100}, {"Busan line and the COVID-", 112}, {"19 report", 124}});
  EXPECT_EQ(layout_pdf_text({page}).text, "the Seoul- Busan line and the COVID- 19 report");
}

TEST(PdfLayout, DropsRunningHeadersFootersAndPageNumbers) {
  std::vector<PdfPage> pages;
  for (int p = 1; p <= 3; ++p) {
    pages.push_back(page_of({{"ACME Corp Internal", 30},
                             {"Body text of page " + std::to_string(p) + " ends here.", 150},
                             {"Page " + std::to_string(p) + " of 3", 760}}));
  }
  PdfText out = layout_pdf_text(pages);
  EXPECT_EQ(out.text,
            "Body text of page 1 ends here.\n\nBody text of page 2 ends here.\n\nBody text of page "
            "3 ends here.");
  EXPECT_EQ(out.n_dropped_lines, 6);
  ASSERT_EQ(out.page_offsets.size(), 3u);
  EXPECT_EQ(out.page_offsets[0], 0u);
  EXPECT_EQ(out.text.substr(out.page_offsets[2], 6), "Body t");
}

TEST(PdfLayout, JoinsParagraphAcrossPageBreak) {
  std::vector<PdfPage> pages{page_of({{"The budget was approved by the board and", 700}}),
                             page_of({{"will take effect next month.", 72}})};
  PdfText out = layout_pdf_text(pages);
  EXPECT_EQ(out.text, "The budget was approved by the board and will take effect next month.");
  EXPECT_EQ(out.text.substr(out.page_offsets[1]), "will take effect next month.");
}

TEST(PdfLayout, ColumnsBecomeMarkdownTable) {
  PdfPage page = page_of({{"Staff list follows.", 80}});
  for (auto [row, y] : std::vector<std::pair<std::vector<std::string>, double>>{
           {{"Name", "Team", "Year"}, 120},
           {{"Kim Minsu", "Research", "2021"}, 134},
           {{"Lee", "Sales", "2019"}, 148}}) {
    double x = 72;
    for (const auto& cell : row) {
      auto w = line_words(cell, x, y);
      page.words.insert(page.words.end(), w.begin(), w.end());
      x += 150;
    }
  }
  PdfText out = layout_pdf_text({page});
  EXPECT_EQ(out.text,
            "Staff list follows.\n\n| Name | Team | Year |\n| --- | --- | --- |\n| Kim Minsu | "
            "Research | 2021 |\n"
            "| Lee | Sales | 2019 |");
  EXPECT_EQ(out.n_tables, 1);
}

std::filesystem::path write_pdf(const std::string& name, const std::vector<TestPage>& pages,
                                const testing::PdfBuildOptions& options = {}) {
  static const testing::ScratchDir dir("pdf");
  auto path = dir / name;
  testing::write_bytes(path, testing::make_pdf(pages, options));
  return path;
}

TEST(PdfReader, ExtractsRealPdfThroughPoppler) {
  std::vector<TestPage> pages;
  for (int p = 1; p <= 3; ++p) {
    pages.push_back({{72, 40, 9, "Quarterly Review - Confidential"},
                     {72, 100, 11, "Revenue grew in every region this quarter and the"},
                     {72, 114, 11, "team expects further growth as new products ship."},
                     {72, 150, 11, "Name"},
                     {250, 150, 11, "Region"},
                     {400, 150, 11, "Sales"},
                     {72, 164, 11, "Park"},
                     {250, 164, 11, "Seoul"},
                     {400, 164, 11, "120"},
                     {72, 178, 11, "Choi"},
                     {250, 178, 11, "Busan"},
                     {400, 178, 11, "95"},
                     {300, 750, 9, std::to_string(p)}});
  }
  const auto path = write_pdf("report.pdf", pages);
  auto results = extract_pdf_words({path}, {}, 1);
  ASSERT_EQ(results.size(), 1u);
  ASSERT_EQ(results[0].error, "");
  ASSERT_EQ(results[0].pages.size(), 3u);
  PdfText out = layout_pdf_text(results[0].pages);
  const std::string para =
      "Revenue grew in every region this quarter and the team expects further growth as new "
      "products ship.";
  const std::string table =
      "| Name | Region | Sales |\n| --- | --- | --- |\n| Park | Seoul | 120 |\n| Choi | Busan | 95 "
      "|";
  EXPECT_EQ(out.text, para + "\n\n" + table + "\n\n" + para + "\n\n" + table + "\n\n" + para +
                          "\n\n" + table);
  EXPECT_EQ(out.n_tables, 3);
  EXPECT_EQ(out.text.find("Confidential"), std::string::npos);
}

TEST(PdfReader, ReportsBadFilesWithoutThrowing) {
  const auto encrypted = write_pdf("locked.pdf", {{{72, 72, 11, "secret"}}}, {.encrypted = true});
  const testing::ScratchDir scratch("pdf_corrupt");
  const auto corrupt = scratch / "corrupt.pdf";
  testing::write_bytes(corrupt, "%PDF-1.4\nthis is not really a pdf\n%%EOF\n");
  const auto cyclic = write_pdf("cyclic.pdf", {{{72, 72, 11, "loop"}}}, {.cyclic_page_tree = true});
  // A Flate "bomb": a few KB that inflate to megabytes of text.
  // Words on a grid, so poppler can neither fold them as duplicates nor
  // merge them; 40 pages of them inflate from a few KB to ~1 MB of words.
  std::string ops;
  for (int row = 0; row < 90; ++row) {
    for (int col = 0; col < 3; ++col) {
      ops +=
          fmt::format("BT /F1 8 Tf {} {} Td (bombbombbombbombbombbombbombbombbombbombbomb) Tj ET\n",
                      10 + col * 200, 20 + row * 8);
    }
  }
  const auto bomb =
      write_pdf("bomb.pdf", std::vector<TestPage>(40), {.compress = true, .raw_content = ops});
  PdfLimits limits;
  limits.max_text_bytes = 256 << 10;
  limits.timeout_s = 20;
  auto results = extract_pdf_words({encrypted, corrupt, cyclic, bomb}, limits, 2);
  EXPECT_EQ(results[0].error, "encrypted (password required)");
  EXPECT_EQ(results[1].error, "not a readable PDF (corrupt or truncated)");
  // poppler breaks the cycle: the call returns, with at most the one real page.
  EXPECT_LE(results[2].pages.size(), 1u) << results[2].error;
  EXPECT_TRUE(results[3].error.find("bytes of text") != std::string::npos ||
              results[3].error.find("timed out") != std::string::npos)
      << results[3].error
      << " words: " << (results[3].pages.empty() ? 0 : results[3].pages[0].words.size());
  EXPECT_TRUE(results[3].pages.empty());
}

TEST(PdfReader, TimesOut) {
  std::string ops;
  for (int i = 0; i < 200000; ++i)
    ops += "BT /F1 11 Tf 72 700 Td (slow slow slow slow slow slow slow slow) Tj ET\n";
  const auto slow = write_pdf("slow.pdf", {{}}, {.compress = true, .raw_content = ops});
  PdfLimits limits;
  limits.timeout_s = 0.05;
  auto results = extract_pdf_words({slow}, limits, 1);
  EXPECT_EQ(results[0].error, "timed out after 0.05s");
}

}  // namespace
}  // namespace enclave::data
