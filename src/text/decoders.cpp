#include "text/decoders.h"

#include <optional>

#include "core/error.h"
#include "text/byte_level.h"
#include "text/normalizers.h"
#include "text/utf8.h"

namespace enclave {

namespace {

// "<0x0A>" -> 0x0A; HF accepts exactly six characters, two hex digits.
std::optional<unsigned char> byte_piece_value(const std::string& piece) {
  if (piece.size() != 6 || piece.compare(0, 3, "<0x") != 0 || piece[5] != '>') return std::nullopt;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  const int hi = hex(piece[3]);
  const int lo = hex(piece[4]);
  if (hi < 0 || lo < 0) return std::nullopt;
  return static_cast<unsigned char>(hi * 16 + lo);
}

void decode_byte_level(std::vector<std::string>& pieces) {
  std::string bytes;
  for (const std::string& piece : pieces) {
    if (std::optional<std::string> b = from_byte_level(piece)) {
      bytes += *b;
    } else {
      bytes += piece;  // a piece outside the alphabet (an added token) stays as it is
    }
  }
  pieces.assign(1, sanitize_utf8(bytes));
}

void decode_byte_fallback(std::vector<std::string>& pieces) {
  std::vector<std::string> out;
  std::string bytes;
  std::size_t n_bytes = 0;
  auto flush = [&]() {
    if (n_bytes == 0) return;
    if (is_valid_utf8(bytes)) {
      out.push_back(bytes);
    } else {
      std::string replacement;
      for (std::size_t i = 0; i < n_bytes; ++i) replacement += kReplacementChar;
      out.push_back(std::move(replacement));
    }
    bytes.clear();
    n_bytes = 0;
  };
  for (std::string& piece : pieces) {
    if (std::optional<unsigned char> b = byte_piece_value(piece)) {
      bytes.push_back(static_cast<char>(*b));
      ++n_bytes;
    } else {
      flush();
      out.push_back(std::move(piece));
    }
  }
  flush();
  pieces = std::move(out);
}

// Strips up to `start` leading and `stop` trailing copies of `content`.
std::string strip_piece(const std::string& piece, const std::string& content, std::size_t start,
                        std::size_t stop) {
  std::size_t first = 0;
  std::size_t last = piece.size();
  for (std::size_t i = 0;
       i < start && piece.compare(first, content.size(), content) == 0 && first < last; ++i) {
    first += content.size();
  }
  for (std::size_t i = 0; i < stop && last >= first + content.size() &&
                          piece.compare(last - content.size(), content.size(), content) == 0;
       ++i) {
    last -= content.size();
  }
  return piece.substr(first, last - first);
}

std::size_t read_count(const JsonField& f) {
  const std::int64_t v = f.integer();
  if (v < 0) f.fail("expected a non-negative integer");
  return static_cast<std::size_t>(v);
}

}  // namespace

Decoder Decoder::from_json(const JsonField& field) {
  Decoder d;
  if (!field.is_null()) {
    d.present_ = true;
    parse_into(field, d.steps_);
  }
  return d;
}

void Decoder::parse_into(const JsonField& field, std::vector<Step>& steps) {
  field.object();
  const std::string type = field["type"].string();
  if (type == "Sequence") {
    const JsonField list = field["decoders"];
    for (std::size_t i = 0; i < list.array().size(); ++i) parse_into(list[i], steps);
  } else if (type == "ByteLevel") {
    steps.push_back({Kind::kByteLevel});
  } else if (type == "Replace") {
    Step s{Kind::kReplace, field["content"].string()};
    s.pattern = Pattern::from_json(field["pattern"]);
    steps.push_back(std::move(s));
  } else if (type == "ByteFallback") {
    steps.push_back({Kind::kByteFallback});
  } else if (type == "Fuse") {
    steps.push_back({Kind::kFuse});
  } else if (type == "Strip") {
    Step s{Kind::kStrip, field["content"].string()};
    if (s.a.empty() || utf8_sequence_length(s.a, 0) != s.a.size())
      field["content"].fail("expected one character");
    s.start = read_count(field["start"]);
    s.stop = read_count(field["stop"]);
    steps.push_back(std::move(s));
  } else if (type == "Metaspace") {
    Step s{Kind::kMetaspace, field["replacement"].string()};
    if (s.a.empty() || utf8_sequence_length(s.a, 0) != s.a.size()) {
      field["replacement"].fail("expected one character");
    }
    if (field.has("prepend_scheme")) {
      const std::string scheme = field["prepend_scheme"].string();
      if (scheme != "always" && scheme != "first" && scheme != "never") {
        field["prepend_scheme"].fail("expected always, first or never, got '" + scheme + "'");
      }
      s.prepend = scheme != "never";
    } else {
      s.prepend = field["add_prefix_space"].boolean_or(true);
    }
    steps.push_back(std::move(s));
  } else {
    field["type"].fail_unsupported("decoder type '" + type + "' is not supported");
  }
}

void Decoder::apply(const Step& step, std::vector<std::string>& pieces) {
  switch (step.kind) {
    case Kind::kByteLevel:
      decode_byte_level(pieces);
      break;
    case Kind::kReplace:
      for (std::string& p : pieces) p = step.pattern.replace(p, step.a);
      break;
    case Kind::kByteFallback:
      decode_byte_fallback(pieces);
      break;
    case Kind::kFuse: {
      std::string all;
      for (const std::string& p : pieces) all += p;
      pieces.assign(1, std::move(all));
      break;
    }
    case Kind::kStrip:
      for (std::string& p : pieces) p = strip_piece(p, step.a, step.start, step.stop);
      break;
    case Kind::kMetaspace:
      // HF drops every replacement character of the first piece (not just a
      // leading one) unless prepend_scheme is "never"; elsewhere it is a space.
      for (std::size_t i = 0; i < pieces.size(); ++i) {
        pieces[i] = replace_all(pieces[i], step.a, i == 0 && step.prepend ? "" : " ");
      }
      break;
  }
}

std::string Decoder::decode(std::vector<std::string> pieces) const {
  if (!present_) {
    std::string out;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      if (i > 0) out += ' ';
      out += pieces[i];
    }
    return out;
  }
  for (const Step& step : steps_) apply(step, pieces);
  std::string out;
  for (const std::string& p : pieces) out += p;
  return out;
}

bool Decoder::is_byte_level() const {
  for (const Step& s : steps_) {
    if (s.kind == Kind::kByteLevel) return true;
  }
  return false;
}

}  // namespace enclave
