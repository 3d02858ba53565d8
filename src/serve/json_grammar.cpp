#include "serve/json_grammar.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>

// The automaton that runs a JsonGrammar's nodes byte by byte (the nodes
// come from json_schema_compiler.cpp).
namespace enclave::serve {

namespace {

using Kind = JsonGrammar::Kind;
using Config = JsonMatcher::Config;
using Frame = JsonMatcher::Frame;
using Node = JsonGrammar::Node;

enum Phase : std::uint8_t { kPrefix, kValue, kSuffix, kDone };
// Frame kinds: a value not yet begun, or one being read.
enum FrameKind : std::uint8_t { kExpect, kObj, kArr, kStr, kNum, kLit };
// kObj states
enum : std::uint8_t { kObjOpen, kObjKey, kObjKeyStr, kObjColon, kObjValue, kObjAfter, kObjComma };
// kArr states
enum : std::uint8_t { kArrOpen, kArrValue, kArrAfter, kArrComma };
// kStr states
enum : std::uint8_t { kStrChars, kStrEscape, kStrHex, kStrUtf8 };

constexpr int kStackSize = kMaxJsonDepth + 2;

bool is_ws(unsigned char b) { return b == ' ' || b == '\n' || b == '\r' || b == '\t'; }
bool is_digit(unsigned char b) { return b >= '0' && b <= '9'; }
bool is_hex(unsigned char b) {
  return is_digit(b) || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F');
}

// The syntax of a number prefix: where "-?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?"
// has got to. -1: not a prefix of any number.
enum NumState {
  kNumStart,
  kNumMinus,
  kNumZero,
  kNumInt,
  kNumDot,
  kNumFrac,
  kNumE,
  kNumESign,
  kNumExp
};

int number_state(std::string_view text, const Node& node) {
  const bool exp_allowed = !node.integer && !node.has_min && !node.has_max;
  int st = kNumStart;
  for (unsigned char b : text) {
    switch (st) {
      case kNumStart:
        st = b == '-' ? kNumMinus : b == '0' ? kNumZero : is_digit(b) ? kNumInt : -1;
        break;
      case kNumMinus:
        st = b == '0' ? kNumZero : is_digit(b) ? kNumInt : -1;
        break;
      case kNumZero:
      case kNumInt:
        if (is_digit(b) && st == kNumInt) break;
        st = (b == '.' && !node.integer)               ? kNumDot
             : ((b == 'e' || b == 'E') && exp_allowed) ? kNumE
                                                       : -1;
        break;
      case kNumDot:
      case kNumFrac:
        if (is_digit(b)) {
          st = kNumFrac;
        } else {
          st = st == kNumFrac && (b == 'e' || b == 'E') && exp_allowed ? kNumE : -1;
        }
        break;
      case kNumE:
        st = (b == '+' || b == '-') ? kNumESign : is_digit(b) ? kNumExp : -1;
        break;
      case kNumESign:
      case kNumExp:
        st = is_digit(b) ? kNumExp : -1;
        break;
      default:
        return -1;
    }
    if (st < 0) return -1;
  }
  return st;
}

bool in_range(double v, const Node& n) {
  if (n.has_min && (v < n.min || (n.exclusive_min && v == n.min))) return false;
  if (n.has_max && (v > n.max || (n.exclusive_max && v == n.max))) return false;
  return true;
}

// Whether [lo, hi) (or [lo, hi] with closed) meets the node's range.
bool meets(double lo, double hi, const Node& n) {
  if (n.has_max && (lo > n.max || (n.exclusive_max && lo >= n.max))) return false;
  if (n.has_min && (hi < n.min || (hi == n.min && n.exclusive_min))) return false;
  return true;
}

// Whether some number starting with text lies in the node's range (integer
// nodes: some integer). Digits may still be appended, so "1" reaches 1,
// [10, 20), [100, 200), ...; "1.2" reaches [1.2, 1.3].
bool number_feasible(std::string_view text, const Node& n, int st) {
  if (!n.has_min && !n.has_max) return true;
  const bool negative = !text.empty() && text[0] == '-';
  std::string_view digits = negative ? text.substr(1) : text;
  const auto value_of = [&](double magnitude) { return negative ? -magnitude : magnitude; };
  const auto interval = [&](double a, double b) {  // magnitudes [a, b]
    const double lo = std::min(value_of(a), value_of(b));
    const double hi = std::max(value_of(a), value_of(b));
    if (n.integer) {
      const double lo_i = std::ceil(lo), hi_i = std::floor(hi);
      if (lo_i > hi_i) return false;
      return meets(lo_i, hi_i, n);
    }
    return meets(lo, hi, n);
  };
  if (digits.empty()) return negative ? (!n.has_min || n.min < 0) : true;
  if (st == kNumZero) return n.integer ? interval(0, 0) : interval(0, 1);
  const std::size_t dot = digits.find('.');
  if (dot != std::string_view::npos) {
    const double p = std::strtod(std::string(digits).c_str(), nullptr);
    const std::size_t frac = digits.size() - dot - 1;
    return interval(p, p + std::pow(10.0, -static_cast<double>(frac)));
  }
  const double p = std::strtod(std::string(digits).c_str(), nullptr);
  const int room = kMaxNumberBytes - static_cast<int>(text.size());
  for (int k = 0; k <= std::min(room, 20); ++k) {
    const double scale = std::pow(10.0, k);
    if (interval(p * scale, (p + 1) * scale - (n.integer ? 1 : 0))) return true;
  }
  return false;
}

bool number_complete(const Config& c, const Node& n) {
  const std::string_view text(c.num, c.num_len);
  const int st = number_state(text, n);
  if (st != kNumZero && st != kNumInt && st != kNumFrac && st != kNumExp) return false;
  if (n.integer && text.size() > 18) return false;  // beyond int64 exactness
  return in_range(std::strtod(std::string(text).c_str(), nullptr), n);
}

// Copies the part of a parse stack in use: the frames above depth are
// never read, and whole copies would dominate the cost of a vocabulary walk.
void copy_config(Config& dst, const Config& src) {
  std::memcpy(static_cast<void*>(&dst), &src,
              offsetof(Config, stack) + static_cast<std::size_t>(src.depth) * sizeof(Frame));
}

class Stepper {
 public:
  Stepper(const JsonGrammar& g, std::vector<Config>& out, std::size_t& n_out)
      : g_(g), out_(out), n_out_(n_out) {}

  void feed(const Config& src, unsigned char b) {
    Config c;
    copy_config(c, src);
    switch (c.phase) {
      case kPrefix:
        if (static_cast<unsigned char>(g_.prefix()[c.pos]) != b) return;
        if (++c.pos == static_cast<int>(g_.prefix().size())) c.phase = kValue;
        emit(c);
        return;
      case kSuffix:
        if (static_cast<unsigned char>(g_.suffix()[c.pos]) != b) return;
        if (++c.pos == static_cast<int>(g_.suffix().size())) c.phase = kDone;
        emit(c);
        return;
      case kDone:
        return;
      default:
        break;
    }
    Frame& f = c.stack[c.depth - 1];
    const Node& n = g_.nodes()[f.node];
    switch (f.kind) {
      case kExpect:
        return expect(c, b);
      case kStr:
        return string(c, b, n);
      case kNum:
        return number(c, b, n);
      case kLit: {
        const std::string& lit = n.literals[static_cast<std::size_t>(f.a)];
        if (static_cast<unsigned char>(lit[static_cast<std::size_t>(f.b)]) != b) return;
        if (++f.b == static_cast<int>(lit.size())) return value_done(c);
        return emit(c);
      }
      case kObj:
        return object(c, b, n);
      case kArr:
        return array(c, b, n);
      default:
        return;
    }
  }

 private:
  void emit(const Config& c) {
    if (n_out_ >= static_cast<std::size_t>(kMaxAlternatives)) return;
    if (n_out_ == out_.size()) out_.emplace_back();
    copy_config(out_[n_out_++], c);
  }

  // Whitespace in a gap: " ", or "\n" and an indent. True if b was white
  // (taken or refused); false resets the gap for the byte that ends it.
  bool whitespace(Config& c, unsigned char b) {
    if (!is_ws(b)) {
      c.ws = 0;
      return false;
    }
    if (c.ws == 0 && (b == ' ' || b == '\n')) {
      c.ws = b == ' ' ? 1 : 2;
      emit(c);
    } else if (c.ws >= 2 && b == ' ' && c.ws - 2 < kMaxIndent) {
      ++c.ws;
      emit(c);
    }
    return true;
  }

  bool push(Config& c, int node) {
    if (c.depth >= kStackSize) return false;
    c.stack[c.depth++] = Frame{node, kExpect, 0, 0, 0, 0};
    return true;
  }

  // The value on top of the stack is complete: its parent moves on.
  void close_value(Config& c) {
    --c.depth;
    if (c.depth == 0) {
      c.pos = 0;
      c.phase = g_.suffix().empty() ? kDone : kSuffix;
      return;
    }
    Frame& parent = c.stack[c.depth - 1];
    if (parent.kind == kObj) {
      parent.state = parent.state == kObjKeyStr ? kObjColon : kObjAfter;
    } else if (parent.kind == kArr) {
      ++parent.a;
      parent.state = kArrAfter;
    }
  }

  void value_done(Config& c) {
    close_value(c);
    emit(c);
  }

  void expect(Config& c, unsigned char b) {
    if (whitespace(c, b)) return;
    Frame& f = c.stack[c.depth - 1];
    const Node& n = g_.nodes()[f.node];
    switch (n.kind) {
      case Kind::kAnyOf:
        for (int alt : n.alternatives) {
          Config copy;
          copy_config(copy, c);
          copy.stack[copy.depth - 1].node = alt;
          expect(copy, b);
        }
        return;
      case Kind::kAny: {
        int node = -1;
        if (b == '{') node = g_.any_object_node();
        if (b == '[') node = g_.any_array_node();
        if (b == '"') node = g_.any_string_node();
        if (b == '-' || is_digit(b)) node = g_.any_number_node();
        if (b == 't' || b == 'f' || b == 'n') node = g_.any_literal_node();
        if (node < 0) return;
        f.node = node;
        return expect(c, b);
      }
      case Kind::kObject:
        if (b != '{' || c.depth >= kStackSize) return;
        f = Frame{f.node, kObj, kObjOpen, 0, 0, 0};
        return emit(c);
      case Kind::kArray:
        if (b != '[' || c.depth >= kStackSize) return;
        f = Frame{f.node, kArr, kArrOpen, 0, 0, 0};
        return emit(c);
      case Kind::kString:
        if (b != '"') return;
        f = Frame{f.node, kStr, kStrChars, 0, 0, 0};
        return emit(c);
      case Kind::kNumber:
        f = Frame{f.node, kNum, 0, 0, 0, 0};
        c.num_len = 0;
        return number(c, b, n);
      case Kind::kLiterals:
        for (std::size_t i = 0; i < n.literals.size(); ++i) {
          if (static_cast<unsigned char>(n.literals[i][0]) != b) continue;
          Config copy;
          copy_config(copy, c);
          copy.stack[copy.depth - 1] = Frame{f.node, kLit, 0, static_cast<std::int32_t>(i), 1, 0};
          if (n.literals[i].size() == 1) {
            value_done(copy);
          } else {
            emit(copy);
          }
        }
        return;
    }
  }

  void string(Config& c, unsigned char b, const Node& n) {
    Frame& f = c.stack[c.depth - 1];
    switch (f.state) {
      case kStrChars:
        if (b == '"') {
          if (f.a >= n.min_length) value_done(c);
          return;
        }
        if (b < 0x20 || f.a >= n.max_length) return;
        if (b == '\\') {
          f.state = kStrEscape;
        } else if (b < 0x80) {
          ++f.a;
        } else {
          // UTF-8 lead byte: how many continuation bytes, and the range of
          // the first (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
          int need = 0;
          int lo = 0x80, hi = 0xBF;
          if (b >= 0xC2 && b <= 0xDF) {
            need = 1;
          } else if (b >= 0xE0 && b <= 0xEF) {
            need = 2;
            if (b == 0xE0) lo = 0xA0;
            if (b == 0xED) hi = 0x9F;
          } else if (b >= 0xF0 && b <= 0xF4) {
            need = 3;
            if (b == 0xF0) lo = 0x90;
            if (b == 0xF4) hi = 0x8F;
          } else {
            return;
          }
          ++f.a;
          f.state = kStrUtf8;
          f.b = need;
          f.c = (lo << 8) | hi;
        }
        return emit(c);
      case kStrEscape:
        if (b == 'u') {
          f.state = kStrHex;
          f.b = 4;
          return emit(c);
        }
        if (std::strchr("\"\\/bfnrt", b) == nullptr || b == 0) return;
        ++f.a;
        f.state = kStrChars;
        return emit(c);
      case kStrHex:
        if (!is_hex(b)) return;
        if (--f.b == 0) {
          ++f.a;
          f.state = kStrChars;
        }
        return emit(c);
      case kStrUtf8: {
        const int lo = f.c >> 8, hi = f.c & 0xFF;
        if (b < lo || b > hi) return;
        f.c = (0x80 << 8) | 0xBF;
        if (--f.b == 0) f.state = kStrChars;
        return emit(c);
      }
      default:
        return;
    }
  }

  void number(Config& c, unsigned char b, const Node& n) {
    if (c.num_len < kMaxNumberBytes) {
      c.num[c.num_len] = static_cast<char>(b);
      const std::string_view text(c.num, c.num_len + 1u);
      const int st = number_state(text, n);
      if (st >= 0 && (!n.integer || text.size() <= 18) && number_feasible(text, n, st)) {
        ++c.num_len;
        emit(c);
        return;  // a byte that continues a number cannot also end it
      }
    }
    // The byte ends the number (if it is one) and belongs to what follows.
    if (c.num_len == 0 || !number_complete(c, n)) return;
    close_value(c);
    feed(c, b);
  }

  void object(Config& c, unsigned char b, const Node& n) {
    Frame& f = c.stack[c.depth - 1];
    const int n_props = static_cast<int>(n.properties.size());
    switch (f.state) {
      case kObjOpen:
      case kObjComma:
        if (whitespace(c, b)) return;
        if (b == '}' && f.state == kObjOpen && (n.open || n.next_required[f.a] == n_props)) {
          return value_done(c);
        }
        if (b != '"') return;
        if (n.open) {
          if (!push(c, g_.any_string_node())) return;
          c.stack[c.depth - 2].state = kObjKeyStr;
          c.stack[c.depth - 1] = Frame{g_.any_string_node(), kStr, kStrChars, 0, 0, 0};
          return emit(c);
        }
        // Any property from a on may come next, skipping only optional ones.
        for (int j = f.a; j < n_props && j <= n.next_required[f.a]; ++j) {
          Config copy;
          copy_config(copy, c);
          Frame& cf = copy.stack[copy.depth - 1];
          cf.state = kObjKey;
          cf.b = 1;
          cf.c = j;
          emit(copy);
        }
        return;
      case kObjKey: {
        const std::string& key = n.properties[static_cast<std::size_t>(f.c)].quoted;
        if (static_cast<unsigned char>(key[static_cast<std::size_t>(f.b)]) != b) return;
        if (++f.b == static_cast<int>(key.size())) {
          f.state = kObjColon;
          f.a = f.c + 1;
        }
        return emit(c);
      }
      case kObjColon:
        if (whitespace(c, b)) return;
        if (b != ':') return;
        f.state = kObjValue;
        if (!push(c, n.open ? n.open_value : n.properties[static_cast<std::size_t>(f.c)].node))
          return;
        return emit(c);
      case kObjAfter:
        if (whitespace(c, b)) return;
        if (b == '}' && (n.open || n.next_required[f.a] == n_props)) return value_done(c);
        if (b == ',' && (n.open || f.a < n_props)) {
          f.state = kObjComma;
          return emit(c);
        }
        return;
      default:
        return;
    }
  }

  void array(Config& c, unsigned char b, const Node& n) {
    Frame& f = c.stack[c.depth - 1];
    switch (f.state) {
      case kArrOpen:
      case kArrComma:
        if (whitespace(c, b)) return;
        if (b == ']' && f.state == kArrOpen && n.min_items == 0) return value_done(c);
        if (f.a >= n.max_items) return;
        f.state = kArrValue;
        if (!push(c, n.items)) return;
        return expect(c, b);
      case kArrAfter:
        if (whitespace(c, b)) return;
        if (b == ']' && f.a >= n.min_items) return value_done(c);
        if (b == ',' && f.a < n.max_items) {
          f.state = kArrComma;
          return emit(c);
        }
        return;
      default:
        return;
    }
  }

  const JsonGrammar& g_;
  std::vector<Config>& out_;
  std::size_t& n_out_;
};

}  // namespace

JsonMatcher::JsonMatcher(std::shared_ptr<const JsonGrammar> grammar)
    : grammar_(std::move(grammar)) {
  Config c{};
  c.phase = grammar_->prefix().empty() ? kValue : kPrefix;
  c.depth = 1;
  c.stack[0] = Frame{grammar_->root(), kExpect, 0, 0, 0, 0};
  configs_.push_back(c);
  n_configs_ = 1;
}

bool JsonMatcher::step(unsigned char byte, JsonMatcher& out) const {
  out.grammar_ = grammar_;
  out.n_configs_ = 0;
  Stepper stepper(*grammar_, out.configs_, out.n_configs_);
  for (std::size_t i = 0; i < n_configs_; ++i) stepper.feed(configs_[i], byte);
  return out.n_configs_ > 0;
}

bool JsonMatcher::advance(std::string_view bytes) {
  JsonMatcher a = *this, b;
  for (unsigned char byte : bytes) {
    if (!a.step(byte, b)) return false;
    std::swap(a, b);
  }
  *this = std::move(a);
  return true;
}

std::string JsonMatcher::state_key() const {
  std::string key;
  const auto put = [&key](std::int64_t v) {
    key.append(reinterpret_cast<const char*>(&v), sizeof v);
  };
  for (std::size_t i = 0; i < n_configs_; ++i) {
    const Config& c = configs_[i];
    put(c.phase);
    put(c.ws);
    put(c.pos);
    put(c.depth);
    key.append(c.num, c.num_len);
    put(c.num_len);
    for (int i = 0; i < c.depth; ++i) {
      const Frame& f = c.stack[i];
      const Node& n = grammar_->nodes()[static_cast<std::size_t>(f.node)];
      const bool unlimited = (f.kind == kStr && n.min_length == 0 && n.max_length == INT32_MAX) ||
                             (f.kind == kArr && n.min_items == 0 && n.max_items == INT32_MAX);
      put(f.node);
      put(f.kind);
      put(f.state);
      put(unlimited ? 0 : f.a);
      put(f.b);
      put(f.c);
    }
    put(-1);
  }
  return key;
}

bool JsonMatcher::complete() const {
  for (std::size_t i = 0; i < n_configs_; ++i) {
    const Config& c = configs_[i];
    if (c.phase == kDone) return true;
    // A number at the root ends only with the text.
    if (c.phase == kValue && c.depth == 1 && c.stack[0].kind == kNum &&
        grammar_->suffix().empty() && number_complete(c, grammar_->nodes()[c.stack[0].node])) {
      return true;
    }
  }
  return false;
}

}  // namespace enclave::serve
