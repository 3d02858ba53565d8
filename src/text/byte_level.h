// GPT-2's byte-level alphabet: every byte 0..255 maps to one printable
// Unicode character (bytes_to_unicode in openai/gpt-2 encoder.py), so that a
// byte-level BPE vocabulary is plain text. Printable Latin-1 bytes map to
// themselves; the rest (controls, space, 0x7F..0xA0, 0xAD) map to U+0100.. in
// byte order, so space is "Ġ" (U+0120) and newline "Ċ" (U+010A).
// Thread safety: read-only tables; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace enclave {

// The character (as UTF-8) that stands for byte b.
const std::string& byte_level_char(std::uint8_t b);

// The byte a character stands for; nullopt if it is not in the alphabet.
std::optional<std::uint8_t> byte_level_byte(char32_t c);

// Maps every byte of text to its character ("a b" -> "aĠb").
std::string to_byte_level(std::string_view text);

// Maps a byte-level string back to bytes; nullopt if some character is not
// in the alphabet (the caller then keeps the text as it is, as HF does).
std::optional<std::string> from_byte_level(std::string_view text);

}  // namespace enclave
