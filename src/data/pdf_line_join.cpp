#include "data/pdf_line_join.h"

#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>

#include "text/utf8.h"

namespace enclave::data::pdf {

namespace {

bool is_hangul(char32_t c) { return c >= 0xAC00 && c <= 0xD7A3; }
bool is_cjk(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3040 && c <= 0x30FF) ||
         (c >= 0x3400 && c <= 0x4DBF);
}
bool is_word_char(char32_t c) {
  return is_hangul(c) || is_cjk(c) || (c < 0x80 && std::isalnum(static_cast<int>(c))) ||
         (c >= 0xC0 && c < 0x2000);
}

std::vector<char32_t> code_points(std::string_view s) {
  std::vector<char32_t> out;
  for (std::size_t pos = 0; pos < s.size();) out.push_back(next_code_point(s, pos));
  return out;
}

std::string to_utf8(const std::vector<char32_t>& cps, std::size_t from, std::size_t to) {
  std::string out;
  for (std::size_t i = from; i < to; ++i) append_utf8(out, cps[i]);
  return out;
}

// The word with punctuation and footnote references trimmed from both ends
// ("(기관의,[^1]" -> "기관의").
std::string trim_word(std::string_view token) {
  while (token.ends_with("]") && token.rfind("[^") != std::string_view::npos)
    token = token.substr(0, token.rfind("[^"));
  const auto cps = code_points(token);
  std::size_t from = 0, to = cps.size();
  while (from < to && !is_word_char(cps[from])) ++from;
  while (to > from && !is_word_char(cps[to - 1])) --to;
  return to_utf8(cps, from, to);
}

std::string_view last_token(std::string_view text) {
  const std::size_t space = text.find_last_of(' ');
  return space == std::string_view::npos ? text : text.substr(space + 1);
}
std::string_view first_token(std::string_view text) {
  return text.substr(0, std::min(text.size(), text.find(' ')));
}

char32_t last_code_point(std::string_view s) {
  if (s.empty()) return 0;
  std::size_t start = s.size() - 1;
  while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
  return next_code_point(s, start);
}
char32_t first_code_point(std::string_view s) {
  std::size_t pos = 0;
  return s.empty() ? 0 : next_code_point(s, pos);
}

// The word without its longest particle or ending, or the word itself.
// "이" (subject particle, also "this") is stripped but never a whole word.
std::string strip_suffix(const std::string& w) {
  for (const std::string& e : korean_suffixes()) {
    if (w.size() > e.size() && w.ends_with(e)) return w.substr(0, w.size() - e.size());
  }
  if (w.size() > 3 && w.ends_with("\uC774")) return w.substr(0, w.size() - 3);
  return w;
}

// Native numerals before a counter ("두 건", "일곱 개") are separate words.
bool numeral_then_counter(const std::string& a, const std::string& b) {
  static const std::string_view kNumerals[] = {"한",   "두",   "세",   "네", "다섯", "여섯",
                                               "일곱", "여덟", "아홉", "열", "스무", "몇"};
  static const std::string_view kCounters[] = {"개",   "건", "명", "번",   "차례",
                                               "가지", "곳", "권", "마리", "시간"};
  const bool numeral = std::any_of(std::begin(kNumerals), std::end(kNumerals),
                                   [&](std::string_view n) { return a.ends_with(n); });
  return numeral && std::any_of(std::begin(kCounters), std::end(kCounters),
                                [&](std::string_view c) { return b.starts_with(c); });
}

bool has_digit(const std::string& w) {
  return std::any_of(w.begin(), w.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_suffix(const std::string& w) {
  const auto& all = korean_suffixes();
  return std::find(all.begin(), all.end(), w) != all.end();
}

std::unordered_set<std::string> load_word_list(const std::string& path) {
  std::unordered_set<std::string> words;
  std::ifstream in(path);
  if (!in) return words;
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status)) return words;
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    if (first) {  // hunspell's first line is the entry count
      first = false;
      if (!line.empty() && std::isdigit(static_cast<unsigned char>(line[0]))) continue;
    }
    const std::size_t slash = line.find('/');
    std::string word = line.substr(0, std::min(line.find_first_of("\t\r "), slash));
    if (word.empty() || !is_valid_utf8(word)) continue;
    icu::UnicodeString u = icu::UnicodeString::fromUTF8(word);
    status = U_ZERO_ERROR;
    icu::UnicodeString n = nfc->normalize(u, status);
    if (U_FAILURE(status)) continue;
    std::string out;
    n.toUTF8String(out);
    words.insert(std::move(out));
  }
  return words;
}

}  // namespace

const std::vector<std::string>& korean_suffixes() {
  static const std::vector<std::string> kSuffixes = [] {
    // Particles (조사) and verb/adjective endings (어미) that close a word.
    // Left out on purpose: syllables that are also common words on their own
    // ("이" this, "한" one, "그" that).
    std::vector<std::string> v = {
        "가",     "은",       "는",       "을",       "를",       "의",       "에",     "에서",
        "에게",   "께서",     "으로",     "로",       "와",       "과",       "도",     "만",
        "까지",   "부터",     "보다",     "처럼",     "이나",     "이다",     "입니다", "이며",
        "라고",   "이라고",   "마다",     "조차",     "한테",     "으로서",   "로서",   "으로써",
        "로써",   "에는",     "에도",     "에서는",   "에서도",   "과의",     "와의",   "으로의",
        "로의",   "들",       "들이",     "들은",     "들을",     "들의",     "들에",   "이고",
        "다",     "니다",     "습니다",   "합니다",   "됩니다",   "했다",     "한다",   "하다",
        "된다",   "되었다",   "하였다",   "했습니다", "있다",     "없다",     "였다",   "며",
        "으며",   "지만",     "는데",     "으면",     "하고",     "하며",     "하여",   "해서",
        "되어",   "되고",     "되는",     "하는",     "하기",     "되며",     "적인",   "적으로",
        "이었다", "였습니다", "있습니다", "없습니다", "하였으며", "되었으며", "했으며", "된",
        "도록",   "하도록",   "되도록",   "하였고",   "되었고",   "했고",     "였고",   "었고",
        "으나",   "하였으나", "되었으나", "거나",     "면서",     "하면서",   "에서의", "으로는",
        "로는",   "하였다",   "되었다",   "이었으며", "였으며",   "하게",     "되게",   "에게서"};
    std::stable_sort(v.begin(), v.end(), [](const std::string& a, const std::string& b) {
      return a.size() > b.size();
    });
    return v;
  }();
  return kSuffixes;
}

const std::unordered_set<std::string>& korean_word_list(const std::string& path) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<const std::unordered_set<std::string>>> lists;
  std::lock_guard lock(mu);
  auto& slot = lists[path];
  if (!slot) slot = std::make_unique<const std::unordered_set<std::string>>(load_word_list(path));
  return *slot;
}

LineJoiner::LineJoiner(std::string word_list_path) : word_list_path_(std::move(word_list_path)) {}

void LineJoiner::add_line(const std::vector<std::string>& words) {
  for (std::size_t i = 1; i + 1 < words.size(); ++i) {
    std::string w = trim_word(words[i]);
    if (!w.empty() && interior_.insert(std::move(w)).second) sorted_stale_ = true;
  }
}

bool LineJoiner::has_word_with_prefix(const std::string& prefix) {
  if (sorted_stale_) {
    sorted_.assign(interior_.begin(), interior_.end());
    std::sort(sorted_.begin(), sorted_.end());
    sorted_stale_ = false;
  }
  const auto it = std::lower_bound(sorted_.begin(), sorted_.end(), prefix);
  return it != sorted_.end() && it->starts_with(prefix);
}

bool LineJoiner::in_word_list(const std::string& w) {
  if (word_list_path_.empty()) return false;
  if (!word_list_) word_list_ = &korean_word_list(word_list_path_);
  return word_list_->count(w) > 0;
}

bool LineJoiner::korean_space(const std::string& a, const std::string& b,
                              std::string_view after_b) {
  if (a.empty() || b.empty()) return true;
  const std::string joined = a + b;
  if (is_word(joined)) return false;
  if (is_suffix(b)) return false;
  // A connective ending before an auxiliary verb ("남|지 않도록",
  // "하|게 되었다"): the ending closes the first part's word.
  static const std::string_view kConnectives[] = {"지", "게", "고", "기"};
  static const std::string_view kAuxiliaries[] = {"않", "못", "있", "말", "싶",
                                                  "되", "된", "하", "한", "했"};
  if (std::find(std::begin(kConnectives), std::end(kConnectives), b) != std::end(kConnectives) &&
      std::any_of(std::begin(kAuxiliaries), std::end(kAuxiliaries),
                  [&](std::string_view v) { return after_b.starts_with(v); }))
    return false;
  // "2회 실시", "24개 시스템": a number with its unit is a word of its own.
  if (has_digit(a) || numeral_then_counter(a, b)) return true;
  const std::string b_stem = strip_suffix(b);
  if (is_word(a) && (is_word(b) || is_word(b_stem))) return true;
  const auto b_cps = code_points(b);
  if (has_word_with_prefix(a + to_utf8(b_cps, 0, 1))) return false;
  if (in_word_list(a + b_stem) || in_word_list(joined)) return false;
  const std::string a_stem = strip_suffix(a);
  if ((in_word_list(a) || in_word_list(a_stem)) && in_word_list(b_stem)) return true;
  return a_stem != a && code_points(a).size() >= 2;
}

void LineJoiner::append(std::string& text, std::string_view next) {
  if (text.empty()) {
    text = next;
    return;
  }
  if (next.empty()) return;
  const char32_t before = last_code_point(text);
  const char32_t after = first_code_point(next);
  // Punctuation that closes what precedes it never follows a space.
  static const std::u32string_view kClosing = U",.;:!?)]}\u3001\u3002\u201D\u2019";
  if (kClosing.find(after) != std::u32string_view::npos) {
    text += next;
    return;
  }
  if (is_hangul(before) && is_hangul(after)) {
    const std::string a = trim_word(last_token(text));
    const std::string b = trim_word(first_token(next));
    const std::string_view rest = next.substr(std::min(next.size(), first_token(next).size() + 1));
    const bool space = korean_space(a, b, first_token(rest));
    ++(space ? stats_.korean_spaced : stats_.korean_joined);
    if (space) text += ' ';
    text += next;
    return;
  }
  if (is_cjk(before) || is_cjk(after)) {
    text += next;
    return;
  }
  const std::size_t n = text.size();
  if (before == U'-' && n >= 2 && std::isalpha(static_cast<unsigned char>(text[n - 2])) &&
      after < 0x80 && std::islower(static_cast<int>(after))) {
    const std::string head = trim_word(last_token(text));
    const std::string tail = trim_word(first_token(next));
    if (!is_word(head + "-" + tail)) text.pop_back();
    text += next;
    return;
  }
  text += ' ';
  text += next;
}

}  // namespace enclave::data::pdf
