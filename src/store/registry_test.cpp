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
  VersionInfo reg(const std::string& name, const std::string& src,
                  RegistryKind kind = RegistryKind::kModel) {
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

  VersionInfo v =
      set_tags(*ws_, RegistryKind::kModel, "llama@1", {"stage=candidate", "reviewed"}, {});
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
  EXPECT_EQ(actions, (std::vector<std::string>{"init", "register", "register", "alias", "alias",
                                               "tag", "tag"}));
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
  for (const std::string& name :
       {std::string("../escape"), std::string("/abs"), std::string("a/b"), std::string("x\0y", 3),
        std::string("ctl\x1b[31m"), std::string(""), std::string(300, 'n'), std::string(".."),
        std::string("%2e%2e%2f")}) {
    EXPECT_THROW(reg(name, "m1"), Error) << printable(name);
  }
  EXPECT_EQ(snapshot(), before);
  EXPECT_EQ(static_cast<std::int64_t>(ws_->objects().list().objects.size()), objects_before);
  EXPECT_EQ(list_registry(ws_->db(), RegistryKind::kModel).size(), 0u);
}

TEST_F(RegistryTest, FromRunMustExistAndIsRecorded) {
  EXPECT_THROW(register_version(*ws_, {.name = "llama", .source = dir_ / "m1", .from_run = 42}),
               Error);
  store::Run run(ws_->root(), {.kind = "train"});
  run.finish();
  VersionInfo v =
      register_version(*ws_, {.name = "llama", .source = dir_ / "m1", .from_run = run.id()});
  EXPECT_EQ(v.run_id, run.id());
  EXPECT_EQ(v.source, (dir_ / "m1").string());
}

TEST_F(RegistryTest, DatasetsMayBeSingleFiles) {
  testing::write_text(dir_ / "train.jsonl", "{\"text\": \"x\"}\n");
  VersionInfo v = register_version(
      *ws_, {.kind = RegistryKind::kDataset, .name = "docs", .source = dir_ / "train.jsonl"});
  std::filesystem::path p = version_path(*ws_, RegistryKind::kDataset, "docs@1");
  EXPECT_EQ(p.filename(), "train.jsonl");
  EXPECT_EQ(testing::read_text(p), "{\"text\": \"x\"}\n");
  EXPECT_EQ(show_registry(ws_->db(), RegistryKind::kDataset, "docs")["versions"].size(), 1u);
  EXPECT_EQ(show_registry(ws_->db(), RegistryKind::kDataset, "docs@1")["artifact_info"]["n_files"],
            1);
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
  EXPECT_EQ(testing::read_text(stored / "config.json"),
            testing::read_text(dir_ / "m1/config.json"));
  EXPECT_EQ(resolve_model_ref((dir_ / "m2").string(), options), dir_ / "m2");
  EXPECT_THROW(resolve_model_ref("./does-not-exist", options), Error);
  EXPECT_THROW(resolve_model_ref("unknown", options), Error);
  EXPECT_THROW(resolve_model_ref("", options), Error);
  // A damaged stored model is refused, not served.
  testing::flip_byte(stored / "model.safetensors", 7);
  EXPECT_THROW(resolve_model_ref("llama", options), Error);
}

// The bug: errors named .enclave/checkouts/<hash>/... where the user had
// typed sft@1.
TEST_F(RegistryTest, ErrorsNameVersionsInsteadOfCheckoutHashes) {
  reg("sft", "m1", RegistryKind::kDataset);
  const std::filesystem::path p = version_path(*ws_, RegistryKind::kDataset, "sft@1");
  EXPECT_EQ(name_checkouts(*ws_, p.string() + "/train.jsonl: line 3: bad JSON"),
            "dataset sft@1/train.jsonl: line 3: bad JSON");
  const std::string unknown = (ws_->checkouts_dir() / std::string(64, 'a')).string() + ": x";
  EXPECT_EQ(name_checkouts(*ws_, unknown), unknown);
  EXPECT_EQ(name_checkouts(*ws_, "no paths here"), "no paths here");
}

TEST_F(RegistryTest, DeletedVersionStopsResolvingAndKeepsItsNumber) {
  reg("llama", "m1");
  reg("llama", "m2");
  reg("other", "m1");  // same content as llama@1
  set_alias(*ws_, RegistryKind::kModel, "llama@2", "production");
  set_alias(*ws_, RegistryKind::kModel, "llama@1", "staging");
  DeletedVersion d = delete_version(*ws_, RegistryKind::kModel, "llama@2");
  EXPECT_EQ(d.version.ref(), "llama@2");
  ASSERT_TRUE(d.version.deleted_at.has_value());
  EXPECT_FALSE(d.version.deleted_by.empty());
  EXPECT_TRUE(d.version.aliases.empty());
  EXPECT_EQ(d.aliases_removed, std::vector<std::string>{"production"});
  EXPECT_FALSE(d.content_still_referenced);

  Db& db = ws_->db();
  EXPECT_EQ(resolve_version(db, RegistryKind::kModel, "llama").version, 1);  // latest skips it
  EXPECT_EQ(resolve_version(db, RegistryKind::kModel, "llama:latest").version, 1);
  EXPECT_EQ(resolve_version(db, RegistryKind::kModel, "llama:staging").version, 1);
  try {
    resolve_version(db, RegistryKind::kModel, "llama@2");
    ADD_FAILURE() << "a deleted version resolved";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
    EXPECT_NE(std::string(e.what()).find("llama@2 was deleted"), std::string::npos) << e.what();
  }
  EXPECT_THROW(resolve_version(db, RegistryKind::kModel, "llama:production"),
               Error);  // its alias went too
  EXPECT_EQ(resolve_version(db, RegistryKind::kModel, "llama@2", /*include_deleted=*/true).version,
            2);
  EXPECT_THROW(version_path(*ws_, RegistryKind::kModel, "llama@2"), Error);

  nlohmann::json list = list_registry(db, RegistryKind::kModel);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["n_versions"], 1);
  EXPECT_EQ(list[0]["latest_version"], 1);
  EXPECT_EQ(list[0]["aliases"], (nlohmann::json{{"staging", 1}}));
  EXPECT_EQ(show_registry(db, RegistryKind::kModel, "llama")["versions"].size(), 1u);

  // Numbers are never reused; the database refuses undeleting or editing.
  EXPECT_EQ(reg("llama", "m2").version, 3);
  EXPECT_THROW(db.exec("UPDATE registry_versions SET deleted_at = NULL WHERE version = 2"), Error);
  EXPECT_THROW(db.exec("UPDATE registry_versions SET deleted_by = 'x' WHERE version = 2"), Error);
  EXPECT_THROW(db.exec("UPDATE registry_versions SET artifact = artifact WHERE version = 2"),
               Error);

  // Content another version shares is reported as staying.
  EXPECT_TRUE(delete_version(*ws_, RegistryKind::kModel, "llama@1").content_still_referenced);
  EXPECT_EQ(resolve_version(db, RegistryKind::kModel, "llama").version, 3);

  std::vector<AuditEntry> deletes = list_audit(db, {.action = "delete"});
  ASSERT_EQ(deletes.size(), 2u);
  EXPECT_EQ(deletes[0].object, "model llama@2");
  EXPECT_EQ(nlohmann::json::parse(deletes[0].details)["aliases_removed"],
            nlohmann::json::array({"production"}));
  EXPECT_TRUE(verify_audit(db).ok());
}

TEST_F(RegistryTest, DeleteTakesOnlyAnExplicitLiveVersion) {
  reg("llama", "m1");
  set_alias(*ws_, RegistryKind::kModel, "llama@1", "production");
  auto kind_of = [&](const std::string& ref, RegistryKind kind = RegistryKind::kModel) {
    try {
      delete_version(*ws_, kind, ref);
    } catch (const Error& e) {
      return e.kind();
    }
    return ErrorKind::kInternal;  // did not throw
  };
  EXPECT_EQ(kind_of("llama"), ErrorKind::kInvalidInput);  // "latest" would pick it for you
  EXPECT_EQ(kind_of("llama:production"), ErrorKind::kInvalidInput);
  EXPECT_EQ(kind_of("llama@x"), ErrorKind::kInvalidInput);
  EXPECT_EQ(kind_of("../llama@1"), ErrorKind::kInvalidInput);
  EXPECT_EQ(kind_of("llama@9"), ErrorKind::kNotFound);
  EXPECT_EQ(kind_of("nobody@1"), ErrorKind::kNotFound);
  EXPECT_EQ(kind_of("llama@1", RegistryKind::kDataset),
            ErrorKind::kNotFound);  // kinds are separate
  delete_version(*ws_, RegistryKind::kModel, "llama@1");
  EXPECT_EQ(kind_of("llama@1"), ErrorKind::kNotFound);  // already deleted
  // A name whose every version is deleted leaves the list and says why.
  EXPECT_EQ(list_registry(ws_->db(), RegistryKind::kModel).size(), 0u);
  try {
    resolve_version(ws_->db(), RegistryKind::kModel, "llama");
    ADD_FAILURE() << "resolved a name with no live version";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
    EXPECT_NE(std::string(e.what()).find("every version has been deleted"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(list_audit(ws_->db(), {.action = "delete"}).size(), 1u);  // failures append nothing
}

TEST_F(RegistryTest, AliasCanBeRemoved) {
  reg("llama", "m1");
  reg("llama", "m2");
  set_alias(*ws_, RegistryKind::kModel, "llama@1", "production");
  VersionInfo v = remove_alias(*ws_, RegistryKind::kModel, "llama", "production");
  EXPECT_EQ(v.version, 1);
  EXPECT_TRUE(v.aliases.empty());
  EXPECT_THROW(resolve_version(ws_->db(), RegistryKind::kModel, "llama:production"), Error);
  EXPECT_EQ(resolve_version(ws_->db(), RegistryKind::kModel, "llama@1").version,
            1);  // the version stays
  auto kind_of = [&](const std::string& name, const std::string& alias) {
    try {
      remove_alias(*ws_, RegistryKind::kModel, name, alias);
    } catch (const Error& e) {
      return e.kind();
    }
    return ErrorKind::kInternal;
  };
  EXPECT_EQ(kind_of("llama", "production"), ErrorKind::kNotFound);  // already gone
  EXPECT_EQ(kind_of("nobody", "production"), ErrorKind::kNotFound);
  EXPECT_EQ(kind_of("llama", "latest"), ErrorKind::kInvalidInput);
  EXPECT_EQ(kind_of("llama@1", "production"), ErrorKind::kInvalidInput);
  EXPECT_EQ(kind_of("llama", "../x"), ErrorKind::kInvalidInput);
  std::vector<AuditEntry> entries = list_audit(ws_->db(), {.action = "unalias"});
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].object, "model llama:production");
  EXPECT_EQ(entries[0].details, R"({"from":1})");
  EXPECT_TRUE(verify_audit(ws_->db()).ok());
}

}  // namespace
}  // namespace enclave::store
