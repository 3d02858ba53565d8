#include "store/names.h"

#include <gtest/gtest.h>

#include <string>

#include "core/error.h"

namespace enclave::store {
namespace {

TEST(Names, AcceptsOrdinaryNames) {
  for (const char* name : {"llama", "Llama-3.1-8B", "docs_v2", "a", "q2.5", "0day"}) {
    EXPECT_NO_THROW(validate_name(name, "model name")) << name;
  }
  EXPECT_NO_THROW(validate_name(std::string(kMaxNameLength, 'x'), "model name"));
}

TEST(Names, RejectsPathsAndControlCharacters) {
  const std::string bad[] = {"",
                             "a/b",
                             "../x",
                             "..",
                             "/abs",
                             "a\\b",
                             "C:\\x",
                             "%2e%2e%2f",
                             "%252e",
                             "a..b",
                             ".hidden",
                             "-flag",
                             "_x",
                             "a b",
                             "a#frag",
                             "a@1",
                             "a:b",
                             "caf\xc3\xa9",
                             "tab\tx",
                             "new\nline",
                             "del\x7f",
                             std::string("nul\0x", 5),
                             std::string(kMaxNameLength + 1, 'x')};
  for (const std::string& name : bad) {
    EXPECT_THROW(validate_name(name, "model name"), Error) << printable(name);
  }
}

TEST(Names, ErrorSaysWhatAndWhy) {
  try {
    validate_name("a/b", "model name");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("model name 'a/b'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'/' is not allowed"), std::string::npos) << e.what();
  }
  try {
    validate_name(std::string("x\0y", 3), "alias");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("x\\x00y"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("NUL"), std::string::npos) << e.what();
  }
}

TEST(Names, ParsesVersionReferences) {
  VersionRef latest = parse_version_ref("llama", "model");
  EXPECT_EQ(latest.name, "llama");
  EXPECT_FALSE(latest.version);
  EXPECT_FALSE(latest.alias);
  VersionRef v3 = parse_version_ref("llama@3", "model");
  EXPECT_EQ(v3.name, "llama");
  EXPECT_EQ(v3.version, 3);
  VersionRef prod = parse_version_ref("llama:production", "model");
  EXPECT_EQ(prod.alias, "production");
}

TEST(Names, RejectsBadVersionReferences) {
  for (const char* ref :
       {"llama@", "llama@0", "llama@-1", "llama@01", "llama@1.5", "llama@x", "llama@1:prod",
        "llama:", "llama:a/b", "@3", ":prod", "a/b@1", "llama@99999999999999999999"}) {
    EXPECT_THROW(parse_version_ref(ref, "model"), Error) << ref;
  }
}

TEST(Names, Digests) {
  std::string hex(64, 'a');
  EXPECT_EQ(parse_digest("sha256:" + hex), hex);
  EXPECT_TRUE(is_digest("sha256:" + hex));
  for (const std::string& bad :
       {std::string("sha256:") + std::string(63, 'a'), "sha256:" + std::string(64, 'A'),
        "md5:" + hex, hex, "sha256:" + std::string(63, 'a') + "g", std::string()}) {
    EXPECT_THROW(parse_digest(bad), Error) << bad;
  }
}

TEST(Names, RelativePaths) {
  for (const char* ok : {"config.json", "a/b/c.txt", "weird name.txt", "..a", "a..b/c"}) {
    EXPECT_NO_THROW(validate_relative_path(ok, "manifest")) << ok;
  }
  for (const std::string& bad :
       {std::string(""), std::string("/etc/passwd"), std::string("../x"), std::string("a/../../x"),
        std::string("a//b"), std::string("./a"), std::string("a/"), std::string("a\\b"),
        std::string("a\nb"), std::string("a\0b", 3), std::string(5000, 'a')}) {
    EXPECT_THROW(validate_relative_path(bad, "manifest"), Error) << printable(bad);
  }
}

}  // namespace
}  // namespace enclave::store
