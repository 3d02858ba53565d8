#include "data/step_flags.h"

#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "data/steps.h"

namespace enclave::data {
namespace {

TEST(StepFlags, EveryStepHasASummaryAndUniqueFlags) {
  for (std::string_view step : step_names()) {
    EXPECT_FALSE(step_summary(step).empty()) << step;
    std::set<std::string_view> seen;
    for (const StepFlag& f : step_flags(step)) {
      EXPECT_TRUE(seen.insert(f.flag).second) << step << " " << f.flag;
      EXPECT_TRUE(f.flag.starts_with("--")) << f.flag;
    }
  }
  EXPECT_TRUE(step_flags("no-such-step").empty());
}

TEST(StepFlags, TypedValuesBecomeTheStepsParams) {
  const nlohmann::json p = step_params("filter",
                                       {{"--min-words", {"5", "20"}},
                                        {"--min-script", {"hangul=0.3", "latin=0.1"}},
                                        {"--keep-rejected", {}}},
                                       {"max_ellipsis_lines=0.5", "note=plain text"});
  EXPECT_EQ(p["min_words"], 20.0);  // the last value given wins
  EXPECT_EQ(p["script_min"]["hangul"], 0.3);
  EXPECT_EQ(p["script_min"]["latin"], 0.1);
  EXPECT_EQ(p["keep_rejected"], true);
  EXPECT_EQ(p["max_ellipsis_lines"], 0.5);
  EXPECT_EQ(p["note"], "plain text");
  EXPECT_EQ(step_params("normalize", {{"--no-nfkc", {}}})["nfkc"], false);
  EXPECT_EQ(step_params("normalize", {{"--form", {"nfkc"}}})["form"], "nfkc");
  EXPECT_EQ(step_params("pii", {{"--types", {"email,rrn", "ip"}}})["types"],
            nlohmann::json({"email", "rrn", "ip"}));
  EXPECT_EQ(step_params("dedup", {{"--num-perm", {"64"}}})["num_perm"], 64);
  EXPECT_TRUE(step_params("split", {}).empty());
}

TEST(StepFlags, BadValuesNameTheFlag) {
  auto message = [](auto fn) {
    try {
      fn();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message([] {
              step_params("filter", {{"--min-words", {"many"}}});
            }),
            "--min-words 'many': expected a number");
  EXPECT_EQ(message([] {
              step_params("dedup", {{"--bands", {"1.5"}}});
            }),
            "--bands '1.5': expected a whole number");
  EXPECT_EQ(message([] {
              step_params("filter", {{"--min-script", {"hangul"}}});
            }),
            "--min-script hangul: expected SCRIPT=RATIO");
  EXPECT_EQ(message([] { step_params("split", {}, {"=1"}); }), "--set =1: expected KEY=VALUE");
  EXPECT_EQ(message([] {
              step_params("split", {{"--min-words", {"1"}}});
            }),
            "data split: no flag --min-words");
}

}  // namespace
}  // namespace enclave::data
