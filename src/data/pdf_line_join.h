// Rejoining lines broken by typesetting. Korean typesetting (Hancom's
// default "break by character") breaks lines inside words, so a line break
// between two Hangul syllables is a space only when evidence says so:
//   1. the joined word occurs whole elsewhere in the document (its words
//      away from line ends are counted) -> no space;
//   2. the second part is a particle or ending on its own (조사/어미:
//      "를", "에서", "했다", "입니다"), or a connective ending before an
//      auxiliary verb ("지 않", "게 되") -> no space; a number or native
//      numeral with its counter ("2회", "일곱 개") -> space;
//   3. both parts occur as words elsewhere in the document -> space;
//   4. a word of the document starts with the joined prefix (the first part
//      and the next syllable: "기관" from "기" + "관에서") -> no space;
//   5. the Korean word list (hunspell-ko's stems) knows the joined stem ->
//      no space; it knows both stems (particles and endings stripped) ->
//      space;
//   6. otherwise a space when the first part ends in a particle or ending
//      and is at least two syllables, else no space.
// Latin text: an end-of-line hyphen before a lower-case letter is removed
// unless the document writes the word with its hyphen elsewhere ("well-
// known"); other breaks are spaces. Breaks next to CJK ideographs or kana
// join without a space.
// Internal to the PDF layout. Thread safety: the word list is loaded once per path, under a lock.
// One LineJoiner belongs to one document and one thread.
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace enclave::data::pdf {

// The stems of a hunspell .dic file (flags dropped, NFC). Empty when the
// file cannot be read. Loaded once per path for the process.
const std::unordered_set<std::string>& korean_word_list(const std::string& path);

class LineJoiner {
 public:
  // `word_list_path`: see korean_word_list; "" for none.
  explicit LineJoiner(std::string word_list_path = "");

  // Counts the words of one printed line: words away from its ends count as
  // evidence of whole words.
  void add_line(const std::vector<std::string>& words);

  // Appends `next` (the following line) to `text` with the separator the
  // evidence above decides ("", " ", or dropping a hyphen). Call after every
  // add_line.
  void append(std::string& text, std::string_view next);

  struct Stats {
    int korean_joined = 0;  // Hangul breaks joined without a space
    int korean_spaced = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  // a: the last word before the break, b: the first after it, after_b: the
  // word following b.
  bool korean_space(const std::string& a, const std::string& b, std::string_view after_b);
  bool is_word(const std::string& w) const { return interior_.count(w) > 0; }
  bool has_word_with_prefix(const std::string& prefix);
  bool in_word_list(const std::string& w);

  std::string word_list_path_;
  const std::unordered_set<std::string>* word_list_ = nullptr;  // loaded on first need
  std::unordered_set<std::string> interior_;                    // words seen away from line ends
  std::vector<std::string> sorted_;  // interior_ sorted, built on first need
  bool sorted_stale_ = true;
  Stats stats_;
};

// The particles and endings the joiner knows, longest first (for tests).
const std::vector<std::string>& korean_suffixes();

}  // namespace enclave::data::pdf
