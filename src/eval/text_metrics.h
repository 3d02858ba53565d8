// Per-document scores of a generated answer against a reference, as
// lm-evaluation-harness and the usual scorers define them. Every score is
// in [0, 1]; 1 is a perfect answer.
//   exact_match  equality after the MatchOptions normalisations (HF evaluate's
//                exact_match: regexes removed first, then case, punctuation)
//   contains     the (normalised) reference occurs in the (normalised) answer
//   regex        an RE2 pattern matches somewhere in the answer
//   token_f1     SQuAD F1: bag-of-words overlap after lowercasing and removing
//                punctuation and English articles
//   rouge_l      ROUGE-L F1 over word tokens (longest common subsequence)
//   chrf         sacrebleu's sentence chrF (character 6-grams, beta 2,
//                whitespace ignored) divided by 100
// Thread safety: stateless; safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace enclave::eval {

struct MatchOptions {
  bool ignore_case = false;
  bool ignore_punctuation = false;
  bool ignore_whitespace = false;              // removes all whitespace before comparing
  std::vector<std::string> regexes_to_ignore;  // RE2 patterns removed first
};

// Throws Error(kInvalidInput) naming `what` if a regex does not compile.
void check_match_options(const MatchOptions& options, std::string_view what);

std::string normalize_for_match(std::string_view text, const MatchOptions& options);
double exact_match(std::string_view answer, std::string_view reference,
                   const MatchOptions& options);
double contains_match(std::string_view answer, std::string_view reference,
                      const MatchOptions& options);
// Throws Error(kInvalidInput) for a pattern RE2 rejects.
double regex_match(std::string_view answer, std::string_view pattern);
double token_f1(std::string_view answer, std::string_view reference);
double rouge_l(std::string_view answer, std::string_view reference);
double chrf(std::string_view answer, std::string_view reference);

// SQuAD's answer normalisation (lowercase, no punctuation, no a/an/the,
// single spaces), split into words.
std::vector<std::string> squad_tokens(std::string_view text);

}  // namespace enclave::eval
