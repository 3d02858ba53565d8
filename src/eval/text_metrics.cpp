#include "eval/text_metrics.h"

#include <re2/re2.h>

#include <algorithm>
#include <map>

#include "core/error.h"
#include "eval/unicode_ops.h"

namespace enclave::eval {
namespace {

std::unique_ptr<re2::RE2> compile(std::string_view pattern, std::string_view what) {
  re2::RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_unique<re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok()) fail_input("{}: regex '{}': {}", what, pattern, re->error());
  return re;
}

template <typename T>
std::map<T, int> counts_of(const std::vector<T>& items) {
  std::map<T, int> counts;
  for (const T& item : items) ++counts[item];
  return counts;
}

}  // namespace

void check_match_options(const MatchOptions& options, std::string_view what) {
  for (const std::string& pattern : options.regexes_to_ignore) compile(pattern, what);
}

std::string normalize_for_match(std::string_view text, const MatchOptions& options) {
  std::string out(text);
  for (const std::string& pattern : options.regexes_to_ignore) {
    re2::RE2::GlobalReplace(&out, *compile(pattern, "regexes_to_ignore"), "");
  }
  if (options.ignore_case) out = to_lower(out);
  if (options.ignore_punctuation) out = remove_punctuation(out);
  if (options.ignore_whitespace) out = remove_whitespace(out);
  return out;
}

double exact_match(std::string_view answer, std::string_view reference,
                   const MatchOptions& options) {
  return normalize_for_match(answer, options) == normalize_for_match(reference, options) ? 1.0
                                                                                         : 0.0;
}

double contains_match(std::string_view answer, std::string_view reference,
                      const MatchOptions& options) {
  return normalize_for_match(answer, options).find(normalize_for_match(reference, options)) !=
                 std::string::npos
             ? 1.0
             : 0.0;
}

double regex_match(std::string_view answer, std::string_view pattern) {
  auto re = compile(pattern, "regex metric");
  return re2::RE2::PartialMatch(re2::StringPiece(answer.data(), answer.size()), *re) ? 1.0 : 0.0;
}

std::vector<std::string> squad_tokens(std::string_view text) {
  std::vector<std::string> out;
  for (std::string& word : split_whitespace(remove_punctuation(to_lower(text)))) {
    if (word != "a" && word != "an" && word != "the") out.push_back(std::move(word));
  }
  return out;
}

double token_f1(std::string_view answer, std::string_view reference) {
  std::vector<std::string> a = squad_tokens(answer);
  std::vector<std::string> r = squad_tokens(reference);
  // SQuAD: when either side has no tokens, F1 is 1 only if both have none.
  if (a.empty() || r.empty()) return a.empty() && r.empty() ? 1.0 : 0.0;
  std::map<std::string, int> ca = counts_of(a);
  std::map<std::string, int> cr = counts_of(r);
  int same = 0;
  for (const auto& [word, n] : ca) {
    auto it = cr.find(word);
    if (it != cr.end()) same += std::min(n, it->second);
  }
  if (same == 0) return 0.0;
  const double precision = static_cast<double>(same) / static_cast<double>(a.size());
  const double recall = static_cast<double>(same) / static_cast<double>(r.size());
  return 2 * precision * recall / (precision + recall);
}

double rouge_l(std::string_view answer, std::string_view reference) {
  std::vector<std::string> a = word_tokens(to_lower(answer));
  std::vector<std::string> r = word_tokens(to_lower(reference));
  if (a.empty() || r.empty()) return 0.0;  // as rouge_score does
  // Longest common subsequence, two rows of the table at a time.
  std::vector<std::size_t> prev(r.size() + 1, 0);
  std::vector<std::size_t> cur(r.size() + 1, 0);
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= r.size(); ++j) {
      cur[j] = a[i - 1] == r[j - 1] ? prev[j - 1] + 1 : std::max(prev[j], cur[j - 1]);
    }
    std::swap(prev, cur);
  }
  const double lcs = static_cast<double>(prev[r.size()]);
  if (lcs == 0) return 0.0;
  const double precision = lcs / static_cast<double>(a.size());
  const double recall = lcs / static_cast<double>(r.size());
  return 2 * precision * recall / (precision + recall);
}

double chrf(std::string_view answer, std::string_view reference) {
  // sacrebleu CHRF(char_order=6, word_order=0, beta=2), sentence level:
  // precision and recall averaged over the orders both sides are long
  // enough for ("effective order"), then F-beta.
  constexpr int kOrder = 6;
  constexpr double kBeta = 2.0;
  const std::u32string a = to_code_points(remove_whitespace(answer));
  const std::u32string r = to_code_points(remove_whitespace(reference));
  const double factor = kBeta * kBeta;
  double avg_precision = 0;
  double avg_recall = 0;
  int effective_order = 0;
  for (int n = 1; n <= kOrder; ++n) {
    auto ngrams = [n](const std::u32string& s) {
      std::map<std::u32string, int> counts;
      for (std::size_t i = 0; i + n <= s.size(); ++i) ++counts[s.substr(i, n)];
      return counts;
    };
    const auto ca = ngrams(a);
    const auto cr = ngrams(r);
    const double n_hyp =
        a.size() >= static_cast<std::size_t>(n) ? static_cast<double>(a.size() - n + 1) : 0;
    const double n_ref =
        r.size() >= static_cast<std::size_t>(n) ? static_cast<double>(r.size() - n + 1) : 0;
    double n_match = 0;
    for (const auto& [gram, count] : ca) {
      auto it = cr.find(gram);
      if (it != cr.end()) n_match += std::min(count, it->second);
    }
    if (n_hyp > 0 && n_ref > 0) {
      avg_precision += n_match / n_hyp;
      avg_recall += n_match / n_ref;
      ++effective_order;
    }
  }
  if (effective_order == 0) return 0.0;
  avg_precision /= effective_order;
  avg_recall /= effective_order;
  if (avg_precision + avg_recall == 0) return 0.0;
  return (1 + factor) * avg_precision * avg_recall / (factor * avg_precision + avg_recall);
}

}  // namespace enclave::eval
