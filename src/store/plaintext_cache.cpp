#include "store/plaintext_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <random>

#include "core/error.h"
#include "core/mapping_policy.h"
#include "core/program.h"
#include "store/object_store.h"

namespace enclave::store {
namespace {

constexpr std::string_view kPrefix = "plain-";

struct Cache {
  std::filesystem::path dir;
  int lock_fd = -1;
};

std::mutex cache_mutex;
std::map<std::filesystem::path, Cache>& caches() {
  static auto* all = new std::map<std::filesystem::path, Cache>();  // outlives static destructors
  return *all;
}

}  // namespace

std::filesystem::path plaintext_cache_dir(const std::filesystem::path& tmp_dir) {
  std::lock_guard lock(cache_mutex);
  auto found = caches().find(tmp_dir);
  if (found != caches().end()) return found->second.dir;
  std::random_device rd;
  Cache cache;
  cache.dir = tmp_dir / fmt::format("{}{}-{:08x}", kPrefix, ::getpid(), rd());
  if (::mkdir(cache.dir.c_str(), 0700) != 0) {
    fail(ErrorKind::kIo, "{}: cannot create the plaintext cache: {}", cache.dir.string(),
         std::strerror(errno));
  }
  ::chmod(cache.dir.c_str(), 0700);  // whatever the umask
  cache.lock_fd = ::open(cache.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cache.lock_fd >= 0) ::flock(cache.lock_fd, LOCK_EX | LOCK_NB);  // in use, for gc
  remove_at_exit(cache.dir);  // the lock goes with the process
  read_instead_of_mapping(cache.dir);
  caches().emplace(tmp_dir, cache);
  return cache.dir;
}

void remove_abandoned_plaintext(const std::filesystem::path& tmp_dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(tmp_dir, ec)) {
    if (!entry.path().filename().string().starts_with(kPrefix)) continue;
    if (!temp_is_abandoned(entry.path())) continue;
    std::error_code rm;
    std::filesystem::remove_all(entry.path(), rm);
  }
}

}  // namespace enclave::store
