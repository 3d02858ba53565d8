#include "data/ingest.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"
#include "data/test_documents.h"

namespace enclave::data {
namespace {

std::string skipped_reason(const IngestReport& report, const std::string& file_name) {
  for (const auto& s : report.skipped) {
    if (std::filesystem::path(s.path).filename() == file_name) return s.reason;
  }
  return "";
}

TEST(Ingest, ReadsEveryTypeAndSkipsBadFiles) {
  const testing::ScratchDir scratch("ingest");
  const auto& dir = scratch.path();
  testing::write_bytes(dir / "a.txt", "plain text file");
  testing::write_bytes(dir / "sub" / "b.md", "# Heading\n\nbody");
  testing::write_bytes(dir / "c.jsonl",
                       "{\"text\":\"first\",\"lang\":\"en\"}\n"
                       "not json\n"
                       "{\"body\":\"no text field\"}\n"
                       "\n"
                       "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":"
                       "\"assistant\",\"content\":\"hello\"}]}\n"
                       "{\"text\":\"" +
                           std::string(3000, 'x') +
                           "\"}\n"
                           "{\"id\":\"keep-me\",\"text\":\"last\",\"meta\":{\"origin\":\"crm\"}}");
  testing::write_zip(dir / "d.docx", testing::docx_entries(testing::docx_paragraph("docx body")));
  auto evil = testing::docx_entries(testing::docx_paragraph("evil"));
  evil.push_back({"../escape.txt", "x"});
  testing::write_zip(dir / "e.docx", evil);
  testing::write_bytes(dir / "f.pdf", testing::make_pdf({{{72, 72, 11, "pdf body text."}}}));
  testing::write_bytes(dir / "g.pdf",
                       testing::make_pdf({{{72, 72, 11, "secret"}}}, {.encrypted = true}));
  testing::write_bytes(dir / "h.html", "<p>html body</p>");
  testing::write_bytes(dir / "notes.bin", "binary");
  testing::write_bytes(dir / "empty.txt", "  \n");
  std::filesystem::create_symlink(dir / "a.txt", dir / "link.txt");

  IngestOptions options;
  options.paths = {dir};
  options.max_line_bytes = 1000;
  options.threads = 2;
  std::vector<Document> docs;
  IngestReport report = ingest(options, [&](Document&& d) { docs.push_back(std::move(d)); });

  std::vector<std::string> texts;
  for (const auto& d : docs) texts.push_back(d.text);
  EXPECT_EQ(texts, (std::vector<std::string>{"plain text file", "first", "hi\n\nhello", "last",
                                             "docx body", "pdf body text.", "html body",
                                             "# Heading\n\nbody"}));
  EXPECT_EQ(report.documents, 8);
  EXPECT_EQ(report.files["txt"], 1);
  EXPECT_EQ(report.files["jsonl"], 1);
  EXPECT_EQ(report.files["pdf"], 1);
  EXPECT_EQ(report.ignored_files, 1);
  EXPECT_EQ(report.bad_lines, 3);
  ASSERT_EQ(report.bad_line_examples.size(), 3u) << to_json(report).dump();
  EXPECT_NE(report.bad_line_examples[0].find("c.jsonl:2: invalid JSON"), std::string::npos);
  EXPECT_NE(report.bad_line_examples[1].find("c.jsonl:3: field 'text': missing"),
            std::string::npos);
  EXPECT_NE(report.bad_line_examples[2].find("c.jsonl:6: line longer than 1000 bytes"),
            std::string::npos);
  EXPECT_NE(skipped_reason(report, "e.docx").find("escapes the archive"), std::string::npos);
  EXPECT_EQ(skipped_reason(report, "g.pdf"), "encrypted (password required)");
  EXPECT_EQ(skipped_reason(report, "empty.txt"), "no text");
  EXPECT_EQ(skipped_reason(report, "link.txt"), "symbolic link (not followed)");
  EXPECT_FALSE(std::filesystem::exists(dir.parent_path() / "escape.txt"));

  const Document& first = docs[1];
  EXPECT_EQ(first.type, "jsonl");
  EXPECT_EQ(first.extra, "\"lang\":\"en\"");
  EXPECT_EQ(first.meta, "{\"line\":1}");
  EXPECT_EQ(first.id.size(), 16u);
  EXPECT_EQ(docs[3].id, "keep-me");
  EXPECT_EQ(docs[3].meta, "{\"line\":7,\"origin\":\"crm\"}");
  const Document& pdf = docs[5];
  EXPECT_EQ(pdf.type, "pdf");
  EXPECT_NE(pdf.meta.find("\"pages\":1"), std::string::npos);
  EXPECT_EQ(pdf.source, (dir / "f.pdf").generic_string());

  // Same input, same ids.
  std::vector<Document> again;
  ingest(options, [&](Document&& d) { again.push_back(std::move(d)); });
  ASSERT_EQ(again.size(), docs.size());
  for (std::size_t i = 0; i < docs.size(); ++i) EXPECT_EQ(again[i].id, docs[i].id);
}

TEST(Ingest, FieldSelectionAndMissingPath) {
  EXPECT_EQ(document_from_record(R"({"data":{"body":"nested"}})", "data.body").text, "nested");
  EXPECT_EQ(document_from_record(R"({"prompt":"q","completion":"a"})", "text").text, "q\n\na");
  EXPECT_THROW(document_from_record(R"({"data":{"body":3}})", "data.body"), Error);
  EXPECT_THROW(document_from_record(R"({"messages":[{"role":"user"}]})", "text"), Error);
  IngestOptions options;
  options.paths = {"/nonexistent/enclave/docs"};
  try {
    ingest(options, [](Document&&) {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  }
}

}  // namespace
}  // namespace enclave::data
