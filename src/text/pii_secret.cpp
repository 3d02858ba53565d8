// Secrets: private key blocks, API key formats and the values of
// password/secret/token/api_key assignments (pii_context.h).
#include <re2/re2.h>

#include <algorithm>
#include <memory>
#include <string>

#include "text/pii_context.h"

namespace enclave::pii_detail {

namespace {

struct SecretPattern {
  std::string_view needle;  // a cheap substring test before the regex runs
  const char* pattern;
  double confidence;
  bool bounded;  // no ASCII letter or digit may touch the match
};

const SecretPattern kSecretPatterns[] = {
    {"PRIVATE KEY", R"((?s)-----BEGIN[A-Z ]*PRIVATE KEY-----.*?-----END[A-Z ]*PRIVATE KEY-----)",
     0.99, false},
    {"KIA", R"((?:AKIA|ASIA)[0-9A-Z]{16})", 0.95, true},
    {"gh", R"(gh[pousr]_[A-Za-z0-9]{36,255})", 0.95, true},
    {"github_pat_", R"(github_pat_[A-Za-z0-9_]{22,255})", 0.95, true},
    {"xox", R"(xox[abposr]-[A-Za-z0-9-]{10,250})", 0.95, true},
    {"AIza", R"(AIza[0-9A-Za-z_\-]{35})", 0.95, true},
    {"sk-", R"(sk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,200})", 0.9, true},
    {"_live_", R"((?:sk|rk|pk)_live_[0-9A-Za-z]{16,200})", 0.95, true},
    {"hf_", R"(hf_[A-Za-z0-9]{30,100})", 0.9, true},
    {"eyJ", R"(eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})", 0.9, true},
};

// key=value, key: value, "key": "value"; group 1 the key, 2 the value.
const RE2& secret_assignment_re() {
  static const RE2 re(
      R"((?i)([A-Za-z0-9_.\-]*(?:password|passwd|passcode|pwd|secret|api[_\-]?key|apikey|)"
      R"(access[_\-]?key|private[_\-]?key|token|credentials?)[A-Za-z0-9_\-]*|비밀번호|패스워드|)"
      R"(비번|암호|인증키|API ?키)["']?\s*(?:[:=]|=>|：|은|는)\s*["']?)"
      R"(([\x21\x23-\x26\x28-\x2B\x2D-\x3A\x3D\x3F-\x7E]{4,200}))");
  return re;
}

bool placeholder_value(std::string_view v) {
  if (v.front() == '$' || v.front() == '{' || v.front() == '%' || v.front() == '*') return true;
  if (std::all_of(v.begin(), v.end(), [&](char c) { return c == v.front(); })) return true;
  std::string lower(v);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return one_of(lower, {"null", "none", "true", "false", "string", "required", "optional",
                        "undefined", "password", "secret", "token", "xxxx", "redacted"});
}

void add_secret_assignments(std::string_view text, std::vector<PiiMatch>& out) {
  const RE2& re = secret_assignment_re();
  re2::StringPiece input(text.data(), text.size());
  re2::StringPiece groups[3];
  std::size_t pos = 0;
  while (pos < text.size() && re.Match(input, pos, text.size(), RE2::UNANCHORED, groups, 3)) {
    const auto begin = static_cast<std::size_t>(groups[2].data() - text.data());
    const std::size_t end = begin + groups[2].size();
    pos = std::max(end, static_cast<std::size_t>(groups[0].data() - text.data()) + 1);
    const std::size_t key_begin = static_cast<std::size_t>(groups[1].data() - text.data());
    if (key_begin > 0 && is_ascii_alnum(text[key_begin - 1])) continue;
    std::string_view value(groups[2].data(), groups[2].size());
    while (!value.empty() && (value.back() == '.' || value.back() == ')')) value.remove_suffix(1);
    if (value.size() < 4 || placeholder_value(value)) continue;
    std::string key(groups[1].data(), groups[1].size());
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool token_like = key.find("token") != std::string::npos ||
                            key.find("key") != std::string::npos ||
                            key.find("키") != std::string::npos;
    // A token or key is long and mixes letters and digits ("max_tokens:
    // 2048" is a setting, not a secret); a password may be anything.
    if (token_like) {
      const bool letters = std::any_of(value.begin(), value.end(), [](char c) {
        return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
      });
      const bool digits =
          std::any_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (value.size() < 12 || !letters || !digits) continue;
    }
    out.push_back({PiiType::kSecret, begin, begin + value.size(), token_like ? 0.85 : 0.9});
  }
}

}  // namespace

void secret_candidates(std::string_view text, std::vector<PiiMatch>& out) {
  static const std::vector<std::unique_ptr<RE2>> compiled = [] {
    std::vector<std::unique_ptr<RE2>> v;
    for (const SecretPattern& p : kSecretPatterns) v.push_back(std::make_unique<RE2>(p.pattern));
    return v;
  }();
  for (std::size_t i = 0; i < std::size(kSecretPatterns); ++i) {
    const SecretPattern& p = kSecretPatterns[i];
    if (text.find(p.needle) == std::string_view::npos) continue;
    for_each_match(text, *compiled[i], [&](std::size_t b, std::size_t e) {
      if (!p.bounded || ascii_bounded(text, b, e))
        out.push_back({PiiType::kSecret, b, e, p.confidence});
    });
  }
  add_secret_assignments(text, out);
}

}  // namespace enclave::pii_detail
