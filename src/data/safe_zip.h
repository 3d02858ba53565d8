// SafeZip: reads members of a ZIP container (DOCX, XLSX, ...) into memory
// without trusting it. Opening checks every entry first and refuses the
// whole archive if any entry is named like a path escape ("../x", "/abs",
// "C:\x", "..\x", NUL or control characters), is a symlink, is encrypted, or
// if the archive has too many entries or declares more bytes, or a higher
// compression ratio, than the limits allow (zip bombs). Reading a member
// stops at the byte cap whatever its header claims. Nothing is ever written
// to disk, so no archive can place a file outside the workspace.
// Thread safety: one SafeZip per thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct zip;

namespace enclave::data {

struct ZipLimits {
  std::uint64_t max_entries = 10000;
  std::uint64_t max_total_bytes = std::uint64_t{512} << 20;  // declared, all entries
  std::uint64_t max_entry_bytes = std::uint64_t{256} << 20;  // actually read, one entry
  double max_ratio = 200;  // uncompressed / compressed, for entries over 1 MiB
};

class SafeZip {
 public:
  // Throws Error(kInvalidInput) naming the file and the reason ("entry
  // '../x' escapes the archive", "compression ratio 1030:1 (zip bomb?)",
  // "not a ZIP file") or Error(kNotFound).
  SafeZip(const std::filesystem::path& path, const ZipLimits& limits = {});
  ~SafeZip();
  SafeZip(const SafeZip&) = delete;
  SafeZip& operator=(const SafeZip&) = delete;

  const std::vector<std::string>& names() const { return names_; }
  // The member's bytes, or nullopt if there is no such member. Throws
  // Error(kInvalidInput) if it inflates past max_entry_bytes or is corrupt.
  std::optional<std::string> read(std::string_view name);

 private:
  std::filesystem::path path_;
  ZipLimits limits_;
  zip* archive_ = nullptr;
  std::vector<std::string> names_;
};

// Why an entry name is unsafe, or "" if it is a plain relative path.
std::string unsafe_entry_name_reason(std::string_view name);

}  // namespace enclave::data
