#include "pipeline/interpolate.h"

#include <fmt/format.h>

#include "core/error.h"

namespace enclave::pipeline {
namespace {

constexpr std::string_view kStagesPrefix = "stages.";

// Calls fn(key, begin, end) for each ${key} in text ([begin, end) spans it).
template <typename Fn>
void each_placeholder(const std::string& text, Fn fn) {
  std::size_t pos = 0;
  while ((pos = text.find("${", pos)) != std::string::npos) {
    std::size_t close = text.find('}', pos + 2);
    if (close == std::string::npos) fail_input("unclosed '${{' at column {}", pos + 1);
    fn(text.substr(pos + 2, close - pos - 2), pos, close + 1);
    pos = close + 1;
  }
}

bool parse_stage_ref(const std::string& key, StageRef& ref) {
  if (!key.starts_with(kStagesPrefix)) return false;
  std::string rest = key.substr(kStagesPrefix.size());
  std::size_t dot = rest.find(".outs.");
  if (dot == std::string::npos || dot == 0 || dot + 6 >= rest.size())
    fail_input("${{{}}}: expected ${{stages.STAGE.outs.NAME}}", key);
  ref.stage = rest.substr(0, dot);
  ref.out = rest.substr(dot + 6);
  return true;
}

}  // namespace

std::string substitute_params(const std::string& text, const nlohmann::json& params,
                              bool allow_stages, std::map<std::string, std::string>& used) {
  std::string out;
  std::size_t last = 0;
  each_placeholder(text, [&](const std::string& key, std::size_t begin, std::size_t end) {
    out += text.substr(last, begin - last);
    last = end;
    StageRef ref;
    if (parse_stage_ref(key, ref)) {
      if (!allow_stages) fail_input("${{{}}}: stage outputs can be named only in cmd", key);
      out += text.substr(begin, end - begin);
      return;
    }
    if (key.empty()) fail_input("empty ${{}}");
    const nlohmann::json* at = &params;
    std::size_t start = 0;
    while (true) {
      std::size_t dot = key.find('.', start);
      std::string part = key.substr(start, dot == std::string::npos ? dot : dot - start);
      if (!at->is_object() || !at->contains(part))
        fail_input("${{{}}}: no parameter '{}' (give it in params, params_file or --param)", key,
                   key);
      at = &(*at)[part];
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    std::string value;
    if (at->is_string()) {
      value = at->get<std::string>();
    } else if (at->is_primitive() && !at->is_null()) {
      value = at->dump();
    } else {
      fail_input("${{{}}}: the parameter is a mapping, list or null, not a value", key);
    }
    used[key] = value;
    out += value;
  });
  out += text.substr(last);
  return out;
}

std::vector<StageRef> stage_refs(const std::string& text) {
  std::vector<StageRef> refs;
  each_placeholder(text, [&](const std::string& key, std::size_t, std::size_t) {
    StageRef ref;
    if (parse_stage_ref(key, ref)) refs.push_back(ref);
  });
  return refs;
}

std::string resolve_stage_refs(
    const std::string& text,
    const std::map<std::string, std::map<std::string, std::string>>& outs) {
  std::string out;
  std::size_t last = 0;
  each_placeholder(text, [&](const std::string& key, std::size_t begin, std::size_t end) {
    out += text.substr(last, begin - last);
    last = end;
    StageRef ref;
    if (!parse_stage_ref(key, ref)) {
      out += text.substr(begin, end - begin);
      return;
    }
    auto s = outs.find(ref.stage);
    if (s == outs.end() || !s->second.contains(ref.out))
      fail_input("${{{}}}: stage {} has not produced '{}'", key, ref.stage, ref.out);
    out += s->second.at(ref.out);
  });
  out += text.substr(last);
  return out;
}

std::vector<std::string> split_command(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else if (c == '\'') {
      std::size_t close = text.find('\'', i + 1);
      if (close == std::string::npos) fail_input("unclosed ' at column {}", i + 1);
      word += text.substr(i + 1, close - i - 1);
      i = close;
      in_word = true;
    } else if (c == '"') {
      std::size_t j = i + 1;
      for (; j < text.size() && text[j] != '"'; ++j) {
        if (text[j] == '\\' && j + 1 < text.size() &&
            std::string_view("\"\\$`").find(text[j + 1]) != std::string_view::npos) {
          ++j;
        }
        word += text[j];
      }
      if (j >= text.size()) fail_input("unclosed \" at column {}", i + 1);
      i = j;
      in_word = true;
    } else if (c == '\\' && i + 1 < text.size()) {
      word += text[++i];
      in_word = true;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

}  // namespace enclave::pipeline
