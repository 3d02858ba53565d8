#include "store/object_store.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/hash.h"
#include "store/store_testing.h"
#include "store/workspace.h"

namespace enclave::store {
namespace {

using testing::ScratchDir;

class ObjectStoreTest : public ::testing::Test {
 protected:
  ObjectStoreTest() { init_workspace(dir_.path()); }
  ObjectStore objects() { return ObjectStore(dir_ / ".enclave"); }
  ScratchDir dir_;
};

TEST_F(ObjectStoreTest, PutFileNamesBlobBySha256AndStoresOnce) {
  testing::write_text(dir_ / "a.txt", "hello");
  ObjectStore store = objects();
  ObjectStore::PutResult first = store.put_file(dir_ / "a.txt");
  EXPECT_EQ(first.hex, sha256_hex(std::string_view("hello")));
  EXPECT_FALSE(first.existed);
  EXPECT_EQ(first.size, 5u);
  ObjectStore::PutResult again = store.put_bytes("hello");
  EXPECT_TRUE(again.existed);
  EXPECT_EQ(store.list().objects.size(), 1u);
  EXPECT_EQ(testing::read_text(store.path_of(first.hex)), "hello");
  // Blobs are read-only and nothing is left in tmp/.
  EXPECT_EQ(std::filesystem::status(store.path_of(first.hex)).permissions() &
                std::filesystem::perms::owner_write,
            std::filesystem::perms::none);
  EXPECT_TRUE(std::filesystem::is_empty(store.tmp_dir()));
}

TEST_F(ObjectStoreTest, ReadVerifiedRefusesAndQuarantinesACorruptBlob) {
  ObjectStore store = objects();
  std::string hex = store.put_bytes("important bytes").hex;
  EXPECT_EQ(store.read_verified(hex), "important bytes");
  testing::flip_byte(store.path_of(hex), 3);
  try {
    store.read_verified(hex);
    FAIL() << "corrupt data was served";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
    EXPECT_NE(std::string(e.what()).find("corrupt"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(store.contains(hex));
  EXPECT_FALSE(std::filesystem::is_empty(store.quarantine_dir()));
  // A good copy can be stored again.
  EXPECT_FALSE(store.put_bytes("important bytes").existed);
  EXPECT_NO_THROW(store.check(hex));
}

TEST_F(ObjectStoreTest, NeverFollowsASymlinkInPlaceOfABlob) {
  ObjectStore store = objects();
  testing::write_text(dir_ / "secret", "secret");
  std::string hex = sha256_hex(std::string_view("secret"));
  std::filesystem::create_directories(store.path_of(hex).parent_path());
  std::filesystem::create_symlink(dir_ / "secret", store.path_of(hex));
  EXPECT_FALSE(store.contains(hex));
  EXPECT_THROW(store.read_verified(hex), Error);
  EXPECT_EQ(store.list().strays.size(), 1u);
}

TEST_F(ObjectStoreTest, MissingAndBadInputs) {
  ObjectStore store = objects();
  try {
    store.put_file(dir_ / "missing");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  }
  EXPECT_THROW(store.put_file(dir_.path()), Error);  // a folder
  EXPECT_THROW(store.path_of("../../etc/passwd"), Error);
  EXPECT_THROW(store.read_verified(std::string(64, 'a')), Error);
}

TEST_F(ObjectStoreTest, AbandonedTempFilesAreRecognised) {
  ObjectStore store = objects();
  std::filesystem::path kept;
  {
    LockedTempFile live(store.tmp_dir(), "obj");
    kept = live.path();
    EXPECT_FALSE(temp_is_abandoned(live.path()));
  }
  EXPECT_FALSE(std::filesystem::exists(kept));  // removed when not published
  testing::write_text(store.tmp_dir() / "obj-leftover", "partial");
  EXPECT_TRUE(temp_is_abandoned(store.tmp_dir() / "obj-leftover"));
}

}  // namespace
}  // namespace enclave::store
