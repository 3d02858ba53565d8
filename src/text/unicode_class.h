// Unicode character classes from ICU's character database, as Rust's char
// methods see them (Hugging Face's Strip normalizer, Digits pre-tokenizer and
// added-token rules): letters are general category L*, numbers N*, white
// space the White_Space property. The tokenizer regexes do not use these:
// they run with Oniguruma's own tables (regex.h, split_patterns.h).
// Thread safety: stateless; safe from any thread.
#pragma once

namespace enclave {

bool is_letter(char32_t c);       // general category L*
bool is_number(char32_t c);       // N*; Rust's char::is_numeric
bool is_white_space(char32_t c);  // White_Space; Rust's char::is_whitespace
// \w as the added-token single_word rule uses it: letters, marks, numbers, '_'.
bool is_word_char(char32_t c);

}  // namespace enclave
