#include "store/object_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <functional>

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

// Sealed blobs (blob_cipher.h): names and dedup stay on the plaintext, the
// bytes on disk are ciphertext of the stated size, and truncation, an
// altered byte and the wrong key are all refused and quarantined.
TEST_F(ObjectStoreTest, SealedBlobsKeepPlaintextNamesAndRefuseTampering) {
  BlobKey key{};
  key.fill(7);
  ObjectStore store = objects();
  store.set_key(key);
  const std::size_t chunk = std::size_t{64} << 10;
  for (std::size_t size : {std::size_t{0}, std::size_t{5}, chunk - 1, chunk, 3 * chunk + 17}) {
    std::string data(size, '\0');
    for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>('a' + i % 23);
    const std::string hex = store.put_bytes(data).hex;
    EXPECT_EQ(hex, sha256_hex(data));
    EXPECT_EQ(std::filesystem::file_size(store.path_of(hex)), sealed_size(size)) << size;
    EXPECT_EQ(store.read_verified(hex), data) << size;
    EXPECT_TRUE(store.put_bytes(data).existed);
    if (size > 100) {
      EXPECT_EQ(testing::read_text(store.path_of(hex)).find(data.substr(0, 64)), std::string::npos);
    }
  }
  const std::string secret(2 * chunk + 9, 's');
  const std::string hex = store.put_bytes(secret).hex;
  const auto damaged = [&](const std::function<void(const std::filesystem::path&)>& damage,
                           const std::string& why) {
    damage(store.path_of(hex));
    try {
      store.read_verified(hex);
      ADD_FAILURE() << why << ": damaged blob was served";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
    EXPECT_FALSE(store.contains(hex));
    EXPECT_FALSE(store.put_bytes(secret).existed);  // a good copy heals it
  };
  damaged([](const auto& p) { testing::flip_byte(p, 40000); }, "authentication failed");
  damaged(
      [](const auto& p) {
        ::chmod(p.c_str(), 0644);
        std::filesystem::resize_file(p, std::filesystem::file_size(p) - 20);
      },
      "truncated");
  damaged(
      [&](const auto& p) {
        ::chmod(p.c_str(), 0644);
        std::filesystem::resize_file(p, 5 + 24 + chunk + 17);  // one whole chunk, no final one
      },
      "truncated");
  BlobKey other = key;
  other[0] ^= 1;
  ObjectStore wrong = objects();
  wrong.set_key(other);
  EXPECT_NE(wrong.rehash(hex).find("authentication failed"), std::string::npos);
  EXPECT_EQ(store.rehash(hex), hex);
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
