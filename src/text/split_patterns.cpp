#include "text/split_patterns.h"

#include <oniguruma.h>

#include "core/error.h"
#include "text/utf8.h"

namespace enclave {

namespace {

constexpr std::string_view kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr std::string_view kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// \p{L}, \p{N} and \s from Oniguruma's own Unicode tables (which may be a
// version behind ICU's), so the matchers and the regex engine agree on every
// code point.
struct OnigClasses {
  OnigCtype letter;
  OnigCtype number;
};

const OnigClasses& onig_classes() {
  static const OnigClasses classes = [] {
    auto ctype = [](std::string_view name) {
      auto* p = reinterpret_cast<OnigUChar*>(const_cast<char*>(name.data()));
      const int c = ONIGENC_PROPERTY_NAME_TO_CTYPE(ONIG_ENCODING_UTF8, p, p + name.size());
      ENCLAVE_CHECK(c >= 0);
      return static_cast<OnigCtype>(c);
    };
    return OnigClasses{ctype("L"), ctype("N")};
  }();
  return classes;
}

bool is_letter(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  return ONIGENC_IS_CODE_CTYPE(ONIG_ENCODING_UTF8, c, onig_classes().letter) != 0;
}

bool is_number(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  return ONIGENC_IS_CODE_CTYPE(ONIG_ENCODING_UTF8, c, onig_classes().number) != 0;
}

bool is_white_space(char32_t c) {
  if (c < 0x80) return c == ' ' || (c >= '\t' && c <= '\r');
  return ONIGENC_IS_CODE_CTYPE(ONIG_ENCODING_UTF8, c, ONIGENC_CTYPE_SPACE) != 0;
}

bool is_cr_or_lf(char32_t c) { return c == '\r' || c == '\n'; }

// [^\s\p{L}\p{N}]
bool is_other(char32_t c) { return !is_white_space(c) && !is_letter(c) && !is_number(c); }

// (?i:...) on the contractions' letters: ASCII case, and the long s, the one
// other code point Unicode case folding maps to one of them.
char32_t fold(char32_t c, bool ignore_case) {
  if (!ignore_case) return c;
  if (c == 0x017F) return 's';
  return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

// One pass of the matcher over a code-point array; each function returns the
// length (in code points) of its alternative's match at i, 0 for no match.
class Matcher {
 public:
  explicit Matcher(const std::vector<char32_t>& cps) : cps_(cps), n_(cps.size()) {}

  // 's|'t|'re|'ve|'m|'ll|'d, optionally case-insensitive.
  std::size_t contraction(std::size_t i, bool ignore_case) const {
    if (cps_[i] != '\'' || i + 1 >= n_) return 0;
    const char32_t a = fold(cps_[i + 1], ignore_case);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if (i + 2 >= n_) return 0;
    const char32_t b = fold(cps_[i + 2], ignore_case);
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    return 0;
  }

  // ` ?X+` where X never matches a space: the space is taken only when X follows.
  template <typename Pred>
  std::size_t optional_space_run(std::size_t i, Pred pred) const {
    std::size_t j = i;
    if (cps_[j] == ' ' && j + 1 < n_ && pred(cps_[j + 1])) {
      ++j;
    } else if (!pred(cps_[j])) {
      return 0;
    }
    while (j < n_ && pred(cps_[j])) ++j;
    return j - i;
  }

  std::size_t white_space_run(std::size_t i) const {
    std::size_t j = i;
    while (j < n_ && is_white_space(cps_[j])) ++j;
    return j - i;
  }

  // \s+(?!\S): the run, less its last character when a non-space follows.
  std::size_t spaces_not_before_word(std::size_t i) const {
    const std::size_t run = white_space_run(i);
    if (run == 0) return 0;
    if (i + run == n_) return run;
    return run - 1;
  }

  // [^\r\n\p{L}\p{N}]?\p{L}+
  std::size_t letters_with_prefix(std::size_t i) const {
    std::size_t j = i;
    if (!is_letter(cps_[j])) {
      if (is_cr_or_lf(cps_[j]) || is_number(cps_[j]) || j + 1 >= n_ || !is_letter(cps_[j + 1]))
        return 0;
      ++j;
    }
    while (j < n_ && is_letter(cps_[j])) ++j;
    return j - i;
  }

  // \p{N}{1,max}
  std::size_t numbers(std::size_t i, std::size_t max) const {
    std::size_t j = i;
    while (j < n_ && j - i < max && is_number(cps_[j])) ++j;
    return j - i;
  }

  // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
  std::size_t punctuation_then_newlines(std::size_t i) const {
    std::size_t len = optional_space_run(i, is_other);
    if (len == 0) return 0;
    while (i + len < n_ && is_cr_or_lf(cps_[i + len])) ++len;
    return len;
  }

  // \s*[\r\n]+: greedy \s* backs off to the last CR/LF of the whitespace run.
  std::size_t spaces_to_last_newline(std::size_t i) const {
    const std::size_t run = white_space_run(i);
    for (std::size_t k = run; k > 0; --k) {
      if (is_cr_or_lf(cps_[i + k - 1])) return k;
    }
    return 0;
  }

  std::size_t gpt2(std::size_t i) const {
    if (std::size_t n = contraction(i, /*ignore_case=*/false)) return n;
    if (std::size_t n = optional_space_run(i, is_letter)) return n;
    if (std::size_t n = optional_space_run(i, is_number)) return n;
    if (std::size_t n = optional_space_run(i, is_other)) return n;
    if (std::size_t n = spaces_not_before_word(i)) return n;
    return white_space_run(i);
  }

  std::size_t llama3(std::size_t i, std::size_t max_digits) const {
    if (std::size_t n = contraction(i, /*ignore_case=*/true)) return n;
    if (std::size_t n = letters_with_prefix(i)) return n;
    if (std::size_t n = numbers(i, max_digits)) return n;
    if (std::size_t n = punctuation_then_newlines(i)) return n;
    if (std::size_t n = spaces_to_last_newline(i)) return n;
    if (std::size_t n = spaces_not_before_word(i)) return n;
    return white_space_run(i);
  }

 private:
  const std::vector<char32_t>& cps_;
  std::size_t n_;
};

}  // namespace

std::string_view split_pattern_regex(SplitPattern pattern) {
  switch (pattern) {
    case SplitPattern::kGpt2:
      return kGpt2Regex;
    case SplitPattern::kLlama3:
      return kLlama3Regex;
    case SplitPattern::kQwen2:
      return kQwen2Regex;
  }
  return {};
}

std::optional<SplitPattern> recognize_split_pattern(std::string_view regex) {
  for (SplitPattern p : {SplitPattern::kGpt2, SplitPattern::kLlama3, SplitPattern::kQwen2}) {
    if (regex == split_pattern_regex(p)) return p;
  }
  return std::nullopt;
}

std::vector<std::pair<std::size_t, std::size_t>> find_split_matches(SplitPattern pattern,
                                                                    std::string_view text) {
  const CodePoints cp = decode_code_points(text);
  const Matcher matcher(cp.cps);
  std::vector<std::pair<std::size_t, std::size_t>> out;
  for (std::size_t i = 0; i < cp.cps.size();) {
    std::size_t len = 0;
    switch (pattern) {
      case SplitPattern::kGpt2:
        len = matcher.gpt2(i);
        break;
      case SplitPattern::kLlama3:
        len = matcher.llama3(i, 3);
        break;
      case SplitPattern::kQwen2:
        len = matcher.llama3(i, 1);
        break;
    }
    // Every character is matched by some alternative; guard anyway so a gap
    // can never loop forever.
    if (len == 0) len = 1;
    out.emplace_back(cp.offsets[i], cp.offsets[i + len]);
    i += len;
  }
  return out;
}

}  // namespace enclave
