// Which files MappedFile (core/file.h) may map. Files under a folder named
// here are read into private memory instead: decrypted plaintext in a
// private cache (store/plaintext_cache.h) is deleted after use, and the
// weights loaded from it must not stay tied to its pages. A file that is
// only ever replaced by rename may still be mapped on request
// (MappedFile::Mapping::kAlways: the training token cache).
// Thread safety: safe from any thread.
#pragma once

#include <filesystem>

namespace enclave {

// From now on, MappedFile reads files under dir instead of mapping them.
void read_instead_of_mapping(const std::filesystem::path& dir);

}  // namespace enclave
