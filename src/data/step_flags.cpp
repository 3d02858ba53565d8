#include "data/step_flags.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "core/error.h"

namespace enclave::data {
namespace {

struct StepInfo {
  std::string_view name;
  std::string_view summary;
  std::vector<StepFlag> flags;
};

const std::vector<StepInfo>& steps() {
  using T = FlagType;
  static const std::vector<StepInfo> table = {
      {"ingest",
       "Read .txt .md .jsonl .pdf .docx .html .hwp .hwpx files into a dataset",
       {{"--field", "field", T::kText, "JSONL field holding the text (dotted path; default text)"},
        {"--pdf-timeout", "pdf_timeout_s", T::kNumber, "Seconds allowed per PDF (default 60)"},
        {"--max-file-mb", "max_file_mb", T::kInteger,
         "Skip files larger than this (default 1024)"}}},
      {"normalize",
       "Korean-safe Unicode form, control characters, whitespace, invalid UTF-8",
       {{"--form", "form", T::kText, "safe (NFC + width/space folds; default), nfc, nfkc or none"},
        {"--no-nfkc", "nfkc", T::kSwitch, "Deprecated: same as --form nfc", false, false},
        {"--no-controls", "controls", T::kSwitch, "Keep control and invisible characters", false,
         false},
        {"--no-whitespace", "whitespace", T::kSwitch, "Keep whitespace as it is", false, false}}},
      {"filter",
       "Drop low-quality documents by heuristic rules (Gopher-style)",
       {{"--keep-rejected", "keep_rejected", T::kSwitch, "Write removed documents with their rule"},
        {"--min-chars", "min_chars", T::kNumber, "Minimum characters"},
        {"--max-chars", "max_chars", T::kNumber, "Maximum characters"},
        {"--min-words", "min_words", T::kNumber, "Minimum words"},
        {"--max-words", "max_words", T::kNumber, "Maximum words"},
        {"--min-script", "script_min", T::kRatios,
         "Minimum share of letters in a script: hangul=0.5"},
        {"--max-script", "script_max", T::kRatios, "Maximum share of letters in a script: han=0.3"},
        {"--required-words", "required_words_file", T::kText,
         "File of words (one a line) documents need"},
        {"--min-required-words", "min_required_words", T::kInteger,
         "How many listed words a document needs"},
        {"--blocked-words", "blocked_words_file", T::kText,
         "File of words (one a line) that remove a document"},
        {"--max-blocked-words", "max_blocked_words", T::kInteger,
         "Listed words allowed (default 0)"}}},
      {"dedup",
       "Remove exact and near duplicates (MinHash + LSH), keeping the first",
       {{"--exact-only", "near", T::kSwitch, "Exact duplicates only", false, false},
        {"--near-only", "exact", T::kSwitch, "Near duplicates only", false, false},
        {"--num-perm", "num_perm", T::kInteger, "MinHash permutations (default 128)"},
        {"--bands", "bands", T::kInteger, "LSH bands; must divide --num-perm (default 16)"},
        {"--threshold", "threshold", T::kNumber,
         "Estimated Jaccard similarity that makes a duplicate (0.8)"},
        {"--shingle", "shingle", T::kText, "char or word n-grams (default char)"},
        {"--ngram", "ngram", T::kInteger, "Shingle size (default 5)"},
        {"--seed", "seed", T::kInteger, "Permutation seed (default 42)"}}},
      {"pii",
       "Find and replace e-mails, phones, RRNs, BRNs, cards, IPs, accounts, passports, driver's "
       "licences, names, addresses, secrets",
       {{"--mode", "mode", T::kText, "redact (typed placeholders), drop (the document) or report"},
        {"--types", "types", T::kList,
         "Only these: email,phone,rrn,brn,card,ip,account,passport,driver_license,person_name,"
         "address,secret"},
        {"--min-confidence", "min_confidence", T::kNumber,
         "Matches below this confidence are ignored (0.5)"}}},
      {"decontaminate",
       "Drop documents sharing long n-grams with evaluation sets",
       {{"--eval", "eval", T::kList,
         "Evaluation file (.jsonl: every string; else the text); repeatable", true},
        {"--ngram", "ngram", T::kInteger, "Words per n-gram (default 13)"},
        {"--min-short-words", "min_short_words", T::kInteger,
         "Shorter eval texts count whole from this size (8)"}}},
      {"split",
       "Deterministic train/validation/test split by hash",
       {{"--train", "train", T::kNumber, "Fraction for train.jsonl (default 0.9)"},
        {"--validation", "validation", T::kNumber, "Fraction for validation.jsonl (default 0.05)"},
        {"--test", "test", T::kNumber, "Fraction for test.jsonl (default 0.05)"},
        {"--seed", "seed", T::kText, "Seed string of the hash (default enclave)"},
        {"--key", "key", T::kText, "Hash the id (default) or the text"}}},
      {"format",
       "Write training records (TRL formats), validating every row",
       {{"--to", "to", T::kText, "text, messages, prompt/completion or prompt/chosen/rejected",
         true},
        {"--tokenizer", "tokenizer", T::kText,
         "Model folder or registered model whose tokenizer counts tokens"},
        {"--max-tokens", "max_tokens", T::kInteger, "Rows longer than this are invalid"},
        {"--min-tokens", "min_tokens", T::kInteger, "Rows shorter than this are invalid"}}},
  };
  return table;
}

const StepInfo* find_step(std::string_view step) {
  for (const StepInfo& s : steps()) {
    if (s.name == step) return &s;
  }
  return nullptr;
}

double parse_number(std::string_view flag, const std::string& text) {
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE)
    fail_input("{} '{}': expected a number", flag, text);
  return v;
}

std::int64_t parse_integer(std::string_view flag, const std::string& text) {
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE)
    fail_input("{} '{}': expected a whole number", flag, text);
  return v;
}

// A --set or SCRIPT=RATIO value: JSON when it parses as JSON, else the text.
nlohmann::json parse_value(const std::string& text) {
  nlohmann::json v = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return v.is_discarded() ? nlohmann::json(text) : v;
}

nlohmann::json flag_value(const StepFlag& f, const std::vector<std::string>& values) {
  switch (f.type) {
    case FlagType::kSwitch:
      return f.switch_value;
    case FlagType::kNumber:
    case FlagType::kInteger:
    case FlagType::kText:
      if (values.empty()) fail_input("{}: a value is required", f.flag);
      if (f.type == FlagType::kNumber) return parse_number(f.flag, values.back());
      if (f.type == FlagType::kInteger) return parse_integer(f.flag, values.back());
      return values.back();
    case FlagType::kList: {
      nlohmann::json list = nlohmann::json::array();
      for (const std::string& v : values) {
        std::size_t start = 0;
        while (start <= v.size()) {
          const std::size_t comma = std::min(v.find(',', start), v.size());
          if (comma > start) list.push_back(v.substr(start, comma - start));
          start = comma + 1;
        }
      }
      return list;
    }
    case FlagType::kRatios: {
      nlohmann::json ratios = nlohmann::json::object();
      for (const std::string& item : values) {
        const auto eq = item.find('=');
        if (eq == std::string::npos || eq == 0)
          fail_input("{} {}: expected SCRIPT=RATIO", f.flag, item);
        ratios[item.substr(0, eq)] = parse_value(item.substr(eq + 1));
      }
      return ratios;
    }
  }
  return nullptr;
}

}  // namespace

std::string_view step_summary(std::string_view step) {
  const StepInfo* s = find_step(step);
  return s != nullptr ? s->summary : std::string_view();
}

const std::vector<StepFlag>& step_flags(std::string_view step) {
  static const std::vector<StepFlag> none;
  const StepInfo* s = find_step(step);
  return s != nullptr ? s->flags : none;
}

nlohmann::json step_params(std::string_view step,
                           const std::map<std::string, std::vector<std::string>>& given,
                           const std::vector<std::string>& sets) {
  const std::vector<StepFlag>& flags = step_flags(step);
  nlohmann::json params = nlohmann::json::object();
  for (const auto& [name, values] : given) {
    const auto it = std::find_if(flags.begin(), flags.end(), [&name = name](const StepFlag& f) {
      return f.flag == name;  // captured by name: clang 14 (make fuzz) cannot capture a binding
    });
    if (it == flags.end()) fail_input("data {}: no flag {}", step, name);
    params[std::string(it->key)] = flag_value(*it, values);
  }
  for (const std::string& item : sets) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) fail_input("--set {}: expected KEY=VALUE", item);
    params[item.substr(0, eq)] = parse_value(item.substr(eq + 1));
  }
  return params;
}

}  // namespace enclave::data
