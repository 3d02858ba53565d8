// The pre-tokenizer regexes of GPT-2, Llama 3 and Qwen2, as hand-written
// matchers over code points. Hugging Face runs them with Oniguruma; RE2
// cannot express their `\s+(?!\S)` lookahead, so we recognise the three
// known patterns by their exact text and reproduce the regex semantics
// (leftmost match, first alternative that matches, greedy with
// backtracking) alternative by alternative.
// Thread safety: stateless; safe from any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace enclave {

enum class SplitPattern {
  kGpt2,    // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  kLlama3,  // (?i:'s|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
            // ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
  kQwen2,   // as Llama 3 with \p{N} (one digit at a time)
};

// The pattern's source text exactly as tokenizer.json writes it.
std::string_view split_pattern_regex(SplitPattern pattern);

// nullopt for any regex other than the three known ones.
std::optional<SplitPattern> recognize_split_pattern(std::string_view regex);

// All non-overlapping matches of the pattern in text (valid UTF-8), as byte
// ranges [first, second) in order. The three patterns match every
// character, so the ranges tile the text.
std::vector<std::pair<std::size_t, std::size_t>> find_split_matches(SplitPattern pattern,
                                                                    std::string_view text);

}  // namespace enclave
