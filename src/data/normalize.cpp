#include "data/normalize.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/stringpiece.h>
#include <unicode/uniset.h>

#include <memory>

#include "core/error.h"
#include "text/utf8.h"

namespace enclave::data {

namespace {

// The ICU instances of each form. Built once; ICU normalisers are
// immutable and safe to share between threads.
struct Normalizers {
  const icu::Normalizer2* nfc = nullptr;
  const icu::Normalizer2* nfkc = nullptr;
  // safe: NFKC applied only to the fold set, then NFC to all but the
  // compatibility ideographs (normalizer2.h: FilteredNormalizer2).
  std::unique_ptr<icu::UnicodeSet> fold_set, not_compat_ideographs;
  std::unique_ptr<icu::FilteredNormalizer2> fold, nfc_keeping_ideographs;
};

const Normalizers& normalizers() {
  static const Normalizers instance = [] {
    Normalizers n;
    UErrorCode status = U_ZERO_ERROR;
    n.nfc = icu::Normalizer2::getNFCInstance(status);
    n.nfkc = icu::Normalizer2::getNFKCInstance(status);
    n.fold_set = std::make_unique<icu::UnicodeSet>(
        icu::UnicodeString(u"[\uFF01-\uFF9F\uFFDD-\uFFEE\u00A0\u2000-\u200A\u202F\u205F"
                           u"\u3000\uFB00-\uFB06]"),
        status);
    n.not_compat_ideographs = std::make_unique<icu::UnicodeSet>(
        icu::UnicodeString(u"[^\uF900-\uFAFF\U0002F800-\U0002FA1F]"), status);
    if (U_FAILURE(status) || n.nfc == nullptr || n.nfkc == nullptr)
      fail(ErrorKind::kInternal, "ICU: no normalisation data: {}", u_errorName(status));
    n.fold = std::make_unique<icu::FilteredNormalizer2>(*n.nfkc, *n.fold_set);
    n.nfc_keeping_ideographs =
        std::make_unique<icu::FilteredNormalizer2>(*n.nfc, *n.not_compat_ideographs);
    return n;
  }();
  return instance;
}

std::string run_normalizer(const icu::Normalizer2& n, std::string text) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::StringPiece piece(text.data(), static_cast<int32_t>(text.size()));
  if (n.isNormalizedUTF8(piece, status) && U_SUCCESS(status)) return text;
  status = U_ZERO_ERROR;
  std::string out;
  out.reserve(text.size());
  icu::StringByteSink<std::string> sink(&out);
  n.normalizeUTF8(0, piece, sink, nullptr, status);
  if (U_FAILURE(status)) return text;  // cannot happen for valid UTF-8; keep the input
  return out;
}

// Each code point of text through `replace`, which either appends what
// stands for it to out (possibly nothing) and returns true, or returns false
// to keep it as it is.
template <typename Replace>
std::string map_code_points(std::string_view text, Replace&& replace) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t start = pos;
    const char32_t c = next_code_point(text, pos);
    if (!replace(c, out)) out.append(text.data() + start, pos - start);
  }
  return out;
}

// Half-width Hangul letters (U+FFA0-FFDC) become the compatibility jamo
// they are narrow forms of (one step of their NFKC mapping; full NFKC would
// go on to conjoining jamo).
std::string widen_halfwidth_hangul(std::string text) {
  if (text.find("\xEF\xBE") == std::string::npos && text.find("\xEF\xBF") == std::string::npos)
    return text;
  const icu::Normalizer2& nfkc = *normalizers().nfkc;
  return map_code_points(text, [&](char32_t c, std::string& out) {
    icu::UnicodeString wide;
    if (c < 0xFFA0 || c > 0xFFDC || !nfkc.getRawDecomposition(static_cast<UChar32>(c), wide))
      return false;
    wide.toUTF8String(out);
    return true;
  });
}

std::string to_normal_form(std::string text, NormalForm form) {
  const Normalizers& n = normalizers();
  switch (form) {
    case NormalForm::kSafe:
      // Folding first: a folded character may then compose with what follows
      // (full-width A + U+0301 -> A + U+0301 -> U+00C1).
      text = widen_halfwidth_hangul(run_normalizer(*n.fold, std::move(text)));
      return run_normalizer(*n.nfc_keeping_ideographs, std::move(text));
    case NormalForm::kNfc:
      return run_normalizer(*n.nfc, std::move(text));
    case NormalForm::kNfkc:
      return run_normalizer(*n.nfkc, std::move(text));
    case NormalForm::kNone:
      return text;
  }
  return text;
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
  return map_code_points(text, [](char32_t c, std::string&) { return is_invisible(c); });
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

std::string_view to_string(NormalForm form) {
  switch (form) {
    case NormalForm::kSafe:
      return "safe";
    case NormalForm::kNfc:
      return "nfc";
    case NormalForm::kNfkc:
      return "nfkc";
    case NormalForm::kNone:
      return "none";
  }
  return "safe";
}

NormalForm parse_normal_form(std::string_view name) {
  for (NormalForm f : {NormalForm::kSafe, NormalForm::kNfc, NormalForm::kNfkc, NormalForm::kNone}) {
    if (to_string(f) == name) return f;
  }
  fail_input("unknown normal form '{}' (expected safe, nfc, nfkc or none)", name);
}

std::string normalize_text(std::string_view text, const NormalizeOptions& options) {
  std::string out = is_valid_utf8(text) ? std::string(text) : sanitize_utf8(text);
  if (options.controls) out = drop_controls(out);
  out = to_normal_form(std::move(out), options.form);
  if (options.whitespace) out = tidy_whitespace(out);
  return out;
}

}  // namespace enclave::data
