#include "eval/instructions.h"

#include <re2/re2.h>

#include <algorithm>
#include <functional>
#include <map>

#include "core/error.h"
#include "core/json.h"
#include "eval/unicode_ops.h"

namespace enclave::eval {
namespace {

using Check = std::function<bool(const nlohmann::json& kwargs, std::string_view response)>;

// kwargs with null values dropped (IFEval data lists every argument, unused ones null).
nlohmann::json clean_kwargs(const nlohmann::json& kwargs) {
  nlohmann::json out = nlohmann::json::object();
  if (!kwargs.is_object()) return out;
  for (const auto& [key, value] : kwargs.items()) {
    if (!value.is_null()) out[key] = value;
  }
  return out;
}

std::int64_t int_arg(const nlohmann::json& kw, const char* key) {
  return json_int(kw, key, "kwargs");
}
std::string string_arg(const nlohmann::json& kw, const char* key) {
  return json_string(kw, key, "kwargs");
}

// "less than" N or "at least" N.
bool compare(const nlohmann::json& kw, const char* relation_key, std::int64_t actual,
             std::int64_t n) {
  const std::string relation = string_arg(kw, relation_key);
  return relation == "less than" ? actual < n : actual >= n;
}

std::string lower_ascii_safe(std::string_view s) { return to_lower(s); }

std::int64_t count_matches(const re2::RE2& re, std::string_view text) {
  re2::StringPiece input(text.data(), text.size());
  std::int64_t n = 0;
  while (re2::RE2::FindAndConsume(&input, re)) {
    ++n;
    if (input.empty()) break;
  }
  return n;
}

std::string case_insensitive_literal(std::string_view word) {
  return "(?i)" + re2::RE2::QuoteMeta(std::string(word));
}

std::int64_t count_sentences(std::string_view text) {
  std::u32string cps = to_code_points(text);
  std::int64_t n = 0;
  std::u32string current;
  auto close = [&] {
    if (!word_tokens(from_code_points(current)).empty()) ++n;
    current.clear();
  };
  for (std::size_t i = 0; i < cps.size(); ++i) {
    const char32_t c = cps[i];
    current.push_back(c);
    const bool ender =
        c == U'.' || c == U'!' || c == U'?' || c == U'。' || c == U'！' || c == U'？';
    const bool boundary =
        i + 1 == cps.size() || cps[i + 1] == U' ' || cps[i + 1] == U'\n' || cps[i + 1] == U'\t';
    if (ender && boundary) close();
  }
  close();
  return n;
}

bool paragraphs_ok(const nlohmann::json& kw, std::string_view text) {
  // IFEval: paragraphs separated by a markdown divider ***; empty ones only
  // at the very start or end are allowed (and not counted).
  static const re2::RE2 divider(R"(\s?\*\*\*\s?)");
  std::string s(text);
  std::vector<std::string> parts;
  std::size_t last = 0;
  re2::StringPiece match;
  while (divider.Match(s, last, s.size(), re2::RE2::UNANCHORED, &match, 1)) {
    const auto begin = static_cast<std::size_t>(match.data() - s.data());
    parts.push_back(s.substr(last, begin - last));
    last = begin + match.size();
    if (match.empty()) ++last;
  }
  parts.push_back(s.substr(std::min(last, s.size())));
  std::int64_t n = static_cast<std::int64_t>(parts.size());
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (!strip(parts[i]).empty()) continue;
    if (i == 0 || i + 1 == parts.size()) {
      --n;
    } else {
      return false;
    }
  }
  return n == int_arg(kw, "num_paragraphs");
}

bool json_ok(std::string_view text) {
  std::string s = strip(text);
  for (std::string_view prefix : {"```json", "```Json", "```JSON", "```"}) {
    if (s.rfind(prefix, 0) == 0) {
      s = s.substr(prefix.size());
      break;
    }
  }
  if (s.size() >= 3 && s.compare(s.size() - 3, 3, "```") == 0) s.resize(s.size() - 3);
  s = strip(s);
  return nlohmann::json::accept(s);
}

bool bullets_ok(const nlohmann::json& kw, std::string_view text) {
  static const re2::RE2 star(R"((?m)^\s*\*[^\*].*$)");
  static const re2::RE2 dash(R"((?m)^\s*-.*$)");
  return count_matches(star, text) + count_matches(dash, text) == int_arg(kw, "num_bullets");
}

// Counts the matches of re (one capture group) whose text, with the '*'
// around it removed, is not blank.
std::int64_t count_nonblank_spans(const re2::RE2& re, std::string_view text) {
  re2::StringPiece input(text.data(), text.size());
  std::string span;
  std::int64_t n = 0;
  while (re2::RE2::FindAndConsume(&input, re, &span)) {
    const auto begin = span.find_first_not_of('*');
    const auto end = span.find_last_not_of('*');
    if (begin != std::string::npos && !strip(span.substr(begin, end - begin + 1)).empty()) ++n;
  }
  return n;
}

bool highlights_ok(const nlohmann::json& kw, std::string_view text) {
  static const re2::RE2 single(R"((\*[^\n\*]*\*))");
  static const re2::RE2 dbl(R"((\*\*[^\n\*]*\*\*))");
  return count_nonblank_spans(single, text) + count_nonblank_spans(dbl, text) >=
         int_arg(kw, "num_highlights");
}

bool postscript_ok(const nlohmann::json& kw, std::string_view text) {
  const std::string marker = string_arg(kw, "postscript_marker");
  std::string pattern;
  if (marker == "P.P.S") {
    pattern = R"((?m)\s*p\.\s?p\.\s?s.*$)";
  } else if (marker == "P.S.") {
    pattern = R"((?m)\s*p\.\s?s\..*$)";
  } else {
    pattern = "(?m)\\s*" + re2::RE2::QuoteMeta(to_lower(marker)) + ".*$";
  }
  re2::RE2 re(pattern);
  return re2::RE2::PartialMatch(to_lower(text), re);
}

const std::map<std::string, Script>& language_scripts() {
  static const std::map<std::string, Script> scripts = [] {
    std::map<std::string, Script> m;
    for (const char* code : {"en", "fr", "de", "es", "it", "pt", "nl", "sv", "da", "no", "fi",
                             "pl", "cs", "ro", "hu", "tr", "id", "vi", "sw", "tl", "ms"}) {
      m[code] = Script::kLatin;
    }
    for (const char* code : {"ru", "uk", "bg", "sr", "mk", "kk"}) m[code] = Script::kCyrillic;
    for (const char* code : {"ar", "fa", "ur"}) m[code] = Script::kArabic;
    m["ko"] = Script::kHangul;
    m["zh"] = Script::kHan;
    m["ja"] = Script::kKana;
    m["el"] = Script::kGreek;
    return m;
  }();
  return scripts;
}

bool language_ok(const nlohmann::json& kw, std::string_view text) {
  const Script want = language_scripts().at(string_arg(kw, "language"));
  const Script got = dominant_script(text);
  if (want == Script::kKana) {
    // Japanese mixes kanji and kana; any kana with mostly Han/kana letters counts.
    const std::u32string cps = to_code_points(text);
    const bool has_kana = std::any_of(cps.begin(), cps.end(),
                                      [](char32_t c) { return script_of(c) == Script::kKana; });
    return (got == Script::kKana || got == Script::kHan) && has_kana;
  }
  return got == want;
}

struct Kind {
  Check check;
  std::vector<const char*> int_args;
  std::vector<const char*> string_args;
  std::vector<const char*> list_args;
  bool relation = false;
};

const std::map<std::string, Kind, std::less<>>& kinds() {
  static const std::map<std::string, Kind, std::less<>> k = {
      {"length_constraints:number_words",
       {[](const auto& kw, auto t) {
          return compare(kw, "relation", static_cast<std::int64_t>(word_tokens(t).size()),
                         int_arg(kw, "num_words"));
        },
        {"num_words"},
        {},
        {},
        true}},
      {"length_constraints:number_sentences",
       {[](const auto& kw, auto t) {
          return compare(kw, "relation", count_sentences(t), int_arg(kw, "num_sentences"));
        },
        {"num_sentences"},
        {},
        {},
        true}},
      {"length_constraints:number_paragraphs", {paragraphs_ok, {"num_paragraphs"}, {}, {}, false}},
      {"length_constraints:number_characters",
       {[](const auto& kw, auto t) {
          return compare(kw, "relation", static_cast<std::int64_t>(to_code_points(t).size()),
                         int_arg(kw, "num_chars"));
        },
        {"num_chars"},
        {},
        {},
        true}},
      {"keywords:existence",
       {[](const auto& kw, auto t) {
          for (const auto& word : kw["keywords"]) {
            if (!re2::RE2::PartialMatch(
                    re2::StringPiece(t.data(), t.size()),
                    re2::RE2(case_insensitive_literal(word.template get<std::string>())))) {
              return false;
            }
          }
          return true;
        },
        {},
        {},
        {"keywords"},
        false}},
      {"keywords:forbidden_words",
       {[](const auto& kw, auto t) {
          for (const auto& word : kw["forbidden_words"]) {
            // A whole word, any case: letters around it (any script) make it another word.
            const std::string lower = to_lower(t);
            const std::string w = to_lower(word.template get<std::string>());
            for (const std::string& token : word_tokens(lower)) {
              if (token == w) return false;
            }
            if (word_tokens(w).size() > 1 && lower.find(w) != std::string::npos) return false;
          }
          return true;
        },
        {},
        {},
        {"forbidden_words"},
        false}},
      {"keywords:frequency",
       {[](const auto& kw, auto t) {
          re2::RE2 re(case_insensitive_literal(string_arg(kw, "keyword")));
          return compare(kw, "relation", count_matches(re, t), int_arg(kw, "frequency"));
        },
        {"frequency"},
        {"keyword"},
        {},
        true}},
      {"detectable_format:json_format",
       {[](const auto&, auto t) { return json_ok(t); }, {}, {}, {}, false}},
      {"detectable_format:number_bullet_lists", {bullets_ok, {"num_bullets"}, {}, {}, false}},
      {"detectable_format:title",
       {[](const auto&, auto t) {
          static const re2::RE2 title(R"(<<([^\n]+)>>)");
          re2::StringPiece input(t.data(), t.size());
          std::string inner;
          while (re2::RE2::FindAndConsume(&input, title, &inner)) {
            if (!strip(inner).empty()) return true;
          }
          return false;
        },
        {},
        {},
        {},
        false}},
      {"detectable_format:number_highlighted_sections",
       {highlights_ok, {"num_highlights"}, {}, {}, false}},
      {"change_case:english_lowercase",
       {[](const auto&, auto t) { return to_lower(t) == t && to_upper(t) != t; },
        {},
        {},
        {},
        false}},
      {"change_case:english_capital",
       {[](const auto&, auto t) { return to_upper(t) == t && to_lower(t) != t; },
        {},
        {},
        {},
        false}},
      {"startend:start_checker",
       {[](const auto& kw, auto t) {
          return lower_ascii_safe(strip(t)).rfind(
                     lower_ascii_safe(strip(string_arg(kw, "start_phrase"))), 0) == 0;
        },
        {},
        {"start_phrase"},
        {},
        false}},
      {"startend:end_checker",
       {[](const auto& kw, auto t) {
          const std::string s = lower_ascii_safe(strip(t));
          const std::string end = lower_ascii_safe(strip(string_arg(kw, "end_phrase")));
          return s.size() >= end.size() && s.compare(s.size() - end.size(), end.size(), end) == 0;
        },
        {},
        {"end_phrase"},
        {},
        false}},
      {"startend:quotation",
       {[](const auto&, auto t) {
          const std::string s = strip(t);
          return s.size() > 1 && s.front() == '"' && s.back() == '"';
        },
        {},
        {},
        {},
        false}},
      {"punctuation:no_comma",
       {[](const auto&, auto t) {
          return t.find(',') == std::string_view::npos &&
                 t.find("\xEF\xBC\x8C") == std::string_view::npos &&
                 t.find("\xE3\x80\x81") == std::string_view::npos;
        },
        {},
        {},
        {},
        false}},
      {"detectable_content:number_placeholders",
       {[](const auto& kw, auto t) {
          static const re2::RE2 placeholder(R"(\[[^\]]*?\])");
          return count_matches(placeholder, t) >= int_arg(kw, "num_placeholders");
        },
        {"num_placeholders"},
        {},
        {},
        false}},
      {"detectable_content:postscript", {postscript_ok, {}, {"postscript_marker"}, {}, false}},
      {"language:response_language", {language_ok, {}, {"language"}, {}, false}},
  };
  return k;
}

const Kind& kind_of(const Instruction& instruction, std::string_view what) {
  auto it = kinds().find(instruction.id);
  if (it == kinds().end()) {
    fail_input("{}: unknown instruction '{}' (see `enclave eval tasks --instructions`)", what,
               instruction.id);
  }
  return it->second;
}

}  // namespace

const std::vector<std::string_view>& instruction_ids() {
  static const std::vector<std::string_view> ids = [] {
    std::vector<std::string_view> out;
    for (const auto& [id, kind] : kinds()) out.push_back(id);
    return out;
  }();
  return ids;
}

void validate_instruction(const Instruction& instruction, std::string_view what) {
  const Kind& kind = kind_of(instruction, what);
  const nlohmann::json kw = clean_kwargs(instruction.kwargs);
  const std::string ctx = fmt::format("{}: instruction '{}': kwargs", what, instruction.id);
  for (const char* key : kind.int_args) {
    if (json_int(kw, key, ctx) < 0) fail_input("{}: field '{}' must be >= 0", ctx, key);
  }
  for (const char* key : kind.string_args) json_string(kw, key, ctx);
  for (const char* key : kind.list_args) {
    if (!kw.contains(key) || !kw[key].is_array() || kw[key].empty()) {
      fail_input("{}: field '{}' must be a non-empty list of strings", ctx, key);
    }
    for (const auto& item : kw[key]) {
      if (!item.is_string() || item.get<std::string>().empty()) {
        fail_input("{}: field '{}' must hold non-empty strings", ctx, key);
      }
    }
  }
  if (kind.relation) {
    const std::string relation = json_string(kw, "relation", ctx);
    if (relation != "less than" && relation != "at least") {
      fail_input("{}: relation must be 'less than' or 'at least', got '{}'", ctx, relation);
    }
  }
  if (instruction.id == "language:response_language") {
    const std::string language = json_string(kw, "language", ctx);
    if (language_scripts().count(language) == 0)
      fail_input("{}: language '{}' is not supported", ctx, language);
  }
}

bool follows_strict(const Instruction& instruction, std::string_view response) {
  validate_instruction(instruction, "instruction");
  if (strip(response).empty()) return false;
  return kind_of(instruction, "instruction").check(clean_kwargs(instruction.kwargs), response);
}

std::vector<std::string> loose_variants(std::string_view response) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (true) {
    std::size_t end = response.find('\n', pos);
    lines.emplace_back(
        response.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  auto join = [&](std::size_t begin, std::size_t end) {
    std::string out;
    for (std::size_t i = begin; i < end; ++i) out += (i > begin ? "\n" : "") + lines[i];
    return strip(out);
  };
  auto no_stars = [](std::string s) {
    s.erase(std::remove(s.begin(), s.end(), '*'), s.end());
    return s;
  };
  const std::size_t n = lines.size();
  std::string remove_first = join(std::min<std::size_t>(1, n), n);
  std::string remove_last = join(0, n > 0 ? n - 1 : 0);
  std::string remove_both = n >= 2 ? join(1, n - 1) : std::string();
  return {std::string(response), no_stars(std::string(response)),
          remove_first,          remove_last,
          remove_both,           no_stars(remove_first),
          no_stars(remove_last), no_stars(remove_both)};
}

bool follows_loose(const Instruction& instruction, std::string_view response) {
  for (const std::string& variant : loose_variants(response)) {
    if (follows_strict(instruction, variant)) return true;
  }
  return false;
}

std::vector<Instruction> instructions_of(const nlohmann::json& doc, std::string_view what) {
  if (!doc.contains("instruction_id_list") || !doc["instruction_id_list"].is_array()) {
    fail_input("{}: field 'instruction_id_list' must be a list of instruction ids", what);
  }
  const nlohmann::json& ids = doc["instruction_id_list"];
  const nlohmann::json kwargs = doc.contains("kwargs") ? doc["kwargs"] : nlohmann::json::array();
  if (!kwargs.is_array() || (!kwargs.empty() && kwargs.size() != ids.size())) {
    fail_input(
        "{}: field 'kwargs' must be a list with one mapping per instruction ({} instructions)",
        what, ids.size());
  }
  if (ids.empty()) fail_input("{}: field 'instruction_id_list' is empty", what);
  std::vector<Instruction> out;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (!ids[i].is_string()) fail_input("{}: instruction_id_list[{}]: expected a string", what, i);
    Instruction inst{ids[i].get<std::string>(),
                     kwargs.empty() ? nlohmann::json::object() : kwargs[i]};
    if (!inst.kwargs.is_object()) fail_input("{}: kwargs[{}]: expected a mapping", what, i);
    validate_instruction(inst, fmt::format("{}: instruction {}", what, i));
    out.push_back(std::move(inst));
  }
  return out;
}

}  // namespace enclave::eval
