#include "text/normalizers.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include "core/error.h"
#include "text/unicode_class.h"
#include "text/utf8.h"

namespace enclave {

namespace {

const icu::Normalizer2& icu_normalizer(const char* name, UNormalization2Mode mode) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = icu::Normalizer2::getInstance(nullptr, name, mode, status);
  if (U_FAILURE(status) || n == nullptr) {
    fail(ErrorKind::kInternal, "ICU normalizer {} unavailable: {}", name, u_errorName(status));
  }
  return *n;
}

std::string icu_normalize(std::string_view text, const icu::Normalizer2& normalizer) {
  const icu::UnicodeString in = icu::UnicodeString::fromUTF8(
      icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  UErrorCode status = U_ZERO_ERROR;
  const icu::UnicodeString out = normalizer.normalize(in, status);
  if (U_FAILURE(status))
    fail(ErrorKind::kInternal, "ICU normalization failed: {}", u_errorName(status));
  std::string result;
  out.toUTF8String(result);
  return result;
}

std::string lowercase(std::string_view text) {
  icu::UnicodeString s = icu::UnicodeString::fromUTF8(
      icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  s.toLower(icu::Locale::getRoot());
  std::string result;
  s.toUTF8String(result);
  return result;
}

std::string strip(std::string_view text, bool left, bool right) {
  const CodePoints cp = decode_code_points(text);
  std::size_t first = 0;
  std::size_t last = cp.cps.size();
  if (left) {
    while (first < last && is_white_space(cp.cps[first])) ++first;
  }
  if (right) {
    while (last > first && is_white_space(cp.cps[last - 1])) --last;
  }
  return std::string(text.substr(cp.offsets[first], cp.offsets[last] - cp.offsets[first]));
}

}  // namespace

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  if (from.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (true) {
    const std::size_t hit = text.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(text.substr(pos, hit - pos));
    out.append(to);
    pos = hit + from.size();
  }
  out.append(text.substr(pos));
  return out;
}

Normalizer Normalizer::from_json(const JsonField& field) {
  Normalizer n;
  if (!field.is_null()) parse_into(field, n.steps_);
  return n;
}

void Normalizer::parse_into(const JsonField& field, std::vector<Step>& steps) {
  field.object();
  const std::string type = field["type"].string();
  if (type == "Sequence") {
    const JsonField list = field["normalizers"];
    for (std::size_t i = 0; i < list.array().size(); ++i) parse_into(list[i], steps);
  } else if (type == "Prepend") {
    steps.push_back({Kind::kPrepend, field["prepend"].string()});
  } else if (type == "Replace") {
    Step step{Kind::kReplace, field["content"].string()};
    step.pattern = Pattern::from_json(field["pattern"]);
    steps.push_back(std::move(step));
  } else if (type == "NFC") {
    steps.push_back({Kind::kNfc});
  } else if (type == "NFD") {
    steps.push_back({Kind::kNfd});
  } else if (type == "NFKC") {
    steps.push_back({Kind::kNfkc});
  } else if (type == "NFKD") {
    steps.push_back({Kind::kNfkd});
  } else if (type == "Lowercase") {
    steps.push_back({Kind::kLowercase});
  } else if (type == "Strip") {
    steps.push_back({Kind::kStrip,
                     {},
                     field["strip_left"].boolean_or(true),
                     field["strip_right"].boolean_or(true)});
  } else {
    field["type"].fail_unsupported("normalizer type '" + type + "' is not supported");
  }
}

std::string Normalizer::normalize(std::string_view text) const {
  std::string s(text);
  for (const Step& step : steps_) {
    switch (step.kind) {
      case Kind::kPrepend:
        // HF prepends only to non-empty text.
        if (!s.empty()) s = step.a + s;
        break;
      case Kind::kReplace:
        s = step.pattern.replace(s, step.a);
        break;
      case Kind::kNfc:
        s = icu_normalize(s, icu_normalizer("nfc", UNORM2_COMPOSE));
        break;
      case Kind::kNfd:
        s = icu_normalize(s, icu_normalizer("nfc", UNORM2_DECOMPOSE));
        break;
      case Kind::kNfkc:
        s = icu_normalize(s, icu_normalizer("nfkc", UNORM2_COMPOSE));
        break;
      case Kind::kNfkd:
        s = icu_normalize(s, icu_normalizer("nfkc", UNORM2_DECOMPOSE));
        break;
      case Kind::kLowercase:
        s = lowercase(s);
        break;
      case Kind::kStrip:
        s = strip(s, step.left, step.right);
        break;
    }
  }
  return s;
}

}  // namespace enclave
