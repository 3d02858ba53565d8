#include "pipeline/interpolate.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace enclave::pipeline {
namespace {

TEST(InterpolateTest, ParamsAreSubstitutedAndRecorded) {
  nlohmann::json params = {{"steps", 200}, {"train", {{"lr", 0.5}}}, {"name", "x y"}};
  std::map<std::string, std::string> used;
  EXPECT_EQ(substitute_params("a ${steps} ${train.lr} '${name}'", params, false, used),
            "a 200 0.5 'x y'");
  EXPECT_EQ(used.size(), 3u);
  EXPECT_EQ(used["train.lr"], "0.5");
  EXPECT_THROW(substitute_params("${missing}", params, false, used), Error);
  EXPECT_THROW(substitute_params("${train}", params, false, used), Error);
  EXPECT_THROW(substitute_params("${steps", params, false, used), Error);
  EXPECT_THROW(substitute_params("${stages.a.outs.b}", params, false, used), Error);
  EXPECT_EQ(substitute_params("${stages.a.outs.b}", params, true, used), "${stages.a.outs.b}");
}

TEST(InterpolateTest, StageReferencesResolveToExactValues) {
  const std::string cmd = "train --data ${stages.export.outs.feedback} --x ${stages.t.outs.r.json}";
  auto refs = stage_refs(cmd);
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[0].stage, "export");
  EXPECT_EQ(refs[0].out, "feedback");
  EXPECT_EQ(refs[1].out, "r.json");
  EXPECT_EQ(resolve_stage_refs(
                cmd, {{"export", {{"feedback", "feedback@7"}}}, {"t", {{"r.json", "r.json"}}}}),
            "train --data feedback@7 --x r.json");
  EXPECT_THROW(resolve_stage_refs(cmd, {}), Error);
}

TEST(InterpolateTest, SplitsLikeAShell) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split_command("sh -c 'echo a  b > x'"), (V{"sh", "-c", "echo a  b > x"}));
  EXPECT_EQ(split_command("a \"b \\\"c\\\" $d\" e\\ f"), (V{"a", "b \"c\" $d", "e f"}));
  EXPECT_EQ(split_command("  "), V{});
  EXPECT_THROW(split_command("sh -c 'oops"), Error);
  EXPECT_THROW(split_command("a \"b"), Error);
}

}  // namespace
}  // namespace enclave::pipeline
