#include "core/yaml.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <regex>
#include <set>
#include <string>

#include "core/error.h"
#include "core/file.h"

namespace enclave {
namespace {

using nlohmann::json;

bool is_one_of(const std::string& s, std::initializer_list<const char*> options) {
  for (const char* o : options) {
    if (s == o) return true;
  }
  return false;
}

// Resolves a plain (unquoted) scalar as the YAML 1.2 core schema does.
json plain_scalar(const std::string& s) {
  if (s.empty() || is_one_of(s, {"~", "null", "Null", "NULL"})) return nullptr;
  if (is_one_of(s, {"true", "True", "TRUE"})) return true;
  if (is_one_of(s, {"false", "False", "FALSE"})) return false;
  static const std::regex kInt("[-+]?[0-9]+");
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (std::regex_match(s, kInt)) {
    std::int64_t value = 0;
    const char* begin = s.data() + (s[0] == '+' ? 1 : 0);
    auto [end, ec] = std::from_chars(begin, s.data() + s.size(), value);
    if (ec == std::errc() && end == s.data() + s.size()) return value;
    // Out of int64 range: keep it as a number, as PyYAML would (big int).
    return std::stod(s);
  }
  if (std::regex_match(s, kFloat)) return std::stod(s);
  if (is_one_of(s, {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"})) {
    return std::numeric_limits<double>::infinity();
  }
  if (is_one_of(s, {"-.inf", "-.Inf", "-.INF"})) return -std::numeric_limits<double>::infinity();
  if (is_one_of(s, {".nan", ".NaN", ".NAN"})) return std::numeric_limits<double>::quiet_NaN();
  return s;
}

class Converter {
 public:
  Converter(std::string_view what, YamlLimits limits) : what_(what), limits_(limits) {}

  json convert(const YAML::Node& node, int depth) {
    if (++n_nodes_ > limits_.max_nodes) {
      fail_input("{}: document expands to more than {} nodes (aliases?)", what_, limits_.max_nodes);
    }
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        return nullptr;
      case YAML::NodeType::Scalar:
        // yaml-cpp tags quoted scalars "!" and plain ones "?".
        if (node.Tag() == "!") return node.Scalar();
        return plain_scalar(node.Scalar());
      case YAML::NodeType::Sequence: {
        check_depth(node, depth);
        json out = json::array();
        for (const auto& item : node) out.push_back(convert(item, depth + 1));
        return out;
      }
      case YAML::NodeType::Map: {
        check_depth(node, depth);
        json out = json::object();
        for (const auto& item : node) {
          if (!item.first.IsScalar()) {
            fail_input("{}: {}: mapping keys must be plain strings", what_, position(item.first));
          }
          const std::string key = item.first.Scalar();
          if (out.contains(key)) {
            fail_input("{}: {}: duplicate key '{}'", what_, position(item.first), key);
          }
          out[key] = convert(item.second, depth + 1);
        }
        return out;
      }
    }
    return nullptr;
  }

 private:
  void check_depth(const YAML::Node& node, int depth) {
    if (depth >= limits_.max_depth) {
      fail_input("{}: {}: nested deeper than {} levels", what_, position(node), limits_.max_depth);
    }
  }

  static std::string position(const YAML::Node& node) {
    const YAML::Mark mark = node.Mark();
    return fmt::format("line {}, column {}", mark.line + 1, mark.column + 1);
  }

  std::string_view what_;
  YamlLimits limits_;
  std::int64_t n_nodes_ = 0;
};

}  // namespace

nlohmann::json parse_yaml(std::string_view text, std::string_view what, YamlLimits limits) {
  if (text.find('\0') != std::string_view::npos) fail_input("{}: contains a NUL byte", what);
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's own guard (its message is just "bad file").
    fail_input("{}: line {}: nested deeper than yaml-cpp's limit of {} levels", what,
               e.mark.line + 1, e.depth());
  } catch (const YAML::Exception& e) {
    fail_input("{}: line {}, column {}: invalid YAML: {}", what, e.mark.line + 1, e.mark.column + 1,
               e.msg);
  }
  if (docs.empty()) return nullptr;
  if (docs.size() > 1) fail_input("{}: holds {} YAML documents, expected one", what, docs.size());
  try {
    return Converter(what, limits).convert(docs[0], 0);
  } catch (const YAML::Exception& e) {
    fail_input("{}: invalid YAML: {}", what, e.msg);
  }
}

nlohmann::json read_yaml_file(const std::filesystem::path& path, YamlLimits limits) {
  return parse_yaml(read_file(path, std::uint64_t{16} << 20), path.string(), limits);
}

}  // namespace enclave
