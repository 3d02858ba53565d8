#include "data/safe_zip.h"

#include <sys/stat.h>
#include <zip.h>

#include "core/error.h"

namespace enclave::data {

std::string unsafe_entry_name_reason(std::string_view name) {
  if (name.empty()) return "empty entry name";
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return "control character in entry name";
    if (c == '\\') return "backslash in entry name";
  }
  if (name.front() == '/') return "absolute entry path";
  if (name.size() >= 2 && name[1] == ':') return "drive letter in entry path";
  std::size_t pos = 0;
  while (pos <= name.size()) {
    std::size_t end = name.find('/', pos);
    if (end == std::string_view::npos) end = name.size();
    if (name.substr(pos, end - pos) == "..") return "entry escapes the archive";
    pos = end + 1;
  }
  return "";
}

SafeZip::SafeZip(const std::filesystem::path& path, const ZipLimits& limits)
    : path_(path), limits_(limits) {
  int code = 0;
  archive_ = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
  if (archive_ == nullptr) {
    if (code == ZIP_ER_NOENT) fail(ErrorKind::kNotFound, "{}: no such file", path.string());
    zip_error_t error;
    zip_error_init_with_code(&error, code);
    std::string reason = zip_error_strerror(&error);
    zip_error_fini(&error);
    fail_input("{}: not a readable ZIP container: {}", path.string(), reason);
  }
  try {
    const zip_int64_t n = zip_get_num_entries(archive_, 0);
    if (n < 0 || static_cast<std::uint64_t>(n) > limits_.max_entries) {
      fail_input("{}: {} entries (limit {})", path.string(), n, limits_.max_entries);
    }
    std::uint64_t total = 0;
    for (zip_int64_t i = 0; i < n; ++i) {
      zip_stat_t st;
      if (zip_stat_index(archive_, static_cast<zip_uint64_t>(i), ZIP_FL_ENC_RAW, &st) != 0) {
        fail_input("{}: entry {} is unreadable", path.string(), i);
      }
      const std::string name = (st.valid & ZIP_STAT_NAME) ? st.name : "";
      if (std::string why = unsafe_entry_name_reason(name); !why.empty()) {
        fail_input("{}: entry '{}': {}", path.string(), name.substr(0, 200), why);
      }
      zip_uint8_t opsys = 0;
      zip_uint32_t attributes = 0;
      if (zip_file_get_external_attributes(archive_, static_cast<zip_uint64_t>(i), 0, &opsys,
                                           &attributes) == 0 &&
          opsys == ZIP_OPSYS_UNIX && S_ISLNK(attributes >> 16)) {
        fail_input("{}: entry '{}' is a symlink", path.string(), name);
      }
      if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE) {
        fail_input("{}: entry '{}' is encrypted", path.string(), name);
      }
      total += st.size;
      if (total > limits_.max_total_bytes) {
        fail_input("{}: entries inflate to more than {} bytes (zip bomb?)", path.string(),
                   limits_.max_total_bytes);
      }
      if (st.size > (std::uint64_t{1} << 20) &&
          static_cast<double>(st.size) >
              limits_.max_ratio * static_cast<double>(std::max<zip_uint64_t>(st.comp_size, 1))) {
        fail_input("{}: entry '{}' has compression ratio {}:1 (zip bomb?)", path.string(), name,
                   st.size / std::max<zip_uint64_t>(st.comp_size, 1));
      }
      names_.push_back(name);
    }
  } catch (...) {
    zip_discard(archive_);
    archive_ = nullptr;
    throw;
  }
}

SafeZip::~SafeZip() {
  if (archive_ != nullptr) zip_discard(archive_);
}

std::optional<std::string> SafeZip::read(std::string_view name) {
  const std::string key(name);
  const zip_int64_t index = zip_name_locate(archive_, key.c_str(), ZIP_FL_ENC_RAW);
  if (index < 0) return std::nullopt;
  zip_file_t* file = zip_fopen_index(archive_, static_cast<zip_uint64_t>(index), 0);
  if (file == nullptr)
    fail_input("{}: entry '{}': cannot open: {}", path_.string(), key, zip_strerror(archive_));
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const zip_int64_t n = zip_fread(file, buf, sizeof(buf));
    if (n < 0) {
      std::string reason = zip_file_strerror(file);
      zip_fclose(file);
      fail_input("{}: entry '{}': corrupt data: {}", path_.string(), key, reason);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > limits_.max_entry_bytes) {
      zip_fclose(file);
      fail_input("{}: entry '{}' inflates past {} bytes (zip bomb?)", path_.string(), key,
                 limits_.max_entry_bytes);
    }
  }
  zip_fclose(file);
  return out;
}

}  // namespace enclave::data
