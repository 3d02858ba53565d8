#include "store/artifacts.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/hash.h"
#include "store/names.h"
#include "store/store_testing.h"

namespace enclave::store {
namespace {

using testing::ScratchDir;

class ArtifactsTest : public ::testing::Test {
 protected:
  ArtifactsTest() {
    init_workspace(dir_ / "ws");
    ws_ = std::make_unique<Workspace>(dir_ / "ws");
  }
  ScratchDir dir_;
  std::unique_ptr<Workspace> ws_;
};

TEST_F(ArtifactsTest, FileArtifactDigestIsTheFilesSha256) {
  testing::write_text(dir_ / "train.jsonl", "{\"text\": \"hi\"}\n");
  Artifact a = store_artifact(*ws_, dir_ / "train.jsonl");
  EXPECT_EQ(a.digest, "sha256:" + sha256_file_hex(dir_ / "train.jsonl"));
  EXPECT_EQ(a.kind, ArtifactKind::kFile);
  std::filesystem::path out = checkout_artifact(*ws_, a.digest);
  EXPECT_EQ(out.filename(), "train.jsonl");
  EXPECT_EQ(testing::read_text(out), "{\"text\": \"hi\"}\n");
}

TEST_F(ArtifactsTest, DirectoryDigestDependsOnContentNotOnWhereItLives) {
  testing::write_model_dir(dir_ / "m1");
  testing::write_model_dir(dir_ / "m2");
  Artifact a = store_artifact(*ws_, dir_ / "m1");
  Artifact b = store_artifact(*ws_, dir_ / "m2");
  EXPECT_EQ(a.digest, b.digest);
  EXPECT_EQ(a.kind, ArtifactKind::kDir);
  EXPECT_EQ(a.n_files, 4);
  EXPECT_EQ(a.digest, make_digest(sha256_hex(manifest_text(a.files))));
  // 4 files + 1 manifest, stored once although registered twice.
  EXPECT_EQ(ws_->objects().list().objects.size(), 5u);
  testing::write_model_dir(dir_ / "m3", "b");
  EXPECT_NE(store_artifact(*ws_, dir_ / "m3").digest, a.digest);
}

TEST_F(ArtifactsTest, CheckoutIsHardLinkedAndComplete) {
  testing::write_model_dir(dir_ / "m");
  Artifact a = store_artifact(*ws_, dir_ / "m");
  std::filesystem::path out = checkout_artifact(*ws_, a.digest);
  EXPECT_EQ(out, ws_->checkouts_dir() / a.digest.substr(7));
  EXPECT_EQ(testing::read_text(out / "sub/extra.txt"), "extra a");
  struct stat co {};
  struct stat blob {};
  ASSERT_EQ(::stat((out / "config.json").c_str(), &co), 0);
  ASSERT_EQ(::stat(ws_->objects().path_of(a.files[0].object).c_str(), &blob), 0);
  EXPECT_EQ(co.st_ino, blob.st_ino);
  EXPECT_EQ(checkout_artifact(*ws_, a.digest), out);  // reused
}

TEST_F(ArtifactsTest, CorruptBlobIsNeverServed) {
  testing::write_model_dir(dir_ / "m");
  Artifact a = store_artifact(*ws_, dir_ / "m");
  std::filesystem::path out = checkout_artifact(*ws_, a.digest);
  // The checkout shares the blob's inode, so this damages both.
  testing::flip_byte(out / "model.safetensors", 100);
  try {
    checkout_artifact(*ws_, a.digest);
    FAIL() << "a corrupt model was handed out";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
    EXPECT_NE(std::string(e.what()).find("corrupt"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(out));
  // Storing the good files again heals the store.
  store_artifact(*ws_, dir_ / "m");
  EXPECT_EQ(testing::read_text(checkout_artifact(*ws_, a.digest) / "model.safetensors"),
            testing::read_text(dir_ / "m/model.safetensors"));
}

TEST_F(ArtifactsTest, EditedCheckoutIsRebuilt) {
  testing::write_model_dir(dir_ / "m");
  Artifact a = store_artifact(*ws_, dir_ / "m");
  std::filesystem::path out = checkout_artifact(*ws_, a.digest);
  testing::write_text(out / "added-by-user.txt", "x");
  std::filesystem::remove(out / "tokenizer.json");
  out = checkout_artifact(*ws_, a.digest);
  EXPECT_FALSE(std::filesystem::exists(out / "added-by-user.txt"));
  EXPECT_TRUE(std::filesystem::exists(out / "tokenizer.json"));
}

TEST_F(ArtifactsTest, RefusesWhatCannotBeStoredFaithfully) {
  testing::write_model_dir(dir_ / "m");
  std::filesystem::create_directory_symlink(dir_ / "ws", dir_ / "m/link-to-dir");
  EXPECT_THROW(store_artifact(*ws_, dir_ / "m"), Error);
  std::filesystem::remove(dir_ / "m/link-to-dir");
  std::filesystem::create_symlink(dir_ / "missing", dir_ / "m/broken");
  EXPECT_THROW(store_artifact(*ws_, dir_ / "m"), Error);
  std::filesystem::remove(dir_ / "m/broken");
  testing::write_text(dir_ / "m/bad\nname", "x");
  EXPECT_THROW(store_artifact(*ws_, dir_ / "m"), Error);
  std::filesystem::remove(dir_ / "m/bad\nname");
  // A file symlink is stored as the file it points to.
  testing::write_text(dir_ / "target.txt", "pointed at");
  std::filesystem::create_symlink(dir_ / "target.txt", dir_ / "m/link.txt");
  Artifact a = store_artifact(*ws_, dir_ / "m");
  EXPECT_EQ(testing::read_text(checkout_artifact(*ws_, a.digest) / "link.txt"), "pointed at");
  // The workspace itself cannot be stored into itself.
  EXPECT_THROW(store_artifact(*ws_, dir_ / "ws"), Error);
  EXPECT_THROW(store_artifact(*ws_, dir_ / "nope"), Error);
}

TEST_F(ArtifactsTest, StagedButUnrecordedArtifactIsInvisible) {
  testing::write_model_dir(dir_ / "m");
  Artifact a = stage_artifact(*ws_, dir_ / "m");
  EXPECT_FALSE(find_artifact(ws_->db(), a.digest));
  EXPECT_THROW(checkout_artifact(*ws_, a.digest), Error);
}

TEST_F(ArtifactsTest, ManifestParserRejectsBadInput) {
  const char* bad[] = {
      "[]",
      "{\"format\": \"other\", \"version\": 1, \"files\": []}",
      "{\"format\": \"enclave.manifest\", \"version\": 2, \"files\": []}",
      "{\"format\": \"enclave.manifest\", \"version\": 1}",
      "{\"format\": \"enclave.manifest\", \"version\": 1, \"files\": [{\"path\": \"../x\", "
      "\"sha256\": "
      "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", \"size\": 1}]}",
      "{\"format\": \"enclave.manifest\", \"version\": 1, \"files\": [{\"path\": \"x\", "
      "\"sha256\": \"zz\", "
      "\"size\": 1}]}",
      "{\"format\": \"enclave.manifest\", \"version\": 1, \"files\": [{\"path\": \"x\", "
      "\"sha256\": "
      "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", \"size\": -1}]}",
      "{\"format\": \"enclave.manifest\", \"format\": \"enclave.manifest\", \"version\": 1, "
      "\"files\": []}",
      "not json",
  };
  for (const char* text : bad) EXPECT_THROW(parse_manifest(text, "manifest"), Error) << text;
  std::vector<ArtifactFile> files = {{"a", std::string(64, 'a'), 1, false},
                                     {"b/c", std::string(64, 'b'), 2, true}};
  std::vector<ArtifactFile> back = parse_manifest(manifest_text(files), "manifest");
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].path, "b/c");
  EXPECT_TRUE(back[1].executable);
}

}  // namespace
}  // namespace enclave::store
