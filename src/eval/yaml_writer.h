// Writes a JSON value as block-style YAML that core/yaml.h reads back
// to the same value: mappings and sequences indented two spaces, every string
// double-quoted with JSON escapes (valid YAML), numbers, booleans and null
// plain. Used to export task and suite files people can read and edit.
// Thread safety: stateless; safe from any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace enclave::eval {

std::string to_yaml(const nlohmann::json& value);

}  // namespace enclave::eval
