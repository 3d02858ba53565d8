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

TEST(TemplateTest, RendersAsLmEvaluationHarness) {
  EXPECT_EQ(render_template("Q: {{question}}\nA:", kDoc, "t"), "Q: What is 2 + 3?\nA:");
  // Values print as Python prints them.
  EXPECT_EQ(render_template("{{ answer }}|{{ok}}|{{ratio}}", kDoc, "t"), "5|True|0.25");
  EXPECT_EQ(render_template("{{meta.source}} {{meta.tags[1]}} {{choices[-1]}}", kDoc, "t"),
            "gen b 6");
  EXPECT_EQ(render_template("[{{empty}}]", kDoc, "t"), "[]");
  EXPECT_EQ(render_template("{{choices}}", kDoc, "t"), "['4', '5', '6']");
  EXPECT_EQ(render_template("", kDoc, "t"), "");
  // Expressions, filters and control flow, as task files use them.
  EXPECT_EQ(render_template("{{ question | upper }}", kDoc, "t"), "WHAT IS 2 + 3?");
  EXPECT_EQ(render_template("{% for c in choices %}{{ 'ABC'[loop.index0] }}. {{ c }}\n{% endfor %}",
                            kDoc, "t"),
            "A. 4\nB. 5\nC. 6\n");
  EXPECT_EQ(render_template("{{ choices.index('5') }}", kDoc, "t"), "1");
  // The trailing newline of the source is kept, as lm-evaluation-harness sets it.
  EXPECT_EQ(render_template("{{ meta.source }}\n", kDoc, "t"), "gen\n");
}

TEST(TemplateTest, RejectsBadTemplatesNamingThem) {
  auto message = [](const std::string& tmpl) {
    return testing::error_message([&] { render_template(tmpl, kDoc, "task.yaml: doc_to_text"); });
  };
  // StrictUndefined: a missing field is an error, never an empty string.
  EXPECT_NE(message("{{missing}}").find("missing"), std::string::npos);
  EXPECT_NE(message("{{missing}}").find("task.yaml: doc_to_text"), std::string::npos);
  EXPECT_NE(message("Q: {{question").find("task.yaml: doc_to_text: line 1"), std::string::npos);
  EXPECT_NE(message("a\n{{ question | no_such_filter }}").find("line 2"), std::string::npos);
  EXPECT_THROW(check_template("{{a b}}", "t"), Error);
  EXPECT_NO_THROW(check_template("{{a.b[0]}} and {{c}}", "t"));
  EXPECT_THROW(render_template("{{x}}", nlohmann::json::array(), "t"), Error);
}

TEST(TemplateTest, ChoicesFromFieldTemplatesOrListLiteral) {
  EXPECT_EQ(render_choices("choices", kDoc, "t"), (std::vector<std::string>{"4", "5", "6"}));
  EXPECT_EQ(render_choices("{{choices}}", kDoc, "t"), (std::vector<std::string>{"4", "5", "6"}));
  EXPECT_EQ(render_choices("{{ meta.tags }}", kDoc, "t"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(render_choices("{{ [question, 'none'] }}", kDoc, "t"),
            (std::vector<std::string>{"What is 2 + 3?", "none"}));
  EXPECT_EQ(render_choices(nlohmann::json::array({"yes {{answer}}", "no"}), kDoc, "t"),
            (std::vector<std::string>{"yes 5", "no"}));
  EXPECT_THROW(render_choices("{{question}}", kDoc, "t"), Error);  // not a list
  EXPECT_THROW(render_choices("question", kDoc, "t"), Error);      // a field, not a list
  EXPECT_THROW(render_choices("A or B", kDoc, "t"), Error);
  EXPECT_THROW(render_choices(nlohmann::json::array(), kDoc, "t"), Error);
  EXPECT_THROW(render_choices(nlohmann::json::array({1}), kDoc, "t"), Error);
}

TEST(TemplateTest, TargetsFromFieldTextOrListLiteral) {
  EXPECT_EQ(render_targets("{{choices}}", kDoc, "t"), (std::vector<std::string>{"4", "5", "6"}));
  EXPECT_EQ(render_targets("choices", kDoc, "t"), (std::vector<std::string>{"4", "5", "6"}));
  EXPECT_EQ(render_targets("{{answer}}", kDoc, "t"), (std::vector<std::string>{"5"}));
  EXPECT_EQ(render_targets("answer", kDoc, "t"), (std::vector<std::string>{"5"}));
  EXPECT_EQ(render_targets(2, kDoc, "t"), (std::vector<std::string>{"2"}));
  EXPECT_EQ(render_targets("= {{answer}}", kDoc, "t"), (std::vector<std::string>{"= 5"}));
  EXPECT_THROW(render_targets(nlohmann::json::array(), kDoc, "t"), Error);
  EXPECT_THROW(render_targets("[]", kDoc, "t"), Error);
}

TEST(TemplateTest, PythonListLiterals) {
  EXPECT_EQ(python_list_items(R"(['a', "b'c", 'd\'e', 3, -1.5, True, None])", "t"),
            (std::vector<std::string>{"a", "b'c", "d'e", "3", "-1.5", "True", "None"}));
  EXPECT_EQ(python_list_items("[ 'x' , ]", "t"), (std::vector<std::string>{"x"}));
  EXPECT_TRUE(python_list_items("[]", "t").empty());
  for (const char* bad : {"", "['a'", "['a'] x", "[foo]", "['a' 'b']", "{'a': 1}"})
    EXPECT_THROW(python_list_items(bad, "t"), Error) << bad;
}

}  // namespace
}  // namespace enclave::eval
