// Merges registered in a workspace: the result is a model version made by a
// "merge" (or "upscale") run whose inputs are every input model (registry
// versions, or a plain directory stored as an artifact) and the config
// file; lineage finds them. A failed merge leaves a failed run and no
// version.
#include "merge/record.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"
#include "core/yaml.h"
#include "merge/merge_test_util.h"
#include "model/engine.h"
#include "store/lineage.h"
#include "store/run_query.h"

namespace enclave::merge {
namespace {

namespace fs = std::filesystem;
using testing::ScratchDir;

class RecordTest : public ::testing::Test {
 protected:
  RecordTest() : dir_("record") {
    store::init_workspace(dir_ / "ws");
    testing::make_tiny_model(dir_ / "a", 31);
    testing::make_tiny_model(dir_ / "b", 32);
    testing::make_tiny_model(dir_ / "base", 33);
    store::Workspace ws(dir_ / "ws");
    a_ = store::register_version(ws, {.name = "alpha", .source = dir_ / "a"});
    b_ = store::register_version(ws, {.name = "beta", .source = dir_ / "b"});
  }

  StoreTarget target(const std::string& name, const fs::path& config_file = {}) const {
    return {.name = name,
            .workspace = {.workspace = (dir_ / "ws").string()},
            .command = {"enclave", "merge", "--out", name},
            .config_file = config_file};
  }

  static MergeOptions options(std::uint64_t seed = 0) {
    return {.seed = seed, .show_progress = false};
  }

  // The upstream inputs of a version's producing run, as "role ref-or-artifact".
  std::vector<std::string> upstream_inputs(const std::string& ref) {
    store::Workspace ws(dir_ / "ws");
    const nlohmann::json g =
        store::lineage(ws.db(), ref, {.direction = store::LineageDirection::kUp});
    EXPECT_EQ(g["upstream"].size(), 1u) << g.dump(2);
    std::vector<std::string> out;
    for (const auto& child : g["upstream"][0]["children"]) {
      out.push_back(child.value("role", "") + " " +
                    (child["type"] == "artifact" ? std::string("artifact")
                                                 : child["ref"].get<std::string>()));
    }
    return out;
  }

  ScratchDir dir_;
  store::VersionInfo a_, b_;
};

TEST_F(RecordTest, MergeIsRegisteredWithLineageToEveryInputAndTheConfig) {
  const std::string yaml = "merge_method: ties\nbase_model: " + (dir_ / "base").string() +
                           "\nmodels:\n  - {model: alpha, parameters: {weight: 1, density: 0.5}}\n"
                           "  - {model: beta@1, parameters: {weight: 0.5, density: 0.5}}\n";
  const fs::path config_file = testing::write_text(dir_.path(), "merge.yaml", yaml);
  const MergeConfig config = load_merge_config(config_file);
  const StoredMerge stored = merge_to_store(config, options(), target("merged", config_file));
  EXPECT_EQ(stored.version.ref(), "merged@1");
  EXPECT_EQ(stored.version.run_id, stored.run_id);
  EXPECT_EQ(stored.merge.inputs.size(), 3u);

  // The stored model is a working model.
  const fs::path model =
      store::resolve_model_ref("merged", {.find = {.workspace = (dir_ / "ws").string()}});
  auto engine = Engine::load(model, {});
  EXPECT_EQ(engine->config().n_layer, 4);

  std::vector<std::string> inputs = upstream_inputs("merged@1");
  std::sort(inputs.begin(), inputs.end());
  const std::vector<std::string> want = {"merge_config artifact", "model alpha@1", "model artifact",
                                         "model beta@1"};
  EXPECT_EQ(inputs, want);

  store::Workspace ws(dir_ / "ws");
  const nlohmann::json run = store::show_run(ws.db(), stored.run_id);
  EXPECT_EQ(run["kind"], "merge");
  EXPECT_EQ(run["status"], "finished");
  EXPECT_EQ(run["params"]["merge_config"]["merge_method"], "ties");
  EXPECT_EQ(run["outputs"][0]["version"]["name"], "merged");
  // Downstream of an input reaches the merged model.
  const nlohmann::json down =
      store::lineage(ws.db(), "alpha@1", {.direction = store::LineageDirection::kDown});
  EXPECT_NE(down.dump().find("merged@1"), std::string::npos) << down.dump(2);

  // A second merge under the same name is version 2; the scratch copies are gone.
  merge_to_store(config, options(), target("merged", config_file));
  EXPECT_EQ(store::resolve_version(ws.db(), store::RegistryKind::kModel, "merged").version, 2);
  EXPECT_TRUE(fs::is_empty(ws.tmp_dir()));
}

TEST_F(RecordTest, TokenizerSourceIsAnInputToo) {
  const MergeConfig config =
      parse_merge_config(parse_yaml("merge_method: linear\ntokenizer_source: beta\nmodels: "
                                    "[{model: alpha, parameters: {weight: 1}}]\n",
                                    "m.yaml"),
                         "m.yaml");
  const StoredMerge stored = merge_to_store(config, options(), target("retok"));
  ASSERT_EQ(stored.merge.inputs.size(), 2u);
  EXPECT_EQ(stored.merge.inputs[1].role, "tokenizer");
  std::vector<std::string> inputs = upstream_inputs("retok");
  std::sort(inputs.begin(), inputs.end());
  EXPECT_EQ(inputs, (std::vector<std::string>{"model alpha@1", "tokenizer beta@1"}));
}

TEST_F(RecordTest, UpscaleIsRegisteredWithLineageToItsModel) {
  const StoredMerge stored =
      upscale_to_store("alpha", 1, std::nullopt, options(), target("alpha-dus"));
  EXPECT_EQ(stored.merge.config.n_layer, 6);
  EXPECT_EQ(upstream_inputs("alpha-dus"), std::vector<std::string>{"model alpha@1"});
  store::Workspace ws(dir_ / "ws");
  const nlohmann::json run = store::show_run(ws.db(), stored.run_id);
  EXPECT_EQ(run["kind"], "upscale");
  EXPECT_EQ(run["params"]["drop"], 1);
  const fs::path model =
      store::resolve_model_ref("alpha-dus", {.find = {.workspace = (dir_ / "ws").string()}});
  EXPECT_EQ(load_model_config(model / "config.json").n_layer, 6);
}

TEST_F(RecordTest, FailuresLeaveAFailedRunAndNoVersion) {
  EXPECT_THROW(upscale_to_store("alpha", 9, std::nullopt, options(), target("too-deep")), Error);
  store::Workspace ws(dir_ / "ws");
  const nlohmann::json runs = store::list_runs(ws.db(), {.kind = "upscale"});
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["status"], "failed");
  EXPECT_THROW(store::resolve_version(ws.db(), store::RegistryKind::kModel, "too-deep"), Error);
  EXPECT_TRUE(fs::is_empty(ws.tmp_dir()));

  // A bad name is refused before any work or run.
  try {
    upscale_to_store("alpha", 1, std::nullopt, options(), target("../escape"));
    ADD_FAILURE() << "accepted a bad name";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
  }
  EXPECT_EQ(store::list_runs(ws.db(), {}).size(), 1u);

  // An unknown model reference names the field.
  const MergeConfig bad = parse_merge_config(
      parse_yaml("merge_method: linear\nmodels: [{model: gamma, parameters: {weight: 1}}]\n",
                 "m.yaml"),
      "m.yaml");
  MergeOptions o = options();
  o.config_name = "m.yaml";
  try {
    merge_to_store(bad, o, target("g"));
    ADD_FAILURE() << "merged an unknown model";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
    EXPECT_NE(std::string(e.what()).find("field 'models[0].model'"), std::string::npos) << e.what();
  }

  // No workspace at all.
  StoreTarget nowhere = target("x");
  nowhere.workspace = {.workspace = (dir_ / "not-a-workspace").string(), .use_env = false};
  EXPECT_THROW(upscale_to_store((dir_ / "a").string(), 1, std::nullopt, options(), nowhere), Error);
}

}  // namespace
}  // namespace enclave::merge
