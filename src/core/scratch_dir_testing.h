// ScratchDir: the one temporary folder helper of the unit tests. Each object
// is a fresh, empty folder under the system temp directory
// (`enclave-NAME-XXXXXX`, made by mkdtemp, so parallel tests and processes
// never share one), removed with its contents on destruction.
// Tests only; header-only so every test binary can include it without a
// library. Thread safety: one object per test; distinct objects are
// independent.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace enclave::testing {

class ScratchDir {
 public:
  explicit ScratchDir(std::string_view name = "test") {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / ("enclave-" + std::string(name) + "-XXXXXX"))
            .string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed: " + tmpl);
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    // Stored blobs are read-only, their folders are not, so remove_all works.
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::filesystem::path& rel) const { return path_ / rel; }

  // Writes text to path()/rel (parent folders created) and returns that path.
  // Throws std::runtime_error if it cannot be written.
  std::filesystem::path write(const std::filesystem::path& rel, std::string_view text) const {
    const std::filesystem::path file = path_ / rel;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!out) throw std::runtime_error("cannot write " + file.string());
    return file;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace enclave::testing
