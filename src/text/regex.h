// Regex: a tokenizer.json "Regex" pattern compiled once with Oniguruma, the
// engine Hugging Face `tokenizers` runs them on, with the same settings as
// its onig crate's `Regex::new`: UTF-8, ONIG_OPTION_NONE, ONIG_SYNTAX_DEFAULT
// (Unicode classes such as \p{L} \p{N} \p{Lu}, look-ahead (?!\S), inline
// flags (?i:...)). find_all() enumerates matches as the crate's `find_iter`
// does, so Split pre-tokenizers cut text exactly where Hugging Face cuts it.
//
// Backtracking is capped so a hostile pattern cannot hang us: one match
// attempt gives up after kRetryLimitInMatch backtracking steps (Oniguruma's
// default, so Hugging Face fails on the same inputs), one search after
// kRetryLimitInSearch plus kRetryLimitPerByte per byte searched (a search
// that finds nothing costs about one step per byte). A find_all therefore
// costs at most (matches + 1) such searches; giving up is an Error.
//
// Thread safety: a Regex is immutable after construction; find_all() is
// const and safe from many threads at once. Each call searches with its own
// OnigRegion and OnigMatchParam; Oniguruma only reads the compiled regex
// while searching (Hugging Face shares one across its rayon threads the same
// way). Construction takes a process-wide lock, since onig_new and the
// library's one-time initialisation are not safe to run concurrently.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace enclave {

using ByteRange = std::pair<std::size_t, std::size_t>;  // [first, second)

class Regex {
 public:
  static constexpr unsigned long kRetryLimitInMatch = 10'000'000;
  static constexpr unsigned long kRetryLimitInSearch = 10'000'000;
  static constexpr unsigned long kRetryLimitPerByte = 64;

  // Compiles `pattern`. `origin` says where it came from and prefixes every
  // error ("tokenizer.json: field 'pre_tokenizer.pattern.Regex'"). Throws
  // Error(kInvalidInput) "<origin>: regex '<pattern>' does not compile:
  // <Oniguruma's message>".
  Regex(std::string_view pattern, std::string origin);
  ~Regex();
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Every match in text (valid UTF-8: Oniguruma does not check), in order,
  // as byte ranges. Matches never overlap; a match may be empty (`\s*`
  // matches between characters), but as in the onig crate the first empty
  // match found after a non-empty one is skipped. Look-ahead and \b see the
  // whole text. Throws Error(kInvalidInput) naming origin and pattern when a
  // retry limit is reached.
  std::vector<ByteRange> find_all(std::string_view text) const;

  const std::string& pattern() const { return pattern_; }

 private:
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
  std::string pattern_;
  std::string origin_;
};

}  // namespace enclave
