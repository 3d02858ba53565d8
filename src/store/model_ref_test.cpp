#include "store/model_ref.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/error.h"
#include "store/gc.h"
#include "store/store_testing.h"

namespace enclave::store {
namespace {

namespace fs = std::filesystem;
using testing::ScratchDir;

// Adapters as `enclave train --lora` registers them: an adapter folder
// tagged type=adapter and base=REF. The merger under test is the store's
// stacking and caching; it writes a model folder naming what it folded, so
// each test sees which folds ran and in which order.
class ModelRefTest : public ::testing::Test {
 protected:
  ModelRefTest() {
    init_workspace(dir_ / "ws");
    ws_ = std::make_unique<Workspace>(dir_ / "ws");
    testing::write_model_dir(dir_ / "base", "a");
    write_adapter(dir_ / "sft", "1");
    write_adapter(dir_ / "dpo", "2");
    options_.find.workspace = ws_->root().string();
    options_.merge_adapter = [this](const fs::path& base, const fs::path& adapter,
                                    const fs::path& out) {
      merges_.push_back(adapter.filename().string());
      testing::write_text(out / "config.json", testing::read_text(base / "config.json") + "+" +
                                                   testing::read_text(adapter / "weights"));
    };
  }
  static void write_adapter(const fs::path& dir, const std::string& content) {
    testing::write_text(dir / "adapter_config.json", R"({"peft_type": "LORA"})");
    testing::write_text(dir / "weights", content);
  }
  VersionInfo reg(const std::string& name, const std::string& src,
                  const std::vector<std::string>& tags = {}) {
    VersionInfo v = register_version(*ws_, {.name = name, .source = dir_ / src});
    return tags.empty() ? v : set_tags(*ws_, RegistryKind::kModel, v.ref(), tags, {});
  }
  ScratchDir dir_;
  std::unique_ptr<Workspace> ws_;
  ResolveOptions options_;
  std::vector<std::string> merges_;
};

TEST_F(ModelRefTest, AdapterResolvesToItsBasePlusTheAdapter) {
  const VersionInfo base = reg("tiny", "base");
  reg("tiny-chat", "sft", {"type=adapter", "base=tiny@1"});
  const ModelStack stack = resolve_model_stack("tiny-chat", options_);
  EXPECT_EQ(stack.base, ws_->checkouts_dir() / base.artifact.substr(7));
  ASSERT_EQ(stack.adapters.size(), 1u);
  EXPECT_EQ(testing::read_text(stack.adapters[0] / "weights"), "1");
  EXPECT_EQ(stack.describe(), "tiny@1 + adapter tiny-chat@1");
  ASSERT_TRUE(stack.version);
  EXPECT_EQ(stack.version->ref(), "tiny-chat@1");

  // One adapter on top is what Engine takes: nothing merged.
  const ResolvedModel engine = resolve_model({.model = "tiny-chat"}, options_);
  EXPECT_EQ(engine.dir, stack.base);
  EXPECT_EQ(engine.adapter, stack.adapters[0]);
  EXPECT_TRUE(merges_.empty());
}

TEST_F(ModelRefTest, WithoutAMergerAnAdapterIsRefusedByName) {
  reg("tiny", "base");
  reg("tiny-chat", "sft", {"type=adapter", "base=tiny@1"});
  try {
    resolve_model_ref("tiny-chat", {.find = options_.find});
    FAIL() << "an adapter resolved to a model folder without merging";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("tiny@1 + adapter tiny-chat@1"), std::string::npos)
        << e.what();
  }
}

TEST_F(ModelRefTest, StackedAdaptersFoldOnceIntoACachedFolder) {
  reg("tiny", "base");
  reg("tiny-chat", "sft", {"type=adapter", "base=tiny@1"});
  reg("tiny-dpo", "dpo", {"type=adapter", "base=tiny-chat@1"});
  const ResolvedModel r = resolve_model({.model = "tiny-dpo"}, options_);
  EXPECT_EQ(r.description, "tiny@1 + adapter tiny-chat@1 + adapter tiny-dpo@1");
  EXPECT_EQ(testing::read_text(r.dir / "config.json"),
            testing::read_text(dir_ / "base/config.json") + "+1");
  EXPECT_EQ(testing::read_text(r.adapter / "weights"), "2");
  EXPECT_EQ(r.dir.parent_path(), ws_->checkouts_dir());
  ASSERT_EQ(merges_.size(), 1u);
  // Again: the cached fold is reused.
  EXPECT_EQ(resolve_model({.model = "tiny-dpo"}, options_).dir, r.dir);
  EXPECT_EQ(merges_.size(), 1u);
  // Everything folded (training, merge-lora): one more fold on top of it.
  const fs::path all = resolve_model_ref("tiny-dpo", options_);
  EXPECT_EQ(testing::read_text(all / "config.json"),
            testing::read_text(dir_ / "base/config.json") + "+1+2");
  EXPECT_EQ(merges_.size(), 2u);
  // No temp folders left behind.
  EXPECT_TRUE(fs::is_empty(ws_->tmp_dir()));
}

// `store gc` while an adapter is being folded leaves the fold's staging
// folder alone (it once deleted it under the running merge).
TEST_F(ModelRefTest, GcDuringAFoldLeavesItsStagingFolder) {
  reg("tiny", "base");
  reg("tiny-chat", "sft", {"type=adapter", "base=tiny@1"});
  reg("tiny-dpo", "dpo", {"type=adapter", "base=tiny-chat@1"});
  const AdapterMerger merge = options_.merge_adapter;
  options_.merge_adapter = [&](const fs::path& base, const fs::path& adapter, const fs::path& out) {
    const GcReport report = collect_garbage(*ws_, {});
    EXPECT_EQ(report.n_temp, 0);
    EXPECT_TRUE(fs::is_directory(out.parent_path()));
    merge(base, adapter, out);
  };
  const ResolvedModel r = resolve_model({.model = "tiny-dpo"}, options_);
  EXPECT_EQ(testing::read_text(r.dir / "config.json"),
            testing::read_text(dir_ / "base/config.json") + "+1");
  EXPECT_TRUE(fs::is_empty(ws_->tmp_dir()));
}

// A bare name that is both a folder here and a registered model is an
// error; ./NAME and NAME@latest say which is meant.
TEST_F(ModelRefTest, AFolderAndARegisteredModelOfOneNameIsAnError) {
  reg("tiny", "base");
  testing::write_model_dir(dir_ / "tiny", "b");
  const fs::path cwd = fs::current_path();
  fs::current_path(dir_.path());
  try {
    resolve_model_ref("tiny", options_);
    ADD_FAILURE() << "an ambiguous reference was taken";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("./tiny"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("tiny@latest"), std::string::npos) << e.what();
  }
  EXPECT_EQ(testing::read_text(resolve_model_ref("./tiny", options_) / "config.json"),
            testing::read_text(dir_ / "tiny/config.json"));
  EXPECT_EQ(testing::read_text(resolve_model_ref("tiny@latest", options_) / "config.json"),
            testing::read_text(dir_ / "base/config.json"));
  fs::current_path(cwd);
}

TEST_F(ModelRefTest, AdapterFlagGoesOnTopOfTheModelsOwnAdapters) {
  reg("tiny", "base");
  reg("tiny-chat", "sft", {"type=adapter", "base=tiny@1"});
  reg("tiny-dpo", "dpo", {"type=adapter", "base=tiny-chat@1"});
  const ResolvedModel r = resolve_model({.model = "tiny-chat", .adapter = "tiny-dpo"}, options_);
  EXPECT_EQ(testing::read_text(r.adapter / "weights"), "2");
  // tiny-chat was folded into the base so that tiny-dpo can go on top.
  EXPECT_EQ(merges_.size(), 1u);
  EXPECT_EQ(testing::read_text(r.dir / "config.json"),
            testing::read_text(dir_ / "base/config.json") + "+1");
  // A plain folder works as --adapter whatever it names as its base.
  EXPECT_EQ(resolve_adapter_ref((dir_ / "dpo").string(), options_), dir_ / "dpo");
  // A full model is not an adapter.
  EXPECT_THROW(resolve_adapter_ref("tiny", options_), Error);
}

TEST_F(ModelRefTest, AdapterFoldersNameTheirBaseInAdapterConfig) {
  testing::write_text(
      dir_ / "sft/adapter_config.json",
      R"({"peft_type": "LORA", "base_model_name_or_path": ")" + (dir_ / "base").string() + R"("})");
  const ModelStack stack = resolve_model_stack((dir_ / "sft").string(), options_);
  EXPECT_EQ(stack.base, dir_ / "base");
  ASSERT_EQ(stack.adapters.size(), 1u);
  EXPECT_EQ(stack.adapters[0], dir_ / "sft");
  // An adapter with no base anywhere is refused with how to fix it.
  reg("orphan", "dpo");
  try {
    resolve_model_stack("orphan", options_);
    FAIL() << "an adapter with no base resolved";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("enclave models tag orphan@1 base="), std::string::npos)
        << e.what();
  }
}

TEST_F(ModelRefTest, MissingBaseIsNamedInTheError) {
  reg("tiny-chat", "sft", {"type=adapter", "base=gone@1"});
  try {
    resolve_model_stack("tiny-chat", options_);
    FAIL() << "an adapter of a missing base resolved";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
    EXPECT_NE(std::string(e.what()).find("tiny-chat@1 is a LoRA adapter of gone@1"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace enclave::store
