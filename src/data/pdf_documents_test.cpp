// PDF layout end to end on documents drawn here with cairo (a real PDF
// writer with TrueType fonts, not our own PDF bytes): two text columns,
// ruled tables with merged cells and cells of several lines, an unruled
// table with empty cells, running headers that alternate between even and
// odd pages and change by chapter, page numbers, footnotes, English
// hyphenation and Korean lines broken inside words. Each document is read
// back through poppler and qpdf (extract_pdf_words) and the layout, and
// compared with the text and tables it was drawn from: character accuracy
// >= 0.99 and table-cell accuracy >= 0.95, printed per file.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <functional>

#include "data/markdown.h"
#include "data/pdf_drawing_testing.h"
#include "data/pdf_layout.h"
#include "data/pdf_reader.h"
#include "data/test_documents.h"

namespace enclave::data {
namespace {

using testing::CairoPdf;
using Wrap = CairoPdf::Wrap;
using Table = std::vector<std::vector<std::string>>;

constexpr double kLeft = 72, kRight = 523, kTop = 90, kBottom = 760;

// What a document is drawn from, in reading order.
struct Expected {
  std::vector<std::string> blocks;  // paragraphs and Markdown tables
  std::vector<std::string> notes;   // "[^1]: ..." after the body
  std::vector<Table> tables;

  std::string text() const {
    std::string out;
    for (const auto& b : blocks) out += (out.empty() ? "" : "\n\n") + b;
    for (const auto& n : notes) out += (out.empty() ? "" : "\n\n") + n;
    return out;
  }
  void table(const Table& rows) {
    tables.push_back(rows);
    blocks.push_back(markdown_table(rows));
  }
};

// Lays paragraphs into frames (columns or the full measure), page after
// page; each new page gets its header and footer from `decorate`.
class Typesetter {
 public:
  Typesetter(CairoPdf& pdf, std::function<void(int)> decorate)
      : pdf_(pdf), decorate_(std::move(decorate)) {
    decorate_(page_);
  }
  struct Frame {
    double x, y0, y1, width;
  };
  int page() const { return page_; }
  double y() const { return y_; }
  void new_page() {
    pdf_.next_page();
    decorate_(++page_);
    y_ = kTop;
  }
  // The next frames paragraphs flow through; a frame with y0 < 0 starts at
  // the current y.
  void frames(std::vector<Frame> frames) {
    frames_ = std::move(frames);
    frame_ = 0;
    if (frames_[0].y0 >= 0) y_ = frames_[0].y0;
  }
  // Draws a paragraph; `gap` is the space before it.
  void paragraph(const std::string& text, Wrap wrap, double size = 10, double gap = 9) {
    const double leading = size * 1.35;
    if (y_ > frames_[frame_].y0 + 1) y_ += gap;
    for (const auto& line : pdf_.wrap(text, frames_[frame_].width, size, wrap)) {
      if (y_ + leading > frames_[frame_].y1) next_frame();
      y_ += leading;
      pdf_.text(frames_[frame_].x, y_, size, line);
      line_end_ = frames_[frame_].x + pdf_.text_width(line, size);
    }
  }
  double line_end() const { return line_end_; }  // x where the last line drawn ends
  void next_frame() {
    ++frame_;
    if (frame_ == frames_.size()) {
      new_page();
      frame_ = 0;
      for (auto& f : frames_) f.y0 = kTop;
    }
    y_ = frames_[frame_].y0;
  }
  void skip(double dy) { y_ += dy; }

 private:
  CairoPdf& pdf_;
  std::function<void(int)> decorate_;
  std::vector<Frame> frames_{{kLeft, kTop, kBottom, kRight - kLeft}};
  std::size_t frame_ = 0;
  int page_ = 1;
  double y_ = kTop;
  double line_end_ = 0;
};

struct GridCell {
  int row, col, rows = 1, cols = 1;
  std::string text;
};

// A ruled table: every cell boxed, merged cells as one box. Cell texts wrap
// inside their cells. Returns the rows as the layout should give them.
Table ruled_table(CairoPdf& pdf, Typesetter& ts, const std::vector<double>& widths, int n_rows,
                  const std::vector<GridCell>& cells, Wrap wrap, double size = 9) {
  const double leading = size * 1.35, pad = 4;
  std::vector<double> xs{kLeft};
  for (double w : widths) xs.push_back(xs.back() + w);
  std::vector<int> lines_in_row(static_cast<std::size_t>(n_rows), 1);
  std::vector<std::vector<std::string>> wrapped(cells.size());
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const auto& c = cells[i];
    wrapped[i] = pdf.wrap(c.text, xs[c.col + c.cols] - xs[c.col] - 2 * pad, size, wrap);
    if (c.rows == 1)
      lines_in_row[c.row] = std::max(lines_in_row[c.row], static_cast<int>(wrapped[i].size()));
  }
  std::vector<double> ys{ts.y() + 10};
  for (int n : lines_in_row) ys.push_back(ys.back() + n * leading + 2 * pad);
  Table rows(static_cast<std::size_t>(n_rows), std::vector<std::string>(widths.size()));
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const auto& c = cells[i];
    pdf.rect(xs[c.col], ys[c.row], xs[c.col + c.cols] - xs[c.col], ys[c.row + c.rows] - ys[c.row]);
    double y = ys[c.row] + pad;
    for (const auto& line : wrapped[i]) {
      y += leading;
      pdf.text(xs[c.col] + pad, y - 2, size, line);
    }
    rows[c.row][c.col] = c.text;
  }
  ts.skip(ys.back() - ts.y() + 6);
  return rows;
}

// A table drawn with no lines: cells at column starts, rows further apart
// than the lines inside a cell. A cell followed by cells holding "<" spans
// them too: its text is centred across them (the "<" cells read back empty).
Table unruled_table(CairoPdf& pdf, Typesetter& ts, const std::vector<double>& widths, Table rows,
                    double size = 9) {
  const double leading = size * 1.35;
  double y = ts.y() + 12;
  for (auto& row : rows) {
    double x = kLeft;
    std::size_t n_lines = 1;
    for (std::size_t c = 0; c < row.size(); ++c) {
      double width = widths[c];
      std::size_t span = c + 1;
      while (span < row.size() && row[span] == "<") width += widths[span++];
      const auto lines = pdf.wrap(row[c], width - 18, size, Wrap::kWords);
      for (std::size_t k = 0; k < lines.size(); ++k) {
        const double indent = span > c + 1 ? (width - 18 - pdf.text_width(lines[k], size)) / 2 : 0;
        pdf.text(x + indent, y + leading * static_cast<double>(k + 1), size, lines[k]);
      }
      n_lines = std::max(n_lines, lines.size());
      for (; c + 1 < span; ++c) {
        x += widths[c];
        row[c + 1].clear();
      }
      x += widths[c];
    }
    y += leading * static_cast<double>(n_lines) + 7;
  }
  ts.skip(y - ts.y() + 4);
  return rows;
}

struct Score {
  double chars = 0, cells = 1;
};

Score read_back(const std::filesystem::path& path, const Expected& expected,
                PdfText* layout = nullptr) {
  auto results = extract_pdf_words({path}, {}, 1);
  EXPECT_EQ(results[0].error, "") << path;
  PdfText text = layout_pdf_text(results[0].pages);
  const std::string reference = expected.text();
  Score s;
  s.chars = testing::character_accuracy(reference, text.text);
  s.cells = testing::table_cell_accuracy(expected.tables, text.text);
  fmt::print("{}: character accuracy {:.4f}, table-cell accuracy {:.4f} ({} tables)\n",
             path.filename().string(), s.chars, s.cells, expected.tables.size());
  if (s.chars < 0.99) fmt::print("--- expected\n{}\n--- got\n{}\n---\n", reference, text.text);
  if (layout) *layout = std::move(text);
  return s;
}

const testing::ScratchDir& scratch() {
  static const testing::ScratchDir dir("pdf_documents");
  return dir;
}

// Running heads as books print them: the chapter on odd pages (right-
// aligned), the title on even pages, and the page number at the foot.
std::function<void(int)> running_heads(CairoPdf& pdf, std::function<std::string(int)> chapter,
                                       std::string title, std::string number_format) {
  return [&pdf, chapter = std::move(chapter), title = std::move(title),
          number_format = std::move(number_format)](int page) {
    if (page % 2 == 1) {
      const std::string c = chapter(page);
      pdf.text(kRight - pdf.text_width(c, 8), 50, 8, c);
    } else {
      pdf.text(kLeft, 50, 8, title);
    }
    const std::string number = fmt::format(fmt::runtime(number_format), page);
    pdf.text(297 - pdf.text_width(number, 8) / 2, 800, 8, number);
  };
}

void paragraphs(Typesetter& ts, Expected& want, const std::vector<std::string>& texts, Wrap wrap) {
  for (const auto& p : texts) {
    ts.paragraph(p, wrap);
    want.blocks.push_back(p);
  }
}

// Reads the document back and checks the scores, the counts and that the
// running heads are gone.
void expect_document(const std::filesystem::path& path, const Expected& want, int n_tables,
                     const std::vector<std::string>& dropped) {
  PdfText layout;
  const Score s = read_back(path, want, &layout);
  EXPECT_GE(s.chars, 0.99);
  EXPECT_GE(s.cells, 0.95);
  EXPECT_EQ(layout.n_tables, n_tables);
  EXPECT_GE(layout.n_column_regions, 1);
  EXPECT_EQ(layout.n_footnotes, static_cast<int>(want.notes.size()));
  for (const auto& d : dropped) EXPECT_EQ(layout.text.find(d), std::string::npos) << d;
}

TEST(PdfDocuments, EnglishReportWithColumnsTablesHeadersAndFootnotes) {
  const auto path = scratch() / "report_en.pdf";
  Expected want;
  {
    CairoPdf pdf(path, "DejaVu Sans");
    auto decorate = running_heads(
        pdf, [](int page) { return page < 5 ? "Chapter 1: Operations" : "Chapter 2: Finance"; },
        "Enclave Annual Report 2026", "- {} -");
    Typesetter ts(pdf, decorate);
    pdf.text(kLeft, kTop + 16, 16, "Annual Operations Review");
    want.blocks.push_back("Annual Operations Review");
    ts.skip(24);
    const std::vector<std::string> intro = {
        "This review describes how the organisation operated its research computing platform "
        "during the year, which services were introduced, and how the budget was spent across "
        "regional offices."};
    paragraphs(ts, want, intro, Wrap::kWordsHyphenated);
    ts.skip(14);
    const double gutter = 24, col = (kRight - kLeft - gutter) / 2;
    ts.frames({{kLeft, ts.y(), kBottom, col}, {kLeft + col + gutter, ts.y(), kBottom, col}});
    const std::vector<std::string> body = {
        "The platform team consolidated four separate clusters into a single managed "
        "environment. Researchers now request capacity through one portal, and the average "
        "waiting time for a training job fell from three days to under six hours.",
        "Storage was the most significant constraint. The archive grew by forty percent, "
        "driven mainly by imaging projects and by longitudinal studies whose raw recordings "
        "must be retained for ten years under the applicable regulations.",
        "To keep costs predictable, the team introduced quarterly capacity planning. Each "
        "department submits an estimate of its compute and storage requirements, and the "
        "estimates are reconciled with actual consumption at the end of the quarter.",
        "Security reviews were extended to every externally reachable service. The reviews "
        "identified outdated certificates, unused administrator accounts and several "
        "misconfigured firewall rules, all of which were corrected within the agreed period.",
        "Training for new staff was redesigned around practical exercises. Participants "
        "deploy a small service, monitor it, respond to a simulated incident and write a "
        "short report, which replaced the previous lecture-based introduction.",
        "The help desk handled eleven thousand requests. Most concerned access permissions "
        "and software installation, and the median resolution time improved to four hours "
        "after the introduction of standard request templates.",
        "Energy consumption per completed job decreased by eighteen percent. The improvement "
        "came from scheduling batch work at night, retiring inefficient hardware, and "
        "enabling power management on idle nodes throughout the data centre.",
        "Collaboration with partner universities continued. Shared datasets were published "
        "through a common catalogue, and joint workshops introduced reproducible "
        "workflows to more than two hundred researchers from eleven institutions.",
        "Looking ahead, the organisation plans to expand accelerator capacity, automate "
        "routine maintenance and simplify the procedures for requesting long-term storage, "
        "while keeping operating expenses within the approved multi-year budget.",
        "Feedback from users was collected through an annual survey. Overall satisfaction "
        "rose compared with the previous year, although respondents asked for clearer "
        "documentation and for more predictable maintenance windows.",
        "Procurement rules were updated to require an energy efficiency assessment for every "
        "hardware purchase above a fixed threshold, and suppliers must now provide "
        "consumption figures measured under realistic workloads.",
        "A disaster recovery exercise tested the restoration of critical services from "
        "off-site backups. All services were restored within the target time, although the "
        "exercise revealed gaps in the contact lists used during incidents.",
        "The internal audit examined how access to sensitive datasets is granted and "
        "revoked. Its recommendations, including automatic expiry of temporary permissions, "
        "will be implemented during the coming year."};
    paragraphs(ts, want, body, Wrap::kWordsHyphenated);
    EXPECT_EQ(ts.page(), 2) << "the columns should continue on the second page; y " << ts.y();
    // The page after the columns: a footnote under a full-measure paragraph.
    ts.new_page();
    ts.frames({{kLeft, kTop, kBottom - 60, kRight - kLeft}});
    const std::string noted =
        "Operating costs were broadly in line with the plan, with savings on hardware "
        "maintenance offsetting higher electricity prices";
    ts.paragraph(noted, Wrap::kWordsHyphenated);
    pdf.text(ts.line_end() + 0.5, ts.y() - 4, 6, "1");  // the superscript marker
    want.blocks.push_back(noted + "[^1]");
    pdf.text(kLeft, kBottom - 20, 6, "1");
    pdf.text(kLeft + 5, kBottom - 16, 8,
             "Figures are unaudited and rounded to the nearest thousand.");
    want.notes.push_back("[^1]: Figures are unaudited and rounded to the nearest thousand.");
    ts.skip(6);
    const std::string before_table =
        "The following table compares revenue by region for the last two years.";
    ts.paragraph(before_table, Wrap::kWords);
    want.blocks.push_back(before_table);
    want.table(ruled_table(
        pdf, ts, {90, 70, 70, 221}, 5,
        {{0, 0, 2, 1, "Region"},
         {0, 1, 1, 2, "Revenue"},
         {0, 3, 2, 1, "Notes"},
         {1, 1, 1, 1, "2025"},
         {1, 2, 1, 1, "2026"},
         {2, 0, 1, 1, "Seoul"},
         {2, 1, 1, 1, "120"},
         {2, 2, 1, 1, "135"},
         {2, 3, 1, 1, "Two new offices opened in the second half of the year after a long search"},
         {3, 0, 1, 1, "Busan"},
         {3, 1, 1, 1, "95"},
         {3, 2, 1, 1, ""},
         {3, 3, 1, 1, "Stable"},
         {4, 0, 1, 1, "Daegu"},
         {4, 1, 1, 1, "40"},
         {4, 2, 1, 1, "52"},
         {4, 3, 1, 1, ""}},
        Wrap::kWords));
    // Merged cells: text in the top-left position, the covered ones empty.
    const std::string after_table =
        "Revenue for Busan in 2026 had not been confirmed when this report was prepared.";
    ts.paragraph(after_table, Wrap::kWords);
    want.blocks.push_back(after_table);
    ts.new_page();
    ts.frames({{kLeft, kTop, kBottom, kRight - kLeft}});
    const std::string tasks = "Open tasks at the end of the year are listed below.";
    ts.paragraph(tasks, Wrap::kWords);
    want.blocks.push_back(tasks);
    want.table(
        unruled_table(pdf, ts, {150, 120, 181},
                      {{"Item", "Owner", "Status"},
                       {"Storage tiering for cold archive data", "Platform team", "In progress"},
                       {"Certificate rotation", "", "Done"},
                       {"Accelerator procurement", "Finance office", ""},
                       {"Survey follow-up", "Help desk", "Planned for the first quarter"}}));
    const std::string milestones = "Milestones for the coming year are scheduled as follows.";
    ts.paragraph(milestones, Wrap::kWords);
    want.blocks.push_back(milestones);
    want.table(unruled_table(pdf, ts, {170, 110, 110},
                             {{"Milestone", "Schedule", "<"},
                              {"", "Start", "End"},
                              {"Storage migration", "March", "June"},
                              {"Network upgrade", "July", "September"},
                              {"External audit", "October", ""}}));
    ts.new_page();
    ts.frames({{kLeft, kTop, kBottom, kRight - kLeft}});
    const std::vector<std::string> closing = {
        "The finance chapter summarises expenditure by category. Personnel costs remained the "
        "largest item, followed by hardware depreciation, electricity and software licences.",
        "Capital spending was concentrated in the first half of the year, when the new storage "
        "systems were installed, and remained low afterwards."};
    paragraphs(ts, want, closing, Wrap::kWordsHyphenated);
    EXPECT_EQ(ts.page(), 5);
  }
  expect_document(path, want, 3, {"Chapter", "Enclave Annual Report", "- 3 -"});
}

TEST(PdfDocuments, KoreanReportWithWordsBrokenAcrossLines) {
  if (!testing::has_korean_font())
    GTEST_SKIP() << "no Korean font (scripts/install-deps.sh installs fonts-nanum)";
  const auto path = scratch() / "report_ko.pdf";
  Expected want;
  const std::string title = "2026년 개인정보 보호 운영 보고서";
  {
    CairoPdf pdf(path, "NanumGothic");
    auto decorate = running_heads(
        pdf, [](int page) { return page < 3 ? "제1장 운영 현황" : "제2장 점검 결과"; }, title,
        "{}쪽");
    Typesetter ts(pdf, decorate);
    pdf.text(kLeft, kTop + 16, 16, title);
    want.blocks.push_back(title);
    ts.skip(24);
    // Korean word processors break lines after any syllable: words are cut.
    const Wrap wrap = Wrap::kCharacters;
    const std::string p1 =
        "본 보고서는 2026년 한 해 동안 기관이 수행한 개인정보 보호 활동과 정보보호 관리체계의 "
        "운영 현황을 정리한 것이다. 보고서는 관리체계 운영, 교육, 점검 결과, 향후 계획의 순서로 "
        "구성되어 있으며 각 부서의 의견을 반영하였다.";
    const std::string p2 =
        "기관은 개인정보 처리 현황을 파악하기 위하여 모든 부서를 대상으로 실태 조사를 "
        "실시하였다. 조사 결과 개인정보를 처리하는 시스템은 모두 스물네 개로 확인되었으며, 이 "
        "가운데 외부 기관과 연계된 시스템은 일곱 개였다.";
    ts.paragraph(p1, wrap);
    want.blocks.push_back(p1);
    ts.paragraph(p2, wrap);
    pdf.text(ts.line_end() + 0.5, ts.y() - 4, 6, "1)");
    want.blocks.push_back(p2 + "[^1]");
    pdf.text(kLeft, kBottom - 16, 8, "1) 2026년 12월 31일 기준이며, 시험용 시스템은 제외하였다.");
    want.notes.push_back("[^1]: 2026년 12월 31일 기준이며, 시험용 시스템은 제외하였다.");
    ts.skip(14);
    const double gutter = 24, col = (kRight - kLeft - gutter) / 2;
    ts.frames(
        {{kLeft, ts.y(), kBottom - 40, col}, {kLeft + col + gutter, ts.y(), kBottom - 40, col}});
    const std::vector<std::string> body = {
        "개인정보 보호 교육은 전 직원을 대상으로 연 2회 실시하였다. 교육은 개인정보 처리 절차, "
        "유출 사고 대응 방법, 정보주체의 권리 보장을 중심으로 진행되었으며, 교육 후 평가에서 "
        "직원의 평균 점수는 전년보다 높아졌다.",
        "접근 권한 관리도 강화하였다. 퇴직자와 전보자의 계정은 인사 정보와 연계하여 자동으로 "
        "회수되도록 개선하였고, 장기간 사용하지 않은 계정은 분기마다 점검하여 정리하였다.",
        "정보보호 관리체계 점검에서는 암호화 적용 여부, 접속 기록 보관, 취약점 조치 현황을 "
        "확인하였다. 점검 결과 대부분의 시스템은 기준을 충족하였으나, 일부 시스템은 접속 기록 "
        "보관 기간이 기준보다 짧아 개선이 필요한 것으로 나타났다.",
        "외부 기관과의 정보 연계는 협약서에 따라 필요한 항목만 제공하도록 조정하였다. 연계 "
        "항목을 줄이는 과정에서 각 부서의 업무 영향을 검토하였으며, 불필요하게 제공되던 "
        "주민등록번호 항목은 모두 삭제하였다.",
        "유출 사고에 대비하여 모의 훈련을 두 차례 실시하였다. 훈련에서는 사고 인지, 보고, "
        "정보주체 통지, 재발 방지 대책 수립의 절차를 점검하였고, 보고 체계가 복잡하다는 의견에 "
        "따라 보고 단계를 간소화하였다.",
        "개인정보 처리 시스템의 운영 담당자는 매월 접속 기록을 검토하였다. 검토 과정에서 "
        "업무 시간 외의 대량 조회가 두 건 발견되었으며, 두 건 모두 정당한 업무 처리로 "
        "확인되었다.",
        "정보주체의 열람 청구와 정정 청구는 모두 마흔두 건이 접수되었다. 기관은 청구를 "
        "접수한 날부터 열흘 안에 모든 청구를 처리하였으며, 처리 결과에 대한 이의 제기는 "
        "없었다.",
        "개인정보 보호 책임자는 분기마다 부서별 이행 상황을 점검하고 그 결과를 기관장에게 "
        "보고하였다. 보고된 개선 과제 가운데 대부분은 연내에 완료되었다.",
        "개인정보 처리방침은 법령 개정 사항을 반영하여 두 차례 개정하였다. 개정된 처리방침은 "
        "기관 누리집에 게시하였고, 주요 변경 내용은 정보주체가 쉽게 알 수 있도록 별도로 "
        "안내하였다.",
        "영상정보처리기기의 설치 현황도 점검하였다. 출입구와 주차장에 설치된 기기의 안내판을 "
        "정비하였으며, 보관 기간이 지난 영상은 지체 없이 파기하도록 절차를 마련하였다.",
        "개인정보를 처리하는 업무를 외부에 위탁한 경우에는 수탁자에 대한 교육과 점검을 "
        "실시하였다. 점검 결과 수탁자 두 곳에서 보관 기간이 지난 개인정보가 발견되어 즉시 "
        "파기하도록 요청하였다.",
        "가명정보의 처리는 결합 전문 기관을 통하여 진행하였다. 가명처리 과정에서 재식별 위험을 "
        "평가하였으며, 위험이 높은 항목은 범주화하거나 삭제하여 처리하였다.",
        "개인정보 영향평가는 신규 시스템 두 개를 대상으로 수행하였다. 평가 기관이 제시한 "
        "개선 사항은 시스템 개발 단계에서 반영하였으며, 반영 결과는 운영 전에 다시 "
        "확인하였다.",
        "개인정보 보호 수준 진단에서 기관은 전년보다 높은 점수를 받았다. 다만 수탁자 관리와 "
        "접속 기록 점검 분야는 평균보다 낮게 평가되어 내년도 중점 개선 분야로 선정하였다.",
        "기관은 개인정보 침해 신고 창구를 누리집과 전화로 운영하였다. 접수된 신고는 모두 "
        "열한 건이었으며, 담당 부서는 신고 내용을 확인한 뒤 신고인에게 처리 결과를 "
        "통지하였다.",
        "내년에는 개인정보 처리 시스템 전체에 대하여 접근 통제 기준을 다시 정비하고, 부서별 "
        "개인정보 취급자 현황을 매 분기 갱신하여 불필요한 권한이 남지 않도록 관리할 예정이다.",
        "아울러 직원이 개인정보 보호 관련 문의를 쉽게 할 수 있도록 내부 상담 창구를 "
        "개설하고, 자주 묻는 질문과 답변을 정리하여 업무 안내서에 수록할 계획이다."};
    paragraphs(ts, want, body, wrap);
    EXPECT_EQ(ts.page(), 2) << "the columns should continue on the second page; y " << ts.y();
    ts.new_page();
    ts.frames({{kLeft, kTop, kBottom, kRight - kLeft}});
    const std::string before = "분야별 점검 결과와 조치 계획은 다음 표와 같다.";
    ts.paragraph(before, wrap);
    want.blocks.push_back(before);
    want.table(
        ruled_table(pdf, ts, {80, 70, 120, 181}, 5,
                    {{0, 0, 1, 1, "구분"},
                     {0, 1, 1, 1, "대상 시스템"},
                     {0, 2, 1, 1, "점검 결과"},
                     {0, 3, 1, 1, "조치 계획"},
                     {1, 0, 1, 1, "암호화"},
                     {1, 1, 1, 1, "24"},
                     {1, 2, 1, 1, "22개 시스템 적합"},
                     {1, 3, 1, 1, "나머지 두 개 시스템은 상반기 중 암호화 모듈을 교체할 예정"},
                     {2, 0, 2, 1, "접속 기록"},
                     {2, 1, 1, 1, "24"},
                     {2, 2, 1, 1, "19개 시스템 적합"},
                     {2, 3, 1, 1, "보관 기간 연장"},
                     {3, 1, 1, 1, "7"},
                     {3, 2, 1, 1, ""},
                     {3, 3, 1, 1, "협약 갱신 시 반영"},
                     {4, 0, 1, 1, "취약점 조치"},
                     {4, 1, 1, 1, "24"},
                     {4, 2, 1, 2, "모두 조치 완료"}},
                    wrap));
    ts.new_page();
    ts.frames({{kLeft, kTop, kBottom, kRight - kLeft}});
    const std::vector<std::string> closing = {
        "향후 기관은 개인정보 처리 시스템의 접속 기록 보관 기간을 기준에 맞게 연장하고, 암호화 "
        "모듈 교체를 상반기 안에 마무리할 계획이다. 또한 개인정보 보호 교육에 실습 과정을 "
        "추가하여 직원의 대응 능력을 높일 것이다.",
        "이 보고서에 포함된 점검 결과와 조치 계획은 개인정보 보호 위원회에 보고되었으며, "
        "위원회의 의견에 따라 분기마다 이행 상황을 점검할 예정이다."};
    paragraphs(ts, want, closing, wrap);
    EXPECT_EQ(ts.page(), 4);
  }
  expect_document(path, want, 1, {"제1장", "제2장", "쪽"});
}

}  // namespace
}  // namespace enclave::data
