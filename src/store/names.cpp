#include "store/names.h"

#include <fmt/format.h>

#include <charconv>

#include "core/error.h"

namespace enclave::store {
namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

bool is_hex_lower(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// Why a character is not allowed, in words a user can act on.
std::string describe_char(unsigned char c) {
  if (c == 0) return "a NUL byte is not allowed";
  if (is_control(c)) return fmt::format("control character \\x{:02x} is not allowed", c);
  if (c == '/' || c == '\\')
    return fmt::format("'{}' is not allowed (names are not paths)", static_cast<char>(c));
  if (c >= 0x80) return "non-ASCII characters are not allowed";
  return fmt::format("'{}' is not allowed", static_cast<char>(c));
}

}  // namespace

std::string printable(std::string_view text) {
  std::string out;
  for (unsigned char c : text.substr(0, 200)) {
    if (is_control(c) || c >= 0x80 || c == '\\') {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (text.size() > 200) out += "...";
  return out;
}

void validate_name(std::string_view name, std::string_view what) {
  if (name.empty()) fail_input("{} is empty", what);
  if (name.size() > kMaxNameLength) {
    fail_input("{} '{}': {} characters, more than the limit of {}", what, printable(name),
               name.size(), kMaxNameLength);
  }
  for (unsigned char c : name) {
    if (!is_name_char(static_cast<char>(c))) {
      fail_input("{} '{}': {} (use letters, digits, '.', '_' and '-')", what, printable(name),
                 describe_char(c));
    }
  }
  if (name.front() == '.' || name.front() == '-' || name.front() == '_') {
    fail_input("{} '{}': must start with a letter or digit", what, printable(name));
  }
  if (name.find("..") != std::string_view::npos) {
    fail_input("{} '{}': '..' is not allowed", what, printable(name));
  }
}

void validate_tag_value(std::string_view value, std::string_view what) {
  if (value.size() > 1024)
    fail_input("{}: {} bytes, more than the limit of 1024", what, value.size());
  for (unsigned char c : value) {
    if (is_control(c)) fail_input("{} '{}': {}", what, printable(value), describe_char(c));
  }
}

void validate_relative_path(std::string_view path, std::string_view what) {
  if (path.empty()) fail_input("{}: empty path", what);
  if (path.size() > 4096) fail_input("{}: path of {} bytes is too long", what, path.size());
  if (path.front() == '/')
    fail_input("{} '{}': absolute paths are not allowed", what, printable(path));
  for (unsigned char c : path) {
    if (c == 0 || is_control(c) || c == '\\') {
      fail_input("{} '{}': {}", what, printable(path), describe_char(c));
    }
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") {
      fail_input("{} '{}': empty, '.' or '..' path components are not allowed", what,
                 printable(path));
    }
    start = end + 1;
  }
}

bool is_digest(std::string_view text) {
  if (text.size() != 71 || text.substr(0, 7) != "sha256:") return false;
  for (char c : text.substr(7)) {
    if (!is_hex_lower(c)) return false;
  }
  return true;
}

std::string parse_digest(std::string_view digest) {
  if (!is_digest(digest)) {
    fail_input("digest '{}': expected sha256: followed by 64 lowercase hex characters",
               printable(digest));
  }
  return std::string(digest.substr(7));
}

VersionRef parse_version_ref(std::string_view ref, std::string_view what) {
  VersionRef out;
  std::size_t at = ref.find('@');
  std::size_t colon = ref.find(':');
  if (at != std::string_view::npos && colon != std::string_view::npos) {
    fail_input("{} '{}': use either name@VERSION or name:ALIAS, not both", what, printable(ref));
  }
  if (at != std::string_view::npos) {
    out.name = std::string(ref.substr(0, at));
    std::string_view number = ref.substr(at + 1);
    if (number == "latest") {  // the same as name:latest, and as plain name
      out.alias = "latest";
      validate_name(out.name, fmt::format("{} name", what));
      return out;
    }
    std::int64_t version = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), version);
    if (number.empty() || ec != std::errc() || end != number.data() + number.size() ||
        version < 1 || number.front() == '0') {
      fail_input("{} '{}': version '{}' is not a positive integer", what, printable(ref),
                 printable(number));
    }
    out.version = version;
  } else if (colon != std::string_view::npos) {
    out.name = std::string(ref.substr(0, colon));
    out.alias = std::string(ref.substr(colon + 1));
    validate_name(*out.alias, fmt::format("{} '{}': alias", what, printable(ref)));
  } else {
    out.name = std::string(ref);
  }
  validate_name(out.name, fmt::format("{} name", what));
  return out;
}

}  // namespace enclave::store
