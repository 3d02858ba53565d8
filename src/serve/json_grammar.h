// JSON output under a grammar: a JSON Schema (or "any JSON object") compiled
// into a byte-level pushdown automaton, for constrained decoding of
// response_format json_object / json_schema and of tool calls
// (serve/token_grammar.h walks it over the vocabulary).
//
// The automaton reads bytes and says at every point which bytes may come
// next so that the text can still be completed into a document the schema
// accepts: JSON syntax (RFC 8259; strings as valid UTF-8 with the standard
// escapes), and of JSON Schema the types string/number/integer/boolean/null/
// object/array, properties, required, enum, const, items, anyOf,
// minLength/maxLength, minimum/maximum (and exclusive*), minItems/maxItems,
// additionalProperties, local $ref into $defs/definitions (recursive ones
// too, as pydantic and zod write nested models), a one-schema allOf. Objects with properties are
// written with those keys only, in their declared order, optional ones possibly left out (as strict
// structured output does; nlohmann::json keeps keys sorted, so for a parsed
// request that order is alphabetical); a gap between tokens may hold one
// space, or one newline and up to kMaxIndent spaces (compact and
// pretty-printed JSON), so a model cannot spend its budget on blanks. A
// document may be framed by fixed texts (the "<tool_call>\n" ... "\n</tool_call>"
// of a tool call). Alternatives (anyOf, enum, which key comes next) are kept
// as several parse stacks side by side (at most kMaxAlternatives).
// Thread safety: a JsonGrammar is immutable and shared; a JsonMatcher is a
// value owned by one sequence.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace enclave::serve {

// A schema the grammar cannot follow; path names the keyword
// ("properties.age.format"), relative to the schema's root, and what() says
// what is wrong with it.
class SchemaError : public std::runtime_error {
 public:
  SchemaError(std::string path, const std::string& message)
      : std::runtime_error(message), path_(std::move(path)) {}
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline constexpr int kMaxIndent = 32;        // spaces after a newline in one gap
inline constexpr int kMaxJsonDepth = 16;     // nesting of generated documents
inline constexpr int kMaxAlternatives = 64;  // parse stacks kept at once
inline constexpr int kMaxNumberBytes = 24;   // bytes of one number

class JsonGrammar {
 public:
  // Any JSON object (response_format {"type": "json_object"}).
  static std::shared_ptr<const JsonGrammar> any_object();
  // A document valid under schema, between prefix and suffix. Throws
  // SchemaError for a keyword outside the supported subset (annotations
  // such as description, title, default and examples are ignored), a
  // malformed value of a supported one, or nesting deeper than kMaxJsonDepth.
  static std::shared_ptr<const JsonGrammar> from_schema(const nlohmann::json& schema,
                                                        std::string prefix = "",
                                                        std::string suffix = "");
  // The same with the properties in the schema's own order.
  static std::shared_ptr<const JsonGrammar> from_schema(const nlohmann::ordered_json& schema,
                                                        std::string prefix = "",
                                                        std::string suffix = "");

  enum class Kind { kAny, kObject, kArray, kString, kNumber, kLiterals, kAnyOf };
  struct Property {
    std::string quoted;  // the key as JSON text, quotes included
    int node = 0;
    bool required = false;
  };
  struct Node {
    Kind kind = Kind::kAny;
    // kObject: closed (these keys in order) unless open; open objects take
    // any string keys with values of open_value.
    std::vector<Property> properties;
    std::vector<int> next_required;  // first required index >= i, or size
    bool open = false;
    int open_value = 0;
    // kArray
    int items = 0;
    std::int64_t min_items = 0, max_items = INT32_MAX;
    // kString (code points)
    std::int64_t min_length = 0, max_length = INT32_MAX;
    // kNumber
    bool integer = false;
    bool has_min = false, has_max = false, exclusive_min = false, exclusive_max = false;
    double min = 0, max = 0;
    // kLiterals: the JSON texts of the enum/const values; kAnyOf: nodes.
    std::vector<std::string> literals;
    std::vector<int> alternatives;
  };

  const std::vector<Node>& nodes() const { return nodes_; }
  int root() const { return root_; }
  const std::string& prefix() const { return prefix_; }
  const std::string& suffix() const { return suffix_; }
  // Nodes for values of any type, used inside kAny.
  int any_object_node() const { return any_object_; }
  int any_array_node() const { return any_array_; }
  int any_string_node() const { return any_string_; }
  int any_number_node() const { return any_number_; }
  int any_literal_node() const { return any_literal_; }  // true, false, null

 private:
  template <class Json>
  friend class SchemaCompiler;
  JsonGrammar();
  template <class Json>
  static std::shared_ptr<const JsonGrammar> compile(const Json& schema, std::string prefix,
                                                    std::string suffix);
  std::vector<Node> nodes_;
  int root_ = 0;
  std::string prefix_, suffix_;
  int any_object_ = 0, any_array_ = 0, any_string_ = 0, any_number_ = 0, any_literal_ = 0;
};

// The state of reading one document: every parse stack still alive.
class JsonMatcher {
 public:
  explicit JsonMatcher(std::shared_ptr<const JsonGrammar> grammar);
  JsonMatcher() = default;

  // The matcher after one more byte, written into out (whose buffers are
  // reused); false (out then dead) if no parse takes the byte.
  bool step(unsigned char byte, JsonMatcher& out) const;
  // Reads bytes in place; false (and the matcher unchanged) if any is refused.
  bool advance(std::string_view bytes);
  // A whole document (and its suffix) has been read, so the text may end.
  bool complete() const;
  // No parse is left.
  bool dead() const { return n_configs_ == 0; }
  // Two matchers with equal keys accept the same byte strings from here on:
  // the parse stacks, leaving out counters no limit reads (the length of a
  // string without minLength/maxLength, the items of an unbounded array).
  // Lets a mask computed inside a long string be reused for its next token.
  std::string state_key() const;

  // One parse stack (a plain value; public only for the .cpp's helpers).
  struct Frame {
    std::int32_t node;
    std::uint8_t kind;
    std::uint8_t state;
    std::int32_t a, b, c;
  };
  struct Config {
    std::uint8_t phase;  // prefix, value, suffix, done
    std::uint8_t ws;     // the gap so far: 0 empty, 1 a space, 2 + n a newline and n spaces
    std::uint8_t depth;
    std::uint8_t num_len;
    std::int32_t pos;  // in prefix or suffix
    char num[kMaxNumberBytes];
    Frame stack[kMaxJsonDepth + 2];
  };

 private:
  std::shared_ptr<const JsonGrammar> grammar_;
  // The live stacks are configs_[0, n_configs_); the rest is storage kept
  // for reuse, so stepping allocates nothing once warm.
  std::vector<Config> configs_;
  std::size_t n_configs_ = 0;
};

}  // namespace enclave::serve
