#include "eval/yaml_writer.h"

namespace enclave::eval {
namespace {

bool plain_key(const std::string& key) {
  if (key.empty()) return false;
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string scalar(const nlohmann::json& v) {
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
}

bool is_block(const nlohmann::json& v) { return v.is_structured() && !v.empty(); }

void write(const nlohmann::json& v, int indent, std::string& out);

void write_key(const std::string& key, std::string& out) {
  out += plain_key(key) ? key : scalar(key);
}

void write_object(const nlohmann::json& v, int indent, std::string& out, bool first_inline) {
  bool first = true;
  for (const auto& [key, item] : v.items()) {
    if (!(first && first_inline)) out += std::string(static_cast<std::size_t>(indent), ' ');
    first = false;
    write_key(key, out);
    if (is_block(item)) {
      out += ":\n";
      write(item, indent + 2, out);
    } else {
      out += ": " + scalar(item) + "\n";
    }
  }
}

void write(const nlohmann::json& v, int indent, std::string& out) {
  const std::string pad(static_cast<std::size_t>(indent), ' ');
  if (v.is_object() && !v.empty()) {
    write_object(v, indent, out, false);
  } else if (v.is_array() && !v.empty()) {
    for (const auto& item : v) {
      out += pad + "- ";
      if (item.is_object() && !item.empty()) {
        write_object(item, indent + 2, out, /*first_inline=*/true);
      } else if (is_block(item)) {
        out += "\n";
        write(item, indent + 2, out);
      } else {
        out += scalar(item) + "\n";
      }
    }
  } else {
    out += pad + scalar(v) + "\n";
  }
}

}  // namespace

std::string to_yaml(const nlohmann::json& value) {
  std::string out;
  write(value, 0, out);
  return out;
}

}  // namespace enclave::eval
