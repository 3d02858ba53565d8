#include "data/normalize.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/stringpiece.h>

#include "core/error.h"
#include "text/utf8.h"

namespace enclave::data {

namespace {

const icu::Normalizer2& nfkc_instance() {
  static const icu::Normalizer2* instance = [] {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* n = icu::Normalizer2::getNFKCInstance(status);
    if (U_FAILURE(status) || n == nullptr)
      fail(ErrorKind::kInternal, "ICU: no NFKC data: {}", u_errorName(status));
    return n;
  }();
  return *instance;
}

std::string nfkc(std::string_view text) {
  const icu::Normalizer2& n = nfkc_instance();
  UErrorCode status = U_ZERO_ERROR;
  const icu::StringPiece piece(text.data(), static_cast<int32_t>(text.size()));
  if (n.isNormalizedUTF8(piece, status) && U_SUCCESS(status)) return std::string(text);
  status = U_ZERO_ERROR;
  std::string out;
  out.reserve(text.size());
  icu::StringByteSink<std::string> sink(&out);
  n.normalizeUTF8(0, piece, sink, nullptr, status);
  if (U_FAILURE(status)) return std::string(text);  // cannot happen for valid UTF-8; keep the input
  return out;
}

// Characters that carry no text: controls other than \t \n \r, zero-width
// spaces and joiners used as junk, the BOM, soft hyphens, bidi marks.
bool is_invisible(char32_t c) {
  if (c < 0x20) return c != '\t' && c != '\n' && c != '\r';
  if (c >= 0x7F && c <= 0x9F) return true;
  switch (c) {
    case 0x00AD:
    case 0x200B:
    case 0x200E:
    case 0x200F:
    case 0x2060:
    case 0xFEFF:
    case 0x202A:
    case 0x202B:
    case 0x202C:
    case 0x202D:
    case 0x202E:
      return true;
    default:
      return false;
  }
}

bool is_horizontal_space(char32_t c) {
  return c == ' ' || c == '\t' || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
         c == 0x202F || c == 0x205F || c == 0x3000;
}

std::string drop_controls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t start = pos;
    const char32_t c = next_code_point(text, pos);
    if (!is_invisible(c)) out.append(text.data() + start, pos - start);
  }
  return out;
}

// Indentation at a line start is kept (code, nested lists), as spaces.
std::string tidy_whitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  int pending_newlines = 0;
  bool pending_space = false;
  bool at_line_start = true;
  std::size_t indent = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t start = pos;
    const char32_t c = next_code_point(text, pos);
    if (c == '\r' || c == '\n') {
      if (c == '\r' && pos < text.size() && text[pos] == '\n') ++pos;
      ++pending_newlines;
      pending_space = false;  // no spaces at line ends
      at_line_start = true;
      indent = 0;
      continue;
    }
    if (is_horizontal_space(c)) {
      if (at_line_start) {
        indent += c == '\t' ? 4 : 1;
      } else {
        pending_space = true;
      }
      continue;
    }
    if (!out.empty()) {
      if (pending_newlines > 0) {
        out.append(pending_newlines >= 2 ? "\n\n" : "\n");
      } else if (pending_space) {
        out += ' ';
      }
    }
    if (at_line_start) out.append(indent, ' ');
    pending_newlines = 0;
    pending_space = false;
    at_line_start = false;
    out.append(text.data() + start, pos - start);
  }
  return out;
}

}  // namespace

std::string normalize_text(std::string_view text, const NormalizeOptions& options) {
  std::string out = is_valid_utf8(text) ? std::string(text) : sanitize_utf8(text);
  if (options.controls) out = drop_controls(out);
  if (options.nfkc) out = nfkc(out);
  if (options.whitespace) out = tidy_whitespace(out);
  return out;
}

}  // namespace enclave::data
