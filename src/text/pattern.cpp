#include "text/pattern.h"

#include "core/error.h"

namespace enclave {

Pattern Pattern::from_json(const JsonField& pattern) {
  pattern.object();
  if (pattern.has("String")) {
    std::string s = pattern["String"].string();
    if (s.empty()) pattern["String"].fail("empty pattern");
    return literal(std::move(s));
  }
  if (pattern.has("Regex")) {
    const JsonField regex = pattern["Regex"];
    Pattern p;
    p.regex_ = std::make_shared<const Regex>(regex.string(),
                                             regex.file() + ": field '" + regex.path() + "'");
    p.fast_ = recognize_split_pattern(p.regex_->pattern());
    return p;
  }
  pattern.fail("expected {\"String\": ...} or {\"Regex\": ...}");
}

Pattern Pattern::literal(std::string text) {
  ENCLAVE_CHECK(!text.empty());
  Pattern p;
  p.literal_ = std::move(text);
  return p;
}

std::vector<ByteRange> Pattern::find_all(std::string_view text) const {
  if (fast_) return find_split_matches(*fast_, text);
  if (regex_ != nullptr) return regex_->find_all(text);
  std::vector<ByteRange> out;
  if (literal_.empty()) return out;
  for (std::size_t pos = text.find(literal_); pos != std::string_view::npos;
       pos = text.find(literal_, pos + literal_.size())) {
    out.emplace_back(pos, pos + literal_.size());
  }
  return out;
}

std::string Pattern::replace(std::string_view text, std::string_view content) const {
  // HF's find_matches gives an empty text no matches, even for a regex
  // that matches the empty string.
  if (text.empty()) return {};
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  for (const auto& [first, second] : find_all(text)) {
    out.append(text.substr(pos, first - pos));
    out.append(content);
    pos = second;
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace enclave
