// Quality filter: heuristic rules that drop documents unlikely to be useful
// training text, after Gopher (Rae et al. 2021, appendix A) and the rules
// datatrove and NeMo Curator ship. Each rule has a name that reports count
// removals under; a document is removed by the first rule it fails, in the
// order listed in FilterConfig. A threshold left unset turns its rule off.
// Markdown table rows are measured as tables (text_stats.h): the ratios of
// symbols, digits, word length, letter words and repetition are the prose's;
// word counts include the cells.
//
//   rule                      measures (TextStats)                 default
//   min_chars / max_chars     code points                           - / -
//   min_words / max_words     whitespace-separated words            - / -
//   mean_word_length          mean word length in code points       [2, 10]
//   symbol_ratio              symbols (S*, '#') / non-space chars   <= 0.2
//   digit_ratio               digits / non-space chars              <= 0.4
//   alpha_words               words with a letter / words           >= 0.6
//   script_min:<s>/script_max:<s>  letters of script s / letters    -
//                             (s: a name of text/script.h, e.g. hangul)
//   bullet_lines              lines starting with a bullet / lines  <= 0.9
//   ellipsis_lines            lines ending in ... or … / lines      <= 0.3
//   repeated_lines            duplicate lines / lines               <= 0.3
//   repeated_line_chars       chars in duplicate lines / chars      <= 0.2
//   repeated_paragraphs       duplicate paragraphs / paragraphs     <= 0.3
//   repeated_paragraph_chars  chars in duplicate paragraphs / chars <= 0.2
//   top_ngram:<n>             top n-gram chars / word chars, n=2..4 <= 0.20, 0.18, 0.16
//   duplicate_ngram:<n>       repeated n-gram chars, n=5..10        <= 0.15 .. 0.10
//   required_words            distinct listed words present         >= min_required_words
//   blocked_words             listed words present (any count)      <= max_blocked_words
// Thread safety: a FilterConfig is immutable once built; check_quality is
// safe from any thread.
#pragma once

#include <array>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "data/text_stats.h"

namespace enclave::data {

struct FilterConfig {
  std::optional<double> min_chars, max_chars;
  std::optional<double> min_words, max_words;
  std::optional<double> min_mean_word_length = 2, max_mean_word_length = 10;
  std::optional<double> max_symbol_ratio = 0.2;
  std::optional<double> max_digit_ratio = 0.4;
  std::optional<double> min_alpha_words = 0.6;
  std::map<Script, double> script_min, script_max;
  std::optional<double> max_bullet_lines = 0.9;
  std::optional<double> max_ellipsis_lines = 0.3;
  std::optional<double> max_repeated_lines = 0.3;
  std::optional<double> max_repeated_line_chars = 0.2;
  std::optional<double> max_repeated_paragraphs = 0.3;
  std::optional<double> max_repeated_paragraph_chars = 0.2;
  std::array<std::optional<double>, 3> max_top_ngram{0.20, 0.18, 0.16};
  std::array<std::optional<double>, 6> max_duplicate_ngram{0.15, 0.14, 0.13, 0.12, 0.11, 0.10};
  std::unordered_set<std::string> required_words;  // compared case-folded (ASCII)
  int min_required_words = 0;
  std::unordered_set<std::string> blocked_words;
  int max_blocked_words = 0;
};

// Builds a config from JSON params, starting from the defaults. Keys are the
// FilterConfig member names ("min_chars", "max_symbol_ratio"), a null value
// turns a rule off; "script_min"/"script_max" are objects {"hangul": 0.5};
// "max_top_ngram"/"max_duplicate_ngram" objects {"2": 0.2}; the word lists
// arrays of strings; "required_words_file"/"blocked_words_file" name files
// with one word per line. Throws Error(kInvalidInput) naming `what` and the
// key for an unknown key, a wrong type or a negative threshold.
FilterConfig filter_config_from_json(const nlohmann::json& params, std::string_view what);
// The effective config (every threshold, null where off), for reports.
nlohmann::json to_json(const FilterConfig& config);

// The name of the first rule text fails ("mean_word_length",
// "script_min:hangul", "top_ngram:3"), or "" if it passes.
std::string check_quality(std::string_view text, const FilterConfig& config);

// The same judgement on precomputed stats (words for the word-list rules
// come from text).
std::string check_quality(std::string_view text, const TextStats& stats,
                          const FilterConfig& config);

}  // namespace enclave::data
