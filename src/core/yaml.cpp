#include "core/yaml.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>
#include <sstream>
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

// Digits from i on; returns where they end.
std::size_t skip_digits(const std::string& s, std::size_t i) {
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  return i;
}

// [-+]?[0-9]+ -- matched by hand: std::regex recurses per character and a
// value of 100,000 digits overflowed the stack.
bool is_int(const std::string& s) {
  const std::size_t start = !s.empty() && (s[0] == '-' || s[0] == '+') ? 1 : 0;
  return s.size() > start && skip_digits(s, start) == s.size();
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool is_float(const std::string& s) {
  std::size_t i = !s.empty() && (s[0] == '-' || s[0] == '+') ? 1 : 0;
  const std::size_t int_end = skip_digits(s, i);
  if (int_end > i) {
    i = int_end;
    if (i < s.size() && s[i] == '.') i = skip_digits(s, i + 1);
  } else {
    if (i >= s.size() || s[i] != '.') return false;
    const std::size_t frac_end = skip_digits(s, i + 1);
    if (frac_end == i + 1) return false;
    i = frac_end;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    std::size_t j = i + 1;
    if (j < s.size() && (s[j] == '-' || s[j] == '+')) ++j;
    const std::size_t exp_end = skip_digits(s, j);
    if (exp_end == j) return false;
    i = exp_end;
  }
  return i == s.size();
}

// A number the core schema allows but a double cannot hold is an error, not
// a crash or a silent infinity.
double to_double(const std::string& s, std::string_view where) {
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(s.c_str(), &end);
  if (errno == ERANGE && std::isinf(value)) {
    fail_input("{}: number {}{} is out of range", where, s.substr(0, 24),
               s.size() > 24 ? fmt::format("... ({} characters)", s.size()) : "");
  }
  return value;
}

// Resolves a plain (unquoted) scalar as the YAML 1.2 core schema does.
json plain_scalar(const std::string& s, std::string_view where) {
  if (s.empty() || is_one_of(s, {"~", "null", "Null", "NULL"})) return nullptr;
  if (is_one_of(s, {"true", "True", "TRUE"})) return true;
  if (is_one_of(s, {"false", "False", "FALSE"})) return false;
  if (is_int(s)) {
    std::int64_t value = 0;
    const char* begin = s.data() + (s[0] == '+' ? 1 : 0);
    auto [end, ec] = std::from_chars(begin, s.data() + s.size(), value);
    if (ec == std::errc() && end == s.data() + s.size()) return value;
    // Out of int64 range: keep it as a number, as PyYAML would (big int).
    return to_double(s, where);
  }
  if (is_float(s)) return to_double(s, where);
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
        return plain_scalar(node.Scalar(), fmt::format("{}: {}", what_, position(node)));
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

// Receives a document's events and keeps nothing: for counting documents.
class DocumentCounter : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// The stream's documents, counted up to two. Not YAML::LoadAll: Debian's
// yaml-cpp 0.7 loops there forever, growing, on some invalid streams (a lone
// ",": jbeder/yaml-cpp#1040, fixed upstream by #1319); found by
// fuzz/yaml_fuzz.cpp.
int count_documents(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentCounter counter;
  int n = 0;
  while (n < 2 && parser.HandleNextDocument(counter)) ++n;
  return n;
}

}  // namespace

nlohmann::json parse_yaml(std::string_view text, std::string_view what, YamlLimits limits) {
  if (text.find('\0') != std::string_view::npos) fail_input("{}: contains a NUL byte", what);
  YAML::Node doc;
  int n_docs = 0;
  try {
    const std::string copy(text);
    n_docs = count_documents(copy);
    if (n_docs == 1) doc = YAML::Load(copy);
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's own guard (its message is just "bad file").
    fail_input("{}: line {}: nested deeper than yaml-cpp's limit of {} levels", what,
               e.mark.line + 1, e.depth());
  } catch (const YAML::Exception& e) {
    fail_input("{}: line {}, column {}: invalid YAML: {}", what, e.mark.line + 1, e.mark.column + 1,
               e.msg);
  }
  if (n_docs == 0) return nullptr;
  if (n_docs > 1) fail_input("{}: holds more than one YAML document, expected one", what);
  try {
    return Converter(what, limits).convert(doc, 0);
  } catch (const YAML::Exception& e) {
    fail_input("{}: invalid YAML: {}", what, e.msg);
  }
}

nlohmann::json read_yaml_file(const std::filesystem::path& path, YamlLimits limits) {
  return parse_yaml(read_file(path, std::uint64_t{16} << 20), path.string(), limits);
}

}  // namespace enclave
