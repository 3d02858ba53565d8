// Text normalisation, the first cleaning step: invalid UTF-8 repaired (each
// ill-formed subsequence becomes U+FFFD), Unicode NFKC (ICU; folds
// full-width Latin, compatibility Hangul jamo, ligatures and the many
// space characters into their plain forms), control and invisible characters
// removed, and whitespace tidied: CRLF and CR become LF, runs of spaces and
// tabs one space, no spaces at line ends, at most one blank line between
// paragraphs, none at the start or end.
// Thread safety: stateless; safe from any thread.
#pragma once

#include <string>
#include <string_view>

namespace enclave::data {

struct NormalizeOptions {
  bool nfkc = true;
  bool controls = true;    // drop C0/C1 controls (not \n, \t), zero-width and BOM characters
  bool whitespace = true;  // the whitespace rules above
};

// The normalised text. Never throws for any input bytes.
std::string normalize_text(std::string_view text, const NormalizeOptions& options = {});

}  // namespace enclave::data
