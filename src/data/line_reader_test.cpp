#include "data/line_reader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"

namespace enclave::data {
namespace {

std::filesystem::path write_temp(const std::string& name, const std::string& content) {
  auto path = std::filesystem::temp_directory_path() / ("enclave_line_reader_" + name);
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

TEST(LineReader, StripsBomAndCrlfAndReadsLastLine) {
  auto path = write_temp("bom",
                         "\xEF\xBB\xBF"
                         "one\r\ntwo\n\nthree");
  LineReader reader(path);
  std::vector<std::string> lines;
  Line line;
  while (reader.next(line)) lines.emplace_back(line.text);
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two", "", "three"}));
  EXPECT_EQ(line.number, 4u);
}

TEST(LineReader, SkipsOverlongLineWithBoundedMemory) {
  std::string content = "short\n" + std::string(5 << 20, 'x') + "\nafter\n";
  auto path = write_temp("long", content);
  LineReader reader(path, 1 << 20);
  Line line;
  ASSERT_TRUE(reader.next(line));
  EXPECT_EQ(line.text, "short");
  ASSERT_TRUE(reader.next(line));
  EXPECT_TRUE(line.too_long);
  EXPECT_EQ(line.number, 2u);
  ASSERT_TRUE(reader.next(line));
  EXPECT_EQ(line.text, "after");
  EXPECT_EQ(line.number, 3u);
  EXPECT_FALSE(reader.next(line));
}

TEST(LineReader, MissingFileIsNotFound) {
  try {
    LineReader reader("/nonexistent/enclave.jsonl");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  }
}

}  // namespace
}  // namespace enclave::data
