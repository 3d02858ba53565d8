// Statements, whitespace control, scoping, macros, errors and bounds. The
// expected strings are what Python's jinja2 3.1 renders for the same input
// (tests/jinja_reference_test.py compares whole templates automatically).
#include "jinja/jinja.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/error.h"

namespace enclave::jinja {
namespace {

using json = nlohmann::ordered_json;

std::string render(const std::string& src, const json& ctx = json::object(), Options opt = {}) {
  return Template::parse(src, "t", opt).render(ctx);
}

std::string chat(const std::string& src, const json& ctx = json::object()) {
  return render(src, ctx, chat_template_options());
}

// The message of the Error that parsing or rendering throws ("" if none).
std::string error_of(const std::string& src, const json& ctx = json::object(), Options opt = {}) {
  try {
    Template::parse(src, "tpl", opt).render(ctx);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    return e.what();
  }
  return "";
}

TEST(JinjaText, OutputAndComments) {
  EXPECT_EQ(render("hello {{ 'x' }}{# gone #}!"), "hello x!");
  EXPECT_EQ(render("{{ 1 }}{{ none }}{{ true }}{{ 2.0 }}"), "1NoneTrue2.0");
  EXPECT_EQ(render("{{ a }}|{{ b.c }}", json{{"a", "A"}, {"b", {{"c", 5}}}}), "A|5");
  EXPECT_EQ(render("{{ missing }}"), "");
}

TEST(JinjaText, TrailingNewlineAndLineEndings) {
  EXPECT_EQ(render("a\n"), "a");
  EXPECT_EQ(render("a\n\n"), "a\n");
  Options keep;
  keep.keep_trailing_newline = true;
  EXPECT_EQ(render("a\n", json::object(), keep), "a\n");
  EXPECT_EQ(render("a\r\nb\rc"), "a\nb\nc");
}

TEST(JinjaWhitespace, MinusStripsAllWhitespace) {
  EXPECT_EQ(render("a  {%- if true -%}  b  {%- endif -%}  \nc"), "abc");
  EXPECT_EQ(render("a \n {{- 'x' -}} \n b"), "axb");
  EXPECT_EQ(render("a {#- c -#} b"), "ab");
}

TEST(JinjaWhitespace, TrimAndLstripBlocks) {
  const std::string src = "  {% if true %}\n    yes\n  {% endif %}\n  {{ 'v' }}\n";
  EXPECT_EQ(render(src), "  \n    yes\n  \n  v");
  EXPECT_EQ(chat(src), "    yes\n  v");
  // `+` turns lstrip off for one tag; trim_blocks is kept off by `+%}`.
  EXPECT_EQ(chat("  {%+ if true +%}\nx{% endif %}"), "  \nx");
  // lstrip_blocks applies to comments but never to `{{`.
  EXPECT_EQ(chat("  {# c #}\n  {{ 1 }}"), "  1");
  // Text before the tag on the same line keeps its spaces.
  EXPECT_EQ(chat("x  {% if true %}y{% endif %}"), "x  y");
}

TEST(JinjaWhitespace, RawBlocks) {
  EXPECT_EQ(render("{% raw %}{{ x }} {% if %}{% endraw %}"), "{{ x }} {% if %}");
  EXPECT_EQ(render("{% raw -%}\n  a {{ b }}\n{%- endraw %}"), "a {{ b }}");
}

TEST(JinjaStatements, IfElifElse) {
  const std::string src = "{% if n > 1 %}big{% elif n == 1 %}one{% else %}small{% endif %}";
  EXPECT_EQ(render(src, json{{"n", 5}}), "big");
  EXPECT_EQ(render(src, json{{"n", 1}}), "one");
  EXPECT_EQ(render(src, json{{"n", 0}}), "small");
}

TEST(JinjaStatements, ForLoopVariables) {
  json ctx{{"xs", {"a", "b", "c"}}};
  EXPECT_EQ(render("{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}"
                   "{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};"
                   "{% endfor %}",
                   ctx),
            "1032TrueFalse3;2121FalseFalse3;3210FalseTrue3;");
  EXPECT_EQ(
      render("{% for x in xs %}{{ loop.previtem }}>{{ x }}>{{ loop.nextitem }}|{% endfor %}", ctx),
      ">a>b|a>b>c|b>c>|");
  EXPECT_EQ(render("{% for x in xs %}{{ loop.cycle('o', 'e') }}{% endfor %}", ctx), "oeo");
  EXPECT_EQ(render("{% for x in [1, 1, 2] %}{{ loop.changed(x) }}{% endfor %}"), "TrueFalseTrue");
}

TEST(JinjaStatements, ForFilterElseUnpacking) {
  json ctx{{"d", {{"a", 1}, {"b", 2}, {"c", 3}}}};
  EXPECT_EQ(
      render(
          "{% for k, v in d.items() if v != 2 %}{{ loop.index }}{{ k }}{{ v }}/{{ loop.length }} "
          "{% endfor %}",
          ctx),
      "1a1/2 2c3/2 ");
  EXPECT_EQ(render("{% for x in [] %}x{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(render("{% for k in d %}{{ k }}{% endfor %}", ctx), "abc");
  EXPECT_EQ(render("{% for c in 'hé' %}[{{ c }}]{% endfor %}"), "[h][é]");
  EXPECT_NE(error_of("{% for a, b in [[1, 2, 3]] %}{% endfor %}").find("too many values"),
            std::string::npos);
}

TEST(JinjaStatements, RecursiveLoops) {
  json ctx{{"tree",
            {{{"n", "a"},
              {"c",
               {{{"n", "a1"}, {"c", json::array()}},
                {{"n", "a2"}, {"c", {{{"n", "a21"}, {"c", json::array()}}}}}}}},
             {{"n", "b"}, {"c", json::array()}}}}};
  // Expected: jinja2 3.1.
  EXPECT_EQ(render("{% for node in tree recursive %}<{{ node.n }}:{{ loop.depth }}{{ loop.depth0 }}"
                   "{{ loop.index }}/{{ loop.length }}{% if node.c %}[{{ loop(node.c) }}]{% endif "
                   "%}>{% endfor %}",
                   ctx),
            "<a:101/2[<a1:211/2><a2:212/2[<a21:321/1>]>]><b:102/2>");
  EXPECT_EQ(render("{% for node in tree if node.n != 'a2' recursive %}{{ node.n }}{{ loop(node.c) "
                   "}}{% endfor %}",
                   ctx),
            "aa1b");
  EXPECT_EQ(error_of("{% for x in [1] %}{{ loop([2]) }}{% endfor %}"),
            "tpl:1: The loop must have the 'recursive' marker to be called recursively.");
}

TEST(JinjaStatements, BreakContinueNeedLoopControls) {
  const std::string src =
      "{% for i in range(10) %}{% if i == 1 %}{% continue %}{% endif %}"
      "{% if i > 3 %}{% break %}{% endif %}{{ i }}{% endfor %}";
  EXPECT_EQ(chat(src), "023");
  EXPECT_EQ(error_of(src), "tpl:1: Encountered unknown tag 'continue'.");
  EXPECT_EQ(error_of("{% break %}", json::object(), chat_template_options()),
            "tpl:1: 'break' outside of a loop");
}

TEST(JinjaScoping, LoopBodyAssignmentsAreLocal) {
  // Each iteration starts from the outer value; nothing leaks out.
  EXPECT_EQ(render("{% set x = 0 %}{% for i in [1, 2] %}{{ x }}{% set x = i %}{{ x }}{% endfor %}"
                   "{{ x }}"),
            "01020");
  EXPECT_EQ(render("{% for a in [1] %}{% set z = a %}{% endfor %}[{{ z }}]"), "[]");
  // `if` is not a scope.
  EXPECT_EQ(render("{% if true %}{% set y = 3 %}{% endif %}{{ y }}"), "3");
}

TEST(JinjaScoping, NamespaceCarriesValuesOutOfLoops) {
  EXPECT_EQ(
      render(
          "{% set ns = namespace(n=0, seen=false) %}{% for i in [1, 2, 3] %}"
          "{% set ns.n = ns.n + i %}{% endfor %}{% set ns.seen = true %}{{ ns.n }} {{ ns.seen }}"),
      "6 True");
  EXPECT_EQ(render("{% set ns = namespace(a=1) %}{{ ns }}"), "<Namespace {'a': 1}>");
  // A namespace holding itself prints as Python prints the cycle.
  EXPECT_EQ(
      render("{% set ns = namespace(a=1) %}{% set ns.me = ns %}{% set ns.l = [ns] %}{{ ns }}"),
      "<Namespace {'a': 1, 'me': <Namespace {...}>, 'l': [<Namespace {...}>]}>");
  EXPECT_EQ(error_of("{% set d = {} %}\n{% set d.x = 1 %}"),
            "tpl:2: Cannot assign attribute on non-namespace object");
}

TEST(JinjaStatements, SetForms) {
  EXPECT_EQ(render("{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c = 1, 2 %}{{ c }}"), "12(1, 2)");
  EXPECT_EQ(render("{% set t %}  block {{ 1 + 1 }} {% endset %}[{{ t }}]"), "[  block 2 ]");
  EXPECT_EQ(render("{% set u | upper | replace('B', 'x') %}abc{% endset %}{{ u }}"), "AxC");
}

TEST(JinjaMacros, DefaultsKwargsVarargsCaller) {
  EXPECT_EQ(render("{% macro m(a, b=2) %}{{ a }}{{ b }}{{ varargs }}{{ kwargs }}{% endmacro %}"
                   "{{ m(1) }} {{ m(1, 3, 4, z=5) }} {{ m(b=7, a=0) }}"),
            "12(){} 13(4,){'z': 5} 07(){}");
  EXPECT_EQ(render("{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}"
                   "{% call wrap('b') %}inner{% endcall %}"),
            "<b>inner</b>");
  EXPECT_EQ(render("{% macro each(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}"
                   "{% call(v) each([1, 2]) %}[{{ v }}]{% endcall %}"),
            "[1][2]");
  EXPECT_EQ(render("{% macro m(x) %}{{ x }}{% endmacro %}{{ m() }}|{{ m is callable }}"), "|True");
}

TEST(JinjaMacros, StarArgsAndStarStarKwargs) {
  // Expected: jinja2 3.1.
  EXPECT_EQ(
      render(
          "{% macro m(a, b=2, c=3) %}{{ a }}{{ b }}{{ c }}{{ varargs }}{{ kwargs }}{% endmacro %}"
          "{{ m(*xs) }}|{{ m(0, **kw) }}|{{ m(*[7, 8, 9, 10], z=1) }}|{{ '{}-{}'.format(*xs) }}|"
          "{{ [3, 1]|sort(**{'reverse': true}) }}",
          json{{"xs", {1, 2}}, {"kw", {{"b", 5}}}}),
      "123(){}|053(){}|789(10,){'z': 1}|1-2|[3, 1]");
  EXPECT_EQ(error_of("{{ range(**[1]) }}"), "tpl:1: argument after ** must be a mapping, not list");
  EXPECT_EQ(error_of("{{ range(*[1], 2) }}"), "tpl:1: invalid syntax for function call expression");
}

TEST(JinjaStatements, FilterWithAndGeneration) {
  EXPECT_EQ(render("{% filter upper %}up {{ 'x' }}{% endfilter %}"), "UP X");
  EXPECT_EQ(render("{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}[{{ a }}]"), "3[]");
  auto tpl = Template::parse(
      "A{% generation %}gen{{ 1 }}{% endgeneration %}B{% generation %}"
      "{% endgeneration %}",
      "t", chat_template_options());
  Rendered r = tpl.render_with_spans(json::object());
  EXPECT_EQ(r.text, "Agen1B");
  ASSERT_EQ(r.generation_spans.size(), 2u);
  EXPECT_EQ(r.generation_spans[0], (std::pair<std::size_t, std::size_t>{1, 5}));
  EXPECT_EQ(r.generation_spans[1], (std::pair<std::size_t, std::size_t>{6, 6}));
  EXPECT_TRUE(tpl.has_generation_blocks());
  EXPECT_TRUE(
      Template::parse("{% for m in x %}{% if m %}{% generation %}{% endgeneration %}{% endif %}"
                      "{% endfor %}",
                      "t", chat_template_options())
          .has_generation_blocks());
  EXPECT_FALSE(Template::parse("{{ x }}", "t", chat_template_options()).has_generation_blocks());
  EXPECT_EQ(error_of("{% generation %}x{% endgeneration %}"),
            "tpl:1: Encountered unknown tag 'generation'.");
}

TEST(JinjaGlobals, TransformersFunctions) {
  Options opt = chat_template_options();
  opt.strftime_now = [](const std::string& f) { return "now:" + f; };
  EXPECT_EQ(render("{{ strftime_now('%Y') }}", json::object(), opt), "now:%Y");
  try {
    render("{% if true %}\n{{ raise_exception('Roles must alternate') }}{% endif %}",
           json::object(), opt);
    FAIL() << "raise_exception did not throw";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "Roles must alternate");
  }
  // Plain jinja2 has neither.
  EXPECT_EQ(error_of("{{ raise_exception('x') }}"), "tpl:1: 'raise_exception' is undefined");
  EXPECT_EQ(
      render("{% set comma = joiner() %}{% for x in [1, 2, 3] %}{{ comma() }}{{ x }}{% endfor %}|"
             "{% set k = joiner(sep=1) %}{{ k() }}{{ k() }}{{ k() }}"),
      "1, 2, 3|11");
  EXPECT_EQ(render("{{ range(3)|list }} {{ range(1, 7, 2)|list }} {{ dict(a=1) }}"),
            "[0, 1, 2] [1, 3, 5] {'a': 1}");
}

TEST(JinjaErrors, SyntaxErrorsNameTemplateAndLine) {
  EXPECT_EQ(error_of("a\n{% if x %}\nb"),
            "tpl:3: unexpected end of template, expected 'elif' or 'else' or 'endif'");
  EXPECT_EQ(error_of("\n\n{{ x | nosuchfilter }}"), "tpl:3: No filter named 'nosuchfilter'.");
  EXPECT_EQ(error_of("{{ x is nosuchtest }}"), "tpl:1: No test named 'nosuchtest'.");
  EXPECT_EQ(error_of("{% frobnicate %}"), "tpl:1: Encountered unknown tag 'frobnicate'.");
  EXPECT_EQ(error_of("x\n{{ 1 + }}"), "tpl:2: unexpected end of print statement");
  EXPECT_EQ(error_of("{{ 'abc }}"), "tpl:1: unexpected end of string");
  EXPECT_EQ(error_of("{{ x "),
            "tpl:1: unexpected end of template, expected end of print statement ('}}')");
  EXPECT_EQ(error_of("{# open"), "tpl:1: Missing end of comment tag");
  EXPECT_EQ(error_of("{% raw %}x"), "tpl:1: Missing end of raw directive");
  EXPECT_EQ(error_of("{{ a ! b }}"), "tpl:1: unexpected char '!' at 5");
  EXPECT_EQ(error_of("{{ (1 }}"), "tpl:1: unexpected '}'");
  EXPECT_EQ(error_of("{% include 'x' %}"),
            "tpl:1: 'include' is not supported: a template here cannot load other templates");
  EXPECT_EQ(error_of("{{ 99999999999999999999 }}"),
            "tpl:1: integer literal too large: 99999999999999999999");
}

TEST(JinjaErrors, RuntimeErrorsNameTemplateAndLine) {
  EXPECT_EQ(error_of("\n{{ 1 / 0 }}"), "tpl:2: division by zero");
  EXPECT_EQ(error_of("{{ 'a' + 1 }}"), "tpl:1: can only concatenate str (not \"int\") to str");
  EXPECT_EQ(error_of("{{ 1 < 'a' }}"),
            "tpl:1: '<' not supported between instances of 'int' and 'str'");
  EXPECT_EQ(error_of("x\n\n{{ missing.attr }}"), "tpl:3: 'missing' is undefined");
  EXPECT_EQ(error_of("{{ missing + 1 }}"), "tpl:1: 'missing' is undefined");
  EXPECT_EQ(error_of("{{ 5() }}"), "tpl:1: 'int' object is not callable");
  Options strict;
  strict.strict_undefined = true;
  EXPECT_EQ(error_of("{{ none.x }}", json::object(), strict), "tpl:1: 'None' has no attribute 'x'");
  EXPECT_EQ(error_of("{{ 9223372036854775807 + 1 }}"), "tpl:1: integer overflow");
  EXPECT_EQ(error_of("{{ (-9223372036854775807 - 1) // -1 }}"), "tpl:1: integer overflow");
  EXPECT_EQ(render("{{ (-9223372036854775807 - 1) % -1 }} {{ (-9223372036854775807 - 1) is "
                   "divisibleby(-1) }}"),
            "0 True");
  EXPECT_EQ(error_of("{{ 'ab' * 4611686018427387904 }}"),
            "tpl:1: string repetition exceeds max_output_bytes");
  EXPECT_EQ(error_of("{{ [1, 2] * 4611686018427387904 }}"),
            "tpl:1: more than 1000000 loop iterations (max_loop_iterations)");
}

TEST(JinjaErrors, StrictUndefined) {
  Options strict;
  strict.strict_undefined = true;
  EXPECT_EQ(error_of("{{ x }}", json::object(), strict), "tpl:1: 'x' is undefined");
  EXPECT_EQ(error_of("\n{% if x %}{% endif %}", json::object(), strict), "tpl:2: 'x' is undefined");
  EXPECT_EQ(error_of("{{ d.k }}", json{{"d", json::object()}}, strict),
            "tpl:1: 'dict object' has no attribute 'k'");
  EXPECT_EQ(error_of("{% for a in x %}{% endfor %}", json::object(), strict),
            "tpl:1: 'x' is undefined");
  EXPECT_EQ(render("{{ x is defined }}{{ x|default('d') }}", json::object(), strict), "Falsed");
}

TEST(JinjaErrors, SandboxRefusesMutation) {
  EXPECT_EQ(error_of("{% set xs = [1] %}{{ xs.append(2) }}"),
            "tpl:1: access to attribute 'append' of 'list' object is unsafe.");
  EXPECT_EQ(error_of("{% set d = {} %}{{ d.update({'a': 1}) }}"),
            "tpl:1: access to attribute 'update' of 'dict' object is unsafe.");
  EXPECT_EQ(error_of("{% set xs = [1] %}{% set f = xs.pop %}{{ f() }}"),
            "tpl:1: access to attribute 'pop' of 'list' object is unsafe.");
  EXPECT_EQ(render("{{ [1].append }}"), "");
}

TEST(JinjaBounds, LoopsOutputAndRecursion) {
  Options opt;
  opt.max_loop_iterations = 100;
  EXPECT_EQ(error_of("{% for i in range(60) %}{% for j in range(2) %}{% endfor %}{% endfor %}",
                     json::object(), opt),
            "tpl:1: more than 100 loop iterations (max_loop_iterations)");
  opt = Options{};
  opt.max_output_bytes = 10;
  EXPECT_EQ(error_of("{% for i in range(20) %}\n{{ i }}{% endfor %}", json::object(), opt),
            "tpl:1: output exceeds 10 bytes (max_output_bytes)");
  opt = Options{};
  opt.max_call_depth = 20;
  EXPECT_EQ(
      error_of("{% macro r(n) %}{{ r(n + 1) }}{% endmacro %}\n{{ r(0) }}", json::object(), opt),
      "tpl:1: macro calls nested deeper than 20 (max_call_depth)");
  opt = Options{};
  opt.max_output_bytes = 1000;
  EXPECT_EQ(
      error_of(
          "{% set ns = namespace(s='ab') %}{% for i in range(20) %}{% set ns.s = ns.s ~ ns.s %}"
          "{% endfor %}",
          json::object(), opt),
      "tpl:1: string exceeds 1000 bytes (max_output_bytes)");
  EXPECT_EQ(error_of("{{ " + std::string(300, '(') + "1" + std::string(300, ')') + " }}"),
            "tpl:1: nested more than 200 levels deep");
  std::string deep_ifs;
  for (int k = 0; k < 300; ++k) deep_ifs += "{% if true %}";
  EXPECT_EQ(error_of(deep_ifs), "tpl:1: nested more than 200 levels deep");
  json deep = json::array();
  for (int k = 0; k < 300; ++k) deep = json::array({deep});
  EXPECT_EQ(error_of("{{ x }}", json{{"x", deep}}),
            "render context: JSON nested more than 256 levels deep");
  EXPECT_EQ(error_of("{{ range(100001)|length }}"),
            "tpl:1: Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
}

// Stack overflows found by fuzz/jinja_fuzz.cpp (fuzz/corpus/jinja/regress-*):
// trees deepened by loops rather than recursion, recursion multiplied by
// macro calls, and values nested in a loop. Each is now a clean error.
TEST(JinjaBounds, FuzzFoundDeepNestingFailsCleanly) {
  std::string chain = "{{ 1";
  for (int k = 0; k < 5000; ++k) chain += "+1";
  EXPECT_EQ(error_of(chain + " }}"), "tpl:1: nested more than 200 levels deep");
  std::string nots = "{{ ";
  for (int k = 0; k < 5000; ++k) nots += "not ";
  EXPECT_EQ(error_of(nots + "1 }}"), "tpl:1: nested more than 200 levels deep");
  std::string elifs = "{% if false %}";
  for (int k = 0; k < 5000; ++k) elifs += "{% elif false %}";
  EXPECT_EQ(error_of(elifs + "{% endif %}"), "tpl:1: nested more than 200 levels deep");
  // 100 links in each of many expressions and statements: fine.
  std::string many;
  for (int k = 0; k < 50; ++k) many += "{% if false %}{% elif false %}{% elif false %}{% endif %}";
  for (int k = 0; k < 50; ++k) many += "{{ x|lower|upper }}";
  EXPECT_EQ(render(many, json{{"x", "a"}}), std::string(50, 'A'));

  std::string deep_macro = "{% macro m(n) %}{{ ";
  for (int k = 0; k < 60; ++k) deep_macro += "- ";
  deep_macro += "(m(n - 1) if n > 0 else 0) }}{% endmacro %}{{ m(200) }}";
  EXPECT_EQ(error_of(deep_macro),
            "tpl:1: expressions and blocks nested more than 2000 deep while rendering (macro calls "
            "multiply the template's nesting)");

  const std::string nested_list =
      "{% set ns = namespace(x=[]) %}{% for i in range(1000) %}{% set ns.x = [ns.x] %}{% endfor "
      "%}{{ ns.x|tojson }}";
  EXPECT_EQ(error_of(nested_list), "a list, dict or namespace nested more than 512 levels deep");
  std::string chained_namespaces =
      "{% set ns = namespace(head=namespace(), tail=none) %}{% set ns.tail = ns.head %}"
      "{% for i in range(1000) %}{% set t = ns.tail %}{% set n = namespace() %}"
      "{% set l = [n] %}{% set t.next = l %}{% set ns.tail = n %}{% endfor %}{{ ns.head }}";
  EXPECT_EQ(error_of(chained_namespaces),
            "a list, dict or namespace nested more than 512 levels deep");
}

TEST(JinjaTemplate, ParseOnceRenderManyIsFast) {
  const std::string src =
      "{{ bos_token }}{% for m in messages %}{% if m.role == 'system' %}<<SYS>>{{ m.content|trim }}"
      "<</SYS>>{% else %}<|{{ m.role }}|>\n{{ m.content|trim }}{{ eos_token }}{% endif %}{% endfor "
      "%}"
      "{% if add_generation_prompt %}<|assistant|>\n{% endif %}";
  auto tpl = Template::parse(src, "chat", chat_template_options());
  json messages = json::array();
  for (int k = 0; k < 10; ++k) {
    messages.push_back({{"role", k % 2 ? "assistant" : "user"},
                        {"content", "message number " + std::to_string(k) + " with some text"}});
  }
  json ctx{{"messages", messages},
           {"bos_token", "<s>"},
           {"eos_token", "</s>"},
           {"add_generation_prompt", true}};
  std::string first = tpl.render(ctx);
  auto start = std::chrono::steady_clock::now();
  constexpr int kRuns = 200;
  for (int k = 0; k < kRuns; ++k) ASSERT_EQ(tpl.render(ctx), first);
  double per_render_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() /
      kRuns;
  // Well under a millisecond even on a loaded 2-core machine.
  EXPECT_LT(per_render_us, 1000.0);
  EXPECT_EQ(tpl.name(), "chat");
}

TEST(JinjaTemplate, ChatTemplateWithToolsRendersInMicroseconds) {
  // A team-written template of the size and shape of published tool-calling
  // templates (tests/data/jinja/chat_reasoning.jinja), ten messages.
  std::ifstream in(std::string(ENCLAVE_SOURCE_DIR) + "/tests/data/jinja/chat_reasoning.jinja");
  ASSERT_TRUE(in) << "tests/data/jinja/chat_reasoning.jinja missing";
  std::stringstream source;
  source << in.rdbuf();
  auto tpl = Template::parse(source.str(), "chat_reasoning.jinja", chat_template_options());
  json messages = json::array({{{"role", "system"}, {"content", "You are helpful."}}});
  for (int k = 0; k < 9; ++k) {
    if (k % 2 == 0) {
      messages.push_back(
          {{"role", "user"}, {"content", "질문 " + std::to_string(k) + ": what is the weather?"}});
    } else {
      messages.push_back(
          {{"role", "assistant"},
           {"content", "<think>\nreasoning " + std::to_string(k) + "\n</think>\n\nanswer"}});
    }
  }
  json tools = json::array({{{"type", "function"},
                             {"function",
                              {{"name", "get_weather"},
                               {"description", "Weather for a city."},
                               {"parameters",
                                {{"type", "object"},
                                 {"properties", {{"city", {{"type", "string"}}}}},
                                 {"required", {"city"}}}}}}}});
  json ctx{{"messages", messages}, {"tools", tools}, {"add_generation_prompt", true}};
  std::string first = tpl.render(ctx);
  EXPECT_NE(first.find("<|turn|>assistant\n"), std::string::npos);
  constexpr int kRuns = 100;
  auto start = std::chrono::steady_clock::now();
  for (int k = 0; k < kRuns; ++k) ASSERT_EQ(tpl.render(ctx), first);
  double per_render_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() /
      kRuns;
  std::printf("chat_reasoning.jinja, 10 messages and a tool: %.1f us per render\n", per_render_us);
  EXPECT_LT(per_render_us, 1000.0);
}

TEST(JinjaTemplate, UnparsedTemplateIsAnInternalError) {
  Template empty;
  try {
    empty.render(json::object());
    FAIL() << "rendering an unparsed Template did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInternal);
  }
}

TEST(JinjaTemplate, ConcurrentRendersOfOneTemplate) {
  auto tpl = Template::parse(
      "{% set ns = namespace(s='') %}{% for m in messages %}{% set ns.s = ns.s ~ m %}"
      "{% endfor %}{{ ns.s }}{% macro twice(x) %}{{ x }}{{ x }}{% endmacro %}{{ twice(tag) }}",
      "shared", chat_template_options());
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      json ctx{{"messages", {"a", "b", std::to_string(t)}}, {"tag", "<" + std::to_string(t) + ">"}};
      std::string want =
          "ab" + std::to_string(t) + "<" + std::to_string(t) + "><" + std::to_string(t) + ">";
      for (int k = 0; k < 200; ++k) failures[t] += tpl.render(ctx) != want;
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
}

}  // namespace
}  // namespace enclave::jinja
