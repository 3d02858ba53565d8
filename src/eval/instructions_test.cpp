// Every verifiable instruction with an answer that follows it and one that
// does not, plus the loose variants and bad kwargs.
#include "eval/instructions.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "eval/error_testing.h"

namespace enclave::eval {
namespace {

struct Case {
  std::string id;
  nlohmann::json kwargs;
  std::string pass;
  std::string fail;
};

std::vector<Case> cases() {
  using J = nlohmann::json;
  return {
      {"length_constraints:number_words", J{{"num_words", 5}, {"relation", "at least"}},
       "one two three four five", "one two three four"},
      {"length_constraints:number_words", J{{"num_words", 3}, {"relation", "less than"}}, "하나 둘",
       "하나 둘 셋"},
      {"length_constraints:number_sentences", J{{"num_sentences", 3}, {"relation", "less than"}},
       "Only one. Really 3.5", "One. Two! Three?"},
      {"length_constraints:number_sentences", J{{"num_sentences", 2}, {"relation", "at least"}},
       "첫째. 둘째.", "하나뿐입니다."},
      {"length_constraints:number_paragraphs", J{{"num_paragraphs", 2}},
       "First part.\n***\nSecond part.", "First part.\n***\n***\nSecond part."},
      {"length_constraints:number_characters", J{{"num_chars", 6}, {"relation", "less than"}},
       "안녕하세요", "안녕하세요 여러분"},
      {"keywords:existence", J{{"keywords", {"enclave", "서울"}}}, "ENCLAVE runs in 서울.",
       "Enclave runs in Busan."},
      {"keywords:forbidden_words", J{{"forbidden_words", {"cloud"}}},
       "It stays on cloudless premises.", "It never uses the Cloud."},
      {"keywords:frequency", J{{"keyword", "data"}, {"frequency", 2}, {"relation", "at least"}},
       "Data in, data out.", "Data in."},
      {"detectable_format:json_format", J::object(), "```json\n{\"a\": [1, 2]}\n```",
       "{\"a\": 1,}"},
      {"detectable_format:number_bullet_lists", J{{"num_bullets", 2}}, "List:\n* one\n- two",
       "* one\n* two\n* three"},
      {"detectable_format:title", J::object(), "<<A Title>>\nBody", "No title here"},
      {"detectable_format:number_highlighted_sections", J{{"num_highlights", 2}},
       "*one* and **two**", "*one* and ** **"},
      {"change_case:english_lowercase", J::object(), "all lower case here", "Not all lower"},
      {"change_case:english_capital", J::object(), "ALL UPPER CASE", "ALMOST aLL"},
      {"startend:start_checker", J{{"start_phrase", "Dear team"}}, "  dear TEAM, hello",
       "Hello dear team"},
      {"startend:end_checker", J{{"end_phrase", "Any questions?"}}, "That is all. Any questions?  ",
       "Any questions? That is all."},
      {"startend:quotation", J::object(), "\"quoted answer\"", "\"only opening"},
      {"punctuation:no_comma", J::object(), "No commas here.", "One, two"},
      {"punctuation:no_comma", J::object(), "쉼표 없음", "사과，배"},
      {"detectable_content:number_placeholders", J{{"num_placeholders", 2}},
       "Send to [name] at [address].", "Send to [name]."},
      {"detectable_content:postscript", J{{"postscript_marker", "P.S."}}, "Hello.\nP.S. see you",
       "Hello. PS see you"},
      {"language:response_language", J{{"language", "ko"}}, "이것은 한국어 문장입니다 (Korean).",
       "This is English 한국."},
      {"language:response_language", J{{"language", "en"}}, "This is English.",
       "이것은 한국어입니다."},
  };
}

TEST(InstructionsTest, EachCheckPassesAndFails) {
  std::set<std::string> covered;
  for (const Case& c : cases()) {
    Instruction inst{c.id, c.kwargs};
    EXPECT_TRUE(follows_strict(inst, c.pass)) << c.id << " should pass: " << c.pass;
    EXPECT_FALSE(follows_strict(inst, c.fail)) << c.id << " should fail: " << c.fail;
    covered.insert(c.id);
  }
  EXPECT_EQ(covered.size(), instruction_ids().size()) << "every supported instruction has a case";
  EXPECT_GE(instruction_ids().size(), 12u);
}

TEST(InstructionsTest, EmptyResponseFollowsNothing) {
  EXPECT_FALSE(follows_strict({"punctuation:no_comma", nlohmann::json::object()}, "  \n "));
}

TEST(InstructionsTest, LooseAcceptsWhatIfEvalLooseAccepts) {
  // A chatty first line breaks "starts with"; loose drops it.
  Instruction start{"startend:start_checker", {{"start_phrase", "Dear team"}}};
  const std::string answer = "Sure! Here is the letter:\nDear team, we are live.";
  EXPECT_FALSE(follows_strict(start, answer));
  EXPECT_TRUE(follows_loose(start, answer));
  // Markdown bold breaks the end phrase; loose removes '*'.
  Instruction end{"startend:end_checker", {{"end_phrase", "Thank you."}}};
  EXPECT_FALSE(follows_strict(end, "Done. **Thank you.**"));
  EXPECT_TRUE(follows_loose(end, "Done. **Thank you.**"));
  // Nothing rescues a real violation.
  EXPECT_FALSE(
      follows_loose({"punctuation:no_comma", nlohmann::json::object()}, "a, b\nc, d\ne, f"));
  std::vector<std::string> v = loose_variants("first\nmiddle *x*\nlast");
  ASSERT_EQ(v.size(), 8u);
  EXPECT_EQ(v[2], "middle *x*\nlast");
  EXPECT_EQ(v[3], "first\nmiddle *x*");
  EXPECT_EQ(v[4], "middle *x*");
  EXPECT_EQ(v[7], "middle x");
}

TEST(InstructionsTest, ReadsIfEvalDocuments) {
  nlohmann::json doc = nlohmann::json::parse(R"({
    "prompt": "Write in lowercase without commas.",
    "instruction_id_list": ["change_case:english_lowercase", "punctuation:no_comma"],
    "kwargs": [{"num_words": null}, {}]
  })");
  std::vector<Instruction> list = instructions_of(doc, "doc 0");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_TRUE(follows_strict(list[0], "all fine"));
}

TEST(InstructionsTest, RejectsBadInstructions) {
  auto err = [](const Instruction& inst) {
    return testing::error_message([&] { validate_instruction(inst, "doc 3"); });
  };
  EXPECT_NE(err({"detectable_format:haiku", {}}).find("unknown instruction"), std::string::npos);
  EXPECT_NE(err({"length_constraints:number_words", {{"num_words", 5}}}).find("relation"),
            std::string::npos);
  EXPECT_NE(err({"length_constraints:number_words", {{"num_words", 5}, {"relation", "about"}}})
                .find("'about'"),
            std::string::npos);
  EXPECT_NE(
      err({"length_constraints:number_words", {{"num_words", "five"}, {"relation", "at least"}}})
          .find("num_words"),
      std::string::npos);
  EXPECT_NE(
      err({"keywords:existence", {{"keywords", nlohmann::json::array()}}}).find("non-empty list"),
      std::string::npos);
  EXPECT_NE(err({"language:response_language", {{"language", "tlh"}}}).find("not supported"),
            std::string::npos);
  EXPECT_NE(
      err({"detectable_content:number_placeholders", {{"num_placeholders", -1}}}).find(">= 0"),
      std::string::npos);
  nlohmann::json mismatched = {{"instruction_id_list", {"punctuation:no_comma"}},
                               {"kwargs", {{}, {}}}};
  EXPECT_THROW(instructions_of(mismatched, "doc"), Error);
  EXPECT_THROW(instructions_of(nlohmann::json::object(), "doc"), Error);
  EXPECT_THROW(instructions_of({{"instruction_id_list", nlohmann::json::array()}}, "doc"), Error);
}

}  // namespace
}  // namespace enclave::eval
