// DOCX, HTML and plain-text readers, including hostile containers.
#include "data/readers.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "core/error.h"
#include "data/test_documents.h"

namespace enclave::data {
namespace {

using testing::docx_entries;
using testing::docx_paragraph;
using testing::docx_table;
using testing::ZipEntry;

std::filesystem::path dir() {
  static const testing::ScratchDir d("readers");
  return d.path();
}

std::filesystem::path make_docx(const std::string& name, const std::vector<ZipEntry>& entries) {
  auto path = dir() / name;
  testing::write_zip(path, entries);
  return path;
}

std::string docx_error(const std::filesystem::path& path, const ZipLimits& limits = {}) {
  try {
    read_docx(path, limits);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    return e.what();
  }
  return "";
}

TEST(Docx, ParagraphsHeadingsListsAndTables) {
  const std::string body =
      docx_paragraph("연간 보고서", "Heading1") + docx_paragraph("올해 매출은 증가했다.") +
      "<w:p><w:pPr><w:numPr><w:ilvl w:val=\"0\"/></w:numPr></w:pPr><w:r><w:t>first "
      "point</w:t></w:r></w:p>" +
      docx_table(
          {{"이름", "부서", "입사"}, {"김민수", "연구|개발", "2021"}, {"이영희", "영업", "2019"}}) +
      docx_paragraph("Details", "Heading2") +
      "<w:p><w:r><w:t>a</w:t><w:tab/><w:t>b</w:t></w:r></w:p>";
  ExtractedText out = read_docx(make_docx("good.docx", docx_entries(body)));
  EXPECT_EQ(out.text,
            "# 연간 보고서\n\n올해 매출은 증가했다.\n\n- first point\n\n"
            "| 이름 | 부서 | 입사 |\n| --- | --- | --- |\n| 김민수 | 연구\\|개발 | 2021 |\n| "
            "이영희 | 영업 | 2019 |\n\n"
            "## Details\n\na\tb");
  EXPECT_EQ(out.meta["sections"], nlohmann::json({"연간 보고서", "Details"}));
  EXPECT_EQ(out.meta["tables"], 1);
}

TEST(Docx, StylesNumberingAndMergedCells) {
  // Localised style ids ("1", "a") named in styles.xml, a style that takes
  // its level from its base, decimal and bullet numbering, a table whose
  // header spans two columns and whose first column merges two rows.
  const std::string styles =
      R"(<?xml version="1.0"?><w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">)"
      R"(<w:style w:type="paragraph" w:styleId="1"><w:name w:val="heading 1"/></w:style>)"
      R"(<w:style w:type="paragraph" w:styleId="a"><w:name w:val="장 제목"/><w:pPr><w:outlineLvl w:val="1"/></w:pPr></w:style>)"
      R"(<w:style w:type="paragraph" w:styleId="b"><w:name w:val="장 제목 강조"/><w:basedOn w:val="a"/></w:style>)"
      R"(<w:style w:type="paragraph" w:styleId="c"><w:name w:val="본문"/></w:style></w:styles>)";
  const std::string numbering =
      R"(<?xml version="1.0"?><w:numbering xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">)"
      R"(<w:abstractNum w:abstractNumId="0"><w:lvl w:ilvl="0"><w:numFmt w:val="decimal"/></w:lvl></w:abstractNum>)"
      R"(<w:abstractNum w:abstractNumId="1"><w:lvl w:ilvl="0"><w:numFmt w:val="bullet"/></w:lvl></w:abstractNum>)"
      R"(<w:num w:numId="5"><w:abstractNumId w:val="0"/></w:num><w:num w:numId="6"><w:abstractNumId w:val="1"/></w:num></w:numbering>)";
  auto item = [](const std::string& text, const std::string& num_id) {
    return "<w:p><w:pPr><w:numPr><w:ilvl w:val=\"0\"/><w:numId w:val=\"" + num_id +
           "\"/></w:numPr></w:pPr><w:r><w:t>" + text + "</w:t></w:r></w:p>";
  };
  auto cell = [](const std::string& text, const std::string& props) {
    return "<w:tc><w:tcPr>" + props + "</w:tcPr>" + docx_paragraph(text) + "</w:tc>";
  };
  const std::string table = "<w:tbl><w:tr>" + cell("구분", "") +
                            cell("2024년", "<w:gridSpan w:val=\"2\"/>") + "</w:tr><w:tr>" +
                            cell("국내", "<w:vMerge w:val=\"restart\"/>") + cell("매출", "") +
                            cell("1,200", "") + "</w:tr><w:tr>" + cell("", "<w:vMerge/>") +
                            cell("이익", "") + cell("150", "") + "</w:tr></w:tbl>";
  const std::string body = docx_paragraph("보고서", "1") + docx_paragraph("개요", "b") +
                           docx_paragraph("본문입니다.", "c") + item("하나", "5") +
                           item("둘", "5") + item("점", "6") + table;
  auto entries = docx_entries(body);
  entries.push_back({"word/styles.xml", styles});
  entries.push_back({"word/numbering.xml", numbering});
  const ExtractedText out = read_docx(make_docx("styled.docx", entries));
  const std::string expected =
      "# 보고서\n\n## 개요\n\n본문입니다.\n\n1. 하나\n2. 둘\n\n- 점\n\n"
      "| 구분 | 2024년 |  |\n| --- | --- | --- |\n| 국내 | 매출 | 1,200 |\n|  | 이익 | 150 |";
  const std::vector<std::vector<std::vector<std::string>>> grid = {
      {{"구분", "2024년", ""}, {"국내", "매출", "1,200"}, {"", "이익", "150"}}};
  std::printf("styled.docx  character accuracy %.4f, table-cell accuracy %.4f\n",
              testing::character_accuracy(expected, out.text),
              testing::table_cell_accuracy(grid, out.text));
  EXPECT_EQ(out.text, expected);
  EXPECT_EQ(out.meta["sections"], nlohmann::json({"보고서", "개요"}));
}

TEST(Docx, HostileArchivesAreRefused) {
  auto with = [](std::vector<ZipEntry> extra) {
    auto e = docx_entries(docx_paragraph("hello"));
    e.insert(e.end(), extra.begin(), extra.end());
    return e;
  };
  EXPECT_NE(
      docx_error(make_docx("dotdot.docx", with({{"../x", "evil"}}))).find("escapes the archive"),
      std::string::npos);
  EXPECT_NE(
      docx_error(make_docx("nested_dotdot.docx", with({{"word/../../x", "evil"}}))).find("escapes"),
      std::string::npos);
  EXPECT_NE(docx_error(make_docx("abs.docx", with({{"/etc/passwd", "evil"}}))).find("absolute"),
            std::string::npos);
  EXPECT_NE(docx_error(make_docx("backslash.docx", with({{"..\\x", "evil"}}))).find("backslash"),
            std::string::npos);
  EXPECT_NE(docx_error(make_docx("drive.docx", with({{"C:/x", "evil"}}))).find("drive"),
            std::string::npos);
  EXPECT_NE(docx_error(make_docx("link.docx", with({{"word/link", "/etc/passwd", true}})))
                .find("symlink"),
            std::string::npos);
  // Zip bomb: 64 MiB of zeros compress ~1000:1.
  EXPECT_NE(docx_error(make_docx("bomb.docx",
                                 with({{"word/media/bomb.bin", std::string(64 << 20, '\0')}})))
                .find("zip bomb"),
            std::string::npos);
  // A member that inflates past the per-entry cap, whatever the header says.
  ZipLimits small;
  small.max_entry_bytes = 1000;
  small.max_total_bytes = 1 << 20;
  auto big = docx_entries(docx_paragraph(std::string(5000, 'x')));
  EXPECT_NE(docx_error(make_docx("big.docx", big), small).find("inflates past"), std::string::npos);
  small.max_total_bytes = 100;
  EXPECT_NE(docx_error(make_docx("big2.docx", big), small).find("zip bomb"), std::string::npos);
}

TEST(Docx, EntityExpansionAndBadXmlAreRefused) {
  const std::string laughs =
      R"(<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>)"
      R"(<w:document xmlns:w="x"><w:body><w:p><w:r><w:t>&lol2;</w:t></w:r></w:p></w:body></w:document>)";
  EXPECT_NE(docx_error(make_docx("laughs.docx", {{"word/document.xml", laughs}}))
                .find("entity expansion"),
            std::string::npos);
  const std::string xxe =
      R"(<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><w:document xmlns:w="x"><w:body>)"
      R"(<w:p><w:r><w:t>&x;</w:t></w:r></w:p></w:body></w:document>)";
  EXPECT_NE(
      docx_error(make_docx("xxe.docx", {{"word/document.xml", xxe}})).find("entity expansion"),
      std::string::npos);
  EXPECT_NE(
      docx_error(make_docx("broken.docx", {{"word/document.xml", "<w:document><w:body><w:p>"}}))
          .find("word/document.xml"),
      std::string::npos);
  EXPECT_NE(docx_error(make_docx("nodoc.docx", {{"hello.txt", "hi"}})).find("not a DOCX"),
            std::string::npos);
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += "<w:tbl><w:tr><w:tc>";
  for (int i = 0; i < 5000; ++i) deep += "</w:tc></w:tr></w:tbl>";
  EXPECT_NE(docx_error(make_docx("deep.docx", docx_entries(deep))).find("nested deeper"),
            std::string::npos);
  const auto garbage = dir() / "garbage.docx";
  testing::write_bytes(garbage, "PK\x03\x04 definitely not a zip");
  EXPECT_NE(docx_error(garbage).find("not a readable ZIP"), std::string::npos);
}

TEST(Html, ExtractsContentNotChrome) {
  const auto path = dir() / "page.html";
  testing::write_bytes(
      path,
      "<html><head><title>사내 공지</title><style>p{color:red}</style></head><body>"
      "<script>var x = 1;</script><h1>공지 사항</h1><p>다음 주   월요일은\n휴무입니다.</p>"
      "<ul><li>one</li><li>two</li></ul>"
      "<table><thead><tr><th>A</th><th>B</th></tr></thead><tbody><tr><td>1</td><td>2</td></tr>"
      "</tbody></table><p>line<br>break &amp; entity</p></body></html>");
  ExtractedText out = read_html(path);
  EXPECT_EQ(out.text,
            "# 공지 사항\n\n다음 주 월요일은 휴무입니다.\n\n- one\n\n- two\n\n| A | B |\n| --- | "
            "--- |\n| 1 | 2 |\n\n"
            "line\nbreak & entity");
  EXPECT_EQ(out.meta["title"], "사내 공지");
  EXPECT_EQ(out.meta["sections"], nlohmann::json({"공지 사항"}));
}

TEST(Html, MainContentSpannedCellsAndNumberedLists) {
  const auto path = dir() / "news.html";
  testing::write_bytes(
      path,
      "<html><head><title>뉴스</title></head><body class=\"nav-open\">"
      "<header class=\"site-header\"><a href=\"/\">홈</a><nav><ul><li>정치</li><li>경제</li>"
      "</ul></nav></header><div id=\"cookie-banner\">이 사이트는 쿠키를 사용합니다.</div>"
      "<div class=\"layout\"><main><article><header><h1>예산안 통과</h1></header>"
      "<p>국회는 오늘 예산안을 통과시켰다.</p><ol start=\"3\"><li>셋째</li><li>넷째</li></ol>"
      "<div class=\"share-buttons\">공유하기</div>"
      "<table><tr><th rowspan=\"2\">구분</th><th colspan=\"2\">2024</th></tr>"
      "<tr><td>상반기</td><td>하반기</td></tr><tr><td>예산</td><td>10</td><td>12</td></tr></table>"
      "<footer>기자 홍길동</footer></article></main><aside>많이 본 뉴스</aside></div>"
      "<footer>Copyright</footer></body></html>");
  const std::string expected =
      "# 예산안 통과\n\n국회는 오늘 예산안을 통과시켰다.\n\n3. 셋째\n\n4. 넷째\n\n"
      "| 구분 | 2024 |  |\n| --- | --- | --- |\n|  | 상반기 | 하반기 |\n| 예산 | 10 | 12 |";
  const ExtractedText out = read_html(path);
  std::printf(
      "news.html    character accuracy %.4f, table-cell accuracy %.4f\n",
      testing::character_accuracy(expected, out.text),
      testing::table_cell_accuracy(
          {{{"구분", "2024", ""}, {"", "상반기", "하반기"}, {"예산", "10", "12"}}}, out.text));
  EXPECT_EQ(out.text, expected);
  EXPECT_EQ(out.meta["title"], "뉴스");

  // Without <main>: the body less its chrome (role, hidden, consent dialog).
  const auto plain = dir() / "plain.html";
  testing::write_bytes(plain,
                       "<body><div role=\"navigation\">메뉴</div><p>본문 하나.</p>"
                       "<div class=\"gdpr-consent\">동의하십니까?</div><p hidden>숨김</p>"
                       "<div class=\"canvas\">본문 둘.</div></body>");
  EXPECT_EQ(read_html(plain).text, "본문 하나.\n\n본문 둘.");
}

TEST(Html, DeepNestingIsRefused) {
  const auto path = dir() / "deep.html";
  std::string html;
  for (int i = 0; i < 20000; ++i) html += "<div>";
  testing::write_bytes(path, html);
  EXPECT_THROW(read_html(path), Error);
}

TEST(TextReader, DecodesKoreanLegacyEncodingsAndRepairs) {
  std::string encoding;
  EXPECT_EQ(decode_text_bytes("\xC7\xD1\xB1\xB9\xBE\xEE", &encoding), "한국어");  // CP949
  EXPECT_EQ(encoding, "cp949");
  EXPECT_EQ(decode_text_bytes(std::string("\xFF\xFE\x5C\xD5\x6D\xAD", 6), &encoding),
            "한국");  // UTF-16LE
  EXPECT_EQ(encoding, "utf-16");
  EXPECT_EQ(decode_text_bytes("\xEF\xBB\xBFplain", &encoding), "plain");
  EXPECT_EQ(decode_text_bytes("ok \xB0", &encoding),
            "ok \uFFFD");  // a lead byte with no trail byte
  const auto md = dir() / "notes.md";
  testing::write_bytes(md, "# Title\n\ntext\n\n## Part two\nmore\n");
  ExtractedText out = read_text_file(md, true);
  EXPECT_EQ(out.meta["sections"], nlohmann::json({"Title", "Part two"}));
}

}  // namespace
}  // namespace enclave::data
