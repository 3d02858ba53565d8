// The pre-tokenizer regexes of GPT-2, Llama 3 and Qwen2 as hand-written
// matchers over code points: a fast path for the three most common
// tokenizer.json patterns, 5-8x faster than running them on Oniguruma
// (regex.h), which makes whole encodes 1.3-1.6x faster. They reproduce the
// regex semantics (leftmost match, first alternative that matches, greedy
// with backtracking) alternative by alternative, with Oniguruma's own
// Unicode tables for \p{L} \p{N} \s; split_patterns_test.cpp checks them
// against Oniguruma on every code point and on random text. Every other
// pattern runs on Oniguruma.
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

// The pattern whose source text is exactly `regex`; nullopt for any other.
std::optional<SplitPattern> recognize_split_pattern(std::string_view regex);

// All non-overlapping matches of the pattern in text (valid UTF-8), as byte
// ranges [first, second) in order. The three patterns match every
// character, so the ranges tile the text.
std::vector<std::pair<std::size_t, std::size_t>> find_split_matches(SplitPattern pattern,
                                                                    std::string_view text);

}  // namespace enclave
