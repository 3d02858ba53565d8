// Follows jinja2.lexer (3.1): the root rule finds the earliest `{%`, `{{`
// or `{#` (a `{% raw %}` wins at the same place), strips the text before it
// for `-` (all whitespace) or lstrip_blocks (spaces of the tag's own line,
// block and comment tags only, not after `+`), then reads the tag's tokens.
// Tag ends: `-%}`/`-}}`/`-#}` eat all whitespace after, `%}`/`#}` eat one
// newline when trim_blocks is on, `+%}` keeps it. A `}}` or `%}` inside open
// brackets is an operator, not an end, as jinja2 balances brackets.
#include "jinja/lexer.h"

#include <cstring>

#include "core/error.h"
#include "jinja/value.h"

namespace enclave::jinja {
namespace {

class Lexer {
 public:
  Lexer(std::string src, const std::string& name, const Options& opt)
      : s_(std::move(src)), name_(name), opt_(opt) {}

  std::vector<Token> run() {
    std::size_t pos = 0;
    bool line_starting = true;
    while (pos < s_.size()) {
      std::size_t start = find_tag(pos);
      if (start == std::string::npos) {
        emit_data(s_.substr(pos));
        line_ += count_newlines(pos, s_.size());
        break;
      }
      char kind = s_[start + 1];
      std::size_t after = start + 2;
      char sign = after < s_.size() && (s_[after] == '-' || s_[after] == '+') ? s_[after] : 0;
      std::size_t raw_end = kind == '%' ? match_raw_begin(start) : 0;
      std::string text = s_.substr(pos, start - pos);
      strip_before(text, sign, kind != '{', line_starting);
      int text_lines = count_newlines(pos, start);
      emit_data(std::move(text));
      line_ += text_lines;
      pos = after + (sign ? 1 : 0);
      if (raw_end) {
        line_ += count_newlines(pos, raw_end);
        line_starting = s_[raw_end - 1] == '\n';
        pos = lex_raw(raw_end, &line_starting);
      } else if (kind == '#') {
        pos = lex_comment(pos, &line_starting);
      } else {
        pos = lex_tag(pos, kind, &line_starting);
      }
    }
    tokens_.push_back(Token{Tok::kEof, line_, ""});
    return std::move(tokens_);
  }

 private:
  [[noreturn]] void error(int line, const std::string& reason) const {
    fail_input("{}:{}: {}", name_, line, reason);
  }

  std::size_t find_tag(std::size_t pos) const {
    for (std::size_t p = s_.find('{', pos); p != std::string::npos; p = s_.find('{', p + 1)) {
      if (p + 1 < s_.size() && (s_[p + 1] == '%' || s_[p + 1] == '{' || s_[p + 1] == '#')) {
        return p;
      }
    }
    return std::string::npos;
  }

  int count_newlines(std::size_t from, std::size_t to) const {
    int n = 0;
    for (std::size_t k = from; k < to; ++k) n += s_[k] == '\n';
    return n;
  }

  void emit_data(std::string text) {
    if (text.empty()) return;
    tokens_.push_back(Token{Tok::kData, line_, std::move(text)});
  }

  std::size_t skip_space(std::size_t pos) const {
    while (pos < s_.size()) {
      std::size_t next = pos;
      if (!py_isspace(cp_decode(s_, next))) break;
      pos = next;
    }
    return pos;
  }

  static void rstrip(std::string& text) {
    std::size_t end = text.size();
    while (end > 0) {
      std::size_t start = end - 1;
      while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
      std::size_t p = start;
      if (!py_isspace(cp_decode(text, p))) break;
      end = start;
    }
    text.resize(end);
  }

  // The text before a tag: `-` strips all trailing whitespace; lstrip_blocks
  // strips the tag's line when only whitespace precedes it there.
  void strip_before(std::string& text, char sign, bool lstrip_kind, bool line_starting) const {
    if (sign == '-') {
      rstrip(text);
    } else if (sign != '+' && opt_.lstrip_blocks && lstrip_kind) {
      std::size_t nl = text.rfind('\n');
      std::size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
      if ((l_pos > 0 || line_starting) && l_pos < text.size()) {
        std::string tail = text.substr(l_pos);
        std::size_t p = 0;
        bool all_space = true;
        while (p < tail.size()) {
          if (!py_isspace(cp_decode(tail, p))) {
            all_space = false;
            break;
          }
        }
        if (all_space) text.resize(l_pos);
      }
    }
  }

  // Block-style tag end at pos (`+%}`, `-%}`+space, `%}`+newline when
  // trim_blocks); returns the position after it, or 0 when none is there.
  std::size_t block_end_at(std::size_t pos, char close) const {
    auto at = [&](std::size_t p, const char* lit) {
      return s_.compare(p, std::strlen(lit), lit) == 0;
    };
    std::string end = std::string(1, close) + "}";
    if (at(pos, ("+" + end).c_str())) return pos + 3;
    if (at(pos, ("-" + end).c_str())) return skip_space(pos + 3);
    if (at(pos, end.c_str())) {
      std::size_t p = pos + 2;
      if (opt_.trim_blocks && p < s_.size() && s_[p] == '\n') ++p;
      return p;
    }
    return 0;
  }

  // `{%(-|+|)\s*raw\s*(-%}\s*|%})` at start; the position after it, or 0.
  std::size_t match_raw_begin(std::size_t start) const {
    std::size_t p = start + 2;
    if (p < s_.size() && (s_[p] == '-' || s_[p] == '+')) ++p;
    p = skip_space(p);
    if (s_.compare(p, 3, "raw") != 0) return 0;
    p = skip_space(p + 3);
    if (s_.compare(p, 3, "-%}") == 0) return skip_space(p + 3);
    if (s_.compare(p, 2, "%}") == 0) return p + 2;
    return 0;
  }

  std::size_t lex_raw(std::size_t pos, bool* line_starting) {
    int begin_line = line_;
    for (std::size_t p = s_.find("{%", pos); p != std::string::npos; p = s_.find("{%", p + 1)) {
      std::size_t q = p + 2;
      char sign = q < s_.size() && (s_[q] == '-' || s_[q] == '+') ? s_[q] : 0;
      if (sign) ++q;
      q = skip_space(q);
      if (s_.compare(q, 6, "endraw") != 0) continue;
      q = skip_space(q + 6);
      std::size_t end = block_end_at(q, '%');
      if (!end) continue;
      std::string text = s_.substr(pos, p - pos);
      strip_before(text, sign, true, *line_starting);
      line_ += count_newlines(pos, p);
      emit_data(std::move(text));
      line_ += count_newlines(p, end);
      *line_starting = s_[end - 1] == '\n';
      return end;
    }
    error(begin_line, "Missing end of raw directive");
  }

  std::size_t lex_comment(std::size_t pos, bool* line_starting) {
    for (std::size_t p = s_.find("#}", pos); p != std::string::npos; p = s_.find("#}", p + 1)) {
      std::size_t end;
      if (p > pos && s_[p - 1] == '-') {
        end = skip_space(p + 2);
      } else if (p > pos && s_[p - 1] == '+') {
        end = p + 2;
      } else {
        end = p + 2;
        if (opt_.trim_blocks && end < s_.size() && s_[end] == '\n') ++end;
      }
      line_ += count_newlines(pos, end);
      *line_starting = s_[end - 1] == '\n';
      return end;
    }
    error(line_, "Missing end of comment tag");
  }

  std::size_t lex_tag(std::size_t pos, char kind, bool* line_starting) {
    int begin_line = line_;
    tokens_.push_back(Token{kind == '%' ? Tok::kBlockBegin : Tok::kVarBegin, line_, ""});
    int depth = 0;
    while (true) {
      if (pos >= s_.size()) {
        error(begin_line, kind == '%' ? "unexpected end of template, expected end of statement "
                                        "block ('%}')"
                                      : "unexpected end of template, expected end of print "
                                        "statement ('}}')");
      }
      if (depth == 0) {
        std::size_t end = 0;
        if (kind == '%') {
          end = block_end_at(pos, '%');
        } else if (s_.compare(pos, 3, "-}}") == 0) {
          end = skip_space(pos + 3);
        } else if (s_.compare(pos, 2, "}}") == 0) {
          end = pos + 2;
        }
        if (end) {
          tokens_.push_back(Token{kind == '%' ? Tok::kBlockEnd : Tok::kVarEnd, line_, ""});
          line_ += count_newlines(pos, end);
          *line_starting = s_[end - 1] == '\n';
          return end;
        }
      }
      unsigned char c = static_cast<unsigned char>(s_[pos]);
      std::size_t next = pos;
      if (py_isspace(cp_decode(s_, next))) {
        line_ += count_newlines(pos, next);
        pos = next;
        continue;
      }
      if (std::isdigit(c)) {
        pos = lex_number(pos);
      } else if (std::isalpha(c) || c == '_') {
        std::size_t e = pos;
        while (e < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[e])) || s_[e] == '_')) {
          ++e;
        }
        tokens_.push_back(Token{Tok::kName, line_, s_.substr(pos, e - pos)});
        pos = e;
      } else if (c == '\'' || c == '"') {
        pos = lex_string(pos);
      } else {
        static const char* kOps[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "/",
                                     "*",  "%",  "~",  "[",  "]",  "(",  ")", "{", "}",
                                     "<",  ">",  "=",  ".",  ":",  "|",  ",", ";"};
        const char* op = nullptr;
        for (const char* o : kOps) {
          if (s_.compare(pos, std::strlen(o), o) == 0) {
            op = o;
            break;
          }
        }
        if (!op) error(line_, fmt::format("unexpected char '{}' at {}", s_[pos], pos));
        if (*op == '(' || *op == '[' || *op == '{') ++depth;
        if ((*op == ')' || *op == ']' || *op == '}') && op[1] == 0) {
          if (depth == 0) error(line_, fmt::format("unexpected '{}'", op));
          --depth;
        }
        tokens_.push_back(Token{Tok::kOp, line_, op});
        pos += std::strlen(op);
      }
    }
  }

  // Digits with `_` separators from pos; the end, or pos when none.
  std::size_t digits(std::size_t pos, int base) const {
    auto ok = [&](char c) {
      if (base == 16) return std::isxdigit(static_cast<unsigned char>(c)) != 0;
      return c >= '0' && c < '0' + base;
    };
    if (pos >= s_.size() || !ok(s_[pos])) return pos;
    std::size_t p = pos + 1;
    while (p < s_.size()) {
      if (ok(s_[p])) {
        ++p;
      } else if (s_[p] == '_' && p + 1 < s_.size() && ok(s_[p + 1])) {
        p += 2;
      } else {
        break;
      }
    }
    return p;
  }

  std::size_t lex_number(std::size_t pos) {
    auto clean = [&](std::size_t a, std::size_t b) {
      std::string out;
      for (std::size_t k = a; k < b; ++k) {
        if (s_[k] != '_') out += s_[k];
      }
      return out;
    };
    std::size_t int_end = digits(pos, 10);
    bool after_dot = pos > 0 && s_[pos - 1] == '.';
    if (!after_dot) {
      std::size_t p = int_end;
      bool frac = false;
      if (p < s_.size() && s_[p] == '.' && digits(p + 1, 10) > p + 1) {
        p = digits(p + 1, 10);
        frac = true;
      }
      bool expo = false;
      if (p < s_.size() && (s_[p] == 'e' || s_[p] == 'E')) {
        std::size_t q = p + 1;
        if (q < s_.size() && (s_[q] == '+' || s_[q] == '-')) ++q;
        if (digits(q, 10) > q) {
          p = digits(q, 10);
          expo = true;
        }
      }
      if (frac || expo) {
        Token t{Tok::kFloat, line_, s_.substr(pos, p - pos)};
        t.f = std::strtod(clean(pos, p).c_str(), nullptr);
        tokens_.push_back(std::move(t));
        return p;
      }
    }
    int base = 10;
    std::size_t p = int_end;
    std::size_t body = pos;
    if (s_[pos] == '0' && pos + 1 < s_.size()) {
      char x = static_cast<char>(std::tolower(static_cast<unsigned char>(s_[pos + 1])));
      base = x == 'b' ? 2 : x == 'o' ? 8 : x == 'x' ? 16 : 10;
      if (base != 10) {
        std::size_t q = pos + 2;
        if (q < s_.size() && s_[q] == '_') ++q;
        body = q;
        p = digits(q, base);
        if (p == q) {
          base = 10;
          body = pos;
          p = int_end;
        }
      }
    }
    std::string text = clean(body, p);
    Token t{Tok::kInt, line_, s_.substr(pos, p - pos)};
    errno = 0;
    char* end = nullptr;
    unsigned long long v = std::strtoull(text.c_str(), &end, base);
    if (errno == ERANGE || v > static_cast<unsigned long long>(INT64_MAX)) {
      error(line_, "integer literal too large: " + t.text);
    }
    t.i = static_cast<std::int64_t>(v);
    tokens_.push_back(std::move(t));
    return p;
  }

  // Python's unicode-escape decoding of the literal's body, as jinja2 does.
  std::size_t lex_string(std::size_t pos) {
    char quote = s_[pos];
    int begin_line = line_;
    std::string out;
    std::size_t p = pos + 1;
    auto hex = [&](std::size_t at, int n) -> long {
      if (at + n > s_.size()) return -1;
      long v = 0;
      for (int k = 0; k < n; ++k) {
        char c = s_[at + k];
        if (!std::isxdigit(static_cast<unsigned char>(c))) return -1;
        v = v * 16 +
            (std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10);
      }
      return v;
    };
    while (true) {
      if (p >= s_.size()) error(begin_line, "unexpected end of string");
      char c = s_[p];
      if (c == quote) break;
      if (c == '\n') ++line_;
      if (c != '\\') {
        out += c;
        ++p;
        continue;
      }
      if (p + 1 >= s_.size()) error(begin_line, "unexpected end of string");
      char e = s_[p + 1];
      p += 2;
      switch (e) {
        case '\n':
          ++line_;
          break;
        case '\\':
          out += '\\';
          break;
        case '\'':
          out += '\'';
          break;
        case '"':
          out += '"';
          break;
        case 'a':
          out += '\a';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'v':
          out += '\v';
          break;
        case 'x':
        case 'u':
        case 'U': {
          int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          long v = hex(p, n);
          if (v < 0 || v > 0x10FFFF) {
            error(line_, fmt::format("invalid \\{} escape in string literal", e));
          }
          cp_append(out, static_cast<char32_t>(v));
          p += n;
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            int v = e - '0';
            for (int k = 0; k < 2 && p < s_.size() && s_[p] >= '0' && s_[p] <= '7'; ++k, ++p) {
              v = v * 8 + (s_[p] - '0');
            }
            cp_append(out, static_cast<char32_t>(v));
          } else {
            out += '\\';
            out += e;
          }
      }
    }
    Token t{Tok::kString, begin_line, std::move(out)};
    tokens_.push_back(std::move(t));
    return p + 1;
  }

  std::string s_;
  const std::string& name_;
  const Options& opt_;
  std::vector<Token> tokens_;
  int line_ = 1;
};

// Newlines become "\n" and one trailing newline goes, as jinja2's
// tokeniter does before lexing.
std::string normalize(std::string_view source, bool keep_trailing_newline) {
  std::string out;
  out.reserve(source.size());
  for (std::size_t k = 0; k < source.size(); ++k) {
    if (source[k] == '\r') {
      out += '\n';
      if (k + 1 < source.size() && source[k + 1] == '\n') ++k;
    } else {
      out += source[k];
    }
  }
  if (!keep_trailing_newline && !out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace

std::vector<Token> tokenize(std::string_view source, const std::string& name,
                            const Options& options) {
  return Lexer(normalize(source, options.keep_trailing_newline), name, options).run();
}

}  // namespace enclave::jinja
