// Helpers shared by the store's unit tests: a scratch folder removed at the
// end (ScratchDir, from core/scratch_dir_testing.h) and small file writers.
// Tests only; not part of enclave_store.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/scratch_dir_testing.h"

namespace enclave::store::testing {

using enclave::testing::ScratchDir;

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Flips one bit of a (possibly read-only) file in place, as a disk error would.
inline void flip_byte(const std::filesystem::path& path, std::size_t offset) {
  ::chmod(path.c_str(), 0644);
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x01));
}

// A small Hugging Face style model folder.
inline void write_model_dir(const std::filesystem::path& dir, const std::string& flavour = "a") {
  write_text(dir / "config.json", "{\"hidden_size\": 8, \"flavour\": \"" + flavour + "\"}");
  write_text(dir / "model.safetensors", std::string(4096, 'w') + flavour);
  write_text(dir / "tokenizer.json", "{\"model\": {}}");
  write_text(dir / "sub/extra.txt", "extra " + flavour);
}

}  // namespace enclave::store::testing
