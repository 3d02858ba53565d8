// TextStats: the measurements the quality filter judges a document by, all
// taken in one pass over its text. Words are runs of non-whitespace; lengths
// are in Unicode code points. Repetition follows Gopher (Rae et al. 2021,
// "Scaling Language Models", appendix A): the fraction of lines and
// paragraphs that repeat an earlier one (by count and by characters), the
// character fraction held by the most frequent 2-, 3- and 4-gram of words,
// and the character fraction of words inside 5- to 10-grams seen earlier.
// Scripts are counted over letters only (text/script.h).
//
// Markdown table rows (lines that start and end with '|', as ingest writes
// the tables of DOCX, HTML, PDF and HWP files) are measured as tables, not
// as prose: their cells' words and letters count (words, scripts), their
// pipes, rule rows (| --- |), digits and symbols do not, so a table of
// figures is neither "symbol soup" nor "digit noise"; rows are lines but
// never duplicate, bullet or ellipsis lines (a column of "있음" repeats by
// design), and their words take no part in word length or n-gram repetition.
// Thread safety: stateless; safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "text/script.h"

namespace enclave::data {

struct TextStats {
  std::int64_t n_chars = 0;        // code points
  std::int64_t n_words = 0;        // table cells' words included
  std::int64_t n_table_words = 0;  // words in table rows
  std::int64_t n_word_chars = 0;   // code points inside words outside tables
  std::int64_t n_non_space = 0;    // code points that are not whitespace, outside tables
  std::int64_t n_symbols = 0;      // Unicode symbols (S*) and '#', outside tables
  std::int64_t n_digits = 0;       // outside tables
  std::int64_t n_letters = 0;
  std::int64_t n_alpha_words = 0;  // words outside tables with at least one letter
  std::array<std::int64_t, kNumScripts> n_script_letters{};
  std::int64_t n_lines = 0;       // non-empty lines, table rows included, rule rows not
  std::int64_t n_table_rows = 0;  // of which Markdown table rows
  std::int64_t n_bullet_lines = 0;  // starting with a bullet: • ● ○ ◦ ▪ ▫ ■ □ ‣ ⁃ – - * ·
  std::int64_t n_ellipsis_lines = 0;  // ending with "..." or "…"
  std::int64_t n_dup_lines = 0;       // lines equal to an earlier line
  std::int64_t n_dup_line_chars = 0;
  std::int64_t n_paragraphs = 0;
  std::int64_t n_dup_paragraphs = 0;
  std::int64_t n_dup_paragraph_chars = 0;
  // [n-2] for n = 2, 3, 4: characters of the most frequent n-gram times its count.
  std::array<std::int64_t, 3> top_ngram_chars{};
  // [n-5] for n = 5..10: characters of words covered by repeated n-grams.
  std::array<std::int64_t, 6> dup_ngram_chars{};

  std::int64_t n_prose_words() const { return n_words - n_table_words; }
  double mean_word_length() const {
    return n_prose_words() ? double(n_word_chars) / double(n_prose_words()) : 0;
  }
  double ratio(std::int64_t part, std::int64_t whole) const {
    return whole ? double(part) / double(whole) : 0;
  }
};

TextStats compute_text_stats(std::string_view text);

}  // namespace enclave::data
