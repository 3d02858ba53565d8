#include "data/recipe.h"

#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "data/dataset_store.h"
#include "data/test_documents.h"
#include "store/workspace.h"

namespace enclave::data {
namespace {

TEST(Recipe, ParsesStepsAndSettings) {
  Recipe r = parse_recipe(R"(
output: corpus
steps:
  - ingest: {paths: [docs], field: body}
  - normalize
  - filter:
      min_words: 3
      keep_rejected: true
      script_min: {hangul: 0.3}
  - dedup: {threshold: 0.85, shingle: word}
)",
                          "recipe.yaml");
  EXPECT_EQ(r.output, "corpus");
  ASSERT_EQ(r.steps.size(), 4u);
  EXPECT_EQ(r.steps[0].params["field"], "body");
  EXPECT_TRUE(r.steps[1].params.empty());
  EXPECT_EQ(r.steps[2].params["min_words"], 3);
  EXPECT_EQ(r.steps[2].params["keep_rejected"], true);
  EXPECT_EQ(r.steps[3].params["threshold"], 0.85);
}

TEST(Recipe, RejectsBadRecipes) {
  const char* bad[] = {
      "steps: [normalize]\ninput: a",                        // no output
      "output: x\nsteps: [normalize]",                       // no input
      "output: x\ninput: a\nsteps: [normalize, ingest]",     // ingest later
      "output: x\ninput: a\nsteps: [shred]",                 // unknown step
      "output: x\ninput: a\nsteps: [normalize]\nextra: 1",   // unknown key
      "output: x\noutput: y\ninput: a\nsteps: [normalize]",  // duplicate key
      "output: x\ninput: a\nsteps: [{filter: 3}]",           // settings not a mapping
      "output: [x\n",                                        // invalid YAML
      "a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c "
      "[*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
      "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
      "f: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",  // billion laughs
  };
  for (const char* text : bad) EXPECT_THROW(parse_recipe(text, "recipe.yaml"), Error) << text;
}

TEST(Recipe, YamlErrorsNameFileLineAndReason) {
  try {
    parse_recipe("output: x\ninput: a\noutput: y\nsteps: [normalize]\n", "recipe.yaml");
    FAIL() << "duplicate key accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("recipe.yaml: line 3, column 1: duplicate key 'output'"),
              std::string::npos)
        << e.what();
  }
  std::string deep = "output: x\ninput: a\nsteps: " + std::string(40, '[') + std::string(40, ']');
  try {
    parse_recipe(deep, "recipe.yaml");
    FAIL() << "deep nesting accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nested deeper than 32 levels"), std::string::npos)
        << e.what();
  }
}

TEST(Recipe, RunsTheChainWithRelativePaths) {
  const testing::ScratchDir scratch("recipe");
  const auto& root = scratch.path();
  store::init_workspace(root);
  testing::write_bytes(root / "project" / "docs" / "a.txt",
                       "회사는 올해 새로운 연구 과제 세 건에 예산을 배정했다. 회의에서는 채용 "
                       "계획과 일정이 논의되었다.");
  testing::write_bytes(root / "project" / "docs" / "b.txt", "short");
  testing::write_bytes(root / "project" / "recipe.yaml",
                       "output: corpus\nsteps:\n  - ingest: {paths: [docs]}\n  - normalize\n"
                       "  - filter: {min_words: 3}\n  - pii\n");
  const auto recipe_path = root / "project" / "recipe.yaml";
  auto results =
      run_recipe(read_recipe(recipe_path), recipe_path, {.workspace = root.string(), .threads = 1});
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[3].version.ref(), "corpus@4");
  EXPECT_EQ(results[2].report["removed"]["min_words"], 1);
  EXPECT_EQ(results[2].report["parent"], "corpus@2");
  EXPECT_EQ(results[2].report["recipe"]["step_index"], 2);
  EXPECT_EQ(results[2].report["recipe"]["steps"]["output"], "corpus");
  store::Workspace ws(root);
  auto report = read_dataset_report(ws, "corpus@4");
  ASSERT_TRUE(report);
  EXPECT_EQ((*report)["documents_out"], 1);
}

}  // namespace
}  // namespace enclave::data
