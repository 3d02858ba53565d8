#include "data/text_stats.h"

#include <unicode/uchar.h>
#include <xxhash.h>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "text/script.h"
#include "text/utf8.h"

namespace enclave::data {

namespace {

bool is_space(char32_t c) {
  if (c < 0x80) return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
  return u_isUWhiteSpace(static_cast<UChar32>(c));
}

bool is_digit(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  return u_isdigit(static_cast<UChar32>(c));
}

bool is_symbol(char32_t c) {
  if (c == '#') return true;
  const auto mask = U_GET_GC_MASK(static_cast<UChar32>(c));
  return (mask & U_GC_S_MASK) != 0;
}

bool is_bullet(char32_t c) {
  switch (c) {
    case 0x2022:
    case 0x25CF:
    case 0x25CB:
    case 0x25E6:
    case 0x25AA:
    case 0x25AB:
    case 0x25A0:
    case 0x25A1:
    case 0x2023:
    case 0x2043:
    case 0x2013:
    case '-':
    case '*':
    case 0x00B7:
      return true;
    default:
      return false;
  }
}

std::uint64_t hash_bytes(std::string_view s) { return XXH3_64bits(s.data(), s.size()); }

std::int64_t count_code_points(std::string_view s) {
  std::int64_t n = 0;
  for (char ch : s) n += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
  return n;
}

// A Markdown table row: starts and ends with '|' (spaces trimmed).
bool is_table_row(std::string_view line) {
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r' || line.back() == '\t'))
    line.remove_suffix(1);
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  return line.size() >= 2 && line.front() == '|' && line.back() == '|' &&
         line[line.size() - 2] != '\\';
}

// A table's rule row: | --- | :---: |.
bool is_rule_row(std::string_view line) {
  return line.find('-') != std::string_view::npos &&
         line.find_first_not_of("|-: \t\r") == std::string_view::npos;
}

// Lines (or paragraphs) equal to an earlier one: count and characters.
// Table rows are never duplicate lines (skip_table_rows).
void count_duplicate_blocks(std::string_view text, std::string_view separator, bool skip_table_rows,
                            std::int64_t* n_blocks, std::int64_t* n_dup,
                            std::int64_t* n_dup_chars) {
  std::unordered_set<std::uint64_t> seen;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find(separator, pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view block = text.substr(pos, end - pos);
    while (!block.empty() && (block.front() == ' ' || block.front() == '\n'))
      block.remove_prefix(1);
    while (!block.empty() && (block.back() == ' ' || block.back() == '\n' || block.back() == '\r'))
      block.remove_suffix(1);
    if (!block.empty() && !(skip_table_rows && is_table_row(block))) {
      ++*n_blocks;
      if (!seen.insert(hash_bytes(block)).second) {
        ++*n_dup;
        *n_dup_chars += count_code_points(block);
      }
    }
    pos = end + separator.size();
  }
}

std::uint64_t ngram_hash(const std::vector<std::uint64_t>& words, std::size_t start,
                         std::size_t n) {
  std::uint64_t h = 0x9E3779B97F4A7C15ull * (n + 1);
  for (std::size_t k = 0; k < n; ++k) h = (h ^ words[start + k]) * 0x100000001B3ull + (h >> 29);
  return h;
}

void ngram_stats(const std::vector<std::uint64_t>& words, const std::vector<std::int64_t>& lengths,
                 TextStats& stats) {
  const std::size_t w = words.size();
  auto ngram_chars = [&](std::size_t start, std::size_t n) {
    std::int64_t c = 0;
    for (std::size_t k = 0; k < n; ++k) c += lengths[start + k];
    return c;
  };
  for (std::size_t n = 2; n <= 4; ++n) {
    if (w < n) break;
    std::unordered_map<std::uint64_t, std::pair<std::int64_t, std::size_t>>
        counts;  // hash -> (count, first)
    counts.reserve(w);
    std::int64_t best = 0;
    std::size_t best_start = 0;
    for (std::size_t i = 0; i + n <= w; ++i) {
      auto [it, inserted] = counts.try_emplace(ngram_hash(words, i, n), 0, i);
      if (++it->second.first > best) {
        best = it->second.first;
        best_start = it->second.second;
      }
    }
    if (best > 1) stats.top_ngram_chars[n - 2] = best * ngram_chars(best_start, n);
  }
  for (std::size_t n = 5; n <= 10; ++n) {
    if (w < n) break;
    std::unordered_set<std::uint64_t> seen;
    seen.reserve(w);
    std::int64_t repeated = 0;
    std::size_t i = 0;
    while (i + n <= w) {
      if (!seen.insert(ngram_hash(words, i, n)).second) {
        repeated += ngram_chars(i, n);
        i += n;
      } else {
        ++i;
      }
    }
    stats.dup_ngram_chars[n - 5] = repeated;
  }
}

}  // namespace

TextStats compute_text_stats(std::string_view text) {
  TextStats stats;
  std::vector<std::uint64_t> word_hashes;
  std::vector<std::int64_t> word_lengths;
  std::size_t pos = 0;
  std::size_t word_start = 0;
  std::int64_t word_len = 0;
  bool word_has_letter = false;
  bool word_is_table_rule = true;  // only | - : so far: Markdown table syntax, not a word
  bool line_start = true;          // no non-space seen on this line yet
  bool table_row = false;          // this line is a Markdown table row
  bool rule_row = false;           // ... its rule row: nothing in it is measured
  std::size_t line_last = 0;       // end of the last non-space code point on this line
  std::size_t line_begin = 0;      // start of its first non-space code point
  auto end_line = [&] {
    if (line_start || rule_row) return;
    ++stats.n_lines;
    if (table_row) {
      ++stats.n_table_rows;
      return;
    }
    std::string_view line = text.substr(line_begin, line_last - line_begin);
    if (line.ends_with("...") || line.ends_with("\u2026")) ++stats.n_ellipsis_lines;
  };
  auto end_word = [&](std::size_t end) {
    if (word_len == 0) return;
    // Pipes and rules in prose ("a | b") are table syntax too, not words.
    if (word_is_table_rule) {
      word_len = 0;
      word_has_letter = false;
      return;
    }
    ++stats.n_words;
    if (table_row) {
      ++stats.n_table_words;
    } else {
      stats.n_word_chars += word_len;
      stats.n_alpha_words += word_has_letter;
      word_hashes.push_back(hash_bytes(text.substr(word_start, end - word_start)));
      word_lengths.push_back(word_len);
    }
    word_len = 0;
    word_has_letter = false;
  };
  while (pos < text.size()) {
    const std::size_t start = pos;
    const char32_t c = next_code_point(text, pos);
    ++stats.n_chars;
    if (is_space(c)) {
      end_word(start);
      if (c == '\n') {
        end_line();
        line_start = true;
        table_row = rule_row = false;
      }
      continue;
    }
    if (line_start) {
      const std::size_t eol = std::min(text.find('\n', start), text.size());
      const std::string_view line = text.substr(start, eol - start);
      table_row = is_table_row(line);
      rule_row = table_row && is_rule_row(line);
    }
    if (rule_row) {
      line_start = false;
      continue;
    }
    // A cell separator ends a word; an escaped pipe (\|) is cell text.
    if (table_row && c == '|' && (start == 0 || text[start - 1] != '\\')) {
      end_word(start);
      line_start = false;
      continue;
    }
    if (!table_row) ++stats.n_non_space;
    if (word_len == 0) {
      word_start = start;
      word_is_table_rule = true;
    }
    if (c != '|' && c != '-' && c != ':') word_is_table_rule = false;
    ++word_len;
    if (line_start) {
      line_start = false;
      line_begin = start;
      if (is_bullet(c)) ++stats.n_bullet_lines;
    }
    line_last = pos;
    if (is_script_letter(c)) {
      ++stats.n_letters;
      word_has_letter = true;
      ++stats.n_script_letters[static_cast<int>(script_of(c))];
    } else if (table_row) {
      // Figures, units and marks are what cells hold.
    } else if (is_digit(c)) {
      ++stats.n_digits;
    } else if (is_symbol(c)) {
      ++stats.n_symbols;
    }
  }
  end_word(text.size());
  end_line();
  std::int64_t unused = 0;
  count_duplicate_blocks(text, "\n", /*skip_table_rows=*/true, &unused, &stats.n_dup_lines,
                         &stats.n_dup_line_chars);
  count_duplicate_blocks(text, "\n\n", /*skip_table_rows=*/false, &stats.n_paragraphs,
                         &stats.n_dup_paragraphs, &stats.n_dup_paragraph_chars);
  ngram_stats(word_hashes, word_lengths, stats);
  return stats;
}

}  // namespace enclave::data
