// HWP 5.0 and HWPX readers against documents that tests/hwp_fixtures/
// make_fixtures.mjs builds at test time (HWP with the npm `cfb` package,
// HWPX with `jszip`, each read back by hwp.js / hwpxjs before we see it),
// and the hostile variants it writes beside them. The fixtures are made
// once per process into the build folder; node and the packages
// (scripts/install-deps.sh) are required, as for the other npm-backed tests.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/cfb.h"
#include "data/document_blocks.h"
#include "data/ingest.h"
#include "data/readers.h"
#include "data/test_documents.h"

namespace enclave::data {
namespace {

using testing::character_accuracy;
using testing::table_cell_accuracy;

class HwpFixtures : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::filesystem::path(ENCLAVE_BINARY_DIR) / "test-work" / "hwp_fixtures";
    std::filesystem::remove_all(dir_);
    const std::string command = "node '" ENCLAVE_SOURCE_DIR
                                "/tests/hwp_fixtures/make_fixtures.mjs' '" +
                                dir_.string() + "' 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    char buf[4096];
    while (std::fgets(buf, sizeof(buf), pipe) != nullptr) log_ += buf;
    status_ = ::pclose(pipe);
  }

  void SetUp() override {
    ASSERT_EQ(status_, 0) << "making the HWP fixtures failed (node and the npm packages of "
                             "tests/hwp_fixtures come from scripts/install-deps.sh):\n"
                          << log_;
  }

  static std::string error_of(const std::function<void()>& read, ErrorKind* kind = nullptr) {
    try {
      read();
    } catch (const Error& e) {
      if (kind != nullptr) *kind = e.kind();
      return e.what();
    }
    return "";
  }

  static inline std::filesystem::path dir_;
  static inline std::string log_;
  static inline int status_ = -1;
};

TEST_F(HwpFixtures, TextAndTablesMatchTheirSource) {
  std::ifstream in(dir_ / "expected.json");
  const nlohmann::json expected = nlohmann::json::parse(in);
  ASSERT_EQ(expected.size(), 5u);
  for (const auto& item : expected.items()) {
    const std::string& name = item.key();
    const nlohmann::json& want = item.value();
    const auto path = dir_ / name;
    const ExtractedText got = name.ends_with(".hwpx") ? read_hwpx(path) : read_hwp(path);
    const auto tables = want["tables"].get<std::vector<std::vector<std::vector<std::string>>>>();
    const std::string markdown = want["markdown"];
    std::size_t n_cells = 0;
    const double chars = character_accuracy(markdown, got.text);
    const double cells = table_cell_accuracy(tables, got.text, &n_cells);
    std::printf("%-12s character accuracy %.4f, table-cell accuracy %.4f (%zu cells)\n",
                name.c_str(), chars, cells, n_cells);
    EXPECT_GE(chars, 0.99) << name << ":\n" << got.text;
    EXPECT_GE(cells, 0.95) << name;
    EXPECT_EQ(got.meta["tables"], tables.size()) << name;
  }
  // The report's structure, exactly: headings, numbered and bulleted lists,
  // the merged cells keeping three columns, notes, the text box.
  const ExtractedText hwp = read_hwp(dir_ / "report.hwp");
  const ExtractedText hwpx = read_hwpx(dir_ / "report.hwpx");
  EXPECT_EQ(hwp.text, expected["report.hwp"]["markdown"]);
  EXPECT_EQ(hwpx.text, expected["report.hwpx"]["markdown"]);
  EXPECT_EQ(read_hwp(dir_ / "plain.hwp").text, hwp.text);
  EXPECT_EQ(hwp.meta["sections"], nlohmann::json({"2024년 연간 보고서", "세부 내역"}));
  EXPECT_EQ(hwp.meta["footnotes"], 1);
  EXPECT_EQ(hwp.meta["endnotes"], 1);
  EXPECT_EQ(read_hwp(dir_ / "long.hwp").meta["hwp_sections"], 2);
}

TEST_F(HwpFixtures, HostileFilesAreRefusedWithTheReason) {
  const auto hostile = dir_ / "hostile";
  struct Case {
    const char* file;
    const char* reason;
    ErrorKind kind;
  };
  for (const Case& c : {
           Case{"truncated.hwp", "past the end", ErrorKind::kInvalidInput},
           Case{"loop.hwp", "chain loops at sector", ErrorKind::kInvalidInput},
           Case{"huge.hwp", "declares 4294967280 bytes", ErrorKind::kInvalidInput},
           Case{"bad_record.hwp", "declares 4000 bytes", ErrorKind::kInvalidInput},
           Case{"encrypted.hwp", "password-encrypted", ErrorKind::kUnsupported},
           Case{"distribution.hwp", "distribution-protected", ErrorKind::kUnsupported},
           Case{"encrypted.hwpx", "encrypted or distribution-protected", ErrorKind::kUnsupported},
       }) {
    const auto path = hostile / c.file;
    ErrorKind kind = ErrorKind::kInternal;
    const std::string error = error_of(
        [&] { std::string(c.file).ends_with(".hwpx") ? read_hwpx(path) : read_hwp(path); }, &kind);
    EXPECT_NE(error.find(c.reason), std::string::npos) << c.file << ": " << error;
    EXPECT_TRUE(error.starts_with(path.string())) << error;
    EXPECT_EQ(kind, c.kind) << c.file << ": " << error;
  }
  // Decompression caps: per stream and for all streams.
  ZipLimits small;
  small.max_entry_bytes = 20000;
  EXPECT_NE(error_of([&] { read_hwp(dir_ / "long.hwp", small); }).find("inflates past 20000"),
            std::string::npos);
  small = {};
  small.max_total_bytes = 20000;
  EXPECT_NE(error_of([&] { read_hwp(dir_ / "long.hwp", small); }).find("more than 20000"),
            std::string::npos);

  // The ingest reports each one and goes on with the good files.
  IngestOptions options;
  options.paths = {dir_};
  options.threads = 2;
  int n_docs = 0;
  const IngestReport report = ingest(options, [&](Document&&) { ++n_docs; });
  EXPECT_EQ(n_docs, 5);
  EXPECT_EQ(report.files.at("hwp"), 3);
  EXPECT_EQ(report.files.at("hwpx"), 2);
  EXPECT_EQ(report.skipped.size(), 7u);
}

TEST(Hwp, NotACompoundFileIsRefused) {
  const testing::ScratchDir scratch("hwp");
  const auto garbage = scratch.write("garbage.hwp", std::string(2000, 'x'));
  EXPECT_THROW(
      try { read_hwp(garbage); } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("no OLE2 signature"), std::string::npos);
        throw;
      },
      Error);
  const auto hwp3 = scratch.write("old.hwp", "HWP Document File V3.00 \x1a\x01\x02\x03\x04\x05");
  EXPECT_THROW(
      try { read_hwp(hwp3); } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::kUnsupported);
        EXPECT_NE(std::string(e.what()).find("HWP 3.x"), std::string::npos);
        throw;
      },
      Error);
  std::string header(512, '\0');
  const unsigned char sig[] = {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1};
  std::copy(sig, sig + 8, header.begin());
  header[0x1C] = '\xFE';
  header[0x1D] = '\xFF';
  header[0x1A] = 3;
  header[0x1E] = 9;
  header[0x20] = 6;
  header[0x39] = 0x10;  // mini stream cutoff 4096
  header[0x2C] = 1;     // one FAT sector, but the file has none
  try {
    CompoundFile(header, "short.hwp", 1 << 20);
    ADD_FAILURE() << "a header-only compound file was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("1 FAT sectors in a file of 0 sectors"), std::string::npos)
        << e.what();
  }
}

TEST(Hwpx, HostilePackagesAreRefused) {
  const testing::ScratchDir scratch("hwpx");
  const std::string laughs =
      "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaa\">]><hs:sec><hp:p>&a;</hp:p></hs:sec>";
  testing::write_zip(scratch / "dtd.hwpx",
                     {{"mimetype", "application/hwp+zip"}, {"Contents/section0.xml", laughs}});
  testing::write_zip(scratch / "escape.hwpx", {{"mimetype", "application/hwp+zip"},
                                               {"../Contents/section0.xml", "<hs:sec/>"}});
  testing::write_zip(scratch / "empty.hwpx", {{"mimetype", "application/hwp+zip"}});
  testing::write_zip(scratch / "odt.hwpx", {{"mimetype", "application/vnd.oasis.opendocument"}});
  std::string deep = "<hs:sec><hp:p><hp:run><hp:tbl>";
  for (int i = 0; i < 300; ++i) deep += "<hp:tr><hp:tc><hp:subList><hp:p><hp:run><hp:tbl>";
  for (int i = 0; i < 300; ++i) deep += "</hp:tbl></hp:run></hp:p></hp:subList></hp:tc></hp:tr>";
  deep += "</hp:tbl></hp:run></hp:p></hs:sec>";
  testing::write_zip(scratch / "deep.hwpx", {{"Contents/section0.xml", deep}});
  auto error = [&](const char* name) {
    try {
      read_hwpx(scratch / name);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error("dtd.hwpx").find("entity expansion"), std::string::npos);
  EXPECT_NE(error("escape.hwpx").find("escapes the archive"), std::string::npos);
  EXPECT_NE(error("empty.hwpx").find("no Contents/section0.xml"), std::string::npos);
  EXPECT_NE(error("odt.hwpx").find("not an HWPX file (mimetype"), std::string::npos);
  EXPECT_NE(error("deep.hwpx").find("Contents/section0.xml: XML nested deeper"), std::string::npos)
      << error("deep.hwpx");
}

TEST(DocumentBlocks, MergedCellsKeepTheirColumnsAndListsTheirNumbers) {
  const auto rows =
      spanned_table_rows({{0, 0, 1, 2, "wide"}, {1, 0, 1, 1, "a"}, {1, 1, 1, 1, "b"}}, 0, 0, "t");
  EXPECT_EQ(rows, (std::vector<std::vector<std::string>>{{"wide", ""}, {"a", "b"}}));
  EXPECT_THROW(spanned_table_rows({{5000, 5000, 1, 1, "x"}}, 0, 0, "t", 1000), Error);
  EXPECT_THROW(spanned_table_rows({{0, 0, 0, 1, "x"}}, 0, 0, "t"), Error);

  DocumentBlocks blocks;
  blocks.paragraph("Plan", 1);
  blocks.paragraph("one", 0, ListKind::kNumbered);
  blocks.paragraph("sub", 0, ListKind::kNumbered, 1);
  blocks.paragraph("two", 0, ListKind::kNumbered);
  blocks.paragraph("body" + blocks.note(NoteKind::kFootnote, "see\nthere"));
  blocks.paragraph("again", 0, ListKind::kNumbered);
  EXPECT_EQ(blocks.finish().text,
            "# Plan\n\n1. one\n  1. sub\n2. two\n\nbody[^1]\n\n1. again\n\n[^1]: see there");
  EXPECT_EQ(heading_level_of_style("개요 3"), 3);
  EXPECT_EQ(heading_level_of_style("Heading2"), 2);
  EXPECT_EQ(heading_level_of_style("바탕글"), 0);
}

TEST(ReaderAccuracy, CountsEditsAndCells) {
  EXPECT_DOUBLE_EQ(character_accuracy("가나다라", "가나다라"), 1.0);
  EXPECT_DOUBLE_EQ(character_accuracy("가나다라", "가나라"), 0.75);
  EXPECT_LT(character_accuracy(std::string(400, 'a'), std::string(400, 'b')), 0.95);
  EXPECT_DOUBLE_EQ(
      table_cell_accuracy({{{"a", "b"}, {"c", "d"}}}, "x\n\n| a | b |\n| --- | --- |\n| c | e |"),
      0.75);
}

}  // namespace
}  // namespace enclave::data
