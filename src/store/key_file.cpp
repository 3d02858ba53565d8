#include "store/key_file.h"

#include <sys/stat.h>

#include "core/error.h"

namespace enclave::store {

std::filesystem::path checked_key_file(const std::filesystem::path& given, std::string_view what) {
  const std::filesystem::path file = std::filesystem::absolute(given).lexically_normal();
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    fail_input("{}: {} file not found (or not a file)", file.string(), what);
  if ((st.st_mode & 077) != 0) {
    fail_input("{}: {} file is open to other users (mode {:o}); chmod 600 it", file.string(), what,
               st.st_mode & 0777);
  }
  return file;
}

}  // namespace enclave::store
