// PDF: layout analysis on synthetic word boxes, and the whole path (poppler
// in a child process, then layout) on tiny PDFs built here.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <tuple>

#include "data/pdf_drawing_testing.h"
#include "data/pdf_layout.h"
#include "data/pdf_line_join.h"
#include "data/pdf_reader.h"
#include "data/pdf_rulings.h"
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

// Two text columns side by side used to come out as a two-column Markdown
// table, row by row across both columns.
TEST(PdfLayout, TwoColumnsReadColumnByColumn) {
  PdfPage page;
  const std::vector<std::string> left{"The left column starts here and",
                                      "continues for a few lines of", "text before it ends."};
  const std::vector<std::string> right{"The right column is read only",
                                       "after the left one, top to", "bottom."};
  for (std::size_t i = 0; i < 3; ++i) {
    for (const auto& w : line_words(left[i], 72, 100 + 14.0 * static_cast<double>(i)))
      page.words.push_back(w);
    for (const auto& w : line_words(right[i], 320, 100 + 14.0 * static_cast<double>(i)))
      page.words.push_back(w);
  }
  PdfText out = layout_pdf_text({page});
  EXPECT_EQ(out.text,
            "The left column starts here and continues for a few lines of text before it ends.\n\n"
            "The right column is read only after the left one, top to bottom.");
  EXPECT_EQ(out.n_tables, 0);
  EXPECT_EQ(out.n_column_regions, 1);
}

TEST(PdfLayout, AlignedTableKeepsEmptyCellsAndCellsOfSeveralLines) {
  PdfPage page;
  // Rows 20 points apart; the second row's first cell takes two lines 12
  // points apart; the third row has no middle cell.
  const std::vector<std::tuple<double, double, std::string>> cells{
      {72, 100, "Item"},        {222, 100, "Owner"},    {372, 100, "Status"},
      {72, 120, "Storage"},     {222, 120, "Platform"}, {372, 120, "Open"},
      {72, 132, "tiering"},     {72, 152, "Rotation"},  {372, 152, "Done"},
      {72, 172, "Procurement"}, {222, 172, "Finance"},  {372, 172, "Planned"}};
  for (const auto& [x, y, text] : cells) {
    for (const auto& w : line_words(text, x, y)) page.words.push_back(w);
  }
  PdfText out = layout_pdf_text({page});
  EXPECT_EQ(
      out.text,
      "| Item | Owner | Status |\n| --- | --- | --- |\n| Storage tiering | Platform | Open |\n"
      "| Rotation |  | Done |\n| Procurement | Finance | Planned |");
}

TEST(PdfLayout, RunningHeadersAlternateByParityAndChangeByChapter) {
  std::vector<PdfPage> pages;
  for (int p = 1; p <= 6; ++p) {
    const std::string header = p % 2 == 0 ? "Annual Report 2026"
                               : p < 5    ? "Chapter 1 Operations"
                                          : "Chapter 2 Finance";
    // Odd headers right-aligned (ending at x 540), even ones at the left.
    const double x = p % 2 == 0 ? 72 : 540 - 6.0 * static_cast<double>(header.size());
    pages.push_back(
        page_of({{header, 30}, {"Body of page " + std::to_string(p) + " ends here.", 150}}, 72));
    pages.back().words.erase(
        pages.back().words.begin(),
        pages.back().words.begin() + static_cast<std::ptrdiff_t>(line_words(header, 0, 0).size()));
    for (const auto& w : line_words(header, x, 30)) pages.back().words.push_back(w);
    for (const auto& w : line_words(std::to_string(p), 300, 760)) pages.back().words.push_back(w);
  }
  PdfText out = layout_pdf_text(pages);
  std::string want;
  for (int p = 1; p <= 6; ++p)
    want += (p > 1 ? "\n\n" : "") + ("Body of page " + std::to_string(p) + " ends here.");
  EXPECT_EQ(out.text, want);
  EXPECT_EQ(out.n_dropped_lines, 12);
}

TEST(PdfLayout, KeepsTopLinesThatRepeatOnlyFarApart) {
  // The same first line on pages 1 and 8, body text in the top margin: not
  // a running header (more than four pages apart).
  std::vector<PdfPage> pages;
  for (int p = 1; p <= 8; ++p) {
    const std::string top = p == 1 || p == 8
                                ? "Summary of results."
                                : "Page text " + std::string(1, static_cast<char>('a' + p)) + ".";
    pages.push_back(page_of({{top, 60}, {"More text follows on this page.", 74}}));
  }
  PdfText out = layout_pdf_text(pages);
  EXPECT_EQ(out.text.find("Summary of results."), 0u);
  EXPECT_NE(out.text.rfind("Summary of results."), 0u);
}

TEST(PdfLayout, FootnotesGoAfterTheBody) {
  PdfPage page = page_of({{"The survey covered every office in the region.", 100},
                          {"A second paragraph closes the page.", 130}});
  // A raised small "1" after the first sentence, and the note in small type.
  page.words.push_back({"1", 72 + 6.0 * 47, 98, 72 + 6.0 * 47 + 3, 104, false});
  for (auto w : line_words("1) Offices opened after March are not included.", 72, 700, 7))
    page.words.push_back(w);
  PdfText out = layout_pdf_text({page});
  EXPECT_EQ(out.text,
            "The survey covered every office in the region.[^1]\n\nA second paragraph closes the "
            "page.\n\n[^1]: Offices opened after March are not included.");
  EXPECT_EQ(out.n_footnotes, 1);
}

TEST(PdfLayout, SkipsCorruptBoxesAndRulings) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  PdfPage page = page_of({{"Only this line is real.", 100}});
  page.words.push_back({"nan", nan, 100, 10, 110, true});
  page.words.push_back({"inf", 0, -inf, 10, 110, true});
  page.words.push_back({"huge", 1e300, 100, 1e301, 110, true});
  page.words.push_back({"inverted", 50, 100, 40, 110, true});
  page.rules = {{nan, 0, 100, 0}, {0, 0, inf, 0}, {0, 0, 0, 1e300}, {10, 20, 10, 20}};
  page.height = nan;
  PdfText out = layout_pdf_text({page, page});
  EXPECT_EQ(out.text, "Only this line is real.\n\nOnly this line is real.");
}

TEST(PdfLineJoin, KoreanBreaksFollowTheDocumentsOwnWords) {
  pdf::LineJoiner joiner("");
  // Words away from line ends are evidence of whole words.
  joiner.add_line({"각", "기관의", "보고서를", "검토하였다"});
  joiner.add_line({"이", "개인정보", "처리", "현황을", "점검하였다"});
  auto join = [&](std::string a, const std::string& b) {
    joiner.append(a, b);
    return a;
  };
  EXPECT_EQ(join("모든 기", "관에서 시행"), "모든 기관에서 시행");  // a word starts "기관"
  EXPECT_EQ(join("결과를 개인정보", "처리 부서에"), "결과를 개인정보 처리 부서에");  // both words
  EXPECT_EQ(join("조사를 실시", "하였다."), "조사를 실시하였다.");      // an ending alone
  EXPECT_EQ(join("모두 일곱", "개였다."), "모두 일곱 개였다.");         // numeral, counter
  EXPECT_EQ(join("연 2회", "실시하였다."), "연 2회 실시하였다.");       // number with unit
  EXPECT_EQ(join("충족하였으나", ", 일부는"), "충족하였으나, 일부는");  // closing punctuation
  EXPECT_EQ(join("현황을 보고서", "를 작성"), "현황을 보고서를 작성");  // particle alone
  EXPECT_EQ(join("권한이 남", "지 않도록"), "권한이 남지 않도록");      // ending, auxiliary verb
  EXPECT_EQ(joiner.stats().korean_spaced, 3);
}

TEST(PdfLineJoin, KoreanWordListDecidesWhenTheDocumentCannot) {
  const auto& words = pdf::korean_word_list("/usr/share/hunspell/ko.dic");
  if (words.empty()) GTEST_SKIP() << "hunspell-ko is not installed (scripts/install-deps.sh)";
  EXPECT_TRUE(words.count("기관"));  // the file is NFD; entries come back NFC
  pdf::LineJoiner joiner("/usr/share/hunspell/ko.dic");
  std::string a = "정부 예산";
  joiner.append(a, "편성 지침을");  // both stems known: a space
  EXPECT_EQ(a, "정부 예산 편성 지침을");
  std::string b = "새로운 보고";
  joiner.append(b, "서를 제출");  // the joined stem is a word
  EXPECT_EQ(b, "새로운 보고서를 제출");
  EXPECT_TRUE(pdf::korean_word_list("/nonexistent/ko.dic").empty());
}

TEST(PdfLineJoin, EnglishHyphenationUsesTheDocumentsSpelling) {
  pdf::LineJoiner joiner;
  joiner.add_line({"a", "well-known", "result"});
  std::string a = "a well-";
  joiner.append(a, "known method");
  EXPECT_EQ(a, "a well-known method");
  std::string b = "the docu-";
  joiner.append(b, "ment shows");
  EXPECT_EQ(b, "the document shows");
}

TEST(PdfRulings, ReadsStrokedLinesAndRectanglesInPageCoordinates) {
  static const testing::ScratchDir dir("pdf_rulings");
  const auto path = dir / "grid.pdf";
  {
    testing::CairoPdf pdf(path);
    pdf.rect(100, 200, 150, 40);   // four rulings
    pdf.line(100, 220, 250, 220);  // one across it
    pdf.line(90, 300, 190, 330);   // slanted: not a ruling
    pdf.text(100, 400, 10, "text");
  }
  const auto rulings = read_pdf_rulings(path.string(), 1);
  ASSERT_EQ(rulings.size(), 1u);
  std::vector<std::string> got;
  for (const PdfRule& r : rulings[0])
    got.push_back(fmt::format("{:.0f},{:.0f}-{:.0f},{:.0f}", r.x0, r.y0, r.x1, r.y1));
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"100,200-100,240", "100,200-250,200", "100,220-250,220",
                                           "100,240-250,240", "250,200-250,240"}));
  EXPECT_TRUE(read_pdf_rulings(path.string(), 2).empty());  // page count differs
  // Hostile content streams: unbalanced Q, operands of the wrong type or
  // count, and more strokes than the cap.
  const auto odd = dir / "odd.pdf";
  testing::write_bytes(
      odd,
      testing::make_pdf({{}}, {.raw_content = "Q Q q q 1 0 0 1 cm /Name 3 re 1 2 l S (s) Tj 4 5 "
                                              "m 6 5 l S 1 2 3 4 re f 9 cm BT ET 7 8 m S"}));
  const auto odd_rulings = read_pdf_rulings(odd.string(), 1);
  ASSERT_EQ(odd_rulings.size(), 1u);
  ASSERT_EQ(odd_rulings[0].size(), 1u);
  EXPECT_EQ(fmt::format("{:.0f}-{:.0f} at {:.0f}", odd_rulings[0][0].x0, odd_rulings[0][0].x1,
                        odd_rulings[0][0].y0),
            "4-6 at 787");
  // A form XObject drawn under a translation, whose own resources name a
  // form that draws itself (read once, not forever).
  const std::vector<std::string> objects{
      "<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /XObject << /Fm1 5 0 "
      "R >> >> /Contents 4 0 R >>",
      "<< /Length 30 >>\nstream\nq 1 0 0 1 100 100 cm /Fm1 Do Q\nendstream",
      "<< /Type /XObject /Subtype /Form /BBox [0 0 200 200] /Matrix [1 0 0 1 10 0] /Resources "
      "<< /XObject << /Fm1 5 0 R >> >> /Length 22 >>\nstream\n0 0 m 50 0 l S /Fm1 Do\nendstream"};
  const auto forms = dir / "forms.pdf";
  testing::write_bytes(forms, testing::pdf_file(objects));
  const auto form_rulings = read_pdf_rulings(forms.string(), 1);
  ASSERT_EQ(form_rulings.size(), 1u);
  ASSERT_EQ(form_rulings[0].size(), 1u);
  EXPECT_EQ(fmt::format("{:.0f}-{:.0f} at {:.0f}", form_rulings[0][0].x0, form_rulings[0][0].x1,
                        form_rulings[0][0].y0),
            "110-160 at 692");
  std::string many;
  for (int i = 0; i < 500; ++i) many += fmt::format("0 {} m 100 {} l S\n", i, i);
  const auto crowded = dir / "crowded.pdf";
  testing::write_bytes(crowded, testing::make_pdf({{}}, {.raw_content = many}));
  EXPECT_EQ(read_pdf_rulings(crowded.string(), 1, 50)[0].size(), 50u);
  EXPECT_TRUE(read_pdf_rulings((dir / "missing.pdf").string(), 1).empty());
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
