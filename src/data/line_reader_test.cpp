#include "data/line_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "core/scratch_dir_testing.h"

namespace enclave::data {
namespace {

TEST(LineReader, StripsBomAndCrlfAndReadsLastLine) {
  const testing::ScratchDir dir("line-reader");
  auto path = dir.write("bom.txt",
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
  const testing::ScratchDir dir("line-reader");
  auto path = dir.write("long.txt", content);
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
