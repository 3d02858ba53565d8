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
#include <vector>

#include "serve/json_grammar.h"
#include "serve/openai_request.h"
#include "text/chat_template.h"

namespace enclave::serve {

enum class ToolCallFormat { kLlamaJson, kHermes, kMistral };

// The format a chat template family's models are trained to write.
ToolCallFormat tool_call_format(ChatFamily family);

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
// function's parameters schema. Throws SchemaError (path relative to
// "tools[i].function.parameters", named in the error) for a schema the
// grammar cannot follow.
std::shared_ptr<const JsonGrammar> tool_call_grammar(ToolCallFormat format,
                                                     const std::vector<ToolFunction>& tools,
                                                     const std::string& only);

// Streaming: passes content through as it arrives but holds back, from the
// point where a call may begin, everything until the end, when finish()
// decides whether it was a call.
class ToolCallStream {
 public:
  ToolCallStream(ToolCallFormat format, std::vector<ToolFunction> tools)
      : format_(format), tools_(std::move(tools)) {}
  // The content that can be sent now.
  std::string push(std::string_view text);
  // What is left: unsent content, and the calls.
  ParsedReply finish();

 private:
  ToolCallFormat format_;
  std::vector<ToolFunction> tools_;
  std::string pending_;  // received, not yet sent
  bool holding_ = false;
  bool content_only_ = false;  // decided: no call can follow
  bool sent_any_ = false;
};

}  // namespace enclave::serve
