// Unicode character classes as the tokenizer regexes see them (Oniguruma in
// Hugging Face `tokenizers`): \p{L} is general category L*, \p{N} is N*, \s
// is the White_Space property. Backed by ICU's character database.
// Thread safety: stateless; safe from any thread.
#pragma once

namespace enclave {

bool is_letter(char32_t c);       // \p{L}
bool is_number(char32_t c);       // \p{N}; also Rust's char::is_numeric
bool is_white_space(char32_t c);  // \s; also Rust's char::is_whitespace
bool is_cr_or_lf(char32_t c);     // [\r\n]
// \w as the added-token single_word rule uses it: letters, marks, numbers, '_'.
bool is_word_char(char32_t c);

}  // namespace enclave
