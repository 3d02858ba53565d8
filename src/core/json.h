// Strict JSON parsing for files users hand us (config.json, safetensors
// headers, tokenizer.json). nlohmann::json silently keeps the last of two
// equal keys and has no depth limit; these helpers reject both, and report
// errors with the file name and the parser's position.
// Thread safety: stateless; safe from any thread.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace enclave {

struct JsonLimits {
  int max_depth = 128;  // nesting of objects and arrays
};

// Parses text as JSON. `what` names the source in error messages
// ("model/config.json"). Throws Error(kInvalidInput) for syntax errors,
// invalid UTF-8, duplicate object keys and nesting deeper than limits.max_depth.
nlohmann::json parse_json(std::string_view text, std::string_view what, JsonLimits limits = {});

// Reads and parses a JSON file; errors name the file.
nlohmann::json read_json_file(const std::filesystem::path& path, JsonLimits limits = {});

// The same, keeping object keys in the order of the text (for values whose
// order shows, such as what a chat template prints with tojson).
nlohmann::ordered_json parse_ordered_json(std::string_view text, std::string_view what,
                                          JsonLimits limits = {});
nlohmann::ordered_json read_ordered_json_file(const std::filesystem::path& path,
                                              JsonLimits limits = {});

// Typed field access with errors that name the file and field:
// "config.json: field 'hidden_size': expected an integer, got string".
// `what` names the source; missing fields throw unless a default is given.
std::int64_t json_int(const nlohmann::json& obj, std::string_view key, std::string_view what);
std::int64_t json_int(const nlohmann::json& obj, std::string_view key, std::string_view what,
                      std::int64_t fallback);
double json_number(const nlohmann::json& obj, std::string_view key, std::string_view what);
double json_number(const nlohmann::json& obj, std::string_view key, std::string_view what,
                   double fallback);
std::string json_string(const nlohmann::json& obj, std::string_view key, std::string_view what);
std::string json_string(const nlohmann::json& obj, std::string_view key, std::string_view what,
                        std::string fallback);
bool json_bool(const nlohmann::json& obj, std::string_view key, std::string_view what,
               bool fallback);

// Name of a JSON value's type for error messages ("string", "array", ...).
std::string json_type_name(const nlohmann::json& value);

}  // namespace enclave
