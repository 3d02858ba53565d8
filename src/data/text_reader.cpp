#include <unicode/ucnv.h>
#include <unicode/ucnv_err.h>
#include <unicode/unistr.h>

#include "core/error.h"
#include "core/file.h"
#include "data/readers.h"
#include "text/utf8.h"

namespace enclave::data {

namespace {

// Strict conversion: nullopt if any byte sequence is invalid in `charset`.
std::optional<std::string> convert_strict(std::string_view bytes, const char* charset) {
  UErrorCode status = U_ZERO_ERROR;
  UConverter* conv = ucnv_open(charset, &status);
  if (U_FAILURE(status)) return std::nullopt;
  ucnv_setToUCallBack(conv, UCNV_TO_U_CALLBACK_STOP, nullptr, nullptr, nullptr, &status);
  icu::UnicodeString text(bytes.data(), static_cast<int32_t>(bytes.size()), conv, status);
  ucnv_close(conv);
  if (U_FAILURE(status)) return std::nullopt;
  std::string out;
  text.toUTF8String(out);
  return out;
}

}  // namespace

std::string decode_text_bytes(std::string_view bytes, std::string* encoding) {
  auto set = [&](const char* name) {
    if (encoding != nullptr) *encoding = name;
  };
  if (bytes.starts_with("\xEF\xBB\xBF")) bytes.remove_prefix(3);
  if (is_valid_utf8(bytes)) {
    set("utf-8");
    return std::string(bytes);
  }
  if (bytes.starts_with("\xFF\xFE") || bytes.starts_with("\xFE\xFF")) {
    if (auto out = convert_strict(bytes, "UTF-16")) {
      set("utf-16");
      if (out->starts_with("\xEF\xBB\xBF")) out->erase(0, 3);
      return *out;
    }
  }
  if (auto out = convert_strict(bytes, "windows-949")) {
    set("cp949");
    return *out;
  }
  set("utf-8 (repaired)");
  return sanitize_utf8(bytes);
}

ExtractedText read_text_file(const std::filesystem::path& path, bool markdown,
                             std::uint64_t max_bytes) {
  ExtractedText out;
  std::string encoding;
  out.text = decode_text_bytes(read_file(path, max_bytes), &encoding);
  out.meta["encoding"] = encoding;
  if (markdown) out.meta["sections"] = markdown_sections(out.text);
  return out;
}

}  // namespace enclave::data
