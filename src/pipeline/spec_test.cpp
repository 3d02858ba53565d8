#include "pipeline/spec.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/scratch_dir_testing.h"
#include "pipeline/dag.h"

namespace enclave::pipeline {
namespace {

std::string error_of(const std::filesystem::path& file, std::vector<std::string> overrides = {}) {
  try {
    load_pipeline(file, overrides);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(SpecTest, ParamsFromFileParamsFileOverridesAndStage) {
  testing::ScratchDir dir("spec");
  dir.write("params.yaml", "train: {lr: 0.1, steps: 5}\nname: from-file\n");
  const auto file = dir.write("p.yaml", R"(name: p
params_file: params.yaml
params: {name: inline}
stages:
  a:
    cmd: echo ${train.lr} ${train.steps} ${name} ${who}
    params: {who: stage}
)");
  PipelineSpec spec = load_pipeline(file, {"train.steps=50", "extra=yes"});
  const Stage& a = *spec.find("a");
  EXPECT_EQ(a.cmd, "echo 0.1 50 inline stage");
  EXPECT_EQ(a.params_used.at("train.steps"), "50");
  EXPECT_EQ(spec.params["extra"], "yes");
  EXPECT_EQ(spec.dir, dir.path());
  EXPECT_NE(error_of(file, {"novalue"}).find("expected KEY=VALUE"), std::string::npos);
}

TEST(SpecTest, EdgesFromOutputsAndReferencesGiveTheOrder) {
  testing::ScratchDir dir("spec");
  const auto file = dir.write("p.yaml", R"(name: p
stages:
  report:
    cmd: echo ${stages.train.outs.m}
  train:
    cmd: train
    deps: [dataset:d, extra.txt]
    outs: [model:m]
  export:
    cmd: export
    outs: [dataset:d]
  side:
    cmd: side
    deps: [dataset:d@3]
)");
  PipelineSpec spec = load_pipeline(file);
  EXPECT_EQ(spec.find("train")->after, std::vector<std::string>{"export"});
  EXPECT_EQ(spec.find("report")->after, std::vector<std::string>{"train"});
  // A dependency on a fixed version is not an edge.
  EXPECT_TRUE(spec.find("side")->after.empty());
  auto order = topological_order(spec);
  auto pos = [&](const std::string& s) {
    return std::find(order.begin(), order.end(), s) - order.begin();
  };
  EXPECT_LT(pos("export"), pos("train"));
  EXPECT_LT(pos("train"), pos("report"));
  EXPECT_EQ(stages_needed(spec, "report"), (std::set<std::string>{"export", "train", "report"}));
  EXPECT_EQ(descendants(spec, "export"), (std::set<std::string>{"train", "report"}));
  EXPECT_NE(dag_dot(spec).find("\"export\" -> \"train\";"), std::string::npos);
}

TEST(SpecTest, ErrorsNameFileFieldLineAndReason) {
  testing::ScratchDir dir("spec");
  auto file = dir.write("p.yaml", "name: p\nstages:\n  a:\n    cmd: x\n    cache: {max_age: 7y}\n");
  EXPECT_NE(error_of(file).find("p.yaml: stages.a.cache.max_age (line 5): max_age: '7y'"),
            std::string::npos)
      << error_of(file);
  file = dir.write("p.yaml", "name: p\nstages:\n  a:\n    cmd: x\n    approval: maybe\n");
  EXPECT_NE(error_of(file).find("stages.a.approval (line 5): 'maybe' is not required or none"),
            std::string::npos);
  file = dir.write("p.yaml", "name: p\nstages:\n  a.b: {cmd: x}\n");
  EXPECT_NE(error_of(file).find("stages.a.b"), std::string::npos);
  file = dir.write("p.yaml", "name: p\nstages:\n  a: {cmd: x, deps: ['${x}']}\n");
  EXPECT_NE(error_of(file).find("no parameter"), std::string::npos);
  file = dir.write(
      "p.yaml", "name: p\nstages:\n  a: {cmd: 'x', deps: ['${stages.b.outs.c}']}\n  b: {cmd: y}\n");
  EXPECT_NE(error_of(file).find("stage outputs can be named only in cmd"), std::string::npos);
  file = dir.write("p.yaml", "name: p\nstages:\n  a: {cmd: x}\non:\n  monitor:\n    metric: m\n");
  EXPECT_NE(error_of(file).find("on.monitor (line 5): missing 'window'"), std::string::npos)
      << error_of(file);
  file = dir.write("p.yaml",
                   "name: p\nstages:\n  a: {cmd: x}\non:\n  monitor: {metric: m, window: 1h, "
                   "over: 1}\n");
  EXPECT_NE(error_of(file).find("on.monitor.over (line 5): unknown key"), std::string::npos)
      << error_of(file);
  file = dir.write("p.yaml",
                   "name: p\nstages:\n  a: {cmd: x}\non:\n  monitor: {metric: m, window: 1h, "
                   "above: 1}\n");
  EXPECT_EQ(load_pipeline(file, {}).triggers.at(0).name, "p");  // names its alert rule
  EXPECT_EQ(parse_duration("7d", "f"), 7 * 86400.0);
  EXPECT_EQ(parse_duration("90s", "f"), 90.0);
  EXPECT_THROW(parse_duration("d", "f"), Error);
}

}  // namespace
}  // namespace enclave::pipeline
