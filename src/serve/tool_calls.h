// Tool calls in model output: finding them in the text each model family
// writes, and the grammar that makes a model write one.
//   Llama 3.1+ (llama3 templates): the whole reply is a JSON object
//     {"name": ..., "parameters": {...}}, optionally after <|python_tag|>
//     (several may be separated by ";").
//   Hermes / Qwen (chatml templates): <tool_call>\n{"name": ..., "arguments":
//     {...}}\n</tool_call>, possibly several, possibly after some text.
//   Mistral: [TOOL_CALLS] [{"name": ..., "arguments": {...}}, ...].
// A reply is a tool call only if every call in it parses, names one of the
// request's tools and, for a strict tool, has arguments its parameters
// schema accepts; anything else stays content, so a model that merely talks
// about JSON is never mistaken for a caller.
// Thread safety: pure functions; a ToolCallStream belongs to one response.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "serve/json_grammar.h"
#include "serve/openai_request.h"
#include "serve/token_grammar.h"
#include "text/chat_template.h"

namespace enclave::serve {

enum class ToolCallFormat { kLlamaJson, kHermes, kMistral };

// The format a model writes tool calls in, by what its chat template
// expects back: "[TOOL_CALLS]" (Mistral), "<tool_call>" (Hermes: Qwen and
// most others), "<|python_tag|>" or Llama 3 headers (Llama 3.1 JSON);
// Hermes for a template that names none.
ToolCallFormat tool_call_format(const ChatTemplate& tmpl);

struct ToolCall {
  std::string id;  // "call_..." (set by the caller)
  std::string name;
  std::string arguments;  // a JSON object as text
};

struct ParsedReply {
  std::string content;  // the text outside the calls (trimmed when there are calls)
  std::vector<ToolCall> calls;
};

// Splits a finished reply into content and calls (calls empty: the whole
// text is content, unchanged).
ParsedReply parse_tool_calls(std::string_view text, ToolCallFormat format,
                             const std::vector<ToolFunction>& tools);

// The grammar of exactly one call in the family's format to one of tools
// (or, with only non-empty, to that one), its arguments following the
// function's parameters schema (with strict_schemas_only, only strict
// tools' schemas; the others' arguments are any JSON object). Throws
// SchemaError (path "tools[i].function.parameters...") for a schema the
// grammar cannot follow.
std::shared_ptr<const JsonGrammar> tool_call_grammar(ToolCallFormat format,
                                                     const std::vector<ToolFunction>& tools,
                                                     const std::string& only,
                                                     bool strict_schemas_only = false);

// tool_choice "auto" with strict tools: the model may answer in prose or
// call a tool, but a call, once begun, follows the call grammar (a
// tool_call_grammar), so a strict tool's arguments always fit its schema.
// A call begins where the family writes one: a Llama reply whose first
// non-blank character is "{", a Mistral reply's "[", or "<tool_call>"
// anywhere in a Hermes reply (after which prose or more calls may follow).
class LazyToolCallConstraint final : public TokenConstraint {
 public:
  LazyToolCallConstraint(ToolCallFormat format, std::shared_ptr<const JsonGrammar> call,
                         std::shared_ptr<const VocabTrie> trie, std::vector<TokenId> stop_ids);
  void mask(std::span<float> logits) override;
  void accept(TokenId token) override;

 private:
  enum class Mode { kUndecided, kProse, kCall };
  // What a token's bytes are to the start of a reply.
  enum TokenKind : std::uint8_t { kOther, kBlank, kTrigger, kHasAngle };
  bool is_stop(TokenId token) const;
  bool prose_allows(const std::string& bytes) const;

  ToolCallFormat format_;
  std::shared_ptr<const JsonGrammar> grammar_;
  std::shared_ptr<const VocabTrie> trie_;
  std::vector<TokenId> stop_ids_;
  JsonMatcher call_;  // dead (default) once blanks ruled a call out
  Mode mode_;
  std::string tail_;                // Hermes prose: its last bytes, where a marker may be starting
  std::vector<std::uint8_t> kind_;  // by token id
  std::vector<std::uint8_t> allowed_;
};

// A piece of the first call, streamed as it is generated.
struct ToolCallDelta {
  bool header = false;    // true: the call's name is now known (name set)
  std::string name;       // header only
  std::string arguments;  // more of the arguments text
};

// Streaming: passes content through as it arrives but holds back, from the
// point where a call may begin, everything until the end, when finish()
// decides whether it was a call. With forced (the grammar makes the reply
// one call, name first), the call is streamed as it comes instead: its
// name once known, then its arguments text piece by piece.
class ToolCallStream {
 public:
  ToolCallStream(ToolCallFormat format, std::vector<ToolFunction> tools, bool forced = false)
      : format_(format), tools_(std::move(tools)), forced_(forced) {}
  // The content that can be sent now.
  std::string push(std::string_view text);
  // Forced: the pieces of the call that arrived since the last call.
  std::vector<ToolCallDelta> take_deltas() { return std::exchange(deltas_, {}); }
  // Forced: how much of the first call went out already (its header, and
  // this many bytes of its arguments).
  bool streamed_header() const { return header_sent_; }
  std::size_t streamed_arguments() const { return arguments_sent_; }
  // What is left: unsent content, and the calls (their arguments whole).
  ParsedReply finish();

 private:
  void stream_forced();

  ToolCallFormat format_;
  std::vector<ToolFunction> tools_;
  bool forced_;
  std::string pending_;  // received, not yet sent
  bool holding_ = false;
  bool content_only_ = false;  // decided: no call can follow
  bool sent_any_ = false;
  bool header_sent_ = false;
  std::size_t arguments_sent_ = 0;
  std::vector<ToolCallDelta> deltas_;
};

}  // namespace enclave::serve
