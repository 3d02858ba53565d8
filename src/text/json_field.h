// JsonField: a JSON value together with where it sits in its file, so that
// every error about tokenizer.json names the file and the full field path:
// "tokenizer.json: field 'pre_tokenizer.pretokenizers[0].pattern.Regex': ...".
// The tokenizer.json readers (model, normalizer, pre-tokenizer, decoder,
// post-processor, added tokens) all walk the document through it.
// Thread safety: a JsonField borrows the document; it is a cheap value that
// is safe to copy and use from many threads while the document lives.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace enclave {

class JsonField {
 public:
  // `file` names the document ("models/x/tokenizer.json"); `path` is the
  // field path inside it ("" for the root).
  JsonField(const nlohmann::json& value, std::string file, std::string path = "");

  // A member; a missing member reads as null (is_null() is true).
  JsonField operator[](std::string_view key) const;
  // An array element; the caller checks the index against size().
  JsonField operator[](std::size_t index) const;

  const nlohmann::json& value() const { return *value_; }
  const std::string& file() const { return file_; }
  const std::string& path() const { return path_; }
  bool is_null() const { return value_->is_null(); }
  bool has(std::string_view key) const;

  // Typed reads; each throws Error(kInvalidInput) naming file and path when
  // the value is missing or of the wrong type.
  const nlohmann::json& object() const;
  const nlohmann::json& array() const;
  std::string string() const;
  std::int64_t integer() const;
  bool boolean() const;
  // As above, but null/missing gives the fallback.
  std::string string_or(std::string fallback) const;
  std::optional<std::string> optional_string() const;
  bool boolean_or(bool fallback) const;

  // Throws Error(kInvalidInput) / Error(kUnsupported): "<file>: field '<path>': <reason>".
  [[noreturn]] void fail(std::string_view reason) const;
  [[noreturn]] void fail_unsupported(std::string_view reason) const;

 private:
  const nlohmann::json* value_;
  std::string file_;
  std::string path_;
};

}  // namespace enclave
