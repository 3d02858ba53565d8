#include "eval/template.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "eval/error_testing.h"

namespace enclave::eval {
namespace {

const nlohmann::json kDoc = nlohmann::json::parse(R"({
  "question": "What is 2 + 3?", "answer": 5, "ok": true, "ratio": 0.25,
  "meta": {"source": "gen", "tags": ["a", "b"]}, "choices": ["4", "5", "6"],
  "한국어": "안녕", "empty": "", "nothing": null
})");

TEST(TemplateTest, SubstitutesFields) {
  EXPECT_EQ(render_template("Q: {{question}}\nA:", kDoc, "t"), "Q: What is 2 + 3?\nA:");
  EXPECT_EQ(render_template("{{ answer }}|{{ok}}|{{ratio}}", kDoc, "t"), "5|true|0.25");
  EXPECT_EQ(render_template("{{meta.source}} {{meta.tags[1]}} {{choices[-1]}}", kDoc, "t"),
            "gen b 6");
  EXPECT_EQ(render_template("{{한국어}}!", kDoc, "t"), "안녕!");
  EXPECT_EQ(render_template("[{{empty}}]", kDoc, "t"), "[]");
  EXPECT_EQ(render_template("{{choices}}", kDoc, "t"), R"(["4","5","6"])");
  EXPECT_EQ(render_template("no fields { } }}", kDoc, "t"), "no fields { } }}");
  EXPECT_EQ(render_template("", kDoc, "t"), "");
}

TEST(TemplateTest, RejectsBadTemplatesWithTheField) {
  auto message = [](const std::string& tmpl) {
    return testing::error_message([&] { render_template(tmpl, kDoc, "task.yaml: doc_to_text"); });
  };
  EXPECT_NE(message("{{missing}}").find("field 'missing' is missing"), std::string::npos);
  EXPECT_NE(message("{{nothing}}").find("is null"), std::string::npos);
  EXPECT_NE(message("Q: {{question").find("no closing"), std::string::npos);
  EXPECT_NE(message("{{question | upper}}").find("unexpected character"), std::string::npos);
  EXPECT_NE(message("{{choices[7]}}").find("outside a list of 3"), std::string::npos);
  EXPECT_NE(message("{{question.x}}").find("cannot take 'x'"), std::string::npos);
  EXPECT_NE(message("{{}}").find("empty"), std::string::npos);
  EXPECT_NE(message("{{choices[x]}}").find("bad index"), std::string::npos);
  EXPECT_NE(message("{{missing}}").find("task.yaml: doc_to_text"), std::string::npos);
  EXPECT_THROW(check_template("{{a b}}", "t"), Error);
  EXPECT_NO_THROW(check_template("{{a.b[0]}} and {{c}}", "t"));
}

TEST(TemplateTest, ChoicesFromListFieldOrTemplates) {
  EXPECT_EQ(render_choices("{{choices}}", kDoc, "t"), (std::vector<std::string>{"4", "5", "6"}));
  EXPECT_EQ(render_choices(" {{ meta.tags }} ", kDoc, "t"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(render_choices(nlohmann::json::array({"yes {{answer}}", "no"}), kDoc, "t"),
            (std::vector<std::string>{"yes 5", "no"}));
  EXPECT_THROW(render_choices("{{question}}", kDoc, "t"), Error);  // not a list
  EXPECT_THROW(render_choices("A or B", kDoc, "t"), Error);
  EXPECT_THROW(render_choices(nlohmann::json::array(), kDoc, "t"), Error);
  EXPECT_THROW(render_choices(nlohmann::json::array({1}), kDoc, "t"), Error);
}

TEST(TemplateTest, TargetsFromListFieldOrText) {
  EXPECT_EQ(render_targets("{{choices}}", kDoc, "t"), (std::vector<std::string>{"4", "5", "6"}));
  EXPECT_EQ(render_targets("{{answer}}", kDoc, "t"), (std::vector<std::string>{"5"}));
  EXPECT_EQ(render_targets(2, kDoc, "t"), (std::vector<std::string>{"2"}));
  EXPECT_EQ(render_targets("= {{answer}}", kDoc, "t"), (std::vector<std::string>{"= 5"}));
  EXPECT_THROW(render_targets(nlohmann::json::array(), kDoc, "t"), Error);
}

}  // namespace
}  // namespace enclave::eval
