#include "core/json.h"

#include <gtest/gtest.h>

#include <string>

#include "core/error.h"

namespace enclave {
namespace {

std::string error_of(std::string_view text) {
  try {
    parse_json(text, "x.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(JsonTest, ParsesValidObject) {
  auto j = parse_json(R"({"a": 1, "b": {"a": 2}})", "x.json");
  EXPECT_EQ(j["a"], 1);
  EXPECT_EQ(j["b"]["a"], 2);
}

TEST(JsonTest, RejectsDuplicateKeys) {
  EXPECT_NE(error_of(R"({"a": 1, "a": 2})").find("duplicate JSON key 'a'"), std::string::npos);
  EXPECT_NE(error_of(R"({"b": {"c": 1, "c": 1}})").find("duplicate"), std::string::npos);
}

TEST(JsonTest, RejectsDeepNestingWithoutCrashing) {
  std::string deep(100000, '[');
  deep += std::string(100000, ']');
  EXPECT_NE(error_of(deep).find("nested deeper"), std::string::npos);
}

// Found by fuzz/json_fuzz.cpp (fuzz/corpus/json/regress-number-overflow):
// nlohmann's out_of_range escaped as a foreign exception.
TEST(JsonTest, NumberPastDoubleRangeIsAnInputError) {
  EXPECT_NE(error_of(R"({"a": [1, 1e400]})").find("x.json: invalid JSON"), std::string::npos);
  EXPECT_NE(error_of("-1E999").find("number overflow"), std::string::npos);
  EXPECT_THROW(parse_ordered_json("[1e400]", "x.json"), Error);
}

TEST(JsonTest, RejectsInvalidUtf8AndSyntax) {
  EXPECT_NE(error_of("{\"a\": \"\xff\"}").find("x.json: invalid JSON"), std::string::npos);
  EXPECT_NE(error_of("{\"a\": ").find("x.json: invalid JSON"), std::string::npos);
}

TEST(JsonTest, TypedFieldsNameTheFieldOnError) {
  auto j = parse_json(R"({"n": "7", "m": 3, "f": 1.5})", "config.json");
  EXPECT_EQ(json_int(j, "m", "config.json"), 3);
  EXPECT_EQ(json_int(j, "missing", "config.json", 9), 9);
  EXPECT_DOUBLE_EQ(json_number(j, "f", "config.json"), 1.5);
  try {
    json_int(j, "n", "config.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "config.json: field 'n': expected an integer, got string");
  }
  EXPECT_THROW(json_int(j, "absent", "config.json"), Error);
}

}  // namespace
}  // namespace enclave
