#include "text/regex.h"

#include <oniguruma.h>

#include <algorithm>
#include <mutex>

#include "core/error.h"
#include "text/utf8.h"

namespace enclave {

namespace {

std::mutex& onig_new_mutex() {
  static std::mutex m;
  return m;
}

std::string onig_message(int code, OnigErrorInfo* info) {
  OnigUChar buffer[ONIG_MAX_ERROR_MESSAGE_LEN];
  const int n = info != nullptr ? onig_error_code_to_str(buffer, code, info)
                                : onig_error_code_to_str(buffer, code);
  return std::string(reinterpret_cast<const char*>(buffer),
                     n > 0 ? static_cast<std::size_t>(n) : 0);
}

struct MatchParamDeleter {
  void operator()(OnigMatchParam* p) const { onig_free_match_param(p); }
};

// Frees the region's arrays (not the struct, which lives on the stack).
struct RegionGuard {
  OnigRegion region;
  RegionGuard() { onig_region_init(&region); }
  ~RegionGuard() { onig_region_free(&region, /*free_self=*/0); }
  RegionGuard(const RegionGuard&) = delete;
  RegionGuard& operator=(const RegionGuard&) = delete;
};

}  // namespace

struct Regex::Compiled {
  OnigRegex reg = nullptr;
  ~Compiled() {
    if (reg != nullptr) onig_free(reg);
  }
};

Regex::Regex(std::string_view pattern, std::string origin)
    : compiled_(std::make_unique<Compiled>()), pattern_(pattern), origin_(std::move(origin)) {
  const auto* begin = reinterpret_cast<const OnigUChar*>(pattern_.data());
  OnigErrorInfo info{};
  int code = ONIG_NORMAL;
  {
    const std::lock_guard<std::mutex> lock(onig_new_mutex());
    static const bool initialized = [] {
      OnigEncoding encodings[] = {ONIG_ENCODING_UTF8};
      return onig_initialize(encodings, 1) == ONIG_NORMAL;
    }();
    if (!initialized) fail(ErrorKind::kInternal, "Oniguruma failed to initialise");
    code = onig_new(&compiled_->reg, begin, begin + pattern_.size(), ONIG_OPTION_NONE,
                    ONIG_ENCODING_UTF8, ONIG_SYNTAX_DEFAULT, &info);
  }
  if (code != ONIG_NORMAL) {
    compiled_->reg = nullptr;
    fail_input("{}: regex '{}' does not compile: {}", origin_, pattern_, onig_message(code, &info));
  }
}

Regex::~Regex() = default;
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;

std::vector<ByteRange> Regex::find_all(std::string_view text) const {
  // Oniguruma trusts the encoding: a truncated sequence could read past end.
  ENCLAVE_CHECK(is_valid_utf8(text));
  std::unique_ptr<OnigMatchParam, MatchParamDeleter> param(onig_new_match_param());
  if (param == nullptr) throw std::bad_alloc();
  onig_initialize_match_param(param.get());
  onig_set_retry_limit_in_match_of_match_param(param.get(), kRetryLimitInMatch);
  onig_set_retry_limit_in_search_of_match_param(
      param.get(), kRetryLimitInSearch + kRetryLimitPerByte * text.size());
  RegionGuard region;

  // An empty view may carry a null pointer; Oniguruma wants a real one.
  static constexpr char kEmpty[] = "";
  const auto* str = reinterpret_cast<const OnigUChar*>(text.empty() ? kEmpty : text.data());
  const OnigUChar* end = str + text.size();
  std::vector<ByteRange> out;
  // The onig crate's FindMatches: search on from the end of the last match;
  // after an empty match step one character on, and drop the first empty
  // match that follows a non-empty one.
  std::size_t last_end = 0;
  bool skip_next_empty = false;
  while (last_end <= text.size()) {
    onig_region_clear(&region.region);
    const int r = onig_search_with_param(compiled_->reg, str, end, str + last_end, end,
                                         &region.region, ONIG_OPTION_NONE, param.get());
    if (r == ONIG_MISMATCH) break;
    if (r < 0) {
      fail_input("{}: regex '{}' gave up at byte {} of a {}-byte text: {}", origin_, pattern_,
                 last_end, text.size(), onig_message(r, nullptr));
    }
    const auto first = static_cast<std::size_t>(region.region.beg[0]);
    const auto second = static_cast<std::size_t>(region.region.end[0]);
    last_end = second;
    if (first == second) {
      last_end += std::max<std::size_t>(1, utf8_sequence_length(text, last_end));
      if (skip_next_empty) {
        skip_next_empty = false;
        continue;
      }
    } else {
      skip_next_empty = true;
    }
    out.emplace_back(first, second);
  }
  return out;
}

}  // namespace enclave
