#include "store/registry.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <set>

#include "core/error.h"
#include "store/audit.h"
#include "store/names.h"
#include "store/runs.h"
#include "store/store_testing.h"

namespace enclave::store {
namespace {

using testing::ScratchDir;

class RegistryTest : public ::testing::Test {
 protected:
  RegistryTest() {
    init_workspace(dir_ / "ws");
    ws_ = std::make_unique<Workspace>(dir_ / "ws");
    testing::write_model_dir(dir_ / "m1", "a");
    testing::write_model_dir(dir_ / "m2", "b");
  }
  VersionInfo reg(const std::string& name, const std::string& src, RegistryKind kind = RegistryKind::kModel) {
    return register_version(*ws_, {.kind = kind, .name = name, .source = dir_ / src});
  }
  ScratchDir dir_;
  std::unique_ptr<Workspace> ws_;
};

TEST_F(RegistryTest, VersionsCountUpAndResolve) {
  EXPECT_EQ(reg("llama", "m1").version, 1);
  EXPECT_EQ(reg("llama", "m2").version, 2);
  EXPECT_EQ(reg("other", "m1").version, 1);
  Db& db = ws_->db();
  EXPECT_EQ(resolve_version(db, RegistryKind::kModel, "llama").version, 2);
  EXPECT_EQ(resolve_version(db, RegistryKind::kModel, "llama@1").version, 1);
  EXPECT_EQ(resolve_version(db, RegistryKind::kModel, "llama:latest").version, 2);
  EXPECT_EQ(resolve_version(db, RegistryKind::kModel, "llama@1").artifact,
            resolve_version(db, RegistryKind::kModel, "other@1").artifact);
  EXPECT_THROW(resolve_version(db, RegistryKind::kModel, "llama@3"), Error);
  EXPECT_THROW(resolve_version(db, RegistryKind::kModel, "nope"), Error);
  EXPECT_THROW(resolve_version(db, RegistryKind::kDataset, "llama"), Error);  // kinds are separate
  nlohmann::json list = list_registry(db, RegistryKind::kModel);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["name"], "llama");
  EXPECT_EQ(list[0]["n_versions"], 2);
}

TEST_F(RegistryTest, AliasesMoveAndTagsChange) {
  reg("llama", "m1");
  reg("llama", "m2");
  set_alias(*ws_, RegistryKind::kModel, "llama@1", "production");
  EXPECT_EQ(resolve_version(ws_->db(), RegistryKind::kModel, "llama:production").version, 1);
  set_alias(*ws_, RegistryKind::kModel, "llama@2", "production");
  EXPECT_EQ(resolve_version(ws_->db(), RegistryKind::kModel, "llama:production").version, 2);
  EXPECT_THROW(set_alias(*ws_, RegistryKind::kModel, "llama@1", "latest"), Error);
  EXPECT_THROW(set_alias(*ws_, RegistryKind::kModel, "llama@1", "../prod"), Error);
  EXPECT_THROW(resolve_version(ws_->db(), RegistryKind::kModel, "llama:staging"), Error);

  VersionInfo v = set_tags(*ws_, RegistryKind::kModel, "llama@1", {"stage=candidate", "reviewed"}, {});
  EXPECT_EQ(v.tags.at("stage"), "candidate");
  EXPECT_EQ(v.tags.at("reviewed"), "");
  v = set_tags(*ws_, RegistryKind::kModel, "llama@1", {}, {"reviewed"});
  EXPECT_FALSE(v.tags.contains("reviewed"));
  EXPECT_THROW(set_tags(*ws_, RegistryKind::kModel, "llama@1", {}, {"reviewed"}), Error);
  EXPECT_THROW(set_tags(*ws_, RegistryKind::kModel, "llama@1", {"a/b=x"}, {}), Error);
  EXPECT_THROW(set_tags(*ws_, RegistryKind::kModel, "llama@1", {"k=bad\x01value"}, {}), Error);

  std::vector<AuditEntry> audit = list_audit(ws_->db());
  std::vector<std::string> actions;
  for (const auto& e : audit) actions.push_back(e.action);
  EXPECT_EQ(actions, (std::vector<std::string>{"init", "register", "register", "alias", "alias", "tag", "tag"}));
  EXPECT_EQ(audit[4].details, R"({"from":1,"to":2})");
}

TEST_F(RegistryTest, VersionsAreImmutable) {
  reg("llama", "m1");
  EXPECT_THROW(ws_->db().exec("UPDATE registry_versions SET artifact = artifact"), Error);
}

TEST_F(RegistryTest, BadNamesAreRejectedAndNothingIsWrittenOutside) {
  auto snapshot = [&] {
    std::set<std::string> entries;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir_.path())) {
      std::string p = e.path().string();
      if (p.find("/ws/.enclave") == std::string::npos) entries.insert(p);
    }
    return entries;
  };
  std::set<std::string> before = snapshot();
  std::int64_t objects_before = static_cast<std::int64_t>(ws_->objects().list().objects.size());
  for (const std::string& name : {std::string("../escape"), std::string("/abs"), std::string("a/b"),
                                  std::string("x\0y", 3), std::string("ctl\x1b[31m"), std::string(""),
                                  std::string(300, 'n'), std::string(".."), std::string("%2e%2e%2f")}) {
    EXPECT_THROW(reg(name, "m1"), Error) << printable(name);
  }
  EXPECT_EQ(snapshot(), before);
  EXPECT_EQ(static_cast<std::int64_t>(ws_->objects().list().objects.size()), objects_before);
  EXPECT_EQ(list_registry(ws_->db(), RegistryKind::kModel).size(), 0u);
}

TEST_F(RegistryTest, FromRunMustExistAndIsRecorded) {
  EXPECT_THROW(register_version(*ws_, {.name = "llama", .source = dir_ / "m1", .from_run = 42}), Error);
  store::Run run(ws_->root(), {.kind = "train"});
  run.finish();
  VersionInfo v = register_version(*ws_, {.name = "llama", .source = dir_ / "m1", .from_run = run.id()});
  EXPECT_EQ(v.run_id, run.id());
  EXPECT_EQ(v.source, (dir_ / "m1").string());
}

TEST_F(RegistryTest, DatasetsMayBeSingleFiles) {
  testing::write_text(dir_ / "train.jsonl", "{\"text\": \"x\"}\n");
  VersionInfo v = register_version(*ws_, {.kind = RegistryKind::kDataset, .name = "docs", .source = dir_ / "train.jsonl"});
  std::filesystem::path p = version_path(*ws_, RegistryKind::kDataset, "docs@1");
  EXPECT_EQ(p.filename(), "train.jsonl");
  EXPECT_EQ(testing::read_text(p), "{\"text\": \"x\"}\n");
  EXPECT_EQ(show_registry(ws_->db(), RegistryKind::kDataset, "docs")["versions"].size(), 1u);
  EXPECT_EQ(show_registry(ws_->db(), RegistryKind::kDataset, "docs@1")["artifact_info"]["n_files"], 1);
}

TEST_F(RegistryTest, ResolveModelRefTakesFoldersAndReferences) {
  VersionInfo v = reg("llama", "m1");
  set_alias(*ws_, RegistryKind::kModel, "llama@1", "prod");
  ResolveOptions options;
  options.find.workspace = ws_->root().string();
  std::filesystem::path stored = resolve_model_ref("llama", options);
  EXPECT_EQ(stored, ws_->checkouts_dir() / v.artifact.substr(7));
  EXPECT_EQ(resolve_model_ref("llama@1", options), stored);
  EXPECT_EQ(resolve_model_ref("llama:prod", options), stored);
  EXPECT_EQ(testing::read_text(stored / "config.json"), testing::read_text(dir_ / "m1/config.json"));
  EXPECT_EQ(resolve_model_ref((dir_ / "m2").string(), options), dir_ / "m2");
  EXPECT_THROW(resolve_model_ref("./does-not-exist", options), Error);
  EXPECT_THROW(resolve_model_ref("unknown", options), Error);
  EXPECT_THROW(resolve_model_ref("", options), Error);
  // A damaged stored model is refused, not served.
  testing::flip_byte(stored / "model.safetensors", 7);
  EXPECT_THROW(resolve_model_ref("llama", options), Error);
}

}  // namespace
}  // namespace enclave::store
