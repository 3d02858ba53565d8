#include "core/yaml.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/error.h"

namespace enclave {
namespace {

std::string error_of(std::string_view text, YamlLimits limits = {}) {
  try {
    parse_yaml(text, "m.yaml", limits);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    return e.what();
  }
  ADD_FAILURE() << "no error for: " << text;
  return "";
}

TEST(Yaml, ScalarsFollowTheCoreSchema) {
  auto doc = parse_yaml(
      "i: 42\nneg: -3\nf: 0.5\ne: 1e-3\nb: true\nB: False\nn: ~\nempty:\ns: hello\nq: '7'\ndq: "
      "\"true\"\n"
      "inf: .inf\nlist: [1, 2.5, x]\nnested: {a: [1, {b: 2}]}\n",
      "m.yaml");
  EXPECT_EQ(doc["i"], 42);
  EXPECT_TRUE(doc["i"].is_number_integer());
  EXPECT_EQ(doc["neg"], -3);
  EXPECT_DOUBLE_EQ(doc["f"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(doc["e"].get<double>(), 1e-3);
  EXPECT_EQ(doc["b"], true);
  EXPECT_EQ(doc["B"], false);
  EXPECT_TRUE(doc["n"].is_null());
  EXPECT_TRUE(doc["empty"].is_null());
  EXPECT_EQ(doc["s"], "hello");
  EXPECT_EQ(doc["q"], "7");  // quoted stays a string
  EXPECT_EQ(doc["dq"], "true");
  EXPECT_TRUE(std::isinf(doc["inf"].get<double>()));
  EXPECT_EQ(doc["list"][0], 1);
  EXPECT_EQ(doc["list"][2], "x");
  EXPECT_EQ(doc["nested"]["a"][1]["b"], 2);
}

// A merge config once crashed the reader with a value of 100,000 digits
// (std::regex matched it recursively and overflowed the stack).
TEST(Yaml, HugeNumbersAreReadWithoutRecursion) {
  const std::string digits(100'000, '7');
  EXPECT_THROW(
      {
        try {
          parse_yaml("weight: " + digits + "\n", "merge.yaml");
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("merge.yaml: line 1"), std::string::npos)
              << e.what();
          EXPECT_NE(std::string(e.what()).find("out of range"), std::string::npos) << e.what();
          throw;
        }
      },
      Error);
  EXPECT_DOUBLE_EQ(parse_yaml("w: 0." + digits + "\n", "m.yaml")["w"].get<double>(),
                   0.7777777777777778);
  EXPECT_EQ(parse_yaml("w: " + digits + "x\n", "m.yaml")["w"], digits + "x");
  EXPECT_DOUBLE_EQ(parse_yaml("w: 1" + std::string(300, '0') + "\n", "m.yaml")["w"].get<double>(),
                   1e300);
  for (const char* not_number : {"1.2.3", "e5", ".e5", "1e", "+", "-.", "1e+"})
    EXPECT_TRUE(parse_yaml(std::string("w: ") + not_number, "m.yaml")["w"].is_string())
        << not_number;
  EXPECT_DOUBLE_EQ(parse_yaml("w: .5e-1", "m.yaml")["w"].get<double>(), 0.05);
  EXPECT_DOUBLE_EQ(parse_yaml("w: -3.", "m.yaml")["w"].get<double>(), -3.0);
}

TEST(Yaml, EmptyDocumentIsNull) { EXPECT_TRUE(parse_yaml("", "m.yaml").is_null()); }

TEST(Yaml, RejectsDuplicateKeysWithTheirLine) {
  const std::string e = error_of("a: 1\nb:\n  c: 1\n  c: 2\n");
  EXPECT_NE(e.find("m.yaml: line 4"), std::string::npos) << e;
  EXPECT_NE(e.find("duplicate key 'c'"), std::string::npos) << e;
}

TEST(Yaml, RejectsSyntaxErrorsWithPosition) {
  const std::string e = error_of("a: [1, 2\n");
  EXPECT_NE(e.find("m.yaml: line"), std::string::npos) << e;
  EXPECT_NE(e.find("invalid YAML"), std::string::npos) << e;
}

TEST(Yaml, RejectsDeepNesting) {
  std::string deep(100000, '[');
  deep += std::string(100000, ']');
  EXPECT_NE(error_of(deep).find("nested deeper"), std::string::npos);
  std::string moderate(80, '[');
  moderate += std::string(80, ']');
  EXPECT_NE(error_of(moderate).find("nested deeper than 64"), std::string::npos);
}

TEST(Yaml, RejectsAliasExpansionBomb) {
  std::string text = "a: &a [x, x, x, x, x, x, x, x, x]\n";
  std::string prev = "a";
  for (char c : std::string("bcdefgh")) {
    text += fmt::format("{}: &{} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n", c, c,
                        fmt::arg("p", prev));
    prev = std::string(1, c);
  }
  EXPECT_NE(error_of(text).find("more than 1000000 nodes"), std::string::npos);
}

TEST(Yaml, RejectsMultipleDocumentsNulBytesAndComplexKeys) {
  EXPECT_NE(error_of("a: 1\n---\nb: 2\n").find("more than one YAML document"), std::string::npos);
  // Found by fuzz/yaml_fuzz.cpp (fuzz/corpus/yaml/regress-lone-comma-hang): yaml-cpp 0.7's
  // LoadAll never returned on these.
  EXPECT_NE(error_of(","), "");
  EXPECT_NE(error_of("a: 1\n,\n"), "");
  EXPECT_NE(error_of(std::string("a: 1\0", 5)).find("NUL"), std::string::npos);
  EXPECT_NE(error_of("? [a, b]\n: 1\n").find("mapping keys"), std::string::npos);
}

TEST(Yaml, MissingFileIsNotFound) {
  try {
    read_yaml_file("/nonexistent/merge.yaml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  }
}

}  // namespace
}  // namespace enclave
