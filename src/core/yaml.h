// Strict YAML for config files users write (merge configs close to
// mergekit's, eval tasks, suites and gates, data recipes), read with
// yaml-cpp and turned into nlohmann::json so the typed field getters of
// core/json.h give the same errors as for JSON files.
// yaml-cpp silently keeps both of two equal keys and expands aliases without
// bound; this reader rejects duplicate keys, nesting deeper than a limit and
// documents that expand to too many nodes ("billion laughs").
// Scalars follow the YAML 1.2 core schema: plain null/~/empty -> null,
// true/false -> bool, decimal integers -> int, decimal/exponent floats and
// .inf/.nan -> number; anything quoted, and every other plain scalar, is a
// string. Mapping keys must be scalars.
// Thread safety: stateless; safe from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string_view>

namespace enclave {

struct YamlLimits {
  int max_depth = 64;                  // nesting of mappings and sequences
  std::int64_t max_nodes = 1'000'000;  // after alias expansion
};

// Parses one YAML document. `what` names the source in errors
// ("merge.yaml: line 3, column 5: ..."). Throws Error(kInvalidInput) for
// syntax errors, more than one document, duplicate keys, non-scalar keys and
// limits exceeded. An empty document is null.
nlohmann::json parse_yaml(std::string_view text, std::string_view what, YamlLimits limits = {});

// Reads (at most 16 MiB) and parses a YAML file; errors name the path.
nlohmann::json read_yaml_file(const std::filesystem::path& path, YamlLimits limits = {});

}  // namespace enclave
