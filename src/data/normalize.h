// Text normalisation, the first cleaning step: invalid UTF-8 repaired (each
// ill-formed subsequence becomes U+FFFD), a Unicode normal form (ICU),
// control and invisible characters removed, and whitespace tidied: CRLF and
// CR become LF, runs of spaces and tabs one space, no spaces at line ends, at
// most one blank line between paragraphs, none at the start or end.
//
// The forms:
//   safe  (default) NFC, plus the folds below, and nothing else. Korean text
//         keeps what NFKC would rewrite: Hangul compatibility jamo (ㅋㅋ
//         stays, NFKC makes conjoining ᄏᄏ), enclosed characters (①, ㈜),
//         squared units (㎡, ㎞), superscripts (m²), the ellipsis (…), and
//         CJK compatibility ideographs (U+F900-FAFF, U+2F800-2FA1F: Korean
//         Hanja readings such as 樂 락/낙/악 are distinct code points that
//         even NFC would merge).
//         Folds, each to its NFKC form:
//           full-width ASCII  U+FF01-FF5E  (ＡＢＣ１２３ → ABC123)
//           other half- and full-width forms  U+FF5F-FFEE  (￦ → ₩,
//             half-width katakana); half-width Hangul ﾡ becomes the
//             compatibility jamo ㄱ (NFKC would go on to conjoining ᄀ)
//           compatibility spaces  U+00A0, U+2000-200A, U+202F, U+205F,
//             U+3000 (ideographic space) → U+0020
//           Latin ligatures  U+FB00-FB06  (ﬁ → fi, common in PDF text)
//   nfc   canonical composition only (conjoining jamo become syllables).
//   nfkc  compatibility composition: everything above folded.
//   none  no Unicode normalisation.
// Thread safety: stateless; safe from any thread.
#pragma once

#include <string>
#include <string_view>

namespace enclave::data {

enum class NormalForm { kSafe, kNfc, kNfkc, kNone };

// "safe", "nfc", "nfkc", "none".
std::string_view to_string(NormalForm form);
// Inverse of to_string; throws Error(kInvalidInput) naming the value and the
// forms there are.
NormalForm parse_normal_form(std::string_view name);

struct NormalizeOptions {
  NormalForm form = NormalForm::kSafe;
  bool controls = true;    // drop C0/C1 controls (not \n, \t), zero-width and BOM characters
  bool whitespace = true;  // the whitespace rules above
};

// The normalised text. Never throws for any input bytes.
std::string normalize_text(std::string_view text, const NormalizeOptions& options = {});

}  // namespace enclave::data
