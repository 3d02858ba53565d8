#include "eval/template.h"

#include <cstdint>

#include "core/error.h"
#include "core/json.h"

namespace enclave::eval {
namespace {

struct PathStep {
  std::string key;         // object key, or empty for an index
  std::int64_t index = 0;  // array index (negative counts from the end)
  bool is_index = false;
};

bool is_name_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || u >= 0x80;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<PathStep> parse_path(std::string_view path, std::string_view what) {
  std::vector<PathStep> steps;
  std::size_t i = 0;
  auto bad = [&](std::string_view why) {
    fail_input("{}: placeholder '{{{{{}}}}}': {} (templates support field paths like a.b[0] only)",
               what, path, why);
  };
  if (path.empty()) bad("empty");
  while (i < path.size()) {
    if (path[i] == '[') {
      std::size_t close = path.find(']', i);
      if (close == std::string_view::npos) bad("unclosed '['");
      std::string_view digits = path.substr(i + 1, close - i - 1);
      bool negative = !digits.empty() && digits.front() == '-';
      if (negative) digits.remove_prefix(1);
      if (digits.empty() || digits.size() > 9) bad("bad index");
      std::int64_t value = 0;
      for (char c : digits) {
        if (c < '0' || c > '9') bad("bad index");
        value = value * 10 + (c - '0');
      }
      steps.push_back({.key = "", .index = negative ? -value : value, .is_index = true});
      i = close + 1;
      continue;
    }
    if (path[i] == '.') {
      if (steps.empty()) bad("starts with '.'");
      ++i;
    }
    std::size_t start = i;
    while (i < path.size() && is_name_char(path[i])) ++i;
    if (i == start)
      bad(fmt::format("unexpected character '{}'", path[i < path.size() ? i : path.size() - 1]));
    steps.push_back({.key = std::string(path.substr(start, i - start))});
  }
  return steps;
}

// Calls on_text for literal runs and on_field for placeholder paths.
template <typename OnText, typename OnField>
void scan(std::string_view tmpl, std::string_view what, OnText on_text, OnField on_field) {
  std::size_t pos = 0;
  while (pos < tmpl.size()) {
    std::size_t open = tmpl.find("{{", pos);
    if (open == std::string_view::npos) {
      on_text(tmpl.substr(pos));
      return;
    }
    on_text(tmpl.substr(pos, open - pos));
    std::size_t close = tmpl.find("}}", open + 2);
    if (close == std::string_view::npos) {
      fail_input("{}: '{{{{' at byte {} has no closing '}}}}'", what, open);
    }
    on_field(trim(tmpl.substr(open + 2, close - open - 2)));
    pos = close + 2;
  }
}

// A template that is exactly one placeholder ("{{choices}}"), else empty.
std::string_view single_placeholder(std::string_view tmpl) {
  std::string_view t = trim(tmpl);
  if (t.size() < 4 || t.substr(0, 2) != "{{" || t.substr(t.size() - 2) != "}}") return {};
  std::string_view inner = t.substr(2, t.size() - 4);
  if (inner.find("{{") != std::string_view::npos || inner.find("}}") != std::string_view::npos)
    return {};
  return trim(inner);
}

}  // namespace

const nlohmann::json& lookup_field(const nlohmann::json& doc, std::string_view path,
                                   std::string_view what) {
  const nlohmann::json* node = &doc;
  for (const PathStep& step : parse_path(path, what)) {
    if (step.is_index) {
      if (!node->is_array()) {
        fail_input("{}: field '{}': cannot index a {}", what, path, json_type_name(*node));
      }
      const auto n = static_cast<std::int64_t>(node->size());
      const std::int64_t i = step.index < 0 ? n + step.index : step.index;
      if (i < 0 || i >= n)
        fail_input("{}: field '{}': index {} outside a list of {}", what, path, step.index, n);
      node = &(*node)[static_cast<std::size_t>(i)];
    } else {
      if (!node->is_object()) {
        fail_input("{}: field '{}': cannot take '{}' of a {}", what, path, step.key,
                   json_type_name(*node));
      }
      auto it = node->find(step.key);
      if (it == node->end()) fail_input("{}: field '{}' is missing from the document", what, path);
      node = &*it;
    }
  }
  if (node->is_null()) fail_input("{}: field '{}' is null", what, path);
  return *node;
}

std::string value_to_text(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string render_template(std::string_view tmpl, const nlohmann::json& doc,
                            std::string_view what) {
  std::string out;
  scan(
      tmpl, what, [&](std::string_view text) { out.append(text); },
      [&](std::string_view path) { out += value_to_text(lookup_field(doc, path, what)); });
  return out;
}

void check_template(std::string_view tmpl, std::string_view what) {
  scan(
      tmpl, what, [](std::string_view) {}, [&](std::string_view path) { parse_path(path, what); });
}

std::vector<std::string> render_choices(const nlohmann::json& spec, const nlohmann::json& doc,
                                        std::string_view what) {
  std::vector<std::string> choices;
  if (spec.is_array()) {
    for (std::size_t i = 0; i < spec.size(); ++i) {
      if (!spec[i].is_string()) fail_input("{}[{}]: expected a string template", what, i);
      choices.push_back(render_template(spec[i].get<std::string>(), doc, what));
    }
  } else if (spec.is_string()) {
    std::string_view path = single_placeholder(spec.get_ref<const std::string&>());
    if (path.empty()) {
      fail_input("{}: expected a list of templates or one placeholder naming a list, got '{}'",
                 what, spec.get<std::string>());
    }
    const nlohmann::json& value = lookup_field(doc, path, what);
    if (!value.is_array())
      fail_input("{}: field '{}' is a {}, expected a list", what, path, json_type_name(value));
    for (const auto& item : value) choices.push_back(value_to_text(item));
  } else {
    fail_input("{}: expected a list of templates or a string, got {}", what, json_type_name(spec));
  }
  if (choices.empty()) fail_input("{}: no choices", what);
  return choices;
}

std::vector<std::string> render_targets(const nlohmann::json& spec, const nlohmann::json& doc,
                                        std::string_view what) {
  if (spec.is_number_integer()) return {value_to_text(spec)};
  if (!spec.is_string())
    fail_input("{}: expected a template string, got {}", what, json_type_name(spec));
  std::string_view path = single_placeholder(spec.get_ref<const std::string&>());
  if (!path.empty()) {
    const nlohmann::json& value = lookup_field(doc, path, what);
    if (value.is_array()) {
      std::vector<std::string> out;
      for (const auto& item : value) out.push_back(value_to_text(item));
      if (out.empty()) fail_input("{}: field '{}' is an empty list", what, path);
      return out;
    }
  }
  return {render_template(spec.get_ref<const std::string&>(), doc, what)};
}

}  // namespace enclave::eval
