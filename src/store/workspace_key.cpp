#include "store/workspace_key.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "store/audit_key.h"
#include "store/key_file.h"
#include "store/rekey.h"
#include "store/workspace.h"

namespace enclave::store {
namespace {

constexpr int kRecordVersion = 1;
constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "enclave1";
enum SubkeyId : std::uint64_t {
  kDatabaseSubkey = 1,
  kBlobSubkey = 2,
  kCheckSubkey = 3,
  kLogSubkey = 4
};

void init_sodium() {
  if (sodium_init() < 0) fail(ErrorKind::kIo, "libsodium cannot be initialised");
}

std::array<unsigned char, kWorkspaceKeyBytes> subkey(const WorkspaceKey& key, SubkeyId id) {
  init_sodium();
  std::array<unsigned char, kWorkspaceKeyBytes> out{};
  crypto_kdf_derive_from_key(out.data(), out.size(), id, kKdfContext, key.secret.data());
  return out;
}

}  // namespace

std::string WorkspaceKey::database_key() const {
  const auto k = subkey(*this, kDatabaseSubkey);
  return "x'" + to_hex(k.data(), k.size()) + "'";
}

std::array<unsigned char, kWorkspaceKeyBytes> WorkspaceKey::blob_key() const {
  return subkey(*this, kBlobSubkey);
}

std::array<unsigned char, kWorkspaceKeyBytes> WorkspaceKey::log_key() const {
  return subkey(*this, kLogSubkey);
}

std::string WorkspaceKey::check_value() const {
  const auto k = subkey(*this, kCheckSubkey);
  return to_hex(k.data(), k.size());
}

WorkspaceKey read_workspace_key(const std::filesystem::path& given) {
  WorkspaceKey key;
  key.file = checked_key_file(given, "workspace key");
  std::string text = read_file(key.file, 1024);
  if (!text.empty() && text.back() == '\n') text.pop_back();
  const bool hex =
      text.size() == 2 * kWorkspaceKeyBytes && std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
      });
  if (!hex) {
    fail_input(
        "{}: not a workspace key: expected {} hex digits ({} bytes), found {} bytes; make one "
        "with `enclave store keygen --out FILE`",
        key.file.string(), 2 * kWorkspaceKeyBytes, kWorkspaceKeyBytes, text.size());
  }
  const std::string raw = from_hex(text, kWorkspaceKeyBytes, key.file.string());
  std::copy(raw.begin(), raw.end(), key.secret.begin());
  sodium_memzero(text.data(), text.size());
  return key;
}

namespace {
KeyFileCache<WorkspaceKey> cache(kWorkspaceKeyEnv, read_workspace_key);
}  // namespace

void set_workspace_key_file(const std::filesystem::path& path) { cache.set_file(path); }

const std::optional<WorkspaceKey>& configured_workspace_key() { return cache.get(); }

void generate_workspace_key(const std::filesystem::path& path) {
  init_sodium();
  std::array<unsigned char, kWorkspaceKeyBytes> secret{};
  randombytes_buf(secret.data(), secret.size());
  std::string text = to_hex(secret.data(), secret.size()) + "\n";
  sodium_memzero(secret.data(), secret.size());
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    const int err = errno;
    if (err == EEXIST) fail_input("{}: already exists; refusing to overwrite a key", path.string());
    fail(ErrorKind::kIo, "{}: cannot create key file: {}", path.string(), std::strerror(err));
  }
  try {
    ::fchmod(fd, 0600);  // whatever the umask
    write_all(fd, text.data(), text.size(), path);
    if (::fsync(fd) != 0)
      fail(ErrorKind::kIo, "{}: fsync failed: {}", path.string(), std::strerror(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(path.c_str());
    sodium_memzero(text.data(), text.size());
    throw;
  }
  ::close(fd);
  sodium_memzero(text.data(), text.size());
}

bool workspace_encrypted(const std::filesystem::path& dot_dir) {
  struct stat st {};
  return ::lstat((dot_dir / kEncryptionFile).c_str(), &st) == 0;
}

void write_encryption_record(const std::filesystem::path& dot_dir, const WorkspaceKey& key) {
  const nlohmann::json record = {{"format", "enclave-encryption"},
                                 {"version", kRecordVersion},
                                 {"databases", "sqlcipher"},
                                 {"blobs", "xchacha20poly1305-secretstream"},
                                 {"key_check", key.check_value()}};
  write_file_atomic(dot_dir / kEncryptionFile, record.dump(2) + "\n");
}

std::optional<WorkspaceKey> workspace_key_for(const std::filesystem::path& dot_dir) {
  finish_interrupted_rekey(dot_dir);
  if (!workspace_encrypted(dot_dir)) return std::nullopt;
  const std::filesystem::path path = dot_dir / kEncryptionFile;
  const nlohmann::json record = parse_json(read_file(path, 1 << 16), path.string());
  if (!record.is_object() || json_string(record, "format", path.string()) != "enclave-encryption")
    fail_input("{}: not an Enclave encryption record", path.string());
  if (json_int(record, "version", path.string()) != kRecordVersion) {
    fail(ErrorKind::kUnsupported, "{}: encryption record version {} is not supported",
         path.string(), record["version"].dump());
  }
  const std::string check = json_string(record, "key_check", path.string());
  const std::optional<WorkspaceKey>& key = configured_workspace_key();
  const std::filesystem::path root = dot_dir.parent_path();
  if (!key) {
    fail_input(
        "{}: the workspace is encrypted; name its key file with --key-file FILE or "
        "${}",
        root.string(), kWorkspaceKeyEnv);
  }
  check_outside(key->file, root, "workspace key");
  if (key->check_value() != check) {
    fail_input("{}: this key does not open the encrypted workspace {} (key check value differs)",
               key->file.string(), root.string());
  }
  return key;
}

std::filesystem::path enclosing_dot_dir(const std::filesystem::path& db_path) {
  std::filesystem::path p = std::filesystem::absolute(db_path).lexically_normal().parent_path();
  for (int depth = 0; depth < 3 && !p.empty(); ++depth, p = p.parent_path()) {
    if (p.filename() == kDotDir) return p;
    if (p == p.parent_path()) break;
  }
  return {};
}

void check_outside(const std::filesystem::path& file, const std::filesystem::path& root,
                   std::string_view what) {
  std::error_code ec;
  const std::filesystem::path r = std::filesystem::weakly_canonical(root, ec);
  const std::filesystem::path f = std::filesystem::weakly_canonical(file, ec);
  const auto mismatch = std::mismatch(r.begin(), r.end(), f.begin(), f.end());
  if (mismatch.first == r.end()) {
    fail_input(
        "{}: the {} lies inside the workspace {}; keep it outside (whoever can read the "
        "workspace could read it)",
        file.string(), what, r.string());
  }
}

}  // namespace enclave::store
