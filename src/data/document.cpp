#include "data/document.h"

#include <simdjson.h>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace enclave::data {

namespace {

constexpr std::size_t kMaxDepth = 64;

std::string_view get_string(simdjson::dom::element value, std::string_view key) {
  std::string_view out;
  if (value.get_string().get(out) != simdjson::SUCCESS)
    fail_input("field '{}': expected a string", key);
  return out;
}

}  // namespace

struct DocumentParser::Impl {
  simdjson::dom::parser parser;
  std::string padded;
};

DocumentParser::DocumentParser() : impl_(std::make_unique<Impl>()) {
  if (impl_->parser.allocate(1 << 16, kMaxDepth) != simdjson::SUCCESS) {
    fail(ErrorKind::kIo, "out of memory allocating the JSON parser");
  }
}

DocumentParser::~DocumentParser() = default;

void DocumentParser::parse(std::string_view line, Document& doc) {
  // simdjson reads up to SIMDJSON_PADDING bytes past the end; copy into a
  // padded buffer we own instead of trusting the caller's.
  impl_->padded.assign(line);
  impl_->padded.resize(line.size() + simdjson::SIMDJSON_PADDING, '\0');
  if (line.size() > impl_->parser.capacity()) {
    if (impl_->parser.allocate(line.size(), kMaxDepth) != simdjson::SUCCESS) {
      fail(ErrorKind::kIo, "out of memory parsing a {}-byte line", line.size());
    }
  }
  simdjson::dom::element root;
  if (auto err = impl_->parser.parse(impl_->padded.data(), line.size(), false).get(root); err) {
    fail_input("invalid JSON: {}", simdjson::error_message(err));
  }
  simdjson::dom::object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS) fail_input("expected a JSON object");
  doc = Document{};
  bool has_text = false;
  for (auto field : obj) {
    const std::string_view key = field.key;
    if (key == "text") {
      doc.text = get_string(field.value, key);
      has_text = true;
    } else if (key == "id") {
      doc.id = get_string(field.value, key);
    } else if (key == "source") {
      doc.source = get_string(field.value, key);
    } else if (key == "type") {
      doc.type = get_string(field.value, key);
    } else if (key == "meta") {
      if (!field.value.is_object()) fail_input("field 'meta': expected an object");
      doc.meta = simdjson::minify(field.value);
    } else {
      if (!doc.extra.empty()) doc.extra += ',';
      append_json_string(doc.extra, key);
      doc.extra += ':';
      doc.extra += simdjson::minify(field.value);
    }
  }
  if (!has_text) fail_input("field 'text': missing");
}

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t run = 0;  // start of the pending run of bytes that need no escape
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

std::string to_jsonl(const Document& doc) {
  std::string out;
  out.reserve(doc.text.size() + doc.meta.size() + doc.extra.size() + doc.source.size() + 64);
  out += "{\"id\":";
  append_json_string(out, doc.id);
  out += ",\"text\":";
  append_json_string(out, doc.text);
  out += ",\"source\":";
  append_json_string(out, doc.source);
  out += ",\"type\":";
  append_json_string(out, doc.type);
  out += ",\"meta\":";
  out += doc.meta.empty() ? std::string_view("{}") : std::string_view(doc.meta);
  if (!doc.extra.empty()) {
    out += ',';
    out += doc.extra;
  }
  out += '}';
  return out;
}

namespace {

void map_strings(nlohmann::json& j, std::string (*fn)(void*, std::string_view), void* ctx) {
  if (j.is_string()) {
    j = fn(ctx, j.get_ref<const std::string&>());
  } else if (j.is_array() || j.is_object()) {
    for (auto& child : j) map_strings(child, fn, ctx);
  }
}

}  // namespace

std::string map_json_strings_impl(std::string_view members,
                                  std::string (*fn)(void*, std::string_view), void* ctx) {
  if (members.empty()) return {};
  nlohmann::json j =
      nlohmann::json::parse("{" + std::string(members) + "}", nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) fail_input("record fields are not valid JSON");
  map_strings(j, fn, ctx);
  std::string dumped = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // Strip the braces we added: "{...}" -> "...".
  return dumped.substr(1, dumped.size() - 2);
}

}  // namespace enclave::data
