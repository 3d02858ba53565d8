// JSONL datasets as users hand them over: every bad line is an error naming
// the file and line; splits, limits and few-shot pools.
#include "eval/task_docs.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "eval/error_testing.h"
#include "store/store_testing.h"

namespace enclave::eval {
namespace {

using store::testing::ScratchDir;
using store::testing::write_text;

TEST(TaskDocsTest, ReadsJsonlStrictly) {
  ScratchDir dir;
  write_text(dir / "ok.jsonl",
             "{\"a\": 1}\r\n\n   \n{\"a\": \"한국어\"}");  // CRLF, blank lines, no final newline
  std::vector<nlohmann::json> docs = read_jsonl(dir / "ok.jsonl");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[1]["a"], "한국어");

  auto err = [&](const std::string& text) {
    write_text(dir / "bad.jsonl", text);
    return testing::error_message([&] { read_jsonl(dir / "bad.jsonl"); });
  };
  EXPECT_NE(err("\xEF\xBB\xBF{\"a\": 1}\n").find("byte order mark"), std::string::npos);
  EXPECT_NE(err("{\"a\": 1}\n{\"a\": \n").find("bad.jsonl: line 2"), std::string::npos);
  EXPECT_NE(err("{\"a\": 1}\n[1, 2]\n").find("line 2: expected a JSON object, got array"),
            std::string::npos);
  EXPECT_NE(err("{\"a\": 1, \"a\": 2}\n").find("line 1"), std::string::npos);  // duplicate key
  EXPECT_NE(err("{\"a\": NaN}\n").find("line 1"), std::string::npos);
  EXPECT_NE(err("{\"a\": \"\xC3\x28\"}\n").find("line 1"), std::string::npos);  // invalid UTF-8
  EXPECT_NE(err(std::string(100000, '[') + "\n").find("line 1"),
            std::string::npos);  // deep nesting
  EXPECT_NE(testing::error_message([&] {
              read_jsonl(dir / "ok.jsonl", 1);
            }).find("more than 1 documents"),
            std::string::npos);
  try {
    read_jsonl(dir / "missing.jsonl");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  }
}

TEST(TaskDocsTest, SplitsLimitsAndFewShotPools) {
  ScratchDir dir;
  std::string test;
  for (int i = 0; i < 10; ++i) test += "{\"i\": " + std::to_string(i) + "}\n";
  write_text(dir / "ds/test.jsonl", test);
  write_text(dir / "ds/train.jsonl", "{\"i\": 100}\n{\"i\": 101}\n");
  TaskSpec t;
  t.name = "t";
  t.dataset.path = dir / "ds";
  TaskDocs docs = load_task_docs(t, {.limit = 0.25});
  EXPECT_EQ(docs.docs.size(), 3u);  // ceil(2.5)
  EXPECT_EQ(docs.n_available, 10u);
  EXPECT_EQ(docs.fewshot_pool.size(), 10u);  // the whole split, not the limited part
  EXPECT_TRUE(docs.fewshot_from_docs);
  EXPECT_EQ(docs.data_sha256.size(), 64u);
  t.dataset.fewshot_split = "train";
  t.limit = 4;
  docs = load_task_docs(t);
  EXPECT_EQ(docs.docs.size(), 4u);
  EXPECT_EQ(docs.fewshot_pool.size(), 2u);
  EXPECT_FALSE(docs.fewshot_from_docs);
  t.dataset.split = "validation";
  const std::string missing = testing::error_message([&] { load_task_docs(t); });
  EXPECT_NE(missing.find("split 'validation' not found"), std::string::npos) << missing;
  EXPECT_NE(missing.find("test, train"), std::string::npos) << missing;
  write_text(dir / "empty.jsonl", "\n");
  t.dataset.path = dir / "empty.jsonl";
  EXPECT_NE(testing::error_message([&] { load_task_docs(t); }).find("no documents"),
            std::string::npos);
  EXPECT_EQ(apply_limit(10, std::nullopt), 10u);
  EXPECT_EQ(apply_limit(10, 20.0), 10u);
  EXPECT_EQ(apply_limit(10, 0.01), 1u);
}

}  // namespace
}  // namespace enclave::eval
