// Document: one record of a dataset as every data step sees it, and its JSONL
// form. A dataset file holds one JSON object per line:
//
//   {"id":"…","text":"…","source":"docs/a.pdf","type":"pdf","meta":{"pages":3},
//    …other fields of the original record ("messages", "prompt", …)}
//
// `text` is what filters, dedup and decontamination look at; `meta` and the
// other fields travel unchanged (PII redaction and normalisation also rewrite
// the strings inside the other fields). Fields are kept as raw JSON text so
// passing a record through a step costs no re-encoding.
// Thread safety: a DocumentParser is used by one thread at a time; the free
// functions are stateless.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

namespace enclave::data {

struct Document {
  std::string id;
  std::string text;
  std::string source;       // path the document came from (relative to the ingest root)
  std::string type;         // "txt", "md", "jsonl", "pdf", "docx", "html"
  std::string meta = "{}";  // raw JSON object: pages, sections, line, ...
  // Raw JSON members of the original record besides the ones above, without
  // the surrounding braces ("\"messages\":[…],\"lang\":\"ko\""); empty if none.
  std::string extra;
};

// Parses dataset lines. One parser per thread; it keeps its buffers between
// lines so parsing allocates nothing in steady state.
class DocumentParser {
 public:
  DocumentParser();
  ~DocumentParser();
  DocumentParser(const DocumentParser&) = delete;
  DocumentParser& operator=(const DocumentParser&) = delete;

  // Parses one line into doc. A record must be a JSON object with a string
  // "text"; "id", "source", "type" are optional strings and "meta" an
  // optional object. Throws Error(kInvalidInput) with the reason (invalid
  // JSON or UTF-8, nesting deeper than 64, wrong field type); the caller adds
  // file and line.
  void parse(std::string_view line, Document& doc);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The record as one JSONL line (without the newline), fields in the order
// id, text, source, type, meta, then extra.
std::string to_jsonl(const Document& doc);

// Appends s as a JSON string literal (quotes included). s must be valid UTF-8.
void append_json_string(std::string& out, std::string_view s);

// Applies f to every JSON string value inside the raw JSON text (objects,
// arrays, nested), keys untouched, and returns the rewritten text. Used to
// normalise or redact the strings of `extra`. Throws Error(kInvalidInput) if
// the text is not valid JSON members/value.
template <typename F>
std::string map_json_strings(std::string_view members, F&& f);

// Implementation detail of map_json_strings (type-erased callback).
std::string map_json_strings_impl(std::string_view members,
                                  std::string (*fn)(void*, std::string_view), void* ctx);

template <typename F>
std::string map_json_strings(std::string_view members, F&& f) {
  using Fn = std::remove_reference_t<F>;
  return map_json_strings_impl(
      members,
      [](void* ctx, std::string_view s) -> std::string { return (*static_cast<Fn*>(ctx))(s); }, &f);
}

}  // namespace enclave::data
