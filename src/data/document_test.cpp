#include "data/document.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace enclave::data {
namespace {

TEST(Document, RoundTripKeepsFieldsAndExtra) {
  DocumentParser parser;
  Document doc;
  parser.parse(
      R"({"id":"a1","text":"안녕\n\"hi\"","source":"x.jsonl","type":"jsonl","meta":{"line":3},"messages":[{"role":"user","content":"q"}]})",
      doc);
  EXPECT_EQ(doc.id, "a1");
  EXPECT_EQ(doc.text, "안녕\n\"hi\"");
  EXPECT_EQ(doc.meta, R"({"line":3})");
  EXPECT_EQ(doc.extra, R"("messages":[{"role":"user","content":"q"}])");
  Document again;
  parser.parse(to_jsonl(doc), again);
  EXPECT_EQ(again.text, doc.text);
  EXPECT_EQ(again.extra, doc.extra);
  EXPECT_EQ(again.meta, doc.meta);
}

TEST(Document, EscapesControlCharacters) {
  std::string out;
  append_json_string(out, std::string("a\x01\tb\\", 5));
  EXPECT_EQ(out, R"("a\u0001\tb\\")");
}

TEST(Document, RejectsBadRecords) {
  DocumentParser parser;
  Document doc;
  for (const char* bad :
       {"", "[1,2]", "{\"text\":1}", "{\"id\":\"x\"}", "{\"text\":\"a\",\"meta\":[]}",
        "{\"text\":\"a\"", "{\"text\":NaN}", "{\"text\":\"\xff\"}"}) {
    EXPECT_THROW(parser.parse(bad, doc), Error) << bad;
  }
  std::string deep =
      "{\"text\":\"a\",\"x\":" + std::string(1000, '[') + std::string(1000, ']') + "}";
  EXPECT_THROW(parser.parse(deep, doc), Error);
}

TEST(Document, MapsStringsInExtra) {
  const std::string out = map_json_strings(R"("messages":[{"role":"user","content":"abc"}],"n":1)",
                                           [](std::string_view s) { return std::string(s) + "!"; });
  EXPECT_EQ(out, R"("messages":[{"content":"abc!","role":"user!"}],"n":1)");
  EXPECT_EQ(map_json_strings("", [](std::string_view s) { return std::string(s); }), "");
}

}  // namespace
}  // namespace enclave::data
