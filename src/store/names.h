// Names users give things in the store (models, datasets, aliases, tags),
// references to registry versions ("name", "name@3", "name:alias"), artifact
// digests ("sha256:<64 hex>") and relative paths inside a stored directory.
// Everything that becomes part of a path or a lookup key passes through here
// first, so a name can never climb out of the workspace: '/', '\', "..", NUL,
// control characters, absolute paths, percent-encoding and over-long names
// are all rejected, not repaired.
// Thread safety: stateless; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace enclave::store {

inline constexpr std::size_t kMaxNameLength = 128;

// A registry name, alias or tag key: 1..128 characters from [A-Za-z0-9._-],
// starting with a letter or digit, containing no "..". Throws
// Error(kInvalidInput) naming `what` ("model name", "alias") and the reason.
void validate_name(std::string_view name, std::string_view what);

// A tag value: up to 1024 bytes of UTF-8 without control characters.
void validate_tag_value(std::string_view value, std::string_view what);

// A path inside a stored directory ("a/b.json"): relative, '/'-separated, no
// empty, "." or ".." component, no '\', NUL or control character, at most
// 4096 bytes. Throws Error(kInvalidInput) naming `what`.
void validate_relative_path(std::string_view path, std::string_view what);

// "sha256:<64 lowercase hex>" -> the hex part. Throws Error(kInvalidInput).
std::string parse_digest(std::string_view digest);
bool is_digest(std::string_view text);
inline std::string make_digest(std::string_view hex) { return "sha256:" + std::string(hex); }

// A reference to a registry version: "name" (latest), "name@3" or
// "name:alias". "name:latest" means the latest version.
struct VersionRef {
  std::string name;
  std::optional<std::int64_t> version;
  std::optional<std::string> alias;
};

// Parses and validates a reference. Throws Error(kInvalidInput).
VersionRef parse_version_ref(std::string_view ref, std::string_view what);

// The text with control characters and non-ASCII bytes escaped (\x00), for
// quoting untrusted input in error messages.
std::string printable(std::string_view text);

}  // namespace enclave::store
