#include "data/quality_filter.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <vector>

#include "core/error.h"
#include "core/file.h"

namespace enclave::data {

namespace {

Script script_named(std::string_view name, std::string_view what) {
  if (auto script = parse_script(name)) return *script;
  fail_input("{}: unknown script '{}' (expected one of {})", what, name, script_names());
}

std::optional<double> threshold(const nlohmann::json& value, std::string_view what,
                                std::string_view key) {
  if (value.is_null()) return std::nullopt;
  if (!value.is_number())
    fail_input("{}: '{}': expected a number or null, got {}", what, key, value.type_name());
  const double v = value.get<double>();
  if (!(v >= 0)) fail_input("{}: '{}': must be >= 0, got {}", what, key, v);
  return v;
}

std::string fold(std::string_view word) {
  std::string out(word);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::unordered_set<std::string> word_list(const nlohmann::json& value, std::string_view what,
                                          std::string_view key) {
  if (!value.is_array()) fail_input("{}: '{}': expected an array of strings", what, key);
  std::unordered_set<std::string> out;
  for (const auto& w : value) {
    if (!w.is_string() || w.get<std::string>().empty())
      fail_input("{}: '{}': expected non-empty strings", what, key);
    out.insert(fold(w.get<std::string>()));
  }
  return out;
}

std::unordered_set<std::string> word_file(const nlohmann::json& value, std::string_view what,
                                          std::string_view key) {
  if (!value.is_string()) fail_input("{}: '{}': expected a file path", what, key);
  const std::string text = read_file(value.get<std::string>(), std::uint64_t{64} << 20);
  std::unordered_set<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view w(text.data() + pos, end - pos);
    while (!w.empty() && std::isspace(static_cast<unsigned char>(w.back()))) w.remove_suffix(1);
    while (!w.empty() && std::isspace(static_cast<unsigned char>(w.front()))) w.remove_prefix(1);
    if (!w.empty() && w.front() != '#') out.insert(fold(w));
    pos = end + 1;
  }
  return out;
}

nlohmann::json opt(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

// The words of text, stripped of surrounding ASCII punctuation and folded.
std::vector<std::string> folded_words(std::string_view text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
    std::size_t end = pos;
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
    std::string_view w = text.substr(pos, end - pos);
    while (!w.empty() && std::ispunct(static_cast<unsigned char>(w.front()))) w.remove_prefix(1);
    while (!w.empty() && std::ispunct(static_cast<unsigned char>(w.back()))) w.remove_suffix(1);
    if (!w.empty()) out.push_back(fold(w));
    pos = end;
  }
  return out;
}

// Distinct listed words present. A non-ASCII entry also matches as a word
// prefix, since Korean attaches particles to the word ("회사" in "회사의").
int count_listed(const std::vector<std::string>& words,
                 const std::unordered_set<std::string>& list) {
  std::unordered_set<std::string_view> found;
  for (const auto& w : words) {
    if (list.contains(w)) {
      found.insert(*list.find(w));
      continue;
    }
    for (const auto& entry : list) {
      const bool ascii =
          std::all_of(entry.begin(), entry.end(), [](char c) { return (c & 0x80) == 0; });
      if (!ascii && w.starts_with(entry)) found.insert(entry);
    }
  }
  return static_cast<int>(found.size());
}

}  // namespace

FilterConfig filter_config_from_json(const nlohmann::json& params, std::string_view what) {
  FilterConfig c;
  if (params.is_null()) return c;
  if (!params.is_object()) fail_input("{}: expected an object of filter settings", what);
  const std::map<std::string_view, std::optional<double>*> scalars{
      {"min_chars", &c.min_chars},
      {"max_chars", &c.max_chars},
      {"min_words", &c.min_words},
      {"max_words", &c.max_words},
      {"min_mean_word_length", &c.min_mean_word_length},
      {"max_mean_word_length", &c.max_mean_word_length},
      {"max_symbol_ratio", &c.max_symbol_ratio},
      {"max_digit_ratio", &c.max_digit_ratio},
      {"min_alpha_words", &c.min_alpha_words},
      {"max_bullet_lines", &c.max_bullet_lines},
      {"max_ellipsis_lines", &c.max_ellipsis_lines},
      {"max_repeated_lines", &c.max_repeated_lines},
      {"max_repeated_line_chars", &c.max_repeated_line_chars},
      {"max_repeated_paragraphs", &c.max_repeated_paragraphs},
      {"max_repeated_paragraph_chars", &c.max_repeated_paragraph_chars},
  };
  for (const auto& [key, value] : params.items()) {
    if (auto it = scalars.find(key); it != scalars.end()) {
      *it->second = threshold(value, what, key);
    } else if (key == "script_min" || key == "script_max") {
      if (!value.is_object())
        fail_input("{}: '{}': expected an object like {{\"hangul\": 0.5}}", what, key);
      auto& target = key == "script_min" ? c.script_min : c.script_max;
      for (const auto& [name, v] : value.items()) {
        auto t = threshold(v, what, key + "." + name);
        if (t) target[script_named(name, what)] = *t;
      }
    } else if (key == "max_top_ngram" || key == "max_duplicate_ngram") {
      if (!value.is_object())
        fail_input("{}: '{}': expected an object like {{\"2\": 0.2}}", what, key);
      const bool top = key == "max_top_ngram";
      for (const auto& [n_text, v] : value.items()) {
        const int lo = top ? 2 : 5;
        const int hi = top ? 4 : 10;
        int n = 0;
        try {
          n = std::stoi(n_text);
        } catch (const std::exception&) {
          n = -1;
        }
        if (n < lo || n > hi || std::to_string(n) != n_text) {
          fail_input("{}: '{}': n-gram size '{}' must be {}..{}", what, key, n_text, lo, hi);
        }
        auto t = threshold(v, what, key + "." + n_text);
        if (top)
          c.max_top_ngram[n - 2] = t;
        else
          c.max_duplicate_ngram[n - 5] = t;
      }
    } else if (key == "required_words" || key == "blocked_words") {
      (key == "required_words" ? c.required_words : c.blocked_words) = word_list(value, what, key);
    } else if (key == "required_words_file" || key == "blocked_words_file") {
      auto words = word_file(value, what, key);
      (key == "required_words_file" ? c.required_words : c.blocked_words).merge(words);
    } else if (key == "min_required_words" || key == "max_blocked_words") {
      if (!value.is_number_integer() || value.get<std::int64_t>() < 0) {
        fail_input("{}: '{}': expected a non-negative integer", what, key);
      }
      (key == "min_required_words" ? c.min_required_words : c.max_blocked_words) = value.get<int>();
    } else {
      fail_input("{}: unknown filter setting '{}'", what, key);
    }
  }
  return c;
}

nlohmann::json to_json(const FilterConfig& c) {
  nlohmann::json j = {
      {"min_chars", opt(c.min_chars)},
      {"max_chars", opt(c.max_chars)},
      {"min_words", opt(c.min_words)},
      {"max_words", opt(c.max_words)},
      {"min_mean_word_length", opt(c.min_mean_word_length)},
      {"max_mean_word_length", opt(c.max_mean_word_length)},
      {"max_symbol_ratio", opt(c.max_symbol_ratio)},
      {"max_digit_ratio", opt(c.max_digit_ratio)},
      {"min_alpha_words", opt(c.min_alpha_words)},
      {"max_bullet_lines", opt(c.max_bullet_lines)},
      {"max_ellipsis_lines", opt(c.max_ellipsis_lines)},
      {"max_repeated_lines", opt(c.max_repeated_lines)},
      {"max_repeated_line_chars", opt(c.max_repeated_line_chars)},
      {"max_repeated_paragraphs", opt(c.max_repeated_paragraphs)},
      {"max_repeated_paragraph_chars", opt(c.max_repeated_paragraph_chars)},
      {"min_required_words", c.min_required_words},
      {"max_blocked_words", c.max_blocked_words},
      {"required_words",
       std::vector<std::string>(c.required_words.begin(), c.required_words.end())},
      {"blocked_words", std::vector<std::string>(c.blocked_words.begin(), c.blocked_words.end())},
  };
  for (auto* key : {"required_words", "blocked_words"}) {
    auto& list = j[key];
    std::sort(list.begin(), list.end());
  }
  nlohmann::json smin = nlohmann::json::object(), smax = nlohmann::json::object();
  for (const auto& [s, v] : c.script_min) smin[std::string(to_string(s))] = v;
  for (const auto& [s, v] : c.script_max) smax[std::string(to_string(s))] = v;
  j["script_min"] = smin;
  j["script_max"] = smax;
  nlohmann::json top = nlohmann::json::object(), dup = nlohmann::json::object();
  for (int n = 2; n <= 4; ++n) top[std::to_string(n)] = opt(c.max_top_ngram[n - 2]);
  for (int n = 5; n <= 10; ++n) dup[std::to_string(n)] = opt(c.max_duplicate_ngram[n - 5]);
  j["max_top_ngram"] = top;
  j["max_duplicate_ngram"] = dup;
  return j;
}

std::string check_quality(std::string_view text, const TextStats& s, const FilterConfig& c) {
  auto below = [](const std::optional<double>& min, double v) { return min && v < *min; };
  auto above = [](const std::optional<double>& max, double v) { return max && v > *max; };
  if (below(c.min_chars, double(s.n_chars))) return "min_chars";
  if (above(c.max_chars, double(s.n_chars))) return "max_chars";
  if (below(c.min_words, double(s.n_words))) return "min_words";
  if (above(c.max_words, double(s.n_words))) return "max_words";
  if (s.n_prose_words() > 0 && (below(c.min_mean_word_length, s.mean_word_length()) ||
                                above(c.max_mean_word_length, s.mean_word_length()))) {
    return "mean_word_length";
  }
  if (above(c.max_symbol_ratio, s.ratio(s.n_symbols, s.n_non_space))) return "symbol_ratio";
  if (above(c.max_digit_ratio, s.ratio(s.n_digits, s.n_non_space))) return "digit_ratio";
  if (s.n_prose_words() > 0 &&
      below(c.min_alpha_words, s.ratio(s.n_alpha_words, s.n_prose_words())))
    return "alpha_words";
  for (const auto& [script, min] : c.script_min) {
    if (s.ratio(s.n_script_letters[static_cast<int>(script)], s.n_letters) < min) {
      return fmt::format("script_min:{}", to_string(script));
    }
  }
  for (const auto& [script, max] : c.script_max) {
    if (s.ratio(s.n_script_letters[static_cast<int>(script)], s.n_letters) > max) {
      return fmt::format("script_max:{}", to_string(script));
    }
  }
  if (above(c.max_bullet_lines, s.ratio(s.n_bullet_lines, s.n_lines))) return "bullet_lines";
  if (above(c.max_ellipsis_lines, s.ratio(s.n_ellipsis_lines, s.n_lines))) return "ellipsis_lines";
  if (above(c.max_repeated_lines, s.ratio(s.n_dup_lines, s.n_lines))) return "repeated_lines";
  if (above(c.max_repeated_line_chars, s.ratio(s.n_dup_line_chars, s.n_chars)))
    return "repeated_line_chars";
  if (above(c.max_repeated_paragraphs, s.ratio(s.n_dup_paragraphs, s.n_paragraphs)))
    return "repeated_paragraphs";
  if (above(c.max_repeated_paragraph_chars, s.ratio(s.n_dup_paragraph_chars, s.n_chars))) {
    return "repeated_paragraph_chars";
  }
  for (int n = 2; n <= 4; ++n) {
    if (above(c.max_top_ngram[n - 2], s.ratio(s.top_ngram_chars[n - 2], s.n_word_chars))) {
      return fmt::format("top_ngram:{}", n);
    }
  }
  for (int n = 5; n <= 10; ++n) {
    if (above(c.max_duplicate_ngram[n - 5], s.ratio(s.dup_ngram_chars[n - 5], s.n_word_chars))) {
      return fmt::format("duplicate_ngram:{}", n);
    }
  }
  if ((c.min_required_words > 0 && !c.required_words.empty()) || !c.blocked_words.empty()) {
    const auto words = folded_words(text);
    if (c.min_required_words > 0 && count_listed(words, c.required_words) < c.min_required_words) {
      return "required_words";
    }
    if (!c.blocked_words.empty() && count_listed(words, c.blocked_words) > c.max_blocked_words) {
      return "blocked_words";
    }
  }
  return "";
}

std::string check_quality(std::string_view text, const FilterConfig& config) {
  return check_quality(text, compute_text_stats(text), config);
}

}  // namespace enclave::data
